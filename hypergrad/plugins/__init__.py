"""Plugins: the Op base class, the registry, the hooks, and the loader.

See hookspecs.py for the hooks a plugin can implement, op.py for how an op is written, and
manager.py for how plugins are found and loaded.
"""

from .hookspecs import hookimpl, hookspec
from .manager import BUILTIN_PLUGINS, PluginLoadError, PluginRecord, hooks, load_plugins
from .op import ALWAYS_BOOL, DEFAULT, INT_TO_FLOAT, NO_PROMOTION, Op, OpNode
from .registry import DuplicateOpError, OpEntry, op_function, registry

__all__ = ["Op", "OpNode", "op_function", "registry", "OpEntry", "load_plugins", "hookimpl",
           "hookspec", "hooks", "PluginRecord", "PluginLoadError", "DuplicateOpError",
           "DEFAULT", "INT_TO_FLOAT", "ALWAYS_BOOL", "NO_PROMOTION", "BUILTIN_PLUGINS"]
