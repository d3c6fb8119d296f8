"""The conformance checks: what each one draws, runs, and requires of HyperGrad.

Each check is a function of a `CheckContext` that handles ONE example: it draws a sample from
the op's domain (through `ctx.g`, the hypothesis drawer), runs it in HyperGrad and in torch
(harness.py), and raises `Mismatch` on any disagreement. The runner (runner.py) calls it for
every example hypothesis generates, and hypothesis shrinks a failure to a minimal example.

    forward        values, dtype, shape and requires_grad of the outputs
    grad           the gradient of every input through a random cotangent
    gradgrad       second-order gradients: d<grad, w>/d(inputs, cotangent)
    grad_fn        the outputs' grad_fn Node names, for every spelling and layout
    broadcast      the same, on 0-dim, size-1, empty and broadcast shapes
    noncontiguous  transposed, strided and expanded inputs give the contiguous results
    inplace        inputs are never modified; outputs alias inputs exactly when torch's do;
                   in-place spellings (`add_`, `__iadd__`) agree with torch and with add
    variants       every method, operator and alias spelling agrees with torch's
    dtypes         inputs of mixed dtypes (int with float, float32 with float64, bool):
                   type promotion and gradients
    special        zeros, -0, ties, +-inf, NaN, huge and tiny magnitudes
    errors         every declared invalid input raises where torch raises, with the same
                   exception type

In every check, an example on which *both* libraries raise errors of the same kind agrees
(it is counted as vacuous: nothing was compared); one raising and not the other, or raising
different kinds, is a mismatch.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .domains import ErrorSample, SampleTensor
from .harness import (
    FUNCTION,
    Mismatch,
    Scenario,
    _short,
    agree_on_errors,
    compare,
    compare_grad_fn,
    compare_gradient_lists,
    differentiable_outputs,
    execute,
    execute_both,
    expanded_values,
    flatten,
    gradients,
    layout_options,
    make_cotangent,
    path_text,
    run_grad,
    tensor_slots,
)

__all__ = ["CHECKS", "CHECK_NAMES", "Check", "CheckContext", "CheckStats"]


@dataclass
class CheckStats:
    """What a check saw over all its examples: counts and the worst error ratio."""

    examples: int = 0
    compared: int = 0
    vacuous: Counter = field(default_factory=Counter)
    worst_ratio: float = 0.0
    worst_abs: float = 0.0
    worst_where: str = ""

    def observe(self, where, ratio, absolute):
        if ratio > self.worst_ratio or not self.worst_where:
            self.worst_ratio, self.worst_abs, self.worst_where = ratio, absolute, where


class CheckContext:
    """What a check function gets for one example: the op, the drawer, and bookkeeping."""

    def __init__(self, op, check, g, stats):
        self.op = op
        self.check = check
        self.g = g
        self.stats = stats
        self.scenario = None

    def draw_scenario(self):
        """Draw a sample from the op's domain and start a Scenario for it.

        In the `edge` mode a domain written for sizes >= 1 may be unable to build a sample
        for an empty shape (`g.integers(0, size - 1)` with size 0): such an example is
        rejected rather than reported.
        """
        if self.g.mode == "edge":
            from hypothesis import reject
            from hypothesis.errors import UnsatisfiedAssumption

            try:
                sample = self.op.entry.samples(self.g)
            except UnsatisfiedAssumption:
                raise
            except Exception:  # the domain cannot draw at this edge shape: not a sample
                reject()
        else:
            sample = self.op.entry.samples(self.g)
        self.scenario = Scenario(self.op.name, self.check, sample, dtype=self.g.dtype.name)
        return self.scenario

    def tolerance(self, dtype_name):
        """(rtol, atol) for comparing values of this dtype: the op's tolerance for it, loosened
        to that of the least precise floating input (a float64 gradient computed through
        float32 values is only float32-accurate)."""
        rtol, atol = self.op.tolerance(dtype_name, self.check)
        if self.scenario is not None:
            from .harness import tensor_slots

            for tensor in tensor_slots(self.scenario.sample):
                if tensor.array.dtype.kind in "fc":
                    other = self.op.tolerance(tensor.array.dtype.name, self.check)
                    rtol, atol = max(rtol, other[0]), max(atol, other[1])
        return rtol, atol

    def use(self, scenario):
        self.scenario = scenario
        return scenario

    def observe(self, where, ratio, absolute):
        self.stats.observe(where, ratio, absolute)

    def compared(self):
        self.stats.compared += 1

    def vacuous(self, reason):
        self.stats.vacuous[reason] += 1


@dataclass
class Check:
    name: str
    title: str
    function: Callable
    mode: str            # the drawer mode (drawer.MODES)
    dtypes: str          # "all", "floating", "second-order" or "mixed"
    applies: Callable    # op -> None, or the reason the check does not apply

    @property
    def doc(self):
        return (self.function.__doc__ or "").strip()


CHECKS = {}


def check(name, title, *, mode="plain", dtypes="all", applies=None):
    def decorate(function):
        CHECKS[name] = Check(name, title, function, mode, dtypes,
                             applies or (lambda op: None))
        return function

    return decorate


def _needs_gradient(op):
    if not op.differentiable:
        return "the op is not differentiable"
    if not op.floating_dtypes:
        return "the op declares no floating dtype"
    return None


def _needs_second_order(op):
    reason = _needs_gradient(op)
    if reason is None and not op.entry.supports_gradgrad:
        return "the op declares supports_gradgrad = False"
    return reason


# ----------------------------------------------------------------------------------------------
# Shared steps
# ----------------------------------------------------------------------------------------------
def _both_raised(ctx, hg_run, torch_run, what="forward"):
    if agree_on_errors(hg_run.error, torch_run.error, hg_run.output, torch_run.output, what):
        ctx.vacuous(f"both libraries raise {type(torch_run.error).__name__}")
        return True
    return False


def _values_and_gradients(ctx, scenario):
    """Run the scenario in both libraries; compare outputs, then first-order gradients."""
    hg_run, torch_run = execute_both(ctx.op, scenario)
    if _both_raised(ctx, hg_run, torch_run):
        return None
    compare(ctx, hg_run.output, torch_run.output, "output")
    if ctx.op.differentiable:
        gradients(ctx, hg_run, torch_run, scenario)
    ctx.compared()
    return hg_run, torch_run


# ----------------------------------------------------------------------------------------------
# 1-3. Values and derivatives
# ----------------------------------------------------------------------------------------------
@check("forward", "forward values, dtype and shape")
def forward(ctx):
    """Outputs agree: values within the dtype's tolerances (NaN at the same places), dtype,
    shape, and whether each output requires grad. Inputs of every declared dtype."""
    scenario = ctx.draw_scenario()
    hg_run, torch_run = execute_both(ctx.op, scenario)
    if _both_raised(ctx, hg_run, torch_run):
        return
    compare(ctx, hg_run.output, torch_run.output, "output")
    ctx.compared()


@check("grad", "gradients through a random cotangent", dtypes="floating",
       applies=_needs_gradient)
def grad(ctx):
    """For outputs y and a random cotangent v, `autograd.grad(y, inputs, v)` agrees for every
    input that requires grad (None where torch gives None): values, dtype and shape."""
    scenario = ctx.draw_scenario()
    hg_run, torch_run = execute_both(ctx.op, scenario)
    if _both_raised(ctx, hg_run, torch_run):
        return
    compare(ctx, hg_run.output, torch_run.output, "output")
    if gradients(ctx, hg_run, torch_run, scenario) is None:
        ctx.vacuous("nothing to differentiate")
        return
    ctx.compared()


@check("gradgrad", "second-order gradients", dtypes="second-order",
       applies=_needs_second_order)
def gradgrad(ctx):
    """With create_graph=True the first gradients g_i are differentiable; for random w_i,
    the gradient of sum_i <g_i, w_i> with respect to the inputs *and* the cotangent agrees
    (what torch's gradgradcheck checks). Values are compared; where one library's graph
    does not reach an input (None) the other's gradient must be zero there."""
    scenario = ctx.draw_scenario()
    hg_run, torch_run = execute_both(ctx.op, scenario)
    if _both_raised(ctx, hg_run, torch_run):
        return
    compare(ctx, hg_run.output, torch_run.output, "output")
    first = gradients(ctx, hg_run, torch_run, scenario, create_graph=True)
    if first is None:
        ctx.vacuous("nothing to differentiate")
        return
    hg_grads, torch_grads, hg_v, torch_v, slots = first
    chosen = [i for i, t in enumerate(torch_grads) if t is not None and t.requires_grad]
    if not chosen:
        ctx.vacuous("the first gradient does not depend on the inputs")
        return
    scenario.second = [(i, ctx.g.cotangent(tuple(torch_grads[i].shape),
                                           str(torch_grads[i].dtype).rpartition(".")[2]))
                       for i in chosen]
    hg_inputs = [t for _, t in hg_run.leaves] + hg_v
    torch_inputs = [t for _, t in torch_run.leaves] + torch_v
    hg_total = _dot(hg_grads, scenario.second, "hypergrad")
    torch_total = _dot(torch_grads, scenario.second, "torch")
    if hg_total is None:
        hg_second, hg_error = (None,) * len(hg_inputs), None
    else:
        hg_second, hg_error = run_grad("hypergrad", [hg_total], hg_inputs, [None])
    torch_second, torch_error = run_grad("torch", [torch_total], torch_inputs, [None])
    if agree_on_errors(hg_error, torch_error, hg_second, torch_second, "second backward"):
        ctx.vacuous("both libraries raise in the second backward")
        return
    labels = [f"second-order grad of x{s}" for s in slots] + [
        f"second-order grad of cotangent {j}" for j in range(len(hg_v))]
    compare_gradient_lists(ctx, hg_second, torch_second, labels, none_is_zero=True)
    ctx.compared()


def _dot(grads, weights, lib):
    """sum_i <grads[i], w_i> over the gradients that require grad (None if none does)."""
    total = None
    for i, w in weights:
        if grads[i] is None or not grads[i].requires_grad:
            continue
        term = (grads[i] * make_cotangent(lib, w)).sum()
        total = term if total is None else total + term
    return total


@check("grad_fn", "grad_fn node names", dtypes="floating", applies=_needs_gradient)
def grad_fn(ctx):
    """Each output that requires grad has a `grad_fn` with torch's Node name (`MulBackward0`,
    `MaxBackward1`, ...), for every spelling (function, aliases, methods, operators, in-place
    variants) and on contiguous and non-contiguous inputs alike: it is what a learner sees
    when printing a tensor and what `hypergrad diff` draws."""
    op = ctx.op
    scenario = ctx.draw_scenario()
    _choose_layouts(ctx, scenario, required=False)
    first_is_tensor = bool(scenario.sample.args) and isinstance(scenario.sample.args[0],
                                                                SampleTensor)
    spellings = [FUNCTION] + [("alias", a) for a in op.aliases]
    if first_is_tensor:
        spellings += [("method", m) for m in op.methods]
        spellings += [("inplace", m) for m in op.inplace_methods]
    for spelling in spellings:
        spelled = ctx.use(scenario.copy())
        spelled.spelling = spelling
        if spelling[0] == "inplace":
            spelled.layouts = {}
        hg_run, torch_run = execute_both(op, spelled)
        if _both_raised(ctx, hg_run, torch_run, what=spelling[1] or "forward"):
            continue
        outputs = differentiable_outputs(hg_run.output, torch_run.output)
        if not outputs:
            ctx.vacuous("no output requires grad")
            continue
        for path, h, t in outputs:
            if not hasattr(h, "grad_fn"):
                raise Mismatch(f"{path_text('output', path)}: torch returns a Tensor, "
                               f"HyperGrad returns {type(h).__name__}")
            compare_grad_fn(h, t, path_text("output", path))
        ctx.compared()


# ----------------------------------------------------------------------------------------------
# 4-5. Shapes and memory layouts
# ----------------------------------------------------------------------------------------------
@check("broadcast", "0-dim, size-1, empty and broadcast shapes", mode="edge")
def broadcast(ctx):
    """The op's domain drawn at the edges of shape space: 0-dim tensors, all-ones shapes,
    empty dimensions (where the op's domain allows size 1, empty is tried too: torch must
    either accept it or raise, and HyperGrad must do the same), and broadcasting between
    different ranks. Values and gradients agree."""
    _values_and_gradients(ctx, ctx.draw_scenario())


@check("noncontiguous", "transposed, strided and expanded inputs")
def noncontiguous(ctx):
    """Inputs given as non-contiguous views (a transposed copy, every second element of a
    wider array, or an expanded stride-0 view) give the same values and gradients as torch
    on the same views, and the same values as HyperGrad on contiguous copies."""
    scenario = ctx.draw_scenario()
    if not _choose_layouts(ctx, scenario, required=True):
        ctx.vacuous("no input can be non-contiguous (all 0-dim or empty)")
        return
    result = _values_and_gradients(ctx, scenario)
    if result is None:
        return
    contiguous = scenario.copy()
    contiguous.layouts = {}
    baseline = execute("hypergrad", ctx.op, contiguous)
    if baseline.error is not None:
        raise Mismatch(f"HyperGrad raises {type(baseline.error).__name__}: {baseline.error} "
                       f"on contiguous inputs, but not on the non-contiguous ones")
    _compare_hypergrad(ctx, result[0].output, baseline.output)


def _choose_layouts(ctx, scenario, required):
    """Draw a memory layout for each tensor that can have one (at least one non-contiguous
    if `required`); expanded tensors get values constant along the expanded dimension."""
    slots = tensor_slots(scenario.sample)
    choices = [layout_options(t.array) for t in slots]
    for slot, options in enumerate(choices):
        if options:
            layout = ctx.g.sampled_from(["contiguous"] + options)
            if layout != "contiguous":
                scenario.layouts[slot] = layout
    if required and not scenario.layouts:
        candidates = [slot for slot, options in enumerate(choices) if options]
        if not candidates:
            return False
        slot = candidates[0]
        scenario.layouts[slot] = ctx.g.sampled_from(choices[slot])
    for slot, layout in scenario.layouts.items():
        if layout == "expanded":
            slots[slot].array = expanded_values(slots[slot].array)
    return bool(scenario.layouts)


def _compare_hypergrad(ctx, noncontiguous_output, contiguous_output):
    from .harness import _compare_arrays

    for (path, a), (_, b) in zip(flatten(noncontiguous_output), flatten(contiguous_output)):
        if hasattr(a, "_data") and hasattr(b, "_data"):
            label = path_text("output", path) + " (non-contiguous vs contiguous, HyperGrad)"
            if a.shape != b.shape or a._data.dtype != b._data.dtype:
                raise Mismatch(f"{label}: {list(a.shape)} {a._data.dtype} vs "
                               f"{list(b.shape)} {b._data.dtype}")
            _compare_arrays(ctx, np.asarray(a._data), np.asarray(b._data), label,
                            ctx.tolerance(b._data.dtype.name))


# ----------------------------------------------------------------------------------------------
# 6-7. Mutation, in-place variants, spellings
# ----------------------------------------------------------------------------------------------
@check("inplace", "no mutation; in-place variants")
def inplace(ctx):
    """(a) Calling the op (forward and backward) leaves every input's values and version
    counter unchanged, and an output shares memory with an input exactly when torch's does
    (views stay views, copies stay copies). (b) Every in-place spelling (`add_`, `__iadd__`)
    on a clone of the first input returns that same tensor, changes it as torch does (values,
    dtype, version counter, grad_fn and gradients) and agrees with the out-of-place op; where
    torch refuses (a result that does not fit self's shape or dtype), HyperGrad refuses too."""
    op = ctx.op
    scenario = ctx.draw_scenario()
    originals = [t.array.copy() for t in tensor_slots(scenario.sample)]
    out_of_place = None
    if not op.function_is_inplace:
        hg_run, torch_run = execute_both(op, scenario)
        if not _both_raised(ctx, hg_run, torch_run):
            compare(ctx, hg_run.output, torch_run.output, "output")
            if op.differentiable:
                gradients(ctx, hg_run, torch_run, scenario)
            _check_unmodified(hg_run, originals)
            _check_aliasing(hg_run, torch_run)
            out_of_place = hg_run
            ctx.compared()
    first = scenario.sample.args[0] if scenario.sample.args else None
    if not isinstance(first, SampleTensor):
        return
    for method in op.inplace_methods:
        spelled = ctx.use(scenario.copy())
        spelled.spelling = ("inplace", method)
        spelled.outputs = spelled.cotangents = None
        hg_run, torch_run = execute_both(op, spelled)
        if _both_raised(ctx, hg_run, torch_run, what=method):
            continue
        if hg_run.output is not hg_run.self_tensor:
            raise Mismatch(f"{method} returns a new tensor; an in-place method returns self")
        compare(ctx, hg_run.self_tensor, torch_run.self_tensor, f"self after {method}")
        if hg_run.self_tensor._version != torch_run.self_tensor._version:
            raise Mismatch(f"self._version after {method}: {hg_run.self_tensor._version} in "
                           f"HyperGrad, {torch_run.self_tensor._version} in torch")
        if out_of_place is not None:
            _compare_with_out_of_place(ctx, method, hg_run.self_tensor, out_of_place.output)
        if op.differentiable:
            gradients(ctx, hg_run, torch_run, spelled)
        ctx.compared()


def _check_unmodified(hg_run, originals):
    for slot, (tensor, original) in enumerate(zip(hg_run.inputs, originals)):
        if not np.array_equal(np.asarray(tensor._data), original,
                              equal_nan=original.dtype.kind in "fc"):
            raise Mismatch(f"input x{slot} was modified by the op: it held "
                           f"{original.tolist()!r} and now holds {tensor._data.tolist()!r}")
        if tensor._version != 0:
            raise Mismatch(f"input x{slot}._version is {tensor._version} after the op; an "
                           f"out-of-place op must not bump it")


def _check_aliasing(hg_run, torch_run):
    import torch

    for (path, h), (_, t) in zip(flatten(hg_run.output), flatten(torch_run.output)):
        if not isinstance(t, torch.Tensor) or t.numel() == 0 or not hasattr(h, "_data"):
            continue
        for slot, (hi, ti) in enumerate(zip(hg_run.inputs, torch_run.inputs)):
            if ti.numel() == 0:
                continue
            torch_shares = t.untyped_storage().data_ptr() == ti.untyped_storage().data_ptr()
            hg_shares = bool(np.may_share_memory(h._data, hi._data))
            if torch_shares != hg_shares:
                label = path_text("output", path)
                raise Mismatch(f"{label} {'shares' if torch_shares else 'does not share'} "
                               f"memory with input x{slot} in torch, but "
                               f"{'does' if hg_shares else 'does not'} in HyperGrad"
                               + (" (a view op must return a view)" if torch_shares else
                                  " (writing to one would change the other)"))


def _compare_with_out_of_place(ctx, method, self_tensor, out_of_place_output):
    from .harness import _compare_arrays

    if not hasattr(out_of_place_output, "_data"):
        return
    result = np.asarray(out_of_place_output._data)
    if result.shape != self_tensor._data.shape:
        return
    expected = result.astype(self_tensor._data.dtype)
    _compare_arrays(ctx, np.asarray(self_tensor._data), expected,
                    f"self after {method} vs the out-of-place result (HyperGrad)",
                    ctx.tolerance(expected.dtype.name))


@check("variants", "method, operator and alias spellings",
       applies=lambda op: None if (op.methods or op.aliases) else
       "the op has no method, operator or alias spelling")
def variants(ctx):
    """Every spelling of the op (`hg.mul(a, b)`, `a.mul(b)`, `a.__mul__(b)`, `a.__rmul__(b)`,
    `hg.multiply(a, b)`) gives the values and gradients torch gives for the same spelling;
    a spelling torch does not have is reported."""
    import torch

    op = ctx.op
    scenario = ctx.draw_scenario()
    first_is_tensor = bool(scenario.sample.args) and isinstance(scenario.sample.args[0],
                                                                SampleTensor)
    spellings = [("alias", a) for a in op.aliases]
    if first_is_tensor:
        spellings += [("method", m) for m in op.methods]
    if not spellings:
        ctx.vacuous("the first argument is not a tensor, so there is no method to call")
        return
    for spelling in spellings:
        spelled = ctx.use(scenario.copy())
        spelled.spelling = spelling
        kind, name = spelling
        if kind == "method" and not hasattr(torch.Tensor, name):
            raise Mismatch(f"HyperGrad binds Tensor.{name}, but torch.Tensor has no {name}")
        if kind == "alias" and _torch_attribute(torch, name) is None:
            raise Mismatch(f"HyperGrad defines the alias hg.{name}, but torch has no "
                           f"torch.{name}")
        _values_and_gradients(ctx, spelled)


def _torch_attribute(torch, dotted):
    target = torch
    for part in dotted.split("."):
        target = getattr(target, part, None)
        if target is None:
            return None
    return target


# ----------------------------------------------------------------------------------------------
# 8-10. Dtypes, special values, errors
# ----------------------------------------------------------------------------------------------
@check("dtypes", "mixed dtypes and type promotion", mode="mixed", dtypes="mixed",
       applies=lambda op: None if len(op.dtypes) > 1 else "the op declares a single dtype")
def dtypes(ctx):
    """Each tensor draws its own dtype from the op's declared dtypes (float32 with float64,
    int with float, bool with int, ...), with Python numbers where the domain puts them: the
    result dtype follows torch's promotion, and values and gradients agree."""
    _values_and_gradients(ctx, ctx.draw_scenario())


@check("special", "zeros, ties, infinities, NaN, huge magnitudes", mode="special")
def special(ctx):
    """Tensors mix in 0, -0, +-inf, NaN, 1e30 (1e200 in float64), tiny values and +-1, and
    repeat values (ties); integer tensors mix in 0, +-1 and large values. Values agree with
    NaN at the same positions, and so do gradients (the conventions of derivatives.yaml at
    kinks and ties). Tensors the domain marks `special=False` are left alone."""
    _values_and_gradients(ctx, ctx.draw_scenario())


@check("errors", "declared invalid inputs raise as in torch",
       applies=lambda op: None if op.entry.error_samples else "the op declares no error_samples")
def errors(ctx):
    """Every ErrorSample the op declares raises the declared exception type in torch (else
    the declaration is wrong), and HyperGrad raises the same type; `match`, if given, is a
    text (or regular expression) HyperGrad's message must contain."""
    declared = ctx.op.entry.error_samples
    samples = declared(ctx.g) if callable(declared) else declared
    if isinstance(samples, ErrorSample):
        samples = [samples]
    for expected in samples:
        scenario = ctx.use(Scenario(ctx.op.name, ctx.check, expected.sample,
                                    dtype=ctx.g.dtype.name, expect_error=expected))
        hg_run, torch_run = execute_both(ctx.op, scenario)
        name = expected.error_type.__name__
        if torch_run.error is None:
            raise Mismatch(f"the declared error sample does not raise in torch (expected "
                           f"{name}); torch returns {_short(torch_run.output)}")
        if not isinstance(torch_run.error, expected.error_type):
            raise Mismatch(f"the declared error sample raises {type(torch_run.error).__name__} "
                           f"in torch, not the declared {name}: {torch_run.error}")
        agree_on_errors(hg_run.error, torch_run.error, hg_run.output, torch_run.output,
                        "error sample")
        if not isinstance(hg_run.error, expected.error_type):
            raise Mismatch(f"HyperGrad raises {type(hg_run.error).__name__}, not the declared "
                           f"{name}: {hg_run.error}")
        message = str(hg_run.error)
        if expected.match and expected.match not in message and not re.search(expected.match,
                                                                              message):
            raise Mismatch(f"HyperGrad's message {str(hg_run.error)!r} does not match "
                           f"{expected.match!r}")
        ctx.compared()


CHECK_NAMES = tuple(CHECKS)
