"""The standard ``logging`` of user code, routed through flytelite's logger (and so its redaction).

A task that never uses ``logging`` should not pay for importing it: when it is not imported yet, a
meta-path hook connects the bridge the moment something first imports it.
"""

from __future__ import annotations

import sys
from typing import Any

from .logs import threshold


def route_stdlib_logging() -> None:
    """Make the root logger of ``logging`` write through flytelite's logger."""
    if "logging" in sys.modules:
        _connect_bridge()
    elif not any(isinstance(finder, _BridgeOnImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _BridgeOnImport())


def _connect_bridge() -> None:
    import logging

    from .log_handler import StdlibBridge

    root = logging.getLogger()
    if not any(isinstance(h, StdlibBridge) for h in root.handlers):
        root.addHandler(StdlibBridge())
    root.setLevel(threshold())


class _BridgeOnImport:
    """Finds nothing itself: it wraps the loading of ``logging`` to connect the bridge right after."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != "logging":
            return None
        sys.meta_path.remove(self)
        from importlib.machinery import PathFinder

        spec = PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            execute_module = spec.loader.exec_module

            def exec_then_connect(module: Any) -> None:
                execute_module(module)
                _connect_bridge()

            spec.loader.exec_module = exec_then_connect  # type: ignore[method-assign]
        return spec
