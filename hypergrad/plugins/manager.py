"""Loading plugins: entry points, isolation, the allow-list and strict mode.

Every op family, built-in or third-party, is a plugin named by an entry point in the
`hypergrad` group, and all load through `load_plugins` here. For each one:

1. skip it unless the allow-list (`HYPERGRAD_PLUGINS`, comma-separated names) includes it;
2. import its module with the registry attributing every op defined to that plugin;
3. register the module with pluggy, so its hook implementations are found;
4. on any error, undo what the plugin registered, record it as *broken* with the error, and
   go on: one bad plugin never takes the others down. With strict mode
   (`HYPERGRAD_STRICT_PLUGINS=1` or `load_plugins(strict=True)`) the error is raised instead.

If HyperGrad runs from a source tree that was never installed (no entry-point metadata), the
built-in families are loaded from `BUILTIN_PLUGINS` through the very same function.
"""

from __future__ import annotations

import importlib
import os
import traceback
from dataclasses import dataclass, field
from importlib import metadata

import pluggy

from . import hookspecs
from .registry import registry

__all__ = ["PluginRecord", "PluginLoadError", "load_plugins", "plugin_manager", "hooks",
           "BUILTIN_PLUGINS"]

ENTRY_POINT_GROUP = "hypergrad"
ALLOW_LIST_VARIABLE = "HYPERGRAD_PLUGINS"
STRICT_VARIABLE = "HYPERGRAD_STRICT_PLUGINS"

BUILTIN_PLUGINS = {
    "arithmetic": "hypergrad.ops.arithmetic",
    "unary": "hypergrad.ops.unary",
    "comparison": "hypergrad.ops.comparison",
    "reduction": "hypergrad.ops.reduction",
    "linalg": "hypergrad.ops.linalg",
    "shape": "hypergrad.ops.shape",
    "nn": "hypergrad.ops.nn",
    "ordering": "hypergrad.ops.ordering",
    "pointwise": "hypergrad.ops.pointwise",
    "indexing": "hypergrad.ops.indexing",
}


class PluginLoadError(RuntimeError):
    """A plugin failed to load in strict mode."""


@dataclass
class PluginRecord:
    """One plugin as loaded: its name, module, distribution, status and error if broken."""

    name: str
    module: str
    distribution: str | None = None
    version: str | None = None
    status: str = "loaded"            # "loaded", "broken", or "skipped" (not allow-listed)
    error: str | None = None
    traceback: str | None = None
    ops: list = field(default_factory=list)

    @property
    def builtin(self):
        return self.module.startswith("hypergrad.")


plugin_manager = pluggy.PluginManager("hypergrad")
plugin_manager.add_hookspecs(hookspecs)


class _Hooks:
    """The typed facade the core uses to call hooks (never called per operation)."""

    def register_ops(self, register):
        plugin_manager.hook.hypergrad_register_ops(register=register)

    def register_commands(self, subparsers):
        plugin_manager.hook.hypergrad_register_commands(subparsers=subparsers)

    def plugins_loaded(self):
        plugin_manager.hook.hypergrad_plugins_loaded(registry=registry)


hooks = _Hooks()


def _entry_points():
    """(name, module, distribution, version) for every plugin entry point installed."""
    found = []
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        found.append((ep.name, ep.value, dist.name if dist else None,
                      dist.version if dist else None))
    # Built-ins first, whatever order sys.path lists distributions in, so that a third-party
    # op with `override = True` replaces the built-in one instead of colliding with it.
    found.sort(key=lambda item: not item[1].startswith("hypergrad.ops"))
    if not any(value.startswith("hypergrad.ops") for _, value, _, _ in found):
        found = [(name, module, "hypergrad", None) for name, module in BUILTIN_PLUGINS.items()] \
            + found
    return found


def _allow_list():
    value = os.environ.get(ALLOW_LIST_VARIABLE)
    if value is None or not value.strip():
        return None
    return {name.strip() for name in value.split(",") if name.strip()}


def load_plugins(strict=None, entry_points=None):
    """Load every plugin (see the module docstring); return the PluginRecords by name."""
    if strict is None:
        strict = os.environ.get(STRICT_VARIABLE, "").lower() in ("1", "true", "yes")
    allowed = _allow_list()
    for name, module, dist, version in (entry_points if entry_points is not None
                                        else _entry_points()):
        if name in registry.plugins and registry.plugins[name].status == "loaded":
            continue
        record = PluginRecord(name, module, dist, version)
        registry.plugins[name] = record
        if allowed is not None and name not in allowed:
            record.status = "skipped"
            continue
        load_plugin(record, strict)
    hooks.plugins_loaded()
    return registry.plugins


def load_plugin(record, strict=False):
    """Import one plugin module in isolation; see the module docstring."""
    previous = registry.current_plugin
    registry.current_plugin = record.name
    try:
        module = importlib.import_module(record.module)
        if plugin_manager.get_plugin(record.name) is None:
            plugin_manager.register(module, name=record.name)
            _call_register_ops(module)
    except Exception as error:  # isolation: any failure of a plugin is contained
        registry.unregister_plugin(record.name)
        if plugin_manager.get_plugin(record.name) is not None:
            plugin_manager.unregister(name=record.name)
        record.status = "broken"
        record.error = f"{type(error).__name__}: {error}"
        record.traceback = traceback.format_exc()
        if strict:
            raise PluginLoadError(f"plugin {record.name!r} ({record.module}) failed to load: "
                                  f"{record.error}") from error
    else:
        record.status = "loaded"
    finally:
        registry.current_plugin = previous
    record.ops = sorted(entry.name for entry in registry.by_plugin(record.name))
    return record


def _register_callback(op):
    """The `register` argument of `hypergrad_register_ops`: ops are already registered when
    their class is defined, so this only checks the argument is an Op class."""
    from .op import Op

    if not (isinstance(op, type) and issubclass(op, Op)):
        raise TypeError(f"register() expects an Op subclass, got {op!r}")


def _call_register_ops(module):
    """Call this one plugin's `hypergrad_register_ops`, if it has one."""
    impl = getattr(module, "hypergrad_register_ops", None)
    if impl is not None:
        impl(register=_register_callback)
