"""A catalog parsed before is taken from the cache, and only when that changes nothing."""

from __future__ import annotations

import datetime
import subprocess
import sys
from pathlib import Path

from codegen.cache import Cache
from codegen.catalog import read_catalog
from tests.codegen.golden import copy_input, run_codegen

CATALOG = """\
# the catalog of a test
events:
  order.created:
    stream: orders
    compatibility: FULL_TRANSITIVE
"""


def test_a_remembered_parse_equals_a_fresh_one_lines_included(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text(CATALOG)
    store = Cache(tmp_path / "cache")
    fresh = read_catalog(path, "schemas/catalog.yaml", store)
    assert store.pending()  # remembered
    again = read_catalog(path, "schemas/catalog.yaml", store)
    assert again == fresh == read_catalog(path, "schemas/catalog.yaml")
    assert again.lines["/events/order.created/stream"] == 4
    path.write_text(CATALOG.replace("orders", "sales"))  # other bytes: parsed again
    assert read_catalog(path, "x", store).data["events"]["order.created"]["stream"] == "sales"


def test_yaml_that_json_cannot_say_is_parsed_every_time(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text("released: 2026-11-30\n1: one\nratio: .nan\n")
    store = Cache(tmp_path / "cache")
    for _ in range(2):
        doc = read_catalog(path, "schemas/catalog.yaml", store)
        assert doc.data["released"] == datetime.date(2026, 11, 30) and doc.data[1] == "one"
    assert store.pending() == {}


def test_a_check_of_an_unchanged_tree_loads_no_parser_or_validator(tmp_path: Path) -> None:
    """With the lint passes and the catalog remembered, `check` needs neither PyYAML nor
    jsonschema (their imports were a tenth of the command's time)."""
    work = copy_input("shared_shapes", tmp_path / "repo")
    assert run_codegen(work, "gen")[0] == 0
    probe = (
        "import sys\n"
        "from codegen.cli import main\n"
        f"code = main(['--root', {str(work)!r}, 'check'])\n"
        "print(sorted(m for m in ('yaml', 'jsonschema', 'referencing') if m in sys.modules))\n"
        "sys.exit(code)\n"
    )
    again = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert again.returncode == 0 and again.stdout.strip().endswith("[]"), again.stdout
