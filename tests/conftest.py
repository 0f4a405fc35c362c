# Real redis-server / nats-server fixtures for every test package (see runtime/testkit).
import os

import pytest
from hypothesis import HealthCheck, settings

pytest_plugins = ["runtime.testkit.pytest_plugin"]

# Shared, noisy 2-core machines: speed health checks would fail tests for reasons that have
# nothing to do with behaviour. Runs are derandomised so a failure reproduces.
settings.register_profile(
    "schemabus",
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
settings.load_profile("schemabus")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite tests/golden/*/expected* from the current output (review the diff)",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--update-golden"):
        os.environ["SCHEMABUS_UPDATE_GOLDEN"] = "1"
