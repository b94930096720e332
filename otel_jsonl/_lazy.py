"""Names a package re-exports, imported from their modules on first use (PEP 562), so that
importing one module of a wing does not load the whole wing."""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - typing is not imported at run time (start-up cost)
    from collections.abc import Callable, Mapping
    from typing import Any


def lazy_names(
    package: str, names: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``: ``names`` maps each public name to the
    module (relative to the package) that holds it; a name, once imported, is kept in the
    package's ``namespace`` so the next access is a plain lookup."""

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        full = f"{package}.{module}"
        # __import__ rather than importlib.import_module: importlib (and the warnings module it
        # loads) is not needed for an absolute name, and start-up stays small.
        __import__(full)
        value = getattr(sys.modules[full], name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(names))

    return __getattr__, __dir__
