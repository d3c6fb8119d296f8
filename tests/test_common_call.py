"""The common call against the full apply (hypergrad/plugins/op.py, Note [The common call]).

An op of one or two inputs runs a shortened `apply` when the call is the common one (tensors
of one dtype, or a number a floating tensor absorbs) and hands any other call to the full
`apply`, kept as `apply.general`. The two must be indistinguishable: for every such op with
conformance samples, both run the same drawn sample (plain, edge-case, special-value and
mixed-dtype draws, in every memory layout, sometimes with a Python number as the second
input) and must give the same outputs (values, dtype, shape, requires_grad, grad_fn and its
edges, views sharing the input's version counter), the same gradients, or the same error.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis.errors import InvalidArgument
from hypothesis import strategies as st

import hypergrad as hg
from hypergrad.conformance.domains import Sample, SampleTensor
from hypergrad.conformance.drawer import MODES, HypothesisDrawer
from hypergrad.conformance.harness import layout_options, layout_view
from hypergrad.plugins.registry import registry

COMMON_CALL_OPS = sorted(
    (entry for entry in registry.entries.values()
     if entry.op is not None and hasattr(entry.op.apply, "general") and entry.samples),
    key=lambda entry: entry.name)


def test_the_common_call_covers_the_usual_ops():
    names = {entry.name for entry in COMMON_CALL_OPS}
    assert {"mul", "add", "tanh", "relu", "mm", "transpose", "exp", "sigmoid"} <= names
    assert hg.mul.general is not hg.mul   # the full apply is kept alongside


def _inputs(sample, layouts):
    """Fresh HyperGrad arguments for a sample; the tensors in the order they appear."""
    tensors = []

    def convert(value):
        if isinstance(value, SampleTensor):
            layout = layouts.get(len(tensors))
            array = layout_view(value.array, layout) if layout else value.array.copy()
            tensor = hg.from_numpy(array)
            if value.requires_grad and array.dtype.kind in "fc":
                tensor.requires_grad_(True)
            tensors.append(tensor)
            return tensor
        if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
            return type(value)(convert(v) for v in value)
        return value

    args = tuple(convert(a) for a in sample.args)
    kwargs = {k: convert(v) for k, v in sample.kwargs.items()}
    return args, kwargs, tensors


def _describe(value, inputs):
    """Everything observable about an output, with nodes named rather than compared by identity."""
    if isinstance(value, (tuple, list)):
        return [_describe(v, inputs) for v in value]
    if not isinstance(value, hg.Tensor):
        return ("value", repr(value))
    fn = value.grad_fn
    edges = None if fn is None else [
        (None if node is None else node.name(), nr) for node, nr in fn.next_functions]
    first = inputs[0] if inputs else None
    return ("tensor", value.dtype, tuple(value.shape), value.requires_grad, value.is_leaf,
            None if fn is None else fn.name(), edges,
            None if fn is None else getattr(fn, "needs_input_grad", None),
            value._version_counter is getattr(first, "_version_counter", None),
            value._data.tobytes())


def _gradients(output, inputs):
    """The inputs' gradients of the sum of every floating output that has a grad_fn."""
    outputs = output if isinstance(output, (tuple, list)) else (output,)
    total = None
    for out in outputs:
        if isinstance(out, hg.Tensor) and out.grad_fn is not None and out.dtype.is_floating_point:
            term = out.sum()
            total = term if total is None else total + term
    leaves = [t for t in inputs if t.requires_grad]
    if total is None or not leaves:
        return None
    grads = hg.autograd.grad(total, leaves, allow_unused=True)
    return [None if g is None else (g.dtype, tuple(g.shape), g._data.tobytes()) for g in grads]


def _run(apply, sample, layouts):
    args, kwargs, inputs = _inputs(sample, layouts)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            output = apply(*args, **kwargs)
        except Exception as error:  # noqa: BLE001 - the error is the outcome
            return ("raised", type(error).__name__, str(error))
        try:
            gradients = _gradients(output, inputs)
        except Exception as error:  # noqa: BLE001
            gradients = ("backward raised", type(error).__name__, str(error))
    return ("returned", _describe(output, inputs), gradients)


@pytest.mark.parametrize("entry", COMMON_CALL_OPS, ids=lambda entry: entry.name)
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_the_common_call_does_what_the_full_apply_does(entry, data):
    dtype = data.draw(st.sampled_from(entry.dtypes or ("float64",)), label="dtype")
    mode = data.draw(st.sampled_from(MODES), label="mode")
    g = HypothesisDrawer(data, dtype, mode=mode, dtypes=entry.dtypes or ())
    try:
        sample = entry.samples(g)
    except InvalidArgument:   # a domain that has no draw in this mode (select of an empty dim)
        reject()
    if entry.op.inputs == 2 and len(sample.args) >= 2 and data.draw(st.booleans(), label="number?"):
        number = data.draw(st.one_of(st.integers(-3, 3), st.floats(-3, 3), st.booleans()),
                           label="number")   # `x * 2`, `x + 1.5`: a Python number as input 2
        sample = Sample((sample.args[0], number, *sample.args[2:]), sample.kwargs)
    layouts = {}
    slot = 0
    for value in (*sample.args, *sample.kwargs.values()):
        if isinstance(value, SampleTensor):
            options = layout_options(value.array)
            if options and data.draw(st.booleans(), label=f"layout {slot}?"):
                layouts[slot] = data.draw(st.sampled_from(options), label=f"layout {slot}")
            slot += 1
    assert _run(entry.op.apply, sample, layouts) == _run(entry.op.apply.general, sample, layouts)
