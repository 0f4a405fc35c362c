"""Names from schemas -> Python identifiers. Nothing from a schema reaches generated code
except through these functions or `repr()`."""

from __future__ import annotations

import keyword
import re

TYPE_NAME = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*(?:\.[a-z][a-z0-9]*(?:_[a-z0-9]+)*)*$")
SERVICE_NAME = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
_WORD = re.compile(r"[A-Za-z0-9]+")


def pascal_case(text: str) -> str:
    """`order.created` -> `OrderCreated`; non-ASCII and punctuation are dropped."""
    words = _WORD.findall(text.encode("ascii", "ignore").decode())
    name = "".join(w[:1].upper() + w[1:] for w in words)
    if name[:1].isdigit():
        name = "N" + name
    return name


def snake_case(text: str) -> str:
    """`order.created` -> `order_created`."""
    words = _WORD.findall(text.encode("ascii", "ignore").decode())
    name = "_".join(w.lower() for w in words)
    if name[:1].isdigit():
        name = "n_" + name
    return name


def class_name(type_name: str, version: int) -> str:
    return f"{pascal_case(type_name)}V{version}"


def module_name(type_name: str, version: int) -> str:
    return f"{snake_case(type_name)}_v{version}"


def handler_method(type_name: str) -> str:
    return f"on_{snake_case(type_name)}"


def responder_method(operation: str) -> str:
    return f"handle_{snake_case(operation)}"


# Modules codegen itself writes or reads under services/: a service package of that name
# would shadow them (its stub services/<name>/ beside services/<name>.py).
RESERVED_SERVICE_NAMES = frozenset({"upcasters"})


def is_valid_service_name(name: str, taken: frozenset[str] = frozenset()) -> bool:
    """A lower-case identifier that is no Python keyword and shadows no module under
    services/ (``taken``: the project's own, besides the reserved ones)."""
    return (
        bool(SERVICE_NAME.match(name))
        and not keyword.iskeyword(name)
        and name not in RESERVED_SERVICE_NAMES | taken
    )


def is_valid_type_name(name: str) -> bool:
    return bool(TYPE_NAME.match(name))


def const_name(type_name: str, version: int) -> str:
    """`order.created`, 2 -> `ORDER_CREATED_V2` (the registry constant of a version)."""
    return f"{snake_case(type_name)}_v{version}".upper()


def op_const(operation: str) -> str:
    """`inventory.reserve` -> `INVENTORY_RESERVE` (the registry constant of an operation)."""
    return snake_case(operation).upper()
