# Real redis-server / nats-server fixtures for every test package (see runtime/testkit).
import os

import pytest

pytest_plugins = ["runtime.testkit.pytest_plugin"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite tests/golden/*/expected* from the current output (review the diff)",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--update-golden"):
        os.environ["SCHEMABUS_UPDATE_GOLDEN"] = "1"
