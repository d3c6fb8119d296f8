"""The autograd engine's semantics, written once per scenario and run with torch and HyperGrad.

Each scenario is a function `scenario(L, log)` using `L` as the library; it returns values and
may append to `log` (what hooks saw, the order nodes ran). `same_in_both` runs it with each
library and compares the outcomes: values (dtype, shape, numbers, requires_grad, grad_fn name),
the log, or the exception type and message ("torch." read as "hypergrad.").
"""

from __future__ import annotations

import gc
import threading
import warnings
import weakref

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.autograd.gradcheck import GradcheckError as TorchGradcheckError

import hypergrad as hg
from hypergrad.autograd.gradcheck import GradcheckError

BACKWARD_TWICE = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
    "backward through the graph a second time or if you need to access saved tensors after "
    "calling backward.")


def normalize(value):
    if isinstance(value, (torch.Tensor, hg.Tensor)):
        fn = value.grad_fn
        return ("tensor", str(value.dtype).split(".")[-1], tuple(value.shape),
                np.round(np.asarray(value.detach().tolist(), dtype=float), 5).tolist(),
                value.requires_grad, None if fn is None else type(fn).__name__)
    if isinstance(value, (list, tuple)):
        return [normalize(v) for v in value]
    if isinstance(value, dict):
        return {k: normalize(v) for k, v in value.items()}
    if isinstance(value, str):  # torch's C++ nodes print as torch::autograd::GraphRoot
        return value.replace("torch::autograd::", "").replace("torch.", "hypergrad.")
    return value


def outcome(scenario, lib):
    log = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            result = scenario(lib, log)
        except Exception as error:  # noqa: BLE001 - the exception is the outcome
            return ("raised", type(error).__name__, normalize(str(error)), normalize(log))
    return ("returned", normalize(result), normalize(log))


def same_in_both(scenario):
    expected = outcome(scenario, torch)
    actual = outcome(scenario, hg)
    assert actual == expected


SCENARIOS = {}


def scenario(function):
    SCENARIOS[function.__name__] = function
    return function


def leaf(L, values=(1.0, 2.0), dtype=None):
    return L.tensor(list(values), dtype=dtype, requires_grad=True)


# ----------------------------------------------------------------------------------------------
# backward() and grad()
# ----------------------------------------------------------------------------------------------
@scenario
def backward_with_gradient(L, log):
    x = leaf(L, (1.0, 2.0, 3.0))
    (x * x).backward(L.tensor([1.0, 0.5, 2.0]))
    return x.grad


@scenario
def backward_of_non_scalar_needs_gradient(L, log):
    (leaf(L) * 2).backward()


@scenario
def backward_gradient_shape_mismatch(L, log):
    (leaf(L, (1.0, 2.0, 3.0)) * 2).backward(L.ones(2))


@scenario
def backward_of_tensor_without_grad(L, log):
    (L.tensor([1.0, 2.0]) * 2).sum().backward()


@scenario
def backward_gradient_of_other_dtype_is_cast(L, log):
    x = leaf(L)
    (x * 2).backward(L.tensor([1.0, 2.0], dtype=L.float64))
    return x.grad


@scenario
def backward_integer_gradient(L, log):
    x = leaf(L)
    (x * 2).backward(L.tensor([1, 2]))
    return x.grad


@scenario
def backward_twice_without_saved_tensors_accumulates(L, log):
    a, b = leaf(L), leaf(L, (3.0, 4.0))
    s = (a + b).sum()
    s.backward()
    s.backward()
    return a.grad, b.grad


@scenario
def backward_twice_with_saved_tensors_fails(L, log):
    a = leaf(L)
    s = (a * a).sum()
    s.backward()
    s.backward()


@scenario
def backward_twice_with_retain_graph(L, log):
    a = leaf(L)
    s = (a * a).sum()
    s.backward(retain_graph=True)
    s.backward()
    return a.grad


@scenario
def grad_after_freed_graph_fails(L, log):
    a = leaf(L)
    s = (a.exp() * 2).sum()
    L.autograd.grad(s, a)
    L.autograd.grad(s, a)


@scenario
def backward_inputs_leaf(L, log):
    a, b = leaf(L), leaf(L, (3.0, 4.0))
    (a * b).sum().backward(inputs=[a])
    return a.grad, b.grad


@scenario
def backward_inputs_non_leaf(L, log):
    a = leaf(L)
    h = a * 3
    (h * h).sum().backward(inputs=[h])
    log.append(a.grad)
    return h.grad, h.retains_grad


@scenario
def backward_inputs_single_tensor(L, log):
    a = leaf(L)
    h = a * 3
    (h * h).sum().backward(inputs=h)
    return h.grad


@scenario
def backward_inputs_leaf_and_non_leaf(L, log):
    a, w = leaf(L), leaf(L, (3.0, 4.0))
    h = a * w
    (h * h).sum().backward(inputs=[h, w])
    return a.grad, w.grad, h.grad


@scenario
def backward_inputs_empty(L, log):
    (leaf(L) * 2).sum().backward(inputs=[])


@scenario
def backward_inputs_not_requiring_grad(L, log):
    (leaf(L) * 2).sum().backward(inputs=[L.tensor([1.0])])


@scenario
def backward_several_roots(L, log):
    a = leaf(L)
    L.autograd.backward([(a * a).sum(), a * 3], [None, L.tensor([1.0, 2.0])])
    return a.grad


@scenario
def grad_basic(L, log):
    a, b = leaf(L), leaf(L, (3.0, 4.0))
    grads = L.autograd.grad((a * b).sum(), [a, b])
    return grads, a.grad, b.grad


@scenario
def grad_unused_input(L, log):
    a, b = leaf(L), leaf(L, (3.0, 4.0))
    return L.autograd.grad((a * 2).sum(), [a, b])


@scenario
def grad_allow_unused(L, log):
    a, b = leaf(L), leaf(L, (3.0, 4.0))
    return L.autograd.grad((a * 2).sum(), [a, b], allow_unused=True)


@scenario
def grad_materialize_grads(L, log):
    a, b = leaf(L), leaf(L, (3.0, 4.0))
    return L.autograd.grad((a * 2).sum(), [a, b], materialize_grads=True)


@scenario
def grad_materialize_grads_with_allow_unused_false(L, log):
    a, b = leaf(L), leaf(L, (3.0, 4.0))
    return L.autograd.grad((a * 2).sum(), [a, b], materialize_grads=True, allow_unused=False)


@scenario
def grad_of_non_leaf(L, log):
    h = leaf(L) * 3
    return L.autograd.grad((h * h).sum(), h)


@scenario
def grad_input_not_requiring_grad(L, log):
    return L.autograd.grad((leaf(L) * 2).sum(), L.tensor([1.0, 2.0]))


@scenario
def grad_output_not_requiring_grad(L, log):
    return L.autograd.grad((L.tensor([1.0, 2.0]) * 2).sum(), leaf(L))


@scenario
def grad_with_grad_outputs(L, log):
    a = leaf(L)
    return L.autograd.grad(a * a, a, grad_outputs=L.tensor([1.0, 3.0]))


@scenario
def grad_with_mismatched_grad_outputs(L, log):
    a = leaf(L)
    return L.autograd.grad(a * a, a, grad_outputs=L.tensor([1.0, 3.0, 4.0]))


@scenario
def grad_of_several_outputs(L, log):
    a = leaf(L)
    return L.autograd.grad([(a * a).sum(), (a * 3).sum()], a)


@scenario
def grad_of_several_outputs_with_some_grad_outputs(L, log):
    a = leaf(L)
    return L.autograd.grad([a * a, (a * 3).sum()], a, grad_outputs=[L.ones(2), None])


@scenario
def grad_implicit_for_non_scalar(L, log):
    a = leaf(L)
    return L.autograd.grad([a * a], a, grad_outputs=[None])


@scenario
def grad_does_not_write_dot_grad(L, log):
    a = leaf(L)
    h = a * 2
    h.retain_grad()
    L.autograd.grad((h * a).sum(), a)
    return a.grad, h.grad


@scenario
def grad_with_retain_graph_twice(L, log):
    a = leaf(L)
    y = (a * a).sum()
    first = L.autograd.grad(y, a, retain_graph=True)
    return first, L.autograd.grad(y, a)


@scenario
def backward_under_no_grad_still_works(L, log):
    x = leaf(L)
    y = (x * x).sum()
    with L.no_grad():
        y.backward()
    return x.grad


@scenario
def create_graph_under_no_grad(L, log):
    x = leaf(L)
    y = (x * x).sum()
    with L.no_grad():
        (g,) = L.autograd.grad(y, x, create_graph=True)
    return g, L.is_grad_enabled()


@scenario
def gradient_broadcast_back_to_input(L, log):
    x = leaf(L, (1.0, 2.0, 3.0))
    b = L.tensor([[1.0], [2.0]], requires_grad=True)
    c = L.tensor(2.0, requires_grad=True)
    ((x * b + c) * x).sum().backward()
    return x.grad, b.grad, c.grad


@scenario
def gradient_cast_back_to_input_dtype(L, log):
    x = leaf(L, (1.0, 2.0))
    d = leaf(L, (3.0, 4.0), dtype=L.float64)
    y = x * d
    (y * y).sum().backward()
    return x.grad, d.grad, str(y.dtype)


@scenario
def grad_of_a_subset_then_full_backward(L, log):
    a, b = leaf(L), leaf(L, (3.0, 4.0))
    p, q = a.exp(), b.exp()
    y = (p * q).sum()
    L.autograd.grad(y, [p])  # runs (and frees) only the nodes above p
    y.backward()
    return a.grad, b.grad


@scenario
def grad_of_a_tensor_with_respect_to_itself(L, log):
    x = leaf(L)
    h = x * 2
    return L.autograd.grad(x, x, L.ones(2)), L.autograd.grad(h, h, L.ones(2))


@scenario
def backward_on_leaves(L, log):
    x, s = leaf(L), L.tensor(2.0, requires_grad=True)
    x.backward(L.tensor([3.0, 4.0]))
    s.backward()
    return x.grad, s.grad


@scenario
def backward_of_empty_tensors(L, log):
    x = L.zeros(0, 3, requires_grad=True)
    (x * 2).sum().backward()
    return x.grad


@scenario
def the_same_root_or_input_twice(L, log):
    x = leaf(L)
    y = (x * x).sum()
    L.autograd.backward([y, y], retain_graph=True)
    return x.grad, L.autograd.grad(y, [x, x])


@scenario
def backward_inputs_that_the_graph_does_not_reach(L, log):
    x, z = leaf(L), leaf(L)
    (x * 2).sum().backward(inputs=[z])
    return x.grad, z.grad


@scenario
def retain_graph_false_overrides_create_graph(L, log):
    x = leaf(L)
    y = x.exp().sum()
    y.backward(create_graph=True, retain_graph=False)
    y.backward()


@scenario
def grad_outputs_as_a_python_number(L, log):
    x = L.tensor(2.0, requires_grad=True)
    return L.autograd.grad(x * x, x, grad_outputs=3.0)


@scenario
def constants_and_integer_tensors_in_the_graph(L, log):
    x, c, i = leaf(L), L.tensor([5.0, 6.0]), L.tensor([5, 6])
    y = (x * c + c + x * i).sum()
    y.backward()
    return x.grad, c.grad, y.dtype.is_floating_point


@scenario
def backward_of_an_integer_result(L, log):
    (leaf(L) > 1).sum().backward()


@scenario
def hook_may_modify_the_gradient_in_place(L, log):
    x = leaf(L)
    h = x * 2
    h.register_hook(lambda g: g.mul_(3) and None)
    (h * 1).sum().backward()
    return x.grad


@scenario
def leaf_hook_under_create_graph_is_differentiable(L, log):
    x = leaf(L)
    x.register_hook(lambda g: g * x)
    (x * x).sum().backward(create_graph=True)
    return x.grad


@scenario
def retained_grad_is_not_shared_with_the_leaf(L, log):
    x = leaf(L)
    h = x * 1
    h.retain_grad()
    h.sum().backward()
    h.grad.mul_(5)
    return x.grad, h.grad


@scenario
def detach_cuts_the_graph(L, log):
    x = leaf(L)
    (x * x.detach()).sum().backward()
    return x.grad


@scenario
def api_spellings(L, log):
    x = leaf(L)
    y = x * x
    L.autograd.backward(y, grad_tensors=L.ones(2), retain_graph=True)
    L.autograd.backward(y.sum(), retain_graph=True)
    L.autograd.backward((y,), (L.ones(2),), retain_graph=True)
    y.backward(gradient=L.ones(2), retain_graph=True)
    g = L.autograd.grad(outputs=y, inputs=x, grad_outputs=L.ones(2), only_inputs=True)
    return x.grad, g, type(g).__name__


@scenario
def fewer_gradients_than_outputs(L, log):
    x = leaf(L)
    L.autograd.backward([x * 1, x * 2], [L.ones(2)])


@scenario
def fewer_grad_outputs_than_outputs(L, log):
    x = leaf(L)
    L.autograd.grad([x * 1, x * 2], x, [L.ones(2)])


@scenario
def grad_outputs_that_are_not_tensors(L, log):
    x = leaf(L)
    L.autograd.grad(x * 1, x, [1.0, 2.0])


@scenario
def grad_with_an_input_that_is_not_a_tensor(L, log):
    x = leaf(L)
    L.autograd.grad((x * 1).sum(), [x, 3.0])


@scenario
def grad_with_no_inputs(L, log):
    L.autograd.grad((leaf(L) * 1).sum(), [])


@scenario
def implicit_gradient_of_a_complex_output(L, log):
    x = L.tensor([1 + 1j], requires_grad=True)
    (x * 2).sum().backward()


@scenario
def grad_with_batched_grad_outputs(L, log):
    x, y = leaf(L), leaf(L, (3.0,))
    rows = L.autograd.grad(x * x, [x, y], L.eye(2), is_grads_batched=True, allow_unused=True)
    zeros = L.autograd.grad(x * 2, [x, y], L.eye(2), is_grads_batched=True,
                            materialize_grads=True)
    return rows, zeros


@scenario
def batched_grad_outputs_of_the_wrong_shape(L, log):
    x = leaf(L)
    L.autograd.grad(x * 2, [x], L.ones(2), is_grads_batched=True)


# ----------------------------------------------------------------------------------------------
# AccumulateGrad
# ----------------------------------------------------------------------------------------------
@scenario
def accumulate_two_leaves_do_not_share_their_grad(L, log):
    a, b = leaf(L), leaf(L, (3.0, 4.0))
    (a + b).sum().backward()
    a.grad.mul_(10)
    return a.grad, b.grad


@scenario
def accumulate_into_existing_grad_in_place(L, log):
    a = leaf(L)
    (a * 2).sum().backward()
    g = a.grad
    (a * 3).sum().backward()
    return g is a.grad, a.grad, g._version


@scenario
def accumulate_onto_user_set_grad(L, log):
    a = leaf(L)
    a.grad = L.tensor([10.0, 10.0])
    (a * 3).sum().backward()
    return a.grad


@scenario
def root_gradient_is_copied_not_aliased(L, log):
    a = leaf(L)
    g = L.tensor([1.0, 1.0])
    a.backward(g)
    g.mul_(5)
    return a.grad, a.grad is g


@scenario
def root_gradient_through_a_passthrough_is_copied(L, log):
    a = leaf(L)
    g = L.tensor([1.0, 1.0])
    a.clone().backward(g)   # CloneBackward0 hands the caller's tensor on unchanged
    g.mul_(5)
    return a.grad


@scenario
def gradient_a_hook_kept_is_not_the_leafs_grad(L, log):
    a, b = leaf(L), leaf(L, (3.0, 4.0))
    y = a + b
    y.register_hook(log.append)   # AddBackward0 sends this very tensor on to a and b
    y.sum().backward()
    a.grad.mul_(10)
    b.grad.mul_(100)
    return a.grad, b.grad


def test_a_fresh_gradient_becomes_grad_without_a_copy(monkeypatch):
    """Note [Stealing the gradient]: the product's gradient is referenced by the engine alone,
    so `.grad` takes it; the user's root gradient is referenced by the caller, so it is copied."""
    from hypergrad.autograd import node

    decisions = []
    can_steal = node._can_steal
    monkeypatch.setattr(node, "_can_steal",
                        lambda buffer, variable: decisions.append(can_steal(buffer, variable))
                        or decisions[-1])
    w = hg.randn(4, 3, requires_grad=True)
    b = hg.randn(3, requires_grad=True)
    (hg.randn(5, 4) @ w + b).sum().backward()
    assert decisions == [True, True]
    expected = torch.ones(5, 3).sum(0)
    np.testing.assert_array_equal(b.grad.numpy(), expected.numpy())
    decisions.clear()
    g = hg.ones(4, 3)
    v = hg.zeros(4, 3, requires_grad=True)
    v.backward(g)
    assert decisions == [False] and not np.shares_memory(v.grad.numpy(), g.numpy())


@scenario
def create_graph_gives_grad_a_grad_fn(L, log):
    a = leaf(L)
    (a * a * a).sum().backward(create_graph=True)
    log.append(a.grad)
    (a * a * a).sum().backward(create_graph=True)
    return a.grad


@scenario
def plain_backward_after_create_graph_accumulates_in_place(L, log):
    a = leaf(L)
    (a * a).sum().backward(create_graph=True)
    g = a.grad
    (a * 3).sum().backward()
    return a.grad is g, a.grad, g._version


@scenario
def create_graph_after_plain_backward(L, log):
    a = leaf(L)
    (a * a).sum().backward()
    g = a.grad
    (a * a).sum().backward(create_graph=True)
    return a.grad is g, a.grad, g


@scenario
def constant_gradient_under_create_graph_has_no_grad_fn(L, log):
    b = leaf(L, (1.0,))
    (b * 2).sum().backward(create_graph=True)
    return b.grad


@scenario
def non_leaf_grad_access_warns_and_is_none(L, log):
    h = leaf(L) * 2
    h.sum().backward()
    return h.grad


# ----------------------------------------------------------------------------------------------
# Hooks
# ----------------------------------------------------------------------------------------------
@scenario
def tensor_hooks_on_a_leaf_chain(L, log):
    a = leaf(L)
    a.register_hook(lambda g: log.append(("first", g)) or g * 2)
    a.register_hook(lambda g: log.append(("second", g)))
    (a * 3).sum().backward()
    return a.grad


@scenario
def tensor_hook_on_a_non_leaf_changes_what_flows_on(L, log):
    a = leaf(L)
    h = a * 3
    h.register_hook(lambda g: log.append(g) or g + 1)
    (h * h).sum().backward()
    return a.grad


@scenario
def hook_registered_before_retain_grad_changes_the_retained_grad(L, log):
    a = leaf(L)
    h = a * 3
    h.register_hook(lambda g: g * 10)
    h.retain_grad()
    (h * h).sum().backward()
    return a.grad, h.grad


@scenario
def hook_registered_after_retain_grad_also_changes_it(L, log):
    a = leaf(L)
    h = a * 3
    h.retain_grad()
    h.register_hook(lambda g: g * 10)
    (h * h).sum().backward()
    return a.grad, h.grad


@scenario
def removed_hook_does_not_run(L, log):
    a = leaf(L)
    handle = a.register_hook(lambda g: g * 2)
    handle.remove()
    (a * 3).sum().backward()
    return a.grad


@scenario
def hook_on_tensor_without_grad(L, log):
    L.tensor([1.0, 2.0]).register_hook(lambda g: g)


@scenario
def node_pre_and_post_hooks_see_gradients(L, log):
    a = leaf(L)
    y = a * 3
    y.grad_fn.register_prehook(lambda grad_outputs: log.append(("pre", grad_outputs)))
    y.grad_fn.register_hook(lambda grad_inputs, grad_outputs:
                            log.append(("post", grad_inputs, grad_outputs)))
    y.sum().backward()
    return a.grad


@scenario
def node_pre_and_post_hooks_replace_gradients(L, log):
    a = leaf(L)
    y = a * 3
    y.grad_fn.register_prehook(lambda grad_outputs: (grad_outputs[0] * 2,))
    y.grad_fn.register_hook(lambda grad_inputs, grad_outputs: (grad_inputs[0] + 1, None))
    y.sum().backward()
    return a.grad


@scenario
def hook_kinds_run_in_torchs_order(L, log):
    a = leaf(L)
    y = a * 3
    y.grad_fn.register_hook(lambda gi, go: log.append("post-hook"))
    y.grad_fn.register_prehook(lambda go: log.append("pre-hook"))
    y.register_hook(lambda g: log.append("tensor-hook"))
    y.retain_grad()
    a.register_hook(lambda g: log.append("leaf-hook"))
    a.register_post_accumulate_grad_hook(lambda t: log.append("post-accumulate"))
    y.sum().backward()
    return log


@scenario
def post_accumulate_grad_hook_sees_the_updated_grad(L, log):
    a = leaf(L)
    a.register_post_accumulate_grad_hook(lambda t: log.append(t.grad.clone()))
    (a * 3).sum().backward()
    (a * 3).sum().backward()
    return a.grad


@scenario
def post_accumulate_grad_hook_on_non_leaf(L, log):
    (leaf(L) * 2).register_post_accumulate_grad_hook(lambda t: None)


@scenario
def accumulate_grad_node_hooks(L, log):
    a = leaf(L)
    y = a * 3
    accumulate = y.grad_fn.next_functions[0][0]
    accumulate.register_prehook(lambda go: log.append(("pre", go)))
    accumulate.register_hook(lambda gi, go: log.append(("post", gi, go)))
    y.sum().backward()
    return a.grad


@scenario
def hooks_run_in_autograd_grad(L, log):
    a = leaf(L)
    a.register_hook(lambda g: log.append("leaf") or g * 2)
    h = a * 3
    h.register_hook(lambda g: log.append("non-leaf") or g * 5)
    return L.autograd.grad((h * h).sum(), [a, h])


@scenario
def hook_sees_grad_requiring_grad_only_under_create_graph(L, log):
    a = leaf(L)
    a.register_hook(lambda g: log.append(g.requires_grad))
    (a * a).sum().backward()
    (a * a).sum().backward(create_graph=True)
    return log


@scenario
def retain_grad_is_a_no_op_on_leaves(L, log):
    a = leaf(L)
    a.retain_grad()
    (a * 2).sum().backward()
    return a.retains_grad, a.grad


@scenario
def retain_grad_twice_does_not_double(L, log):
    h = leaf(L) * 3
    h.retain_grad()
    h.retain_grad()
    h.sum().backward()
    return h.grad


@scenario
def retained_grad_accumulates_over_backwards(L, log):
    h = leaf(L) * 2
    h.retain_grad()
    (h * h).sum().backward(retain_graph=True)
    log.append(h.grad)
    (h * 2).sum().backward()
    return h.grad


@scenario
def retain_grad_follows_an_in_place_change(L, log):
    a = leaf(L)
    h = a * 3
    h.retain_grad()
    h.mul_(2)
    h.sum().backward()
    return h.grad, a.grad


@scenario
def tensor_hook_stays_with_the_value_before_an_in_place_change(L, log):
    a = leaf(L)
    h = a * 3
    h.register_hook(lambda g: log.append(g) or g * 10)
    h.mul_(2)
    h.sum().backward()
    return a.grad


@scenario
def retain_grad_without_requires_grad(L, log):
    L.tensor([1.0]).retain_grad()


@scenario
def handle_as_context_manager(L, log):
    a = leaf(L)
    with a.register_hook(lambda g: g * 2):
        pass
    (a * 3).sum().backward()
    return a.grad


def _bad_hook_scenario(register):
    def run(L, log):
        a = leaf(L)
        h = a * 2
        register(L, a, h)
        h.sum().backward()
        return a.grad

    return run


BAD_HOOKS = {
    "tensor hook changes the size": lambda L, a, h: h.register_hook(lambda g: L.ones(3)),
    "leaf hook changes the size": lambda L, a, h: a.register_hook(lambda g: L.ones(3)),
    "tensor hook changes the dtype": lambda L, a, h: h.register_hook(lambda g: g.double()),
    "tensor hook returns a number": lambda L, a, h: h.register_hook(lambda g: 5),
    "pre-hook changes the size": lambda L, a, h: h.grad_fn.register_prehook(
        lambda go: (L.ones(3),)),
    "pre-hook returns too many": lambda L, a, h: h.grad_fn.register_prehook(
        lambda go: (go[0], go[0])),
    "post-hook changes the size": lambda L, a, h: h.grad_fn.register_hook(
        lambda gi, go: (L.ones(3), None)),
    "post-hook returns too few": lambda L, a, h: h.grad_fn.register_hook(lambda gi, go: (gi[0],)),
    "post-hook returns a number": lambda L, a, h: h.grad_fn.register_hook(lambda gi, go: 5),
}


@pytest.mark.parametrize("case", BAD_HOOKS)
def test_invalid_hook_results_raise_torchs_errors(case):
    same_in_both(_bad_hook_scenario(BAD_HOOKS[case]))


# ----------------------------------------------------------------------------------------------
# Graph structure and execution order
# ----------------------------------------------------------------------------------------------
def graph_structure(root):
    """(name, [(next name, input_nr), ...]) for every node reachable from `root`, depth first."""
    out, stack, seen = [], [root], set()
    while stack:
        fn = stack.pop()
        out.append((type(fn).__name__,
                    [(type(n).__name__ if n is not None else None, i)
                     for n, i in fn.next_functions]))
        for n, _ in fn.next_functions:
            if n is not None and id(n) not in seen:
                seen.add(id(n))
                stack.append(n)
    return out


@scenario
def next_functions_and_node_names(L, log):
    a = leaf(L)
    b = L.tensor([3.0, 4.0])
    y = ((a * b + a) / 2 - a.exp()).sum()
    return graph_structure(y.grad_fn)


@scenario
def next_functions_of_ops_with_number_operands(L, log):
    a = leaf(L)
    y = (a - 2) * (-a) * 3 + (1 + a) / 2 + 2 / a + 2 * a
    return graph_structure(y.grad_fn)


# torch makes an edge only for each differentiable tensor input (a Scalar overload such as
# rsub(Tensor, Scalar) has one); ops declare the same with `differentiable_inputs`.
NEXT_FUNCTION_COUNTS = {
    "1 - a": (lambda L, a: 1 - a, "RsubBackward1", 1),
    "a ** 2": (lambda L, a: a ** 2, "PowBackward0", 1),
    "2 ** a": (lambda L, a: 2 ** a, "PowBackward2", 1),
    "a % 2": (lambda L, a: a % 2, "RemainderBackward0", 1),
    "a.clamp(0, 1)": (lambda L, a: a.clamp(0, 1), "ClampBackward1", 1),
    "a.masked_fill(a > 1, 0.0)": (lambda L, a: a.masked_fill(a > 1, 0.0), "MaskedFillBackward0", 1),
    "where(a > 1, a, 0.0)": (lambda L, a: L.where(a > 1, a, 0.0), "WhereBackward0", 2),
}


@pytest.mark.parametrize("case", list(NEXT_FUNCTION_COUNTS))
def test_next_functions_count_only_differentiable_tensor_inputs(case):
    make, node_name, count = NEXT_FUNCTION_COUNTS[case]
    t = make(torch, leaf(torch)).grad_fn
    assert (t.name(), len(t.next_functions)) == (node_name, count)
    h = make(hg, leaf(hg)).grad_fn
    assert (h.name(), len(h.next_functions)) == (node_name, count)


@scenario
def one_accumulate_grad_per_leaf(L, log):
    a = leaf(L)
    y1, y2 = a * 2, a * 3
    acc = y1.grad_fn.next_functions[0][0]
    return acc is y2.grad_fn.next_functions[0][0], acc.variable is a, type(acc).__name__


@scenario
def node_metadata_dict(L, log):
    y = leaf(L) * 2
    y.grad_fn.metadata["note"] = 1
    return y.grad_fn.metadata, y.grad_fn.name()


@scenario
def output_nr_of_multi_output_ops(L, log):
    a = leaf(L, (1.0, 2.0, 3.0, 4.0))
    parts = a.split(2)
    return [p.output_nr for p in parts], [type(p.grad_fn).__name__ for p in parts]


@scenario
def calling_a_node_by_hand(L, log):
    a, b = leaf(L), L.tensor([3.0, 4.0])
    y = a * b
    z = (a * 2).sum()
    return (y.grad_fn(L.ones(2)), z.grad_fn(L.tensor(1.0)),
            y.grad_fn.next_functions[0][0](L.ones(2)), a.grad)


def record_order(root, log):
    """Make every node reachable from `root` append its name to `log` when it runs."""
    stack, seen = [root.grad_fn], set()
    while stack:
        fn = stack.pop()
        if fn is None or id(fn) in seen:
            continue
        seen.add(id(fn))
        fn.register_prehook(lambda grad_outputs, fn=fn: log.append(type(fn).__name__))
        stack.extend(n for n, _ in fn.next_functions)


@scenario
def order_diamond(L, log):
    x = leaf(L)
    a = x * 2
    b = a * 3
    c = a + 1
    y = (b * c).sum()
    record_order(y, log)
    y.backward()
    return x.grad


@scenario
def order_two_branches_broadcast(L, log):
    x, w = leaf(L), leaf(L, (3.0, 4.0))
    p = x * w
    q = (w - x) * 2
    y = (p.reshape(2, 1) + q.reshape(1, 2)).sum()
    record_order(y, log)
    y.backward()
    return x.grad, w.grad


@scenario
def order_interleaved_chains(L, log):
    x = leaf(L)
    a, b = x * 2, x * 3
    a2, b2 = a + 1, b - 1
    a3 = a2 * a2
    y = (a3 + b2.exp()).sum()
    record_order(y, log)
    y.backward()
    return x.grad


@scenario
def order_with_several_roots(L, log):
    x = leaf(L)
    a, b = (x * 2).sum(), (x * 3).sum()
    record_order(a, log)
    record_order(b, log)
    L.autograd.backward([a, b])
    return x.grad


@scenario
def order_and_post_accumulate_hooks(L, log):
    x, w = leaf(L), leaf(L, (3.0, 4.0))
    x.register_post_accumulate_grad_hook(lambda t: log.append("x accumulated"))
    w.register_post_accumulate_grad_hook(lambda t: log.append("w accumulated"))
    y = ((x * 2) * w * x).sum()
    record_order(y, log)
    y.backward()
    return x.grad, w.grad


@scenario
def grad_runs_only_the_needed_nodes(L, log):
    x, w = leaf(L), leaf(L, (3.0, 4.0))
    a, b = x * 2, w * 3
    y = (a * b).sum()
    record_order(y, log)
    return L.autograd.grad(y, [a])


@scenario
def backward_inputs_runs_only_the_needed_nodes(L, log):
    x, w = leaf(L), leaf(L, (3.0, 4.0))
    a, b = x * 2, w * 3
    y = (a * b).sum()
    record_order(y, log)
    y.backward(inputs=[x])
    return x.grad, w.grad


def test_sequence_nr_increases_with_creation():
    x = leaf(hg)
    a = x * 2
    b = a + 1
    c = b.sum()
    assert a.grad_fn.sequence_nr() < b.grad_fn.sequence_nr() < c.grad_fn.sequence_nr()


# ----------------------------------------------------------------------------------------------
# Higher-order gradients
# ----------------------------------------------------------------------------------------------
@scenario
def third_order_of_cube_with_grad(L, log):
    x = leaf(L, (1.5, -2.0), dtype=L.float64)
    (g,) = L.autograd.grad((x ** 3).sum(), x, create_graph=True)
    (gg,) = L.autograd.grad(g.sum(), x, create_graph=True)
    (ggg,) = L.autograd.grad(gg.sum(), x)
    return g, gg, ggg


@scenario
def third_order_of_product_with_backward(L, log):
    x = leaf(L, (1.5, -2.0), dtype=L.float64)
    y = (x * x * x).sum()
    (g,) = L.autograd.grad(y, x, create_graph=True)
    (g2,) = L.autograd.grad(g.sum(), x, create_graph=True)
    g2.sum().backward()
    return g, g2, x.grad


@scenario
def mixed_second_derivatives(L, log):
    x, y = leaf(L, (0.5, 1.5), dtype=L.float64), leaf(L, (2.0, -1.0), dtype=L.float64)
    f = (x * x * y + (x * y).exp() / (1 + y * y)).sum()
    gx, gy = L.autograd.grad(f, [x, y], create_graph=True)
    return gx, gy, L.autograd.grad(gx.sum(), [x, y], retain_graph=True), \
        L.autograd.grad(gy.sum(), [x, y])


@scenario
def hessian_vector_product(L, log):
    x = leaf(L, (0.3, -0.7, 1.1), dtype=L.float64)
    v = L.tensor([1.0, 2.0, -1.0], dtype=L.float64)
    (g,) = L.autograd.grad((x.sin() * x * x).sum(), x, create_graph=True)
    return L.autograd.grad((g * v).sum(), x)


@scenario
def double_backward_through_saved_output(L, log):
    x = leaf(L, (0.5, -1.0), dtype=L.float64)
    y = x.exp()
    (g,) = L.autograd.grad(y.sum(), x, create_graph=True)
    (gg,) = L.autograd.grad(g.sum(), x)
    return g, gg


@scenario
def second_backward_of_create_graph_grad(L, log):
    x = leaf(L, (0.5, 2.0), dtype=L.float64)
    (x ** 4).sum().backward(create_graph=True)
    first = x.grad
    x.grad = None
    first.sum().backward()
    return first, x.grad


# ----------------------------------------------------------------------------------------------
# Saved tensors, version counters, in-place ops
# ----------------------------------------------------------------------------------------------
@scenario
def exp_output_modified_in_place(L, log):
    x = leaf(L, (1.0, 2.0, 3.0))
    y = x.exp()
    y.mul_(2)
    y.sum().backward()


@scenario
def saved_input_modified_in_place(L, log):
    x = leaf(L, (1.0, 2.0, 3.0))
    a = x * 1
    b = a * x
    a.add_(1)
    b.sum().backward()


@scenario
def saved_leaf_without_grad_modified_in_place(L, log):
    x = leaf(L, (1.0, 2.0, 3.0))
    w = L.tensor([1.0, 2.0, 3.0])
    b = x * w
    w.add_(1)
    b.sum().backward()


@scenario
def saved_output_of_in_place_op_modified_again(L, log):
    x = leaf(L)
    y = x * 2
    y.reciprocal_()
    y.mul_(3)
    y.sum().backward()


@scenario
def saved_tensor_modified_via_a_view(L, log):
    x = leaf(L, (1.0, 2.0, 3.0, 4.0))
    y = x.exp()
    y.reshape(2, 2).add_(1)
    y.sum().backward()


@scenario
def in_place_on_a_leaf_requiring_grad(L, log):
    leaf(L).add_(1)


@scenario
def in_place_on_a_view_of_a_leaf(L, log):
    leaf(L).reshape(2, 1).mul_(2)


@scenario
def in_place_on_a_leaf_under_no_grad(L, log):
    x = leaf(L)
    with L.no_grad():
        x.add_(1)
    return x, x._version


@scenario
def version_counter_counts_in_place_ops_and_is_shared_by_views(L, log):
    x = L.tensor([1.0, 2.0, 3.0, 4.0])
    v0 = x._version
    x.add_(1)
    x.mul_(2)
    view = x.reshape(2, 2)
    view.add_(1)
    return v0, x._version, view._version, x


@scenario
def in_place_dtype_and_shape_errors(L, log):
    out = []
    for change in (lambda: L.tensor([1, 2]).add_(1.5), lambda: L.tensor([1.0]).add_(L.ones(2, 2))):
        try:
            change()
        except RuntimeError as error:
            out.append(str(error))
    out.append(L.tensor([1.0, 2.0]).add_(L.tensor([1, 2])))
    return out


REBASE = {
    "mul_ by another leaf": lambda L, y, x, w: y.mul_(w),
    "add_ then mul_": lambda L, y, x, w: y.add_(x).mul_(w),
    "pow_ saves self": lambda L, y, x, w: y.pow_(3),
    "reciprocal_ saves its output": lambda L, y, x, w: y.reciprocal_(),
    "exp_ saves its output": lambda L, y, x, w: y.exp_(),
    "div_ by a leaf": lambda L, y, x, w: y.div_(w),
    "sub_ with alpha": lambda L, y, x, w: y.sub_(w, alpha=2),
    "operator *=": lambda L, y, x, w: y.__imul__(w),
    "chain of three": lambda L, y, x, w: y.mul_(w).add_(x).sin_(),
    "mul_ by a number": lambda L, y, x, w: y.mul_(2.5),
    "fill_": lambda L, y, x, w: y.fill_(3.0),
    "zero_ then add_": lambda L, y, x, w: y.zero_().add_(w),
    "copy_ from a leaf": lambda L, y, x, w: y.copy_(w * 3),
    "abs_": lambda L, y, x, w: y.abs_(),
    "clamp_": lambda L, y, x, w: y.clamp_(-1.0, 1.5),
}


def rebase_run(L, change, create_graph):
    x = L.tensor([0.5, -1.0, 2.0], dtype=L.float64, requires_grad=True)
    w = L.tensor([3.0, 4.0, -0.5], dtype=L.float64, requires_grad=True)
    y = x * 1
    returned = change(L, y, x, w)
    out = (y * x).sum()
    if not create_graph:
        out.backward()
        return returned is y, y, x.grad, w.grad
    grads = L.autograd.grad(out, [x, w], create_graph=True, allow_unused=True)
    total = sum(g.sum() for g in grads if g is not None)
    return [g for g in grads], L.autograd.grad(total, [x, w], allow_unused=True)


@pytest.mark.parametrize("case", REBASE)
def test_in_place_on_a_non_leaf_rebases_history_like_torch(case):
    change = REBASE[case]
    same_in_both(lambda L, log: rebase_run(L, change, create_graph=False))


@pytest.mark.parametrize("case", ["mul_ by another leaf", "pow_ saves self",
                                  "exp_ saves its output", "chain of three", "copy_ from a leaf"])
def test_in_place_rebase_second_order_like_torch(case):
    change = REBASE[case]
    same_in_both(lambda L, log: rebase_run(L, change, create_graph=True))


def test_in_place_node_names():
    x = leaf(hg)
    y = x * 1
    y.mul_(leaf(hg))
    assert y.grad_fn.name() == "MulBackward0"
    assert y.grad_fn.next_functions[0][0].name() == "MulBackward0"
    z = hg.zeros(2)
    z.copy_(x)
    assert not z.is_leaf and z.requires_grad


@scenario
def in_place_under_no_grad_keeps_history(L, log):
    x = leaf(L)
    y = x * 2
    with L.no_grad():
        y.mul_(3)
    y.sum().backward()
    return x.grad, y.grad_fn.name(), y._version


@scenario
def data_changes_are_invisible_to_autograd(L, log):
    x = leaf(L)
    y = x * x
    x.data.add_(1)
    y.sum().backward()
    return x.grad, x._version


@scenario
def mark_version_bump_by_hand(L, log):
    x = leaf(L)
    y = x.exp()
    L.autograd.graph.increment_version(y)
    y.sum().backward()


# ----------------------------------------------------------------------------------------------
# Grad mode
# ----------------------------------------------------------------------------------------------
@scenario
def grad_mode_context_managers(L, log):
    x = leaf(L, (1.0,))
    with L.no_grad():
        log.append(((x * 2).requires_grad, L.is_grad_enabled()))
        with L.enable_grad():
            log.append((x * 2).requires_grad)
        log.append(L.is_grad_enabled())
    with L.set_grad_enabled(False):
        log.append((x * 2).requires_grad)
    log.append(L.is_grad_enabled())
    L.set_grad_enabled(False)
    log.append(L.is_grad_enabled())
    L.set_grad_enabled(True)
    with L.inference_mode():
        log.append(((x * 2).requires_grad, L.is_inference_mode_enabled(), L.is_grad_enabled()))
    with L.inference_mode(False):
        log.append((L.is_inference_mode_enabled(), L.is_grad_enabled()))
    with L.no_grad():
        with L.set_grad_enabled(True):
            log.append(L.is_grad_enabled())
        log.append(L.is_grad_enabled())
    return log


@scenario
def grad_mode_decorators(L, log):
    x = leaf(L, (1.0,))

    @L.no_grad()
    def f():
        return (x * 2).requires_grad

    @L.enable_grad()
    def g():
        return (x * 2).requires_grad

    @L.inference_mode()
    def h():
        return (x * 2).requires_grad, L.is_inference_mode_enabled()

    @L.set_grad_enabled(False)
    def k():
        return (x * 2).requires_grad

    log.append(L.is_grad_enabled())
    with L.no_grad():
        log.append(g())
    return f(), h(), k(), L.is_grad_enabled()


@scenario
def grad_mode_bare_decorators(L, log):
    x = leaf(L, (1.0,))

    @L.no_grad
    def f():
        return (x * 2).requires_grad

    @L.enable_grad
    def g():
        return (x * 2).requires_grad

    @L.inference_mode
    def h():
        return (x * 2).requires_grad, L.is_inference_mode_enabled()

    with L.no_grad():
        enabled = g()
    return f(), enabled, h(), L.is_grad_enabled()


@scenario
def grad_mode_decorates_methods_and_generators(L, log):
    x = leaf(L, (1.0,))

    class Model:
        @L.no_grad()
        def forward(self, k):
            return (x * k).requires_grad

    @L.no_grad()
    def gen():
        for i in range(2):
            yield (x * i).requires_grad, L.is_grad_enabled()

    steps = []
    for value in gen():
        steps.append((value, L.is_grad_enabled()))
    return Model().forward(2), steps, L.is_grad_enabled()


@scenario
def grad_mode_restored_after_exception(L, log):
    for manager in (L.no_grad(), L.inference_mode(), L.set_grad_enabled(False)):
        try:
            with manager:
                raise ValueError("inside")
        except ValueError:
            log.append(L.is_grad_enabled())
    return log


@scenario
def factories_under_no_grad_still_require_grad(L, log):
    with L.no_grad():
        x = L.tensor([1.0], requires_grad=True)
        y = L.zeros(2, requires_grad=True)
    with L.inference_mode():
        z = L.ones(2)
    return x.requires_grad, y.requires_grad, z.requires_grad


def test_decorating_a_class_warns_like_torch():
    for lib in (torch, hg):
        with pytest.warns(FutureWarning, match="Decorating classes is deprecated"):
            @lib.no_grad()
            class Thing:
                pass
        assert isinstance(Thing(), object)


@pytest.mark.parametrize("lib", [torch, hg], ids=["torch", "hg"])
def test_grad_mode_is_thread_local(lib):
    seen = {}

    def worker():
        seen["enabled"] = lib.is_grad_enabled()
        seen["records"] = (lib.tensor([1.0], requires_grad=True) * 2).requires_grad
        lib.set_grad_enabled(False)

    with lib.no_grad():
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
        assert not lib.is_grad_enabled()
    assert seen == {"enabled": True, "records": True}
    assert lib.is_grad_enabled()


# ----------------------------------------------------------------------------------------------
# Anomaly mode
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("lib", [torch, hg], ids=["torch", "hg"])
def test_anomaly_mode_is_global(lib):
    seen = []
    thread = threading.Thread(target=lambda: seen.append(lib.is_anomaly_enabled()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with lib.autograd.detect_anomaly():
            thread.start()
            thread.join()
    assert seen == [True] and not lib.is_anomaly_enabled()


@scenario
def anomaly_nan_in_backward(L, log):
    x = leaf(L, (0.0, 1.0))
    with L.autograd.detect_anomaly():
        (x / x).sum().backward()


@scenario
def anomaly_nan_in_grad(L, log):
    x = leaf(L, (0.0, 1.0))
    with L.autograd.detect_anomaly():
        return L.autograd.grad((x / x).sum(), x)


@scenario
def anomaly_nan_in_a_single_root_gradient(L, log):
    x = leaf(L, (1.0, 1.0))
    with L.autograd.detect_anomaly():
        (x * 2).backward(L.tensor([float("nan"), 1.0]))


@scenario
def anomaly_nan_in_one_of_several_roots(L, log):
    x = leaf(L, (1.0, 1.0))
    with L.autograd.detect_anomaly():
        L.autograd.backward([x * 2, x * 3], [L.tensor([float("nan"), 1.0]), L.ones(2)])


@scenario
def anomaly_without_nan_check(L, log):
    x = leaf(L, (0.0, 1.0))
    with L.autograd.detect_anomaly(check_nan=False):
        (x / x).sum().backward()
    return np.isnan(x.grad.tolist()).tolist()


@scenario
def anomaly_flags(L, log):
    log.append(L.is_anomaly_enabled())
    with L.autograd.detect_anomaly():
        log.append(L.is_anomaly_enabled())
    log.append(L.is_anomaly_enabled())
    L.autograd.set_detect_anomaly(True)
    log.append(L.is_anomaly_enabled())
    L.autograd.set_detect_anomaly(False)
    with L.autograd.set_detect_anomaly(True):
        log.append(L.is_anomaly_enabled())
    log.append(L.is_anomaly_enabled())
    return log


@scenario
def anomaly_changes_the_version_error_hint(L, log):
    x = leaf(L, (1.0, 2.0, 3.0))
    with L.autograd.detect_anomaly():
        y = x.exp()
        y.mul_(2)
        y.sum().backward()


def test_anomaly_warns_with_the_forward_trace_of_the_failing_node():
    x = leaf(hg, (0.0, 1.0))
    with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"):
        manager = hg.autograd.detect_anomaly()
    with manager:
        y = (x / x).sum()  # the line the warning must point at
        with pytest.warns(UserWarning, match="Error detected in") as record, \
                pytest.raises(RuntimeError, match=r"^Function 'DivBackward0' returned nan "
                                                  r"values in its 1th output.$"):
            y.backward()
    text = next(str(w.message) for w in record if "Error detected" in str(w.message))
    assert text.startswith("Error detected in DivBackward0. Traceback of forward call that "
                           "caused the error:")
    assert "y = (x / x).sum()  # the line the warning must point at" in text


def test_anomaly_without_forward_trace():
    x = leaf(hg, (0.0, 1.0))
    y = (x / x).sum()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with hg.autograd.detect_anomaly(), \
                pytest.warns(UserWarning, match="No forward pass information available"), \
                pytest.raises(RuntimeError, match="returned nan values"):
            y.backward()


# ----------------------------------------------------------------------------------------------
# Custom autograd.Function
# ----------------------------------------------------------------------------------------------
def cube_function(L):
    class Cube(L.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            ctx.save_for_backward(x)
            ctx.k = k
            return x * x * x * k

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * 3 * x * x * ctx.k, None

    return Cube


@scenario
def function_forward_backward_and_node(L, log):
    x = leaf(L)
    y = cube_function(L).apply(x, 2.0)
    y.sum().backward()
    return (y, x.grad, type(y.grad_fn).__name__, y.grad_fn.name(),
            [(type(n).__name__ if n else None, i) for n, i in y.grad_fn.next_functions])


@scenario
def function_double_backward(L, log):
    x = leaf(L, dtype=L.float64)
    y = cube_function(L).apply(x, 2.0)
    (g,) = L.autograd.grad(y.sum(), x, create_graph=True)
    return g, L.autograd.grad(g.sum(), x)


@scenario
def function_needs_input_grad(L, log):
    class F(L.autograd.Function):
        @staticmethod
        def forward(ctx, a, b, c):
            log.append(ctx.needs_input_grad)
            return a * b

        @staticmethod
        def backward(ctx, grad):
            log.append(ctx.needs_input_grad)
            return grad, grad, None

    a = leaf(L, (1.0,))
    F.apply(a, L.tensor([2.0]), 3).sum().backward()
    return a.grad


def simple_function(L, backward, forward=lambda ctx, a: a * 2):
    return type("F", (L.autograd.Function,), {"forward": staticmethod(forward),
                                               "backward": staticmethod(backward)})


@scenario
def function_returns_too_few_gradients(L, log):
    F = simple_function(L, lambda ctx, g: g, forward=lambda ctx, a, b: a * b)
    F.apply(leaf(L, (1.0,)), leaf(L, (2.0,))).sum().backward()


@scenario
def function_returns_too_many_gradients(L, log):
    F = simple_function(L, lambda ctx, g: (g, g))
    F.apply(leaf(L, (1.0,))).sum().backward()


@scenario
def function_extra_none_gradients_are_dropped(L, log):
    F = simple_function(L, lambda ctx, g: (g * 2, None))
    a = leaf(L, (1.0,))
    F.apply(a).sum().backward()
    return a.grad


@scenario
def function_gradient_for_a_non_tensor_argument(L, log):
    F = simple_function(L, lambda ctx, g: (g, g), forward=lambda ctx, a, k: a * k)
    F.apply(leaf(L, (1.0,)), 2.0).sum().backward()


@scenario
def function_backward_returns_a_number(L, log):
    F = simple_function(L, lambda ctx, g: 5)
    F.apply(leaf(L, (1.0,))).sum().backward()


@scenario
def function_gradient_of_wrong_shape(L, log):
    F = simple_function(L, lambda ctx, g: L.ones(3))
    F.apply(leaf(L)).sum().backward()


@scenario
def function_gradient_that_broadcasts_is_summed(L, log):
    F = simple_function(L, lambda ctx, g: L.ones(3, 2))
    a = leaf(L)
    F.apply(a).sum().backward()
    return a.grad


@scenario
def function_second_gradient_of_wrong_shape_names_its_index(L, log):
    F = simple_function(L, lambda ctx, g: (g, g, L.ones(3)),
                        forward=lambda ctx, a, b, c: a * b * c)
    a = leaf(L)
    F.apply(a, a, leaf(L)).sum().backward()


@scenario
def function_gradient_of_another_dtype_is_cast(L, log):
    F = simple_function(L, lambda ctx, g: (g.double(), g * 3),
                        forward=lambda ctx, a, b: a * b.float())
    a, b = leaf(L), leaf(L, (5.0, 6.0), dtype=L.float64)
    F.apply(a, b).sum().backward()
    return a.grad, b.grad


@scenario
def function_mark_dirty(L, log):
    class AddOne(L.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            a.add_(1)
            ctx.mark_dirty(a)
            return a

        @staticmethod
        def backward(ctx, grad):
            return grad * 2

    x = leaf(L)
    h = x * 1
    out = AddOne.apply(h)
    out.sum().backward()
    return out is h, out, x.grad, h._version, type(h.grad_fn).__name__


@scenario
def function_mark_dirty_on_a_leaf(L, log):
    class AddOne(L.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            a.add_(1)
            ctx.mark_dirty(a)
            return a

        @staticmethod
        def backward(ctx, grad):
            return grad

    AddOne.apply(leaf(L))


@scenario
def function_mark_non_differentiable(L, log):
    class F(L.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            index = a * 0
            ctx.mark_non_differentiable(index)
            return a * 2, index

        @staticmethod
        def backward(ctx, grad, grad_index):
            log.append(grad_index)
            return grad * 2

    a = leaf(L)
    y, index = F.apply(a)
    y.sum().backward()
    return index.requires_grad, index.grad_fn, a.grad


@scenario
def function_set_materialize_grads_false(L, log):
    class F(L.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.set_materialize_grads(False)
            return a * 2, a * 3

        @staticmethod
        def backward(ctx, g1, g2):
            log.append((g1 is None, g2 is None))
            return g1 * 2

    a = leaf(L)
    y, _ = F.apply(a)
    y.sum().backward()
    return a.grad


@scenario
def function_materializes_zeros_by_default(L, log):
    class F(L.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2, a * 3

        @staticmethod
        def backward(ctx, g1, g2):
            log.append(g2)
            return g1 * 2 + g2 * 3

    a = leaf(L)
    y, _ = F.apply(a)
    y.sum().backward()
    return a.grad


def once_differentiable_square(L):
    class Square(L.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a * a

        @staticmethod
        @L.autograd.function.once_differentiable
        def backward(ctx, grad):
            (a,) = ctx.saved_tensors
            return grad * 2 * a

    return Square


@scenario
def function_once_differentiable_first_order(L, log):
    a = leaf(L)
    once_differentiable_square(L).apply(a).sum().backward()
    return a.grad


@scenario
def function_once_differentiable_refuses_second_order(L, log):
    a = leaf(L)
    (g,) = L.autograd.grad(once_differentiable_square(L).apply(a).sum(), a, create_graph=True)
    log.append(g.requires_grad)
    g.sum().backward()


@scenario
def function_setup_context_style(L, log):
    class F(L.autograd.Function):
        @staticmethod
        def forward(x, k):
            return x * k

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, k = inputs
            ctx.k = k
            ctx.save_for_backward(x, output)

        @staticmethod
        def backward(ctx, grad):
            _, out = ctx.saved_tensors
            log.append(out)
            return grad * ctx.k, None

    a = leaf(L)
    y = F.apply(a, 3.0)
    y.sum().backward()
    return a.grad, y


@scenario
def function_without_grad_inputs_records_nothing(L, log):
    y = cube_function(L).apply(L.tensor([1.0, 2.0]), 2.0)
    with L.no_grad():
        z = cube_function(L).apply(leaf(L), 2.0)
    return y.requires_grad, y.grad_fn, z.requires_grad


@scenario
def function_grad_mode_inside_forward_and_backward(L, log):
    class F(L.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            r = a * 2
            log.append(("forward", L.is_grad_enabled(), r.requires_grad))
            return r

        @staticmethod
        def backward(ctx, grad):
            log.append(("backward", L.is_grad_enabled()))
            return grad * 2

    a = leaf(L, (1.0,))
    F.apply(a).sum().backward()
    F.apply(a).sum().backward(create_graph=True)
    return a.grad


@scenario
def function_returning_its_input(L, log):
    F = simple_function(L, lambda ctx, g: g * 5, forward=lambda ctx, a: a)
    a = leaf(L, (1.0,))
    y = F.apply(a)
    y.sum().backward()
    return y is a, a.grad, type(y.grad_fn).__name__


@scenario
def function_saves_a_number(L, log):
    def forward(ctx, a):
        ctx.save_for_backward(a, 3)
        return a * 2

    simple_function(L, lambda ctx, g: g, forward=forward).apply(leaf(L, (1.0,)))


@scenario
def function_saves_none(L, log):
    def forward(ctx, a):
        ctx.save_for_backward(a, None)
        return a * 2

    def backward(ctx, grad):
        _, nothing = ctx.saved_tensors
        log.append(nothing)
        return grad * 2

    a = leaf(L, (1.0,))
    simple_function(L, backward, forward=forward).apply(a).sum().backward()
    return a.grad


@scenario
def function_backward_twice(L, log):
    y = cube_function(L).apply(leaf(L), 1.0).sum()
    y.backward()
    y.backward()


@scenario
def function_saved_input_modified(L, log):
    h = leaf(L) * 1
    y = cube_function(L).apply(h, 1.0).sum()
    h.add_(1)
    y.backward()


@scenario
def function_saved_output_modified(L, log):
    def forward(ctx, a):
        out = a.exp()
        ctx.save_for_backward(out)
        return out

    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out

    y = simple_function(L, backward, forward=forward).apply(leaf(L))
    y.mul_(2)
    y.sum().backward()


@scenario
def function_saved_output_has_the_node_as_grad_fn(L, log):
    def forward(ctx, a):
        out = a * 2
        ctx.save_for_backward(out)
        return out

    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        log.append(type(out.grad_fn).__name__)
        return grad * 2

    a = leaf(L, (1.0,))
    simple_function(L, backward, forward=forward).apply(a).sum().backward()
    return a.grad


@scenario
def function_integer_and_non_tensor_outputs(L, log):
    def forward(ctx, a):
        return 7, a * 2, L.tensor([1, 2]), None

    def backward(ctx, *grads):
        log.append(grads)
        return grads[1] * 2

    a = leaf(L)
    k, y, index, nothing = simple_function(L, backward, forward=forward).apply(a)
    y.sum().backward()
    return k, y.output_nr, index.requires_grad, nothing, a.grad


@scenario
def function_keyword_arguments(L, log):
    F = simple_function(L, lambda ctx, g: (g * 2, None), forward=lambda ctx, a, k=2.0: a * k)
    return F.apply(leaf(L), k=3.0)


@scenario
def function_ctx_api_on_the_node(L, log):
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return a * 2

    y = simple_function(L, lambda ctx, g: g, forward=forward).apply(leaf(L, (1.0,)))
    return y.grad_fn.saved_tensors, y.grad_fn.needs_input_grad


def test_instantiating_a_function_warns_like_torch():
    for lib in (torch, hg):
        cls = cube_function(lib)
        with pytest.warns(DeprecationWarning, match="should not be instantiated"):
            cls()


# ----------------------------------------------------------------------------------------------
# gradcheck and gradgradcheck
# ----------------------------------------------------------------------------------------------
def wrong_square(L):
    class WrongSquare(L.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a * a

        @staticmethod
        def backward(ctx, grad):
            (a,) = ctx.saved_tensors
            return grad * a  # should be 2 * a

    return WrongSquare


def wrong_second_derivative(L):
    class Cube(L.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a * a * a

        @staticmethod
        def backward(ctx, grad):
            (a,) = ctx.saved_tensors
            return grad * 3 * (a * a).detach()  # right values, but no second derivative

    return Cube


@pytest.mark.parametrize("lib", [torch, hg], ids=["torch", "hg"])
def test_gradcheck_and_gradgradcheck_pass_on_correct_functions(lib):
    x = lib.tensor([1.5, -2.0, 0.7], dtype=lib.float64, requires_grad=True)
    y = lib.tensor([0.5, 3.0, -1.2], dtype=lib.float64, requires_grad=True)

    def f(a, b):
        return a * b * a / (b * b + 1) + (a * b).sin()

    assert lib.autograd.gradcheck(f, (x, y))
    assert lib.autograd.gradgradcheck(f, (x, y))
    assert lib.autograd.gradcheck(lambda a: (a * 2, a * a), (x,))
    assert lib.autograd.gradcheck(lambda a: a * a, x)
    assert lib.autograd.gradcheck(lambda a, k: a * k, (x, 3.0))
    assert lib.autograd.gradcheck(cube_function(lib).apply, (x, 2.0))
    assert lib.autograd.gradgradcheck(cube_function(lib).apply, (x, 2.0))


def test_gradcheck_fails_on_a_wrong_function():
    x = hg.tensor([1.5, -2.0], dtype=hg.float64, requires_grad=True)
    with pytest.raises(GradcheckError) as info:
        hg.autograd.gradcheck(wrong_square(hg).apply, (x,))
    assert isinstance(info.value, RuntimeError)
    t = torch.tensor([1.5, -2.0], dtype=torch.float64, requires_grad=True)
    with pytest.raises(TorchGradcheckError) as torch_info:
        torch.autograd.gradcheck(wrong_square(torch).apply, (t,))
    assert str(info.value) == str(torch_info.value).replace("torch.", "hypergrad.")
    assert hg.autograd.gradcheck(wrong_square(hg).apply, (x,), raise_exception=False) is False


def test_gradgradcheck_fails_on_a_wrong_second_derivative():
    x = hg.tensor([1.5, -2.0], dtype=hg.float64, requires_grad=True)
    assert hg.autograd.gradcheck(wrong_second_derivative(hg).apply, (x,))
    with pytest.raises(GradcheckError, match="Jacobian mismatch for output 0 with respect to "
                                             "input 0"):
        hg.autograd.gradgradcheck(wrong_second_derivative(hg).apply, (x,))


@scenario
def gradcheck_without_inputs_requiring_grad(L, log):
    L.autograd.gradcheck(lambda a: a * 2, (L.tensor([1.5], dtype=L.float64),))


def test_gradcheck_warns_for_single_precision():
    x = hg.tensor([1.5, -2.0], requires_grad=True)
    with pytest.warns(UserWarning, match="is not a double precision floating point"):
        assert hg.autograd.gradcheck(lambda a: a * 2, (x,), eps=1e-3, atol=1e-2)


# ----------------------------------------------------------------------------------------------
# The documented messages (PYTORCH_REFERENCE.md)
# ----------------------------------------------------------------------------------------------
def test_documented_messages():
    x = leaf(hg)
    s = (x * x).sum()
    s.backward()
    with pytest.raises(RuntimeError) as info:
        s.backward()
    assert str(info.value) == BACKWARD_TWICE
    with pytest.raises(RuntimeError, match=r"^element 0 of tensors does not require grad and "
                                           r"does not have a grad_fn$"):
        hg.tensor([1.0]).sum().backward()
    with pytest.raises(RuntimeError, match=r"^grad can be implicitly created only for scalar "
                                           r"outputs$"):
        (x * 2).backward()
    with pytest.raises(RuntimeError, match=r"^The differentiated Tensor at index 1 appears to "
                                           r"not have been used in the graph. Set "
                                           r"allow_unused=True if this is the desired behavior.$"):
        hg.autograd.grad((x * 2).sum(), [x, leaf(hg)])
    with pytest.raises(RuntimeError) as info:
        (x * 2).backward(hg.ones(3))
    assert str(info.value) == ("Mismatch in shape: grad_output[0] has a shape of "
                               "hypergrad.Size([3]) and output[0] has a shape of "
                               "hypergrad.Size([2]).")
    with pytest.raises(RuntimeError, match=r"^a leaf Variable that requires grad is being used "
                                           r"in an in-place operation.$"):
        x.add_(1)
    with pytest.raises(RuntimeError, match=r"^Only Tensors of floating point and complex dtype "
                                           r"can require gradients$"):
        hg.tensor([1], requires_grad=True)
    with pytest.warns(UserWarning, match=r"The .grad attribute of a Tensor that is not a leaf "
                                         r"Tensor is being accessed"):
        assert (x * 2).grad is None


def test_exp_output_modified_in_place_message():
    x = leaf(hg, (1.0, 2.0, 3.0))
    y = x.exp()
    y.mul_(2)
    with pytest.raises(RuntimeError) as info:
        y.sum().backward()
    assert str(info.value) == (
        "one of the variables needed for gradient computation has been modified by an inplace "
        "operation: [hypergrad.FloatTensor [3]], which is output 0 of Exp, is at version 1; "
        "expected version 0 instead. Hint: enable anomaly detection to find the operation that "
        "failed to compute its gradient, with hypergrad.autograd.set_detect_anomaly(True, "
        "check_nan=False).")


def test_wrong_number_of_gradients_message():
    F = simple_function(hg, lambda ctx, g: g, forward=lambda ctx, a, b: a * b)
    with pytest.raises(RuntimeError, match=r"^function FBackward returned an incorrect number of "
                                           r"gradients \(expected 2, got 1\)$"):
        F.apply(leaf(hg), leaf(hg)).sum().backward()


def test_backward_with_create_graph_warns_about_the_reference_cycle():
    x = leaf(hg)
    with pytest.warns(UserWarning, match="Using backward\\(\\) with create_graph=True will "
                                         "create a reference cycle"):
        (x * x).sum().backward(create_graph=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hg.autograd.grad((x * x).sum(), x, create_graph=True)


# ----------------------------------------------------------------------------------------------
# Every scenario above, run in both libraries
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_matches_torch(name):
    same_in_both(SCENARIOS[name])


# ----------------------------------------------------------------------------------------------
# Random graphs: gradients, second-order gradients and execution order agree with torch
# ----------------------------------------------------------------------------------------------
BINARY = ["add", "sub", "mul"]
UNARY = ["neg", "double", "square", "sin", "exp_half"]


def apply_step(L, values, step):
    kind, op, i, j = step
    a, b = values[i % len(values)], values[j % len(values)]
    if kind == "binary":
        return {"add": lambda: a + b, "sub": lambda: a - b, "mul": lambda: a * b}[op]()
    return {"neg": lambda: -a, "double": lambda: a * 2, "square": lambda: a * a,
            "sin": lambda: a.sin(), "exp_half": lambda: (a * 0.5).exp()}[op]()


def build_and_differentiate(L, program, second_order):
    leaves = [L.tensor(v, dtype=L.float64, requires_grad=True)
              for v in ([0.3, -0.5, 0.8], [1.1, 0.2, -0.4], [0.7])]
    values = list(leaves)
    for step in program:
        values.append(apply_step(L, values, step))
    out = sum((v * (k + 1)).sum() for k, v in enumerate(values[-3:]))
    order = []
    record_order(out, order)
    if second_order:
        grads = L.autograd.grad(out, leaves, create_graph=True, allow_unused=True)
        total = sum((g * g).sum() for g in grads if g is not None and g.requires_grad)
        if not isinstance(total, (torch.Tensor, hg.Tensor)):
            return normalize(list(grads)), order
        second = L.autograd.grad(total, leaves, allow_unused=True)
        return normalize(list(grads)), normalize(list(second)), order
    out.backward()
    return normalize([x.grad for x in leaves]), order


steps = st.tuples(st.just("binary"), st.sampled_from(BINARY), st.integers(0, 20),
                  st.integers(0, 20)) | st.tuples(st.just("unary"), st.sampled_from(UNARY),
                                                  st.integers(0, 20), st.just(0))


@settings(max_examples=40, deadline=None)
@given(program=st.lists(steps, min_size=1, max_size=12), second_order=st.booleans())
def test_random_graphs_match_torch(program, second_order):
    assert build_and_differentiate(hg, program, second_order) == \
        build_and_differentiate(torch, program, second_order)


# ----------------------------------------------------------------------------------------------
# No recursion, and the graph is freed as soon as it is unreachable
# ----------------------------------------------------------------------------------------------
def test_backward_through_a_chain_of_a_million_ops():
    gc.disable()  # also keeps the build fast: a million new nodes would trigger many passes
    try:
        x = hg.tensor([1.0], requires_grad=True)
        y = x
        for _ in range(1_000_000):
            y = y + 0
        last = weakref.ref(y.grad_fn)
        y.backward()
        assert x.grad.tolist() == [1.0]
        del y
        assert last() is None
    finally:
        gc.enable()


def test_dropping_the_output_frees_the_graph_without_the_cycle_collector():
    gc.disable()
    try:
        x = leaf(hg)
        y = (x.exp() * 2).sum()  # exp saves its output: must not form a cycle
        refs = [weakref.ref(y.grad_fn), weakref.ref(y.grad_fn.next_functions[0][0]),
                weakref.ref(y.grad_fn.next_functions[0][0].next_functions[0][0])]
        del y
        assert [r() for r in refs] == [None, None, None]
        y = (x.exp() * x).sum()
        y.backward()
        ref = weakref.ref(y.grad_fn)
        del y
        assert ref() is None
        h = x * 3
        h.retain_grad()
        ref = weakref.ref(h.grad_fn)
        del h
        assert ref() is None
    finally:
        gc.enable()


def test_custom_function_graph_is_freed_without_the_cycle_collector():
    def forward(ctx, a):
        out = a.exp()
        ctx.save_for_backward(a, out)
        return out

    F = simple_function(hg, lambda ctx, g: g, forward=forward)
    gc.disable()
    try:
        y = F.apply(leaf(hg))
        ref = weakref.ref(y.grad_fn)
        del y
        assert ref() is None
    finally:
        gc.enable()


# ----------------------------------------------------------------------------------------------
# Complex tensors: the forward computes, a backward through it refuses (Note [Complex gradients])
# ----------------------------------------------------------------------------------------------
COMPLEX_PROGRAMS = {
    "product of complex leaves": lambda L, x, r: (x * x).abs().sum(),
    "exp of a complex leaf": lambda L, x, r: x.exp().abs().sum(),
    "real leaf made complex": lambda L, x, r: (r.to(L.complex64) * 2).abs().sum(),
    "real leaf times 1j": lambda L, x, r: (r * 1j).abs().sum(),
    "complex leaf, real-valued op": lambda L, x, r: x.abs().sum(),
}


@pytest.mark.parametrize("program", COMPLEX_PROGRAMS.values(), ids=COMPLEX_PROGRAMS.keys())
def test_backward_through_complex_operations_refuses(program):
    x = hg.tensor([1 + 2j, 3 - 1j], requires_grad=True)
    r = hg.tensor([1.0, 2.0], requires_grad=True)
    loss = program(hg, x, r)
    expected = program(torch, torch.tensor([1 + 2j, 3 - 1j]), torch.tensor([1.0, 2.0]))
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)   # the forward is right
    with pytest.raises(NotImplementedError, match="does not differentiate operations on "
                                                  "complex tensors yet"):
        loss.backward()
    assert x.grad is None and r.grad is None


def test_real_operations_next_to_complex_ones_still_differentiate():
    r = hg.tensor([1.0, 2.0], requires_grad=True)
    (r.to(hg.complex64) * 2).abs()   # a complex graph built and dropped
    (r * 3).sum().backward()
    assert r.grad.tolist() == [3.0, 3.0]


def test_a_complex_constant_does_not_stop_a_real_gradient():
    """Only complex tensors that get a gradient (or complex outputs) refuse (review finding)."""
    grads = []
    for L in (hg, torch):
        r = L.tensor([1.0, 2.0], requires_grad=True)
        r.masked_fill(L.tensor([True, False]), L.tensor(1 + 0j)).sum().backward()
        grads.append(r.grad.tolist())
    assert grads[0] == grads[1] == [0.0, 1.0]


def test_a_refusing_node_shows_no_extra_attribute_in_the_graph_view():
    from hypergrad.viz.describe import node_attributes

    x = hg.tensor([1 + 2j], requires_grad=True)
    names = [name for name, _ in node_attributes((x * x).grad_fn)]
    assert "apply" not in names and "_refusal" not in names


def test_accumulating_in_place_spares_gradients_others_hold():
    """The InputBuffer adds into a gradient in place only when it alone holds it (Note
    [InputBuffer]); a retained, hooked or passed-on gradient keeps its value, as in torch."""
    results = []
    for L in (hg, torch):
        x = L.tensor([1.0, 2.0], requires_grad=True)
        mid = x * 3
        mid.retain_grad()
        kept = []
        passthrough = mid + 0          # AddBackward0 hands the same gradient on
        passthrough.register_hook(lambda g: kept.append(g))
        total = passthrough
        for k in range(1, 5):          # mid's buffer receives five gradients
            total = total + mid * k
        total.sum().backward()
        results.append((x.grad.tolist(), mid.grad.tolist(), [g.tolist() for g in kept]))
    assert results[0] == results[1]


def test_accumulating_in_place_matches_torch_on_many_arrivals():
    x_values = np.linspace(-1, 1, 1000)
    grads = []
    for L in (hg, torch):
        x = L.tensor(x_values, requires_grad=True)
        y = x * 1.0
        for i in range(20):
            y = y + x * float(i)
        y.sum().backward()
        grads.append(np.asarray(x.grad.tolist()))
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12)
