"""The Op base class: one class per operator, its Node made with it, its function built once.

An op author writes::

    class Mul(Op):
        '''Elementwise product.  out = a * b;  d/da = grad * b;  d/db = grad * a'''
        name = "mul"
        methods = ("mul", "mul_", "__mul__", "__rmul__", "__imul__")
        inputs = 2
        type_promotion = DEFAULT
        reference = "torch.mul"
        samples = binary()

        def forward(ctx, a, b):         # numpy in, numpy out
            ctx.save_for_backward(a, b)
            return a * b

        def backward(ctx, grad):        # Tensors in, Tensors out, in HyperGrad ops
            a, b = ctx.saved_tensors
            return grad * b, grad * a

Defining the class does the rest (`__init_subclass__`):

- creates the Node subclass `MulBackward0` (`Mul.node_class`), whose instances are the `ctx`
  of forward and the `grad_fn` of the outputs;
- builds `Mul.apply`, the tight function that runs the op: unwrap tensors, promote dtypes,
  call forward, wrap outputs, and, when a gradient is needed, connect the node to the graph;
- registers the op (`hypergrad.mul`, the Tensor methods and operators) through the registry.

Note [What the machinery does so each op need not]
    - type promotion (`type_promotion`), per torch's rules, before forward;
    - `needs_input_grad`, and `None` for inputs that need no gradient, after backward;
    - summing a broadcast gradient back to the input's shape and casting it to the input's
      dtype (the engine's `validate_outputs`);
    - saving: `ctx.save_for_backward` takes the numpy arrays forward was given or returned,
      and the machinery saves the corresponding *tensors* (inputs stay connected to the graph;
      outputs are saved without a cycle), with version checks. Anything else saved is kept as
      a constant;
    - in-place variants (`mul_`, `__imul__`) from the out-of-place op: the leaf check, the
      dtype check, the write, the version bump and the new `grad_fn`.

Note [The hot path]
    `apply` runs for every operation a user performs, so it is one closure built when the
    class is defined: no registry look-ups, no plugin calls, no dicts built per call.

Note [The common call]
    Most calls are `x.tanh()`, `x * w` or `x * 1.5`: one or two inputs, each a Tensor of one
    dtype (or a Python number a floating tensor absorbs), one output. For such a call every
    general step has a known answer: nothing to promote, the output keeps the input's dtype,
    every input gets an edge. Ops of one or two inputs (not views, not variadic, no
    `differentiable_inputs`) therefore get an `apply` that checks for that call first and
    writes those steps out (`_build_common_apply`, `_connect_output`); any other call, found
    before forward runs, goes to the full `apply`. The two must agree on every call: the
    conformance suite runs both, since its samples include mixed dtypes and numbers.
    torch does the same in C++: its code generator emits one function per signature
    (torch/csrc/autograd/generated/VariableType*.cpp), not one general one.
"""

from __future__ import annotations

import inspect
import re

import numpy as np

from .. import dtypes as _dtypes
from ..autograd.anomaly import _anomaly, record_forward_trace
from ..autograd.grad_mode import _state
from ..autograd.node import INVALID_EDGE, Node, next_sequence_nr
from ..autograd.saved import SavedTensor
from ..tensor import Tensor

__all__ = ["Op", "OpNode", "DEFAULT", "INT_TO_FLOAT", "ALWAYS_BOOL", "NO_PROMOTION",
           "inplace_variant"]

# Type-promotion kinds, named after torch's ELEMENTWISE_TYPE_PROMOTION_KIND.
NO_PROMOTION = None
DEFAULT = "default"            # compute and return in result_type(inputs)
INT_TO_FLOAT = "int_to_float"  # as DEFAULT, but integer/bool results become the default float
ALWAYS_BOOL = "always_bool"    # compute in result_type(inputs), return bool (comparisons)

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}
_SCALAR_CATEGORY = {bool: 0, int: 1, float: 2, complex: 3}


def _promote(values, kind):
    """Cast the array operands to the dtype torch would compute in; return (values, dtype)."""
    common = None
    same = True
    top_scalar = -1
    for value in values:
        if type(value) is np.ndarray:
            if common is None:
                common = value.dtype
            elif value.dtype != common:
                same = False
        elif value is not None:
            category = _SCALAR_CATEGORY.get(type(value))
            if category is None:
                if isinstance(value, (np.generic,)):  # as torch reads it (np.bool_: a float)
                    category = _dtypes._scalar_dtype(value).category
                else:
                    raise TypeError(f"expected a Tensor or a Python number, got "
                                    f"{type(value).__name__}")
            if category > top_scalar:
                top_scalar = category
    if common is not None and same and top_scalar <= _CATEGORY[common.kind]:
        dtype = common
    else:
        dtype = _dtypes.result_type(*[v for v in values if v is not None]).numpy
    if kind == INT_TO_FLOAT and dtype.kind in "biu":
        dtype = _dtypes.get_default_dtype().numpy
    if not same or dtype != common:
        values = [v.astype(dtype) if type(v) is np.ndarray and v.dtype != dtype else v
                  for v in values]
    return values, dtype


class _ForwardContext:
    """The `ctx` forward receives when no gradient will be needed: saving is a no-op."""

    needs_input_grad = ()

    def save_for_backward(self, *values):
        pass

    def mark_non_differentiable(self, *values):
        pass


class OpNode(Node):
    """Base of every op's Node class (`MulBackward0`): the `ctx` of forward and backward.

    Holds what forward saved and runs the op's `backward` when the engine calls `apply`.
    Instances are made with `object.__new__` on the hot path; everything not set there is a
    class default below until an op sets it.
    """

    __slots__ = ("_saved", "needs_input_grad")
    op = None  # set on each generated subclass
    _non_differentiable = None
    _refusal = None   # why this node cannot run its backward (Note [Complex gradients])

    def __init__(self):
        Node.__init__(self, (), sequence_nr=0)
        self._saved = ()
        self.needs_input_grad = ()

    # --- the ctx API used inside forward and backward --------------------------------------
    def save_for_backward(self, *values):
        """Keep values for backward: the arrays forward received or returned, or numbers.

        Call it at most once, inside forward. An array that is one of forward's inputs or
        outputs is saved as that *tensor* (see Note [What the machinery does]); any other
        array is saved as a constant.
        """
        self._saved = values  # raw until `_connect` resolves them (see _resolve_saved)

    @property
    def saved_tensors(self):
        """What forward saved, as Tensors (numbers stay numbers), checked for in-place changes."""
        values = []
        for value in self._saved:
            values.append(value.unpack(self) if type(value) is SavedTensor else value)
        return values

    def mark_non_differentiable(self, *arrays):
        """Declare outputs (the arrays forward returns) that have no gradient."""
        self._non_differentiable = arrays

    def release_variables(self):
        for value in self._saved:
            if type(value) is SavedTensor:
                value.release()

    # --- running backward ---------------------------------------------------------------------
    def apply(self, grad_outputs):
        if self._refusal is not None:
            raise NotImplementedError(self._refusal)
        op = self.op
        if op.materialize_grads:
            for grad in grad_outputs:
                if grad is None:
                    self._materialize(grad_outputs)
                    break
        result = op.backward(self, *grad_outputs)
        if type(result) is not tuple:
            result = tuple(result) if type(result) is list else (result,)
        positions = op.differentiable_inputs
        if positions is not None and len(result) == op.inputs:
            result = tuple([result[i] for i in positions])
        needs = self.needs_input_grad
        if len(result) != len(needs):
            raise RuntimeError(f"function {self.name()} returned an incorrect number of "
                               f"gradients (expected {len(needs)}, got {len(result)})")
        if needs is _ONE_NEEDED:   # one input, which needs its gradient: the common case
            grad = result[0]
            if grad is None or type(grad) is Tensor:
                return [grad]
        elif needs is _BOTH_NEEDED:   # two inputs that both need theirs: the next most common
            first, second = result
            if (first is None or type(first) is Tensor) and (
                    second is None or type(second) is Tensor):
                return [first, second]
        grads = []
        for grad, need in zip(result, needs):
            if not need:
                grad = None
            elif grad is not None and type(grad) is not Tensor and not isinstance(grad, Tensor):
                raise TypeError(f"{self.name()}: {self.op.__name__}.backward returned a "
                                f"{type(grad).__name__}; backward must return Tensors computed "
                                "with HyperGrad ops (or None)")
            grads.append(grad)
        return grads

    def _materialize(self, grad_outputs):
        """Zeros for differentiable outputs that received no gradient (torch does the same)."""
        for i, grad in enumerate(grad_outputs):
            shape, dtype = self._input_metadata[i]
            if grad is None and dtype.kind in "fc":
                grad_outputs[i] = Tensor._make(np.zeros(shape, dtype))


def _resolve_saved(node, tensors, arrays, outputs, results):
    """Turn the arrays given to save_for_backward into SavedTensors (see the module Note)."""
    saved = []
    n_arrays = len(arrays)
    k = 0
    for value in node._saved:
        if type(value) is not np.ndarray:
            saved.append(value)
        # Most ops save their inputs in order (`save_for_backward(a, b)`): try input k first.
        elif k < n_arrays and value is arrays[k] and isinstance(tensors[k], Tensor):
            saved.append(SavedTensor(tensors[k], False, 0))
        else:
            saved.append(_saved_value(value, tensors, arrays, outputs, results))
        k += 1
    node._saved = tuple(saved)


def _saved_value(value, tensors, arrays, outputs, results):
    """What to keep for an array forward saved: its input, its output, or a constant."""
    for i, array in enumerate(arrays):
        if value is array and isinstance(tensors[i], Tensor):
            return SavedTensor(tensors[i])
    for j, array in enumerate(outputs):
        if value is array:
            return SavedTensor(results[j], True, j)
    return Tensor._make(value)


_interned = {}
_ONE_NEEDED = (True,)
_interned[_ONE_NEEDED] = _ONE_NEEDED   # the needs_input_grad every one-input node shares


# `_interned.setdefault(t, t)` keeps one shared copy of each small immutable tuple: a node's
# metadata and needs_input_grad repeat across a graph, and sharing them keeps a long graph's
# memory below PyTorch's. (Bound once: this runs per recorded operation.)
_interned_setdefault = _interned.setdefault


def _gradient_edge(value):
    """`(grad_fn, output_nr)`, `(AccumulateGrad, 0)` for a leaf that requires grad, or invalid."""
    if isinstance(value, Tensor):
        fn = value._grad_fn
        if fn is not None:
            return (fn, value._output_nr)
        if value._requires_grad:
            return (value._grad_accumulator_node(), 0)
    return INVALID_EDGE


def _build_apply(op):
    """The function that runs `op` on user arguments (see Note [The hot path]).

    Steps: (1) unwrap the tensor arguments to arrays and see whether any requires grad;
    (2) promote dtypes; (3) call forward, with a fresh Node as ctx only if a gradient will be
    needed; (4) wrap the outputs in Tensors and, when recording, `_connect` the node.
    """
    forward = op.forward
    node_class = op.node_class
    n_inputs = op.inputs
    variadic = op.variadic
    promotion = op.type_promotion
    differentiable = op.differentiable
    is_view = op.is_view
    edge_positions = op.differentiable_inputs
    opmath_number = op.opmath_number
    new_node = object.__new__
    make = Tensor._make
    state = _state
    ndarray = np.ndarray

    def apply(*args, **kwargs):
        # 1. Inputs: the leading `inputs` arguments are tensors (or numbers, or None).
        if variadic:
            if isinstance(args[0], Tensor):
                raise TypeError(f"{op.name}(): argument 'tensors' (position 1) must be tuple of "
                                "Tensors, not Tensor")
            tensors = tuple(args[0])
            rest = args[1:]
        else:
            if len(args) > n_inputs:
                tensors = args[:n_inputs]
                rest = args[n_inputs:]
            else:
                tensors = args
                rest = ()
        arrays = []
        needs_grad = False
        common = None      # the dtype all tensor arguments share, if they do
        uniform = True
        for value in tensors:
            if isinstance(value, Tensor):
                data = value._data
                arrays.append(data)
                if value._requires_grad:
                    needs_grad = True
                if common is None:
                    common = data.dtype
                elif data.dtype != common:
                    uniform = False
            else:
                arrays.append(value)
                uniform = False
        # 2. Promotion (skipped when every argument is a tensor of one dtype that stays).
        out_dtype = None
        if promotion is not None and arrays:
            if uniform and common is not None and (
                    promotion is not INT_TO_FLOAT or common.kind in "fc"):
                out_dtype = common
            else:
                arrays, out_dtype = _promote(arrays, promotion)
            if promotion is ALWAYS_BOOL:
                out_dtype = _BOOL
            elif opmath_number and out_dtype == _HALF and len(arrays) == 2 and (
                    type(arrays[1]) is float or type(arrays[1]) is int):
                arrays = [arrays[0], np.float32(arrays[1])]   # a second operand only, as torch
        # 3. Forward, with a node as ctx only if a gradient will be needed.
        record = needs_grad and differentiable and state.enabled
        if record:
            ctx = new_node(node_class)
            ctx._saved = ()
        else:
            ctx = _ForwardContext()
        try:
            if variadic:
                out = forward(ctx, arrays, *rest, **kwargs)
            elif rest or kwargs:
                out = forward(ctx, *arrays, *rest, **kwargs)
            else:
                out = forward(ctx, *arrays)
        except ValueError as error:   # numpy's broadcasting error, in torch's type and words
            if "could not be broadcast" not in str(error):
                raise
            raise RuntimeError(_broadcast_error(arrays)) from None
        # 4. Outputs.
        if type(out) is not tuple:
            if type(out) is not ndarray or (out_dtype is not None and out.dtype != out_dtype):
                out = _as_output_array(ctx, out, out_dtype, record)
            result = make(out)
            if is_view:
                _share_view(tensors[0], (result,), node_class)
            if record:
                _connect(ctx, tensors if edge_positions is None else
                         [tensors[i] for i in edge_positions], tensors, arrays, (out,), (result,))
            return result
        return _wrap_outputs(ctx, out, out_dtype, record, tensors[0] if is_view else None,
                             tensors if edge_positions is None else
                             [tensors[i] for i in edge_positions], tensors, arrays)

    apply.__wrapped__ = forward
    if variadic or n_inputs not in (1, 2) or edge_positions not in (None, (0,)):
        return apply
    return _build_common_apply(op, apply)


def _wrap_outputs(ctx, out, out_dtype, record, view_base, edge_inputs, tensors, arrays):
    """Step 4 for a forward that returned several arrays: a tuple of Tensors."""
    outputs = tuple(o if type(o) is np.ndarray and (out_dtype is None or o.dtype == out_dtype)
                    else _as_output_array(ctx, o, out_dtype, record) for o in out)
    results = tuple(Tensor._make(o) for o in outputs)
    if view_base is not None:
        _share_view(view_base, results, type(ctx) if record else None)
    if record:
        _connect(ctx, edge_inputs, tensors, arrays, outputs, results)
    return results


def _build_common_apply(op, generic):
    """`apply` for an op of one or two inputs, with its common calls written out.

    See Note [The common call]. Whatever is not the common call goes to `generic`, the full
    `apply`, before anything has run.
    """
    forward = op.forward
    node_class = op.node_class
    promotion = op.type_promotion
    int_to_float = promotion is INT_TO_FLOAT
    always_bool = promotion is ALWAYS_BOOL
    opmath_number = op.opmath_number
    differentiable = op.differentiable
    is_view = op.is_view
    binary = op.inputs == 2
    n_edges = 2 if binary and op.differentiable_inputs is None else 1
    new_node = object.__new__
    make = Tensor._make
    state = _state
    ndarray = np.ndarray

    def apply(*args, **kwargs):
        # 1. Inputs: a Tensor, then (for two inputs) a Tensor of its dtype or a Python number
        # that a floating tensor absorbs (torch's promotion then keeps the tensor's dtype);
        # any further arguments are not tensors, and go to forward as they are.
        if not args or not isinstance(a := args[0], Tensor):
            return generic(*args, **kwargs)
        data = a._data
        dtype = data.dtype
        if binary:
            if len(args) < 2:
                return generic(*args, **kwargs)
            b = args[1]
            if isinstance(b, Tensor):
                other = b._data
                if other.dtype is not dtype and other.dtype != dtype:
                    return generic(*args, **kwargs)
                needs_grad = a._requires_grad or b._requires_grad
            elif (type(b) is float or type(b) is int) and dtype.kind in "fc":
                other = np.float32(b) if opmath_number and dtype == _HALF else b
                needs_grad = a._requires_grad
            else:
                return generic(*args, **kwargs)
        else:
            needs_grad = a._requires_grad
        # 2. Promotion: the result keeps the input's dtype (or is bool, for comparisons).
        if int_to_float and dtype.kind not in "fc":
            return generic(*args, **kwargs)
        out_dtype = None if promotion is None else _BOOL if always_bool else dtype
        # 3. Forward.
        record = needs_grad and differentiable and state.enabled
        if record:
            ctx = new_node(node_class)
            ctx._saved = ()
        else:
            ctx = _ForwardContext()
        try:
            if binary:
                if kwargs or len(args) > 2:
                    out = forward(ctx, data, other, *args[2:], **kwargs)
                else:
                    out = forward(ctx, data, other)
            elif kwargs or len(args) > 1:
                out = forward(ctx, data, *args[1:], **kwargs)
            else:
                out = forward(ctx, data)
        except ValueError as error:   # numpy's broadcasting error, in torch's type and words
            if "could not be broadcast" not in str(error):
                raise
            raise RuntimeError(_broadcast_error([data, other] if binary else [data])) from None
        # 4. Outputs.
        if type(out) is not ndarray or (out_dtype is not None and out.dtype is not out_dtype
                                        and out.dtype != out_dtype):
            if type(out) is tuple:
                tensors = (a, b) if binary else (a,)
                return _wrap_outputs(ctx, out, out_dtype, record, a if is_view else None,
                                     tensors[:n_edges], tensors,
                                     [data, other] if binary else [data])
            out = _as_output_array(ctx, out, out_dtype, record)
        result = make(out)
        if is_view:
            _share_view(a, (result,), node_class)
        if record:
            if binary:
                _connect_output(ctx, (a, b), (data, other), out, result, n_edges)
            else:
                _connect_output(ctx, (a,), (data,), out, result, 1)
        return result

    apply.__wrapped__ = forward
    apply.general = generic   # the full apply, which tests hold this one to
    return apply


_BOOL = np.dtype(bool)
_HALF = np.dtype(np.float16)


def _broadcast_error(arrays):
    """torch's message for two shapes that do not broadcast (first offending pair)."""
    shapes = [np.shape(a) for a in arrays if a is not None]
    for i, first in enumerate(shapes):
        for second in shapes[i + 1:]:
            for back in range(1, min(len(first), len(second)) + 1):
                a, b = first[-back], second[-back]
                if a != b and a != 1 and b != 1:
                    return (f"The size of tensor a ({a}) must match the size of tensor b ({b}) "
                            f"at non-singleton dimension {max(len(first), len(second)) - back}")
    return f"shapes {[list(s) for s in shapes]} cannot be broadcast together"


def _as_output_array(ctx, value, dtype, record):
    """An output as an ndarray of the op's result dtype.

    numpy returns scalars (np.float64) for 0-dim results; if forward also saved that very
    object, the saved entry must become the output array, or it would be kept as a constant
    and a second derivative through it would be lost.
    """
    array = np.asarray(value, dtype=dtype)
    if record and any(saved is value for saved in ctx._saved):
        ctx._saved = tuple(array if saved is value else saved for saved in ctx._saved)
    return array


def _connect(node, edge_inputs, tensors, arrays, outputs, results):
    """Put `node` in the graph: edges to the inputs, grad_fn on the outputs, saved tensors.

    `edge_inputs` are the inputs that get an edge: all of them, or those an op lists in
    `differentiable_inputs` (torch makes no edge for a mask or a Scalar argument).
    (Plain loops rather than comprehensions: this runs once per recorded operation.)
    """
    if views_rebased[0]:
        _refresh_views(tensors)
    edges = []
    needs = []
    for value in edge_inputs:
        if isinstance(value, Tensor):
            fn = value._grad_fn
            if fn is not None:
                edges.append((fn, value._output_nr))
                needs.append(True)
                continue
            if value._requires_grad:
                edges.append((value._grad_accumulator_node(), 0))
                needs.append(True)
                continue
        edges.append(INVALID_EDGE)
        needs.append(False)
    node.next_edges = tuple(edges)
    node.needs_input_grad = _interned_setdefault(needs := tuple(needs), needs)
    node._sequence_nr = next_sequence_nr()
    non_differentiable = node._non_differentiable
    if len(outputs) == 1 and non_differentiable is None:   # the common case, without loops
        array = outputs[0]
        metadata = ((array.shape, array.dtype),)
        if array.dtype.kind in "fc":
            result = results[0]
            result._grad_fn = node
            result._requires_grad = True
    else:
        metadata = []
        output_nr = 0
        for array in outputs:
            metadata.append((array.shape, array.dtype))
            if array.dtype.kind in "fc" and not (
                    non_differentiable and any(array is a for a in non_differentiable)):
                result = results[output_nr]
                result._grad_fn = node
                result._output_nr = output_nr
                result._requires_grad = True
            output_nr += 1
        metadata = tuple(metadata)
    node._input_metadata = _interned_setdefault(metadata, metadata)
    if any(o.dtype.kind == "c" for o in outputs) or any(
            isinstance(t, Tensor) and t._requires_grad and t._data.dtype.kind == "c"
            for t in edge_inputs):   # a complex constant, with no gradient, is no matter
        _refuse_complex_backward(node)
    if node._saved:
        _resolve_saved(node, tensors, arrays, outputs, results)
    if _anomaly["enabled"]:
        record_forward_trace(node)


def _refuse_complex_backward(node):
    """Make `node`'s backward raise: see Note [Complex gradients].

    Note [Complex gradients]
        For complex tensors PyTorch's gradients are conjugate Wirtinger derivatives: the
        backward of `a * b` sends `grad * b.conj()` to `a` (derivatives.yaml writes the
        `.conj()` into every formula that needs it). HyperGrad's backward formulas are written
        for real numbers and have no conjugation, so on complex tensors they would compute a
        wrong gradient without a word. Until the formulas are made complex-aware, a node that
        takes or gives complex tensors refuses to run its backward; the forward values are
        right, and a complex leaf may still require grad (an optimizer can update it from a
        `.grad` that was set by hand).
    """
    node._refusal = (
        f"{node.name()}: HyperGrad does not differentiate operations on complex tensors yet (its "
        "gradient formulas lack the conjugation PyTorch applies, so the gradient would be "
        "wrong). Differentiate the real and imaginary parts as real tensors instead.")


# needs_input_grad of a two-input node, by which of its inputs has an edge
_TWO_NEEDED = {(a, b): _interned_setdefault((a, b), (a, b))
               for a in (False, True) for b in (False, True)}
_BOTH_NEEDED = _TWO_NEEDED[True, True]


def _connect_output(node, tensors, arrays, out, result, n_edges):
    """`_connect` for the common call: one output, and an edge for each of the first `n_edges`
    inputs (see Note [The common call]); the same steps, without the loops."""
    if node._non_differentiable is not None or views_rebased[0] or _anomaly["enabled"]:
        _connect(node, tensors[:n_edges], tensors, arrays, (out,), (result,))
        return
    first = tensors[0]
    fn = first._grad_fn
    edge = (fn, first._output_nr) if fn is not None else \
        (first._grad_accumulator_node(), 0) if first._requires_grad else INVALID_EDGE
    if n_edges == 1:
        node.next_edges = (edge,)
        node.needs_input_grad = _ONE_NEEDED if edge is not INVALID_EDGE else (False,)
    else:
        second = tensors[1]
        if isinstance(second, Tensor):
            fn = second._grad_fn
            other_edge = (fn, second._output_nr) if fn is not None else \
                (second._grad_accumulator_node(), 0) if second._requires_grad else INVALID_EDGE
        else:
            other_edge = INVALID_EDGE
        node.next_edges = (edge, other_edge)
        node.needs_input_grad = _TWO_NEEDED[edge is not INVALID_EDGE,
                                            other_edge is not INVALID_EDGE]
    node._sequence_nr = next_sequence_nr()
    dtype = out.dtype
    metadata = ((out.shape, dtype),)
    node._input_metadata = _interned_setdefault(metadata, metadata)
    kind = dtype.kind
    if kind in "fc":
        result._grad_fn = node
        result._requires_grad = True
    if kind == "c" or (arrays[0].dtype.kind == "c" and edge is not INVALID_EDGE):
        _refuse_complex_backward(node)
    if node._saved:
        _resolve_saved(node, tensors, arrays, (out,), (result,))


def _share_view(base, results, node_class=None):
    """A view op's outputs share the base's memory, so they share its version counter."""
    if not isinstance(base, Tensor):
        return
    root = base._base if base._base is not None else base
    base_data = base._data
    owner = base_data if base_data.base is None else base_data.base
    # torch's CreationMeta: views that may not be changed in place later (see inplace_variant)
    meta = base._creation_meta
    if meta is None:
        if base._requires_grad:
            meta = "no_grad" if not _state.enabled else "multiple" if len(results) > 1 else None
    elif meta != "multiple":   # a view of a view made in no_grad mode: torch names this op
        meta = ("view of no_grad", re.sub(r"Backward\d*$", "", node_class.__name__)
                if node_class is not None else "a view op")
    for result in results:
        data = result._data
        # numpy gives a view the array that owns the memory as its `base`; anything else (a
        # copy that forward had to make, a view of such a copy) gets the full overlap test
        if data.base is owner or data.size == 0 or np.may_share_memory(data, base_data):
            result._version_counter = base._version_counter
            result._base = root
            result._view_version = base._version_counter.version
            if meta is not None:
                result._creation_meta = meta


# True once any recorded in-place op has changed a tensor's history (on a view, its base's too:
# autograd/copy_slices.py); until then no view can be stale and `_connect` skips the check.
views_rebased = [False]


def _refresh_views(tensors):
    from ..autograd.copy_slices import refresh_view_grad_fn

    for value in tensors:
        if isinstance(value, Tensor) and value._base is not None:
            refresh_view_grad_fn(value)


# ----------------------------------------------------------------------------------------------
# In-place variants
# ----------------------------------------------------------------------------------------------
def inplace_variant(function, name, ufunc=None):
    """Build `x.add_(y)` from `add`: compute out of place, then write into `x` (see Note).

    `ufunc` (an op's `inplace_ufunc`) computes the op into `x`'s memory directly when nothing
    will be recorded: see Note [Writing in place directly].
    """

    def inplace(self, *args, **kwargs):
        if self._creation_meta is not None and state_enabled():
            _refuse_view_inplace(self)
        if ufunc is not None and len(args) == 1 and not kwargs and \
                _writes_directly(ufunc, self, args[0]):
            return self
        if state_enabled() and self._requires_grad and self._grad_fn is None:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                               "operation.")
        if state_enabled() and self._base is not None and self._base._requires_grad \
                and self._base._grad_fn is None:
            raise RuntimeError("a view of a leaf Variable that requires grad is being used in "
                               "an in-place operation.")
        result = function(self, *args, **kwargs)
        write_inplace(self, result)
        return self

    inplace.__name__ = name
    inplace.__doc__ = f"In-place version of `{function.__name__}`; returns self."
    return inplace


def _refuse_view_inplace(view):
    """torch's errors for changing in place a view it cannot record the change of: one made
    in no_grad mode (whose graph would miss the change), or one of several views an op
    returned (split, chunk, unbind: one CopySlices cannot describe them all)."""
    meta = view._creation_meta
    advice = ("Given that this use case is ambiguous and error-prone, it is forbidden. You can "
              "clarify your code by moving both the view and the inplace either both inside the "
              "no_grad block (if you don't want the inplace to be tracked) or both outside (if "
              "you want the inplace to be tracked).")
    if meta == "no_grad":
        raise RuntimeError("A view was created in no_grad mode and is being modified inplace "
                           f"with grad mode enabled. {advice}")
    if type(meta) is tuple:
        raise RuntimeError(f"Output {view._output_nr} of {meta[1]} is a view of a view which was "
                           "created in no_grad mode and is being modified inplace with grad "
                           f"mode enabled. {advice}")
    name = re.sub(r"Backward\d*$", "", view._grad_fn.name()) if view._grad_fn else "a view op"
    raise RuntimeError(
        f"Output {view._output_nr} of {name} is a view and is being modified inplace. This "
        "view is the output of a function that returns multiple views. Such functions do not "
        "allow the output views to be modified inplace. You should replace the inplace "
        "operation by an out-of-place one.")


def state_enabled():
    return _state.enabled


def _writes_directly(ufunc, self, other):
    """`ufunc(self, other, out=self)`, when that is all the in-place op has to do.

    Note [Writing in place directly]
        `x.sub_(y)` normally computes `x - y` out of place and copies it into `x`: one path for
        every in-place op, which also records the graph. With nothing to record (grad mode
        off, as in an optimizer step, or no operand that requires grad) and operands whose
        dtype and shape are already `x`'s, an elementwise op that declares its numpy ufunc
        (`inplace_ufunc`) writes the result straight into `x`'s memory instead, as torch's
        in-place kernels do: no temporary, no copy. numpy handles operands that overlap `x`.
        Anything else (a read-only `x`, broadcasting, another dtype, bool tensors, a Python
        number with a tensor that is not floating, or is float16) takes the general path,
        with its checks and messages.
    """
    data = self._data
    if type(other) is Tensor or isinstance(other, Tensor):
        if _state.enabled and (self._requires_grad or other._requires_grad):
            return False
        operand = other._data
        if operand.dtype != data.dtype or operand.shape != data.shape or data.dtype.kind == "b":
            return False
    elif type(other) is float or type(other) is int:
        if (_state.enabled and self._requires_grad) or data.dtype.kind != "f" or \
                data.dtype == np.float16:   # see ops/arithmetic.py's Note [A float16 tensor...]
            return False
        operand = other
    else:
        return False
    if not data.flags.writeable:
        return False
    ufunc(data, operand, out=data)
    self._version_counter.bump()
    return True


def write_inplace(self, result):
    """Write `result` into `self`, bump the version, and make `result`'s node `self`'s grad_fn."""
    data = self._data
    new = result._data
    if new.dtype != data.dtype:
        if not _dtypes.can_cast(_dtypes.from_numpy_dtype(new.dtype),
                                _dtypes.from_numpy_dtype(data.dtype)):
            raise RuntimeError(f"result type {_scalar_type_name(new.dtype)} can't be cast to "
                               f"the desired output type {_scalar_type_name(data.dtype)}")
    if new.shape != data.shape:
        raise RuntimeError(f"output with shape {list(data.shape)} doesn't match the broadcast "
                           f"shape {list(new.shape)}")
    node = result._grad_fn
    if node is not None:
        _keep_original_inputs(node, self)
    try:
        np.copyto(data, new, casting="unsafe")
    except ValueError as error:
        raise RuntimeError(f"unsupported operation: cannot write into this tensor in place "
                           f"({error}); clone() it first") from None
    self._version_counter.bump()
    if node is not None:
        views_rebased[0] = True   # views of this tensor made earlier now read stale history
        retains_grad = self._retains_grad
        if retains_grad:  # torch moves the retains-grad hook to the new grad_fn
            self._grad_fn._retains_grad_hooks.pop(self._output_nr, None)
            self._retains_grad = False
        _rebind_saved_output(node, self)
        if self._base is not None:
            from ..autograd.copy_slices import rebase_view_history

            rebase_view_history(self, node)   # see Note [In-place on a view ...] there
        else:
            self._grad_fn = node
            self._output_nr = result._output_nr
            self._requires_grad = True
        if retains_grad:
            self.retain_grad()


def _keep_original_inputs(node, self):
    """The node saved `self` as an input, but `self` is about to change: save a copy instead.

    PyTorch's generated code does the same for in-place ops whose formula needs the original
    value (it saves `original_self`). The copy keeps self's old place in the graph.
    """
    saved = node._saved
    if not any(type(s) is SavedTensor and s._tensor is self for s in saved):
        return
    original = Tensor._make(self._data.copy(), self._requires_grad)
    original._grad_fn = self._grad_fn
    original._output_nr = self._output_nr
    if self._grad_fn is None and self._requires_grad:
        original._grad_accumulator = self._grad_accumulator
    node._saved = tuple(SavedTensor(original) if type(s) is SavedTensor and s._tensor is self
                        else s for s in saved)


def _rebind_saved_output(node, self):
    """A saved output of an in-place op is `self` itself: track `self`'s data and version."""
    for s in node._saved:
        if type(s) is SavedTensor and s._tensor is None:
            s._data = self._data
            s._version_counter = self._version_counter
            s._saved_version = self._version_counter.version


def _scalar_type_name(np_dtype):
    return {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
            "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool",
            "complex64": "ComplexFloat", "complex128": "ComplexDouble"}[np.dtype(np_dtype).name]


# ----------------------------------------------------------------------------------------------
# The Op base class
# ----------------------------------------------------------------------------------------------
def _camel(name):
    return "".join(part[:1].upper() + part[1:] for part in name.replace(".", "_").split("_"))


class Op:
    """Base class of every operator. Subclass it and the op exists (see the module docstring).

    Class attributes an op sets:
      name            public function name (`hypergrad.<name>`; dots for namespaces, such as
                      "linalg.vector_norm"); None for an internal op used by a composite
      methods         Tensor methods and operators bound to it; `x_` and `__ix__` names are
                      in-place variants, `__rx__` names reflected operators
      aliases         other public names for the same function ("clip" for "clamp")
      inputs          how many leading positional arguments are tensors (numbers allowed)
      variadic        True if the first argument is a sequence of tensors (cat, stack)
      type_promotion  NO_PROMOTION, DEFAULT, INT_TO_FLOAT or ALWAYS_BOOL
      differentiable  False for ops with no gradient (comparisons, argmax)
      is_view         True if outputs share the first input's memory (reshape, transpose)
      differentiable_inputs  positions of the inputs that get a graph edge (default: all);
                      torch makes none for masks, conditions and Scalar arguments, so e.g.
                      `clamp(x, 0, 1)` has one edge. backward still returns one gradient per
                      input; the machinery keeps those at these positions
      node_name       the Node's name if not `<ClassName>Backward0` (torch's name wins)
      override        True to replace an op of the same name from another plugin
      materialize_grads  False to receive None in backward for the outputs that got no
                      gradient (torch's undefined gradients), instead of zeros
      inplace_ufunc   the numpy ufunc that computes the op (np.add for add), for in-place
                      variants that need not record (Note [Writing in place directly])
      opmath_number   True if a Python number meets a float16 tensor in float32, as in
                      torch's `mul` and `div` (ops/arithmetic.py, Note [A float16 tensor times
                      a Python number]): forward then receives the number as a numpy float32
    Conformance metadata: `reference`, `samples`, `dtypes`, `tolerances`, `divergences`,
    `error_samples`, `supports_gradgrad` (see hypergrad.conformance.domains).
    """

    name = None
    methods = ()
    aliases = ()
    inputs = 1
    variadic = False
    type_promotion = NO_PROMOTION
    differentiable = True
    is_view = False
    differentiable_inputs = None
    node_name = None
    override = False
    materialize_grads = True
    inplace_ufunc = None
    opmath_number = False

    reference = None
    samples = None
    dtypes = None
    tolerances = None
    divergences = None
    error_samples = None
    supports_gradgrad = True

    node_class = None
    apply = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "forward" not in cls.__dict__:
            return  # an abstract family base class
        for method in ("forward", "backward"):
            function = cls.__dict__.get(method)
            if isinstance(function, (staticmethod, classmethod)):
                raise TypeError(f"{cls.__name__}.{method} must be a plain function "
                                "`def {method}(ctx, ...)`, not a staticmethod/classmethod")
        if cls.differentiable and "backward" not in dir(cls):
            raise TypeError(f"{cls.__name__} is differentiable but defines no backward")
        forward = cls.__dict__["forward"]
        backward = getattr(cls, "backward", None)
        cls.forward = staticmethod(forward)
        if backward is not None and "backward" in cls.__dict__:
            cls.backward = staticmethod(backward)
        node_name = cls.__dict__.get("node_name") or f"{cls.__name__}Backward0"
        cls.node_class = type(node_name, (OpNode,), {
            "op": cls, "__module__": cls.__module__, "__qualname__": node_name,
            "__doc__": f"Backward of {cls.__name__} ({cls.name or 'internal op'})."})
        cls.apply = staticmethod(_build_apply(cls))
        from .registry import registry

        registry.register_op(cls)

    @classmethod
    def signature(cls):
        """The user-facing signature: forward's, without ctx."""
        sig = inspect.signature(cls.forward)
        params = list(sig.parameters.values())[1:]
        if cls.variadic and params:
            params[0] = params[0].replace(name=params[0].name)
        return sig.replace(parameters=params)
