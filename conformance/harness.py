"""Running one sample in HyperGrad and in torch, and comparing what came out.

The checks (checks.py) are written with four tools from this module:

    execute(lib, op, scenario)        build the inputs from the sample and call the op
    agree_on_errors(hg, torch, what)  both raised (the same kind of error), or neither did
    compare(ctx, hg, torch, what)     values, dtypes, shapes (and requires_grad) agree
    gradients(ctx, hg, torch, ...)    vector-Jacobian products through a random cotangent agree

A `Scenario` records everything a check ran on one example (the sample, the spelling, the
memory layouts, the cotangents), so that a failure can be replayed as a script (repro.py).
A disagreement raises `Mismatch`, an AssertionError whose message says what differed, where,
and by how much.

Note [Tolerances]
    Values are compared as torch.testing.assert_close does: |hg - torch| <= atol + rtol *
    |torch| elementwise, with the tolerances of the dtype (float32: rtol 1.3e-6, atol 1e-5;
    float64: 1e-7, 1e-7; integers and bool exactly); NaN must appear at the same positions and
    infinities must be equal. An op may loosen them with `tolerances` (domains.py).
    The *error ratio* of a comparison is the largest |hg - torch| / (atol + rtol * |torch|):
    below 1 passes, and the reports show the worst ratio each check saw.
"""

from __future__ import annotations

import copy
import importlib
import warnings
from dataclasses import dataclass, field

import numpy as np

import hypergrad as hg

from .domains import FLOATING, Sample, SampleTensor

__all__ = [
    "DEFAULT_TOLERANCES",
    "FUNCTION",
    "Mismatch",
    "OpUnderTest",
    "Run",
    "Scenario",
    "agree_on_errors",
    "compare",
    "execute",
    "gradients",
    "tensor_slots",
]

DEFAULT_TOLERANCES = {
    "float16": (1e-3, 1e-5), "bfloat16": (1.6e-2, 1e-5), "float32": (1.3e-6, 1e-5),
    "float64": (1e-7, 1e-7), "complex64": (1.3e-6, 1e-5), "complex128": (1e-7, 1e-7),
}

FUNCTION = ("function", None)

_INPLACE_DUNDERS = {"__iadd__", "__isub__", "__imul__", "__itruediv__", "__idiv__",
                    "__ifloordiv__", "__imod__", "__ipow__", "__imatmul__", "__iand__",
                    "__ior__", "__ixor__", "__ilshift__", "__irshift__"}


class Mismatch(AssertionError):
    """HyperGrad and torch disagree; `scenario` (set by the runner) says on what."""

    scenario = None


def _torch():
    import torch

    return torch


# ----------------------------------------------------------------------------------------------
# The op under test
# ----------------------------------------------------------------------------------------------
def is_inplace_name(name):
    """`add_`, `__iadd__`: names of in-place spellings."""
    return name in _INPLACE_DUNDERS or (name.endswith("_") and not name.endswith("__"))


def resolve_reference(reference):
    """"torch.mul" or "torch.Tensor.expand" -> the torch callable; a callable is returned as is."""
    if reference is None or callable(reference):
        return reference
    module_name, _, rest = reference.partition(".")
    target = importlib.import_module(module_name)
    for part in rest.split(".") if rest else ():
        target = getattr(target, part)
    return target


def _attribute_path(root, dotted):
    target = root
    for part in dotted.split("."):
        target = getattr(target, part)
    return target


class OpUnderTest:
    """An `OpEntry` seen from the suite: its two callables, spellings, dtypes, tolerances."""

    def __init__(self, entry):
        self.entry = entry
        self.name = entry.name
        self.hg_function = entry.function
        self.divergences = dict(entry.divergences or {})
        methods = tuple(entry.methods or ())
        self.inplace_methods = tuple(m for m in methods if is_inplace_name(m))
        self.methods = tuple(m for m in methods if not is_inplace_name(m))
        self.aliases = tuple(entry.aliases or ())
        self.dtypes = tuple(entry.dtypes or FLOATING)
        self.floating_dtypes = tuple(d for d in self.dtypes if d.startswith(("float",
                                                                            "bfloat")))
        self.function_is_inplace = is_inplace_name(self.name.rsplit(".", 1)[-1])
        op = entry.op
        self.differentiable = getattr(op, "differentiable", True) if op is not None else True
        self._torch_function = None

    @property
    def reference_text(self):
        reference = self.entry.reference
        if reference is None or isinstance(reference, str):
            return reference
        return getattr(reference, "__qualname__", repr(reference))

    @property
    def torch_function(self):
        if self._torch_function is None:
            self._torch_function = resolve_reference(self.entry.reference)
        return self._torch_function

    def tolerance(self, dtype_name, check=None):
        """(rtol, atol) for values of this dtype; see Note [Tolerances] and domains.py."""
        declared = self.entry.tolerances or {}
        if check is not None and isinstance(declared.get(check), dict):
            value = declared[check].get(dtype_name)
            if value is not None:
                return tuple(value)
        value = declared.get(dtype_name)
        if value is not None and not isinstance(value, dict):
            return tuple(value)
        return DEFAULT_TOLERANCES.get(dtype_name, (0.0, 0.0))


# ----------------------------------------------------------------------------------------------
# Scenarios and runs
# ----------------------------------------------------------------------------------------------
@dataclass
class Scenario:
    """What a check ran on one example: enough to replay it in both libraries.

    `spelling` is ("function", None), ("alias", name), ("method", name) or ("inplace", name).
    `layouts` maps a tensor slot (the order tensors appear in the sample) to "transposed",
    "strided" or "expanded". `cotangents` are the gradients fed to the outputs named in
    `outputs` (paths into the result); `second` are the arrays the first gradients are dotted
    with for the second-order check.
    """

    op: str
    check: str
    sample: Sample
    dtype: str = ""
    spelling: tuple = FUNCTION
    layouts: dict = field(default_factory=dict)
    outputs: list | None = None
    cotangents: list | None = None
    create_graph: bool = False
    second: list | None = None
    mutation: bool = False
    expect_error: object = None

    def copy(self):
        return copy.deepcopy(self)

    def to_dict(self):
        """A JSON-friendly description (reports store it with every failing example)."""
        return {
            "op": self.op, "check": self.check, "dtype": self.dtype,
            "spelling": list(self.spelling), "sample": describe_sample(self.sample),
            "layouts": {str(k): v for k, v in self.layouts.items()},
            "outputs": [list(p) for p in self.outputs] if self.outputs is not None else None,
            "cotangents": [_array_dict(a) for a in self.cotangents]
            if self.cotangents is not None else None,
            "second": [[i, _array_dict(a)] for i, a in self.second]
            if self.second is not None else None,
            "create_graph": self.create_graph,
        }


def _array_dict(array):
    return {"dtype": array.dtype.name, "shape": list(array.shape),
            "values": _json_values(array)}


def _json_values(array):
    if array.dtype.kind == "f":
        return np.where(np.isfinite(array), array, 0).tolist() if np.isfinite(array).all() \
            else [repr(v) if not np.isfinite(v) else v for v in array.ravel().tolist()]
    return array.tolist()


def describe_sample(sample):
    def describe(value):
        if isinstance(value, SampleTensor):
            out = _array_dict(value.array)
            out["requires_grad"] = value.requires_grad
            return out
        if isinstance(value, (list, tuple)):
            return [describe(v) for v in value]
        return repr(value)

    return {"args": [describe(a) for a in sample.args],
            "kwargs": {k: describe(v) for k, v in sample.kwargs.items()}}


def tensor_slots(sample):
    """The SampleTensors of a sample in slot order: args first, then kwargs, depth first."""
    found = []

    def walk(value):
        if isinstance(value, SampleTensor):
            found.append(value)
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)

    for arg in sample.args:
        walk(arg)
    for arg in sample.kwargs.values():
        walk(arg)
    return found


@dataclass
class Run:
    """One library's run of a scenario: its inputs (one per slot), leaves, output or error."""

    lib: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    inputs: list = field(default_factory=list)
    leaves: list = field(default_factory=list)     # (slot, tensor) for inputs requiring grad
    output: object = None
    error: BaseException | None = None
    self_tensor: object = None                      # the tensor an in-place spelling changed


# ----------------------------------------------------------------------------------------------
# Memory layouts (check `noncontiguous`)
# ----------------------------------------------------------------------------------------------
def layout_options(array):
    """The non-contiguous layouts an array of this shape can be given."""
    options = []
    if array.ndim >= 2:
        options.append("transposed")
    if array.ndim >= 1 and array.size > 0:
        options.append("strided")
    if any(s > 1 for s in array.shape):
        options.append("expanded")
    return options


def expanded_values(array):
    """The values an expanded view can hold: the first slice along the first dim of size > 1,
    repeated (an expanded tensor has stride 0 there)."""
    axis = next(i for i, s in enumerate(array.shape) if s > 1)
    return np.broadcast_to(np.take(array, [0], axis=axis), array.shape).copy()


def layout_view(array, layout):
    """A non-contiguous numpy view holding the same values as `array`."""
    if layout == "transposed":
        return np.ascontiguousarray(np.swapaxes(array, -1, -2)).swapaxes(-1, -2)
    if layout == "strided":
        base = np.zeros(array.shape[:-1] + (2 * array.shape[-1],), dtype=array.dtype)
        base[..., ::2] = array
        return base[..., ::2]
    if layout == "expanded":
        axis = next(i for i, s in enumerate(array.shape) if s > 1)
        return np.broadcast_to(np.take(array, [0], axis=axis), array.shape)
    raise ValueError(f"unknown layout {layout!r}")


# ----------------------------------------------------------------------------------------------
# Building inputs and calling the op
# ----------------------------------------------------------------------------------------------
def _make_tensor(lib, sample_tensor, layout):
    array = sample_tensor.array
    data = layout_view(array, layout) if layout else array.copy()
    if lib == "hypergrad":
        tensor = hg.from_numpy(data)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # expanded views are read-only numpy arrays
            tensor = _torch().from_numpy(data)
    if sample_tensor.requires_grad and array.dtype.kind in "fc":
        tensor.requires_grad_(True)
    return tensor


def _convert(lib, value, run, layouts):
    if isinstance(value, SampleTensor):
        slot = len(run.inputs)
        tensor = _make_tensor(lib, value, layouts.get(slot))
        run.inputs.append(tensor)
        if tensor.requires_grad:
            run.leaves.append((slot, tensor))
        return tensor
    if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
        return type(value)(_convert(lib, v, run, layouts) for v in value)
    if isinstance(value, hg.dtype) and lib == "torch":
        return getattr(_torch(), value.name)
    return value


def materialize(lib, scenario):
    """The Run for `lib` with its inputs built (not yet called)."""
    run = Run(lib)
    run.args = tuple(_convert(lib, a, run, scenario.layouts) for a in scenario.sample.args)
    run.kwargs = {k: _convert(lib, v, run, scenario.layouts)
                  for k, v in scenario.sample.kwargs.items()}
    return run


def spelled_callable(lib, op, spelling):
    """The function to call for a spelling, or None for method spellings."""
    kind, name = spelling
    if kind == "function":
        return op.hg_function if lib == "hypergrad" else op.torch_function
    if kind == "alias":
        return _attribute_path(hg if lib == "hypergrad" else _torch(), name)
    return None


def call(lib, op, spelling, run):
    """Call the op as `spelling` says on the run's inputs; record the output or the error."""
    kind, name = spelling
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with np.errstate(all="ignore"):
                if kind in ("function", "alias"):
                    run.output = spelled_callable(lib, op, spelling)(*run.args, **run.kwargs)
                elif kind == "inplace":
                    target = run.args[0]
                    if target.requires_grad:
                        target = target.clone()
                    else:
                        target = hg.from_numpy(target._data.copy()) if lib == "hypergrad" \
                            else target.clone()
                    run.self_tensor = target
                    run.output = getattr(target, name)(*run.args[1:], **run.kwargs)
                else:
                    run.output = getattr(run.args[0], name)(*run.args[1:], **run.kwargs)
    except Exception as error:  # the error is the result: compared with torch's
        run.error = error
    return run


def execute(lib, op, scenario):
    """Build the inputs for `lib` and call the op as the scenario says."""
    return call(lib, op, scenario.spelling, materialize(lib, scenario))


def execute_both(op, scenario):
    return execute("hypergrad", op, scenario), execute("torch", op, scenario)


# ----------------------------------------------------------------------------------------------
# Errors
# ----------------------------------------------------------------------------------------------
def error_kind(error):
    """The built-in exception class an error is (torch's LinAlgError is a RuntimeError)."""
    for cls in type(error).__mro__:
        if cls.__module__ == "builtins":
            return cls
    return Exception


def _error_text(error):
    text = str(error).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(error).__name__}: {first[:300]}"


def agree_on_errors(hg_error, torch_error, hg_value, torch_value, what):
    """True if both raised errors of the same kind; Mismatch if only one raised or the kinds
    differ; False if neither raised."""
    if hg_error is None and torch_error is None:
        return False
    if hg_error is not None and torch_error is not None:
        if error_kind(hg_error) is error_kind(torch_error):
            return True
        raise Mismatch(f"{what}: both raise, but HyperGrad raises {_error_text(hg_error)} "
                       f"and torch raises {_error_text(torch_error)}")
    if torch_error is not None:
        raise Mismatch(f"{what}: torch raises {_error_text(torch_error)}, but HyperGrad "
                       f"returns {_short(hg_value)}")
    raise Mismatch(f"{what}: HyperGrad raises {_error_text(hg_error)}, but torch returns "
                   f"{_short(torch_value)}")


def _short(value):
    text = repr(value).replace("\n", " ")
    return text if len(text) <= 200 else text[:197] + "..."


# ----------------------------------------------------------------------------------------------
# Comparing results
# ----------------------------------------------------------------------------------------------
def flatten(value, path=()):
    """[(path, leaf)]: tensors and other leaves of a (possibly nested) tuple/list result."""
    torch = _torch()
    if isinstance(value, (tuple, list)) and not isinstance(value, (hg.Size, torch.Size)):
        found = []
        for i, item in enumerate(value):
            found.extend(flatten(item, path + (i,)))
        return found
    return [(path, value)]


def path_text(name, path):
    return name + "".join(f"[{i}]" for i in path)


def _torch_dtype_name(dtype):
    return str(dtype).rpartition(".")[2]


def compare(ctx, hg_value, torch_value, what, check_requires_grad=True):
    """Mismatch unless the two results agree in structure, type, dtype, shape and values."""
    torch = _torch()
    hg_leaves = flatten(hg_value)
    torch_leaves = flatten(torch_value)
    if [p for p, _ in hg_leaves] != [p for p, _ in torch_leaves]:
        raise Mismatch(f"{what}: HyperGrad returns {_structure(hg_value)}, torch returns "
                       f"{_structure(torch_value)}")
    for (path, h), (_, t) in zip(hg_leaves, torch_leaves):
        label = path_text(what, path)
        if isinstance(t, torch.Tensor):
            if not isinstance(h, hg.Tensor):
                raise Mismatch(f"{label}: torch returns a Tensor, HyperGrad returns "
                               f"{type(h).__name__} {_short(h)}")
            compare_tensors(ctx, h, t, label, check_requires_grad)
        elif isinstance(t, torch.dtype):
            if not isinstance(h, hg.dtype) or h.name != _torch_dtype_name(t):
                raise Mismatch(f"{label}: HyperGrad returns {h!r}, torch returns {t!r}")
        elif isinstance(t, (torch.Size, tuple)):
            if tuple(h) != tuple(t):
                raise Mismatch(f"{label}: HyperGrad returns {tuple(h)}, torch returns "
                               f"{tuple(t)}")
        elif isinstance(t, float) and isinstance(h, (float, int)) and not isinstance(h, bool):
            _compare_arrays(ctx, np.asarray(h, np.float64), np.asarray(t, np.float64), label,
                            ctx.tolerance("float64"))
        elif type(h) is not type(t) or h != t:
            raise Mismatch(f"{label}: HyperGrad returns {type(h).__name__} {_short(h)}, "
                           f"torch returns {type(t).__name__} {_short(t)}")


def _structure(value):
    torch = _torch()
    if isinstance(value, (tuple, list)) and not isinstance(value, (hg.Size, torch.Size)):
        return f"{type(value).__name__} of {len(value)} (" + ", ".join(
            _structure(v) for v in value) + ")"
    return type(value).__name__


def torch_to_numpy(t):
    t = t.detach()
    if t._is_zerotensor():  # torch's "efficient zeros" in some second-order gradients
        return np.zeros(tuple(t.shape), dtype=_torch_dtype_name(t.dtype))
    return t.resolve_conj().resolve_neg().numpy()


def compare_tensors(ctx, h, t, label, check_requires_grad=True):
    torch_dtype = _torch_dtype_name(t.dtype)
    hg_dtype = h._data.dtype.name
    if tuple(h.shape) != tuple(t.shape):
        raise Mismatch(f"{label}: shape {list(h.shape)} in HyperGrad, {list(t.shape)} in torch")
    if hg_dtype != torch_dtype:
        raise Mismatch(f"{label}: dtype {hg_dtype} in HyperGrad, {torch_dtype} in torch")
    if check_requires_grad and h.requires_grad != t.requires_grad:
        raise Mismatch(f"{label}: requires_grad is {h.requires_grad} in HyperGrad, "
                       f"{t.requires_grad} in torch")
    expected = torch_to_numpy(t)
    _compare_arrays(ctx, np.asarray(h._data), expected, label, ctx.tolerance(torch_dtype))


def _compare_arrays(ctx, actual, expected, label, tolerance):
    """Elementwise closeness as in Note [Tolerances]; records the error ratio in ctx."""
    if expected.dtype.kind not in "fc":
        if not np.array_equal(actual, expected):
            bad = np.argwhere(actual != expected)
            index = tuple(int(i) for i in bad[0]) if len(bad) else ()
            raise Mismatch(f"{label}: {len(bad)} of {expected.size} elements differ "
                           f"(exact dtype {expected.dtype.name}); first at index "
                           f"{list(index)}: HyperGrad {actual[index].item()!r}, torch "
                           f"{expected[index].item()!r}{_both(actual, expected)}")
        return
    rtol, atol = tolerance
    a = actual.astype(np.complex128 if expected.dtype.kind == "c" else np.float64)
    e = expected.astype(a.dtype)
    nan_a, nan_e = np.isnan(a), np.isnan(e)
    if not np.array_equal(nan_a, nan_e):
        index = tuple(int(i) for i in np.argwhere(nan_a != nan_e)[0])
        raise Mismatch(f"{label}: NaN at different positions; first at index {list(index)}: "
                       f"HyperGrad {a[index].item()!r}, torch {e[index].item()!r}"
                       f"{_both(actual, expected)}")
    inf_a, inf_e = np.isinf(a), np.isinf(e)
    if not np.array_equal(inf_a, inf_e) or not np.array_equal(a[inf_e], e[inf_e]):
        index = tuple(int(i) for i in np.argwhere((inf_a != inf_e) | (inf_e & (a != e)))[0])
        raise Mismatch(f"{label}: infinities differ; first at index {list(index)}: HyperGrad "
                       f"{a[index].item()!r}, torch {e[index].item()!r}{_both(actual, expected)}")
    finite = ~(nan_e | inf_e)
    if not finite.any():
        return
    with np.errstate(all="ignore"):
        diff = np.where(finite, np.abs(a - e), 0.0)
        allowed = atol + rtol * np.abs(e)
        ratio = np.where(finite, np.where(allowed > 0, diff / allowed,
                                          np.where(diff > 0, np.inf, 0.0)), 0.0)
    worst = np.unravel_index(int(np.argmax(ratio)), ratio.shape) if ratio.ndim else ()
    worst_ratio = float(ratio[worst])
    ctx.observe(label, worst_ratio, float(diff[worst]))
    if worst_ratio > 1.0:
        count = int((ratio > 1.0).sum())
        raise Mismatch(f"{label}: {count} of {e.size} elements differ beyond rtol={rtol:g}, "
                       f"atol={atol:g} (dtype {expected.dtype.name}); worst at index "
                       f"{[int(i) for i in worst]}: HyperGrad {a[worst].item()!r}, torch "
                       f"{e[worst].item()!r}, |diff| {float(diff[worst]):.3g} = "
                       f"{worst_ratio:.3g} x the tolerance{_both(actual, expected)}")


def _both(actual, expected):
    if expected.size > 64:
        return ""
    return (f"\n  HyperGrad: {np.array2string(np.asarray(actual), separator=', ')}"
            f"\n  torch:     {np.array2string(np.asarray(expected), separator=', ')}")


# ----------------------------------------------------------------------------------------------
# Gradients
# ----------------------------------------------------------------------------------------------
def differentiable_outputs(hg_output, torch_output):
    """[(path, hg tensor, torch tensor)] for the outputs torch says require grad."""
    torch = _torch()
    found = []
    for (path, h), (_, t) in zip(flatten(hg_output), flatten(torch_output)):
        if isinstance(t, torch.Tensor) and t.requires_grad:
            found.append((path, h, t))
    return found


def node_name(node):
    """A Node's name as a learner reads it: torch's C++ namespace prefix dropped
    ("torch::autograd::NotImplemented" is printed as <NotImplemented>)."""
    if node is None:
        return None
    return node.name().rpartition("::")[2]


def compare_grad_fn(hg_tensor, torch_tensor, label):
    """The Node names (`grad_fn`) agree: what a learner sees when printing the tensor."""
    hg_name = node_name(hg_tensor.grad_fn)
    torch_name = node_name(torch_tensor.grad_fn)
    if hg_name != torch_name:
        raise Mismatch(f"{label}.grad_fn: {hg_name} in HyperGrad, {torch_name} in torch")


def run_grad(lib, outputs, inputs, grad_outputs, create_graph=False):
    """autograd.grad in `lib`; returns (grads, error)."""
    module = hg if lib == "hypergrad" else _torch()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with np.errstate(all="ignore"):
                grads = module.autograd.grad(list(outputs), list(inputs),
                                             grad_outputs=list(grad_outputs),
                                             create_graph=create_graph, allow_unused=True)
    except Exception as error:  # compared with torch's
        return None, error
    return tuple(grads), None


def make_cotangent(lib, array, requires_grad=False):
    if lib == "hypergrad":
        tensor = hg.from_numpy(array.copy())
    else:
        tensor = _torch().from_numpy(array.copy())
    if requires_grad:
        tensor.requires_grad_(True)
    return tensor


def gradients(ctx, hg_run, torch_run, scenario, create_graph=False):
    """Compare the gradients of every leaf through a random cotangent.

    Returns None when there is nothing to differentiate (no output requires grad in torch,
    or no input does), else (hg grads, torch grads, hg cotangents, torch cotangents,
    slots of the leaves).
    """
    outputs = differentiable_outputs(hg_run.output, torch_run.output)
    if not outputs or not torch_run.leaves:
        return None
    if len(hg_run.leaves) != len(torch_run.leaves):
        raise Mismatch("the inputs requiring grad differ between HyperGrad and torch")
    scenario.outputs = [path for path, _, _ in outputs]
    scenario.cotangents = [ctx.g.cotangent(tuple(t.shape), _torch_dtype_name(t.dtype))
                           for _, _, t in outputs]
    scenario.create_graph = create_graph
    hg_v = [make_cotangent("hypergrad", a, create_graph) for a in scenario.cotangents]
    torch_v = [make_cotangent("torch", a, create_graph) for a in scenario.cotangents]
    hg_grads, hg_error = run_grad("hypergrad", [h for _, h, _ in outputs],
                                  [t for _, t in hg_run.leaves], hg_v, create_graph)
    torch_grads, torch_error = run_grad("torch", [t for _, _, t in outputs],
                                        [t for _, t in torch_run.leaves], torch_v,
                                        create_graph)
    if agree_on_errors(hg_error, torch_error, hg_grads, torch_grads, "backward"):
        return None
    slots = [slot for slot, _ in torch_run.leaves]
    compare_gradient_lists(ctx, hg_grads, torch_grads, [f"grad of x{s}" for s in slots])
    return hg_grads, torch_grads, hg_v, torch_v, slots


def compare_gradient_lists(ctx, hg_grads, torch_grads, labels, none_is_zero=False):
    """Gradients agree. None means "not connected"; with `none_is_zero` (second order, where
    torch and HyperGrad may build differently shaped but equivalent graphs) None equals a
    gradient of zeros."""
    for label, h, t in zip(labels, hg_grads, torch_grads):
        if h is None and t is None:
            continue
        if none_is_zero and (h is None or t is None):
            other = np.asarray(h._data) if t is None else torch_to_numpy(t)
            if np.any(other != 0):
                who = "torch" if t is None else "HyperGrad"
                raise Mismatch(f"{label}: {who} gives None (no dependence), the other gives "
                               f"non-zero {_short(h if t is None else t)}")
            continue
        if t is None:
            raise Mismatch(f"{label}: torch gives None (the input is unused), HyperGrad gives "
                           f"{_short(h)}")
        if h is None:
            raise Mismatch(f"{label}: HyperGrad gives None (the input is unused), torch gives "
                           f"{_short(t)}")
        compare(ctx, h, t, label, check_requires_grad=False)
