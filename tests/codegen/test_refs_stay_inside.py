"""References may not escape: every $ref/$dynamicRef/$recursiveRef resolves inside the
bundled document or gets a located REF_* finding; nothing reads outside schemas/ or
touches the network (a local listener records every connection attempt)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from codegen.validation import validator_for
from tests.codegen.golden import run_codegen
from tests.codegen.hostile import REL, event, line_of, write_tree

SECRET = "TOP-SECRET-VALUE"


class Listener:
    """A TCP server on a free loopback port that records connection attempts."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.sendall(b'HTTP/1.0 200 OK\r\n\r\n{"const": "' + SECRET.encode() + b'"}')
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "outside" / "secret.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"const": SECRET}), "utf-8")
    return path


def _all_text(root: Path) -> str:
    return "\n".join(
        p.read_text("utf-8", errors="replace")
        for p in root.rglob("*")
        if p.is_file() and ".cache" not in p.parts
    )


def _gen_and_check(root: Path) -> list[tuple[int, str, str]]:
    return [run_codegen(root, "gen"), run_codegen(root, "check")]


@pytest.mark.parametrize("keyword", ["$dynamicRef", "$recursiveRef"])
def test_dynamic_ref_to_an_absolute_path_is_refused(
    tmp_path: Path, secret_file: Path, keyword: str
) -> None:
    root = tmp_path / "repo"
    path = write_tree(root, event({"leak": {keyword: str(secret_file)}}))
    for code, out, err in _gen_and_check(root):
        assert code == 1
        assert f"{REL}:{line_of(path, keyword)}: " in out and "(REF_NOT_LOCAL)" in out
        assert SECRET not in out + err and "Traceback" not in err
    assert not (root / "generated").exists()
    assert SECRET not in _all_text(root)


@pytest.mark.parametrize("keyword", ["$ref", "$dynamicRef", "$recursiveRef"])
def test_http_refs_never_connect(tmp_path: Path, listener: Listener, keyword: str) -> None:
    root = tmp_path / "repo"
    url = f"http://127.0.0.1:{listener.port}/x.json"
    path = write_tree(root, event({"leak": {keyword: url}}))
    rule = "REF_NOT_RELATIVE" if keyword == "$ref" else "REF_NOT_LOCAL"
    for code, out, err in _gen_and_check(root):
        assert code == 1
        assert f"{REL}:{line_of(path, keyword)}: " in out and f"({rule})" in out
        assert SECRET not in out + err
    code, out, err = run_codegen(root, "compat", str(path), str(path))
    assert code == 2 and f"({rule})" in out
    assert listener.connections == 0


@pytest.mark.parametrize("keyword", ["$ref", "$dynamicRef"])
def test_file_uri_ref_is_refused_without_reading_it(
    tmp_path: Path, secret_file: Path, keyword: str
) -> None:
    root = tmp_path / "repo"
    path = write_tree(root, event({"leak": {keyword: secret_file.as_uri()}}))
    for code, out, err in [
        *_gen_and_check(root),
        run_codegen(root, "compat", str(path), str(path)),
    ]:
        assert code in (1, 2)
        assert "(REF_NOT_RELATIVE)" in out or "(REF_NOT_LOCAL)" in out
        assert SECRET not in out + err
    assert SECRET not in _all_text(root)


def test_validators_refuse_retrieval(listener: Listener, secret_file: Path) -> None:
    from referencing.exceptions import Unresolvable

    for ref in (f"http://127.0.0.1:{listener.port}/x.json", secret_file.as_uri()):
        validator = validator_for({"$ref": ref})
        with pytest.raises(Unresolvable):
            validator.is_valid("x")
    assert listener.connections == 0


def test_anchor_refs_work(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    schema = event(
        {"price": {"$ref": "#money"}},
        **{"$defs": {"Money": {"$anchor": "money", "type": "integer", "minimum": 0}}},
    )
    write_tree(root, schema)
    code, out, err = run_codegen(root, "gen")
    assert code == 0, out + err
    model = (root / "generated" / "models" / "evil_thing_v1.py").read_text()
    assert "price" in model and "ge=0" in model


def test_unresolvable_anchor_is_located(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    path = write_tree(root, event({"price": {"$ref": "#nowhere"}}))
    code, out, _ = run_codegen(root, "gen")
    assert code == 1
    assert f"{REL}:{line_of(path, '#nowhere')}: " in out and "(REF_UNRESOLVED)" in out


def test_nested_id_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    nested: dict[str, Any] = {"$id": "http://127.0.0.1:9/elsewhere.json", "type": "string"}
    path = write_tree(root, event({"x": nested}))
    code, out, _ = run_codegen(root, "gen")
    assert code == 1
    assert f"{REL}:{line_of(path, 'elsewhere')}: " in out and "(REF_NESTED_ID)" in out


def test_paths_resolve_as_path_resolve_does(tmp_path: Path) -> None:
    """The bundler resolves each folder once; symlinked files and folders still resolve
    to where they really are (which the ref rules then judge)."""
    from codegen.load import Bundler

    real = tmp_path / "real"
    (real / "sub").mkdir(parents=True)
    (real / "sub" / "a.json").write_text("{}")
    (tmp_path / "outside.json").write_text("{}")
    (tmp_path / "linkdir").symlink_to(real / "sub")
    (real / "sub" / "b.json").symlink_to(tmp_path / "outside.json")
    bundler = Bundler(tmp_path, real)
    for path in [
        real / "sub" / "a.json",
        real / "sub" / "b.json",
        tmp_path / "linkdir" / "a.json",
        tmp_path / "linkdir" / "b.json",
        real / "sub" / ".." / "sub" / "a.json",
    ]:
        assert bundler.resolve(path) == path.resolve(), path


@pytest.mark.parametrize("link", ["version file", "type folder", "catalog"])
def test_symlinks_out_of_schemas_are_refused_unread(
    tmp_path: Path, secret_file: Path, link: str
) -> None:
    root = tmp_path / "repo"
    path = write_tree(root, event({"id": {"type": "string"}}))
    if link == "version file":
        path.unlink()
        path.symlink_to(secret_file)
        rel = REL
    elif link == "type folder":
        outside = tmp_path / "outside_type"
        path.parent.rename(outside)
        path.parent.symlink_to(outside)
        (outside / "v1.json").write_text(json.dumps({"const": SECRET}), "utf-8")
        rel = REL
    else:
        catalog = root / "schemas" / "catalog.yaml"
        outside = tmp_path / "catalog.yaml"
        outside.write_text(f"version: 1\n# {SECRET}\n", "utf-8")
        catalog.unlink()
        catalog.symlink_to(outside)
        rel = "schemas/catalog.yaml"
    for code, out, err in _gen_and_check(root):
        assert code == 2
        assert f"{rel}: " in out and "(LAYOUT_INVALID)" in out
        assert SECRET not in out + err and "Traceback" not in err
    assert not (root / "generated").exists()
