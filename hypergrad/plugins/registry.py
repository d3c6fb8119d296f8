"""The op registry: which ops exist, where each came from, and binding them into the namespace.

Registration happens when an `Op` subclass is defined (or `@op_function` decorates a
composite). The registry then

- records an `OpEntry` (the function, its Node class, its plugin, its conformance metadata);
- binds the function as `hypergrad.<name>` (and aliases), and the Tensor methods/operators;
- refuses a second op of the same name from another plugin, naming both, unless the newcomer
  sets `override = True`;
- remembers every binding per plugin so a plugin that fails half way through loading can be
  rolled back, leaving the rest of HyperGrad as it was.

Nothing here is on the per-operation path: binding happens once, at registration.
"""

from __future__ import annotations

import importlib
import inspect
import numbers
import sys
from dataclasses import dataclass, field

__all__ = ["OpEntry", "Registry", "registry", "op_function", "DuplicateOpError"]

_MISSING = object()
_REFLECTED = {"__radd__", "__rsub__", "__rmul__", "__rtruediv__", "__rdiv__", "__rfloordiv__",
              "__rmod__", "__rpow__", "__rmatmul__", "__rand__", "__ror__", "__rxor__"}
_RICH_COMPARISONS = {"__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__"}
_INPLACE_DUNDER = {"__iadd__", "__isub__", "__imul__", "__itruediv__", "__idiv__",
                   "__ifloordiv__", "__imod__", "__ipow__", "__imatmul__", "__iand__",
                   "__ior__", "__ixor__"}


class DuplicateOpError(RuntimeError):
    """Two plugins define the same op (or Tensor method) name."""


@dataclass
class OpEntry:
    """What the registry knows about one public op."""

    name: str
    function: object
    plugin: str
    module: str
    op: type | None = None
    methods: tuple = ()
    aliases: tuple = ()
    reference: object = None
    samples: object = None
    dtypes: tuple | None = None
    tolerances: dict | None = None
    divergences: dict | None = None
    error_samples: object = None
    supports_gradgrad: bool = True
    node_names: tuple = ()
    extra: dict = field(default_factory=dict)

    @property
    def doc(self):
        return inspect.getdoc(self.op if self.op is not None else self.function) or ""

    @property
    def summary(self):
        return self.doc.splitlines()[0] if self.doc else ""


class Registry:
    def __init__(self):
        self.entries = {}          # public name -> OpEntry
        self.ops = []              # every Op class, internal ones too
        self.plugins = {}          # plugin name -> PluginRecord (set by the manager)
        self.current_plugin = None
        self._bindings = {}        # plugin -> [(target, attribute, previous value)]
        self._method_owner = {}    # Tensor method name -> entry name

    # --- registering --------------------------------------------------------------------------
    def register_op(self, op):
        """Called by `Op.__init_subclass__`."""
        plugin = self._plugin_for(op.__module__)
        self.ops = [o for o in self.ops
                    if not (o.__module__ == op.__module__ and o.__qualname__ == op.__qualname__)]
        self.ops.append(op)
        self._track(plugin, None, None, None, op=op)
        if op.name is None:
            return
        function = op.apply
        function.__name__ = op.name.rsplit(".", 1)[-1]
        function.__qualname__ = function.__name__
        function.__doc__ = op.__doc__
        function.__module__ = "hypergrad"
        function.__signature__ = op.signature()
        function.op = op
        entry = OpEntry(
            name=op.name, function=function, plugin=plugin, module=op.__module__, op=op,
            methods=tuple(op.methods), aliases=tuple(op.aliases), reference=op.reference,
            samples=op.samples, dtypes=op.dtypes, tolerances=op.tolerances,
            divergences=op.divergences, error_samples=op.error_samples,
            supports_gradgrad=op.supports_gradgrad, node_names=(op.node_class.__name__,))
        self.add(entry, override=op.override)

    def add(self, entry, override=False):
        """Record `entry` and bind its function and methods."""
        existing = self.entries.get(entry.name)
        if existing is not None and not _same_definition(existing, entry) and not override:
            raise DuplicateOpError(
                f"op {entry.name!r} is defined twice: by plugin {existing.plugin!r} "
                f"({existing.module}) and by plugin {entry.plugin!r} ({entry.module}). Remove "
                f"one, or set `override = True` on the one that should win.")
        for method in entry.methods:
            owner = self._method_owner.get(method)
            if owner is not None and owner != entry.name and not override:
                other = self.entries[owner]
                raise DuplicateOpError(
                    f"Tensor method {method!r} is bound twice: by op {owner!r} (plugin "
                    f"{other.plugin!r}) and by op {entry.name!r} (plugin {entry.plugin!r}).")
        self.entries[entry.name] = entry
        self._bind(entry)

    def _bind(self, entry):
        from ..plugins.op import inplace_variant
        from ..tensor import Tensor

        for name in (entry.name, *entry.aliases):
            namespace, _, attribute = name.rpartition(".")
            target = _namespace(namespace)
            self._set(entry.plugin, target, attribute, entry.function)
        function = entry.function
        base = entry.name.rsplit(".", 1)[-1]
        for method in entry.methods:
            if method in _RICH_COMPARISONS:
                bound = _comparison_operator(function, method)
            elif method == base or method[2:-2] == base:
                bound = function  # the op *is* this method (`zero_`, `rsub` for __rsub__)
            elif method in _REFLECTED:
                bound = _reflected(function, method)
            elif method in _INPLACE_DUNDER or (method.endswith("_") and not method.endswith("__")):
                bound = inplace_variant(function, method,
                                        ufunc=getattr(entry.op, "inplace_ufunc", None))
            else:
                bound = function
            self._set(entry.plugin, Tensor, method, bound)
            self._method_owner[method] = entry.name

    def _set(self, plugin, target, attribute, value):
        previous = target.__dict__.get(attribute, _MISSING) if isinstance(target, type) else \
            getattr(target, attribute, _MISSING)
        setattr(target, attribute, value)
        self._track(plugin, target, attribute, previous)

    def _track(self, plugin, target, attribute, previous, op=None):
        self._bindings.setdefault(plugin, []).append((target, attribute, previous, op))

    def _plugin_for(self, module):
        if self.current_plugin is not None:
            return self.current_plugin
        return module.split(".")[0] if module != "__main__" else "__main__"

    # --- rolling back -------------------------------------------------------------------------
    def unregister_plugin(self, plugin):
        """Undo every binding `plugin` made (used when its loading fails half way)."""
        for target, attribute, previous, op in reversed(self._bindings.pop(plugin, [])):
            if op is not None:
                self.ops = [o for o in self.ops if o is not op]
                continue
            if previous is _MISSING:
                try:
                    delattr(target, attribute)
                except AttributeError:
                    pass
            else:
                setattr(target, attribute, previous)
        for name in [n for n, e in self.entries.items() if e.plugin == plugin]:
            entry = self.entries.pop(name)
            for method in entry.methods:
                if self._method_owner.get(method) == name:
                    del self._method_owner[method]

    # --- queries ------------------------------------------------------------------------------
    def get(self, name):
        try:
            return self.entries[name]
        except KeyError:
            raise KeyError(f"no op named {name!r}; `hypergrad ops` lists the registered ops") \
                from None

    def by_plugin(self, plugin):
        return [e for e in self.entries.values() if e.plugin == plugin]


def _same_definition(a, b):
    """Re-running the same module (a reload, a notebook cell) replaces, it is no duplicate."""
    return a.plugin == b.plugin and a.module == b.module


def _namespace(dotted):
    """The module object for "" (hypergrad itself), "linalg", "nn.functional", ..."""
    name = "hypergrad" + ("." + dotted if dotted else "")
    module = sys.modules.get(name)
    if module is None:
        module = importlib.import_module(name)
    return module


def _comparison_operator(function, method):
    """`t == None` is False and `t < "a"` a TypeError, as in Python and torch: for an operand
    that is neither a Tensor nor a number the operator returns NotImplemented."""
    from ..tensor import Tensor

    def operator(self, other):
        if not isinstance(other, (Tensor, numbers.Number)):
            return NotImplemented
        return function(self, other)

    operator.__name__ = method
    operator.__doc__ = f"`self {method[2:-2]} other`, via `{function.__name__}`."
    return operator


_COMMUTATIVE = {"__radd__", "__rmul__", "__rand__", "__ror__", "__rxor__"}


def _reflected(function, method):
    if method in _COMMUTATIVE:  # torch runs `1 + x` as x.add(1): x is input 0 of the node
        def reflected(self, other):
            return function(self, other)
    else:
        def reflected(self, other):
            return function(other, self)

    reflected.__name__ = method
    reflected.__doc__ = f"`other {method[3:-2]} self`, via `{function.__name__}`."
    return reflected


registry = Registry()


def op_function(name, *, methods=(), aliases=(), override=False, **metadata):
    """Register a composite op: a plain function built from other ops, with no Node of its own.

    Use it for overloaded names that dispatch to several Op classes (`max`, `max(dim)`,
    `max(other)`) and for ops PyTorch itself implements as compositions. Metadata keywords are
    those of `Op` (`reference`, `samples`, `dtypes`, `tolerances`, `divergences`, ...).
    """

    def decorate(function):
        function.__module__ = "hypergrad"
        entry = OpEntry(name=name, function=function, plugin=registry._plugin_for(
            sys._getframe(1).f_globals.get("__name__", "__main__")),
            module=sys._getframe(1).f_globals.get("__name__", "__main__"),
            methods=tuple(methods), aliases=tuple(aliases),
            node_names=tuple(metadata.pop("node_names", ())), **metadata)
        registry.add(entry, override=override)
        return function

    return decorate
