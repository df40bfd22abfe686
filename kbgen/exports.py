"""Package facades that import a name's module only when the name is first used (PEP 562).

`from kbgen.tickets import Ticket` keeps working, but `from kbgen.tickets import workflow` or
`from kbgen.accounts.roles import ROLES` no longer loads every module of the package: the
static build (`kbgen build`) reads the facts it shows (statuses, roles, sorts, views) without
loading SQLAlchemy, FastAPI and the models, which cost it a quarter of its memory.
"""
from __future__ import annotations

import importlib
from typing import Any, Callable


def lazy(package: str, namespace: dict[str, Any], exports: dict[str, str]) -> Callable[[str], Any]:
    """The `__getattr__` of a package whose names (`exports`: {module: "name name ..."}) are imported
    on first use from its modules; each name is then kept in the package's namespace."""
    where = {name: module for module, names in exports.items() for name in names.split()}

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is not None:
            value = getattr(importlib.import_module(f"{package}.{module}"), name)
        else:  # a module of the package (`tickets.workflow`), as an eager facade would have imported it
            try:
                value = importlib.import_module(f"{package}.{name}")
            except ModuleNotFoundError as exc:
                if exc.name != f"{package}.{name}":
                    raise
                raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        namespace[name] = value
        return value

    namespace["__all__"] = sorted(where)
    return __getattr__
