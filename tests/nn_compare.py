"""Helpers for the hypergrad.nn tests: run the same computation in HyperGrad and torch.

`compare(hg_fn, torch_fn, *arrays)` turns each numpy array into a HyperGrad and a torch tensor
(floating ones require grad), calls both functions, and checks that the outputs, the
gradients of every floating input (through a random cotangent) and, with `gradgrad=True`, the
second-order gradients agree. `copy_module` copies a torch module's parameters and buffers
into a HyperGrad module of the same architecture.
"""

from __future__ import annotations

import numpy as np
import torch

import hypergrad as hg


def to_numpy(value):
    if isinstance(value, torch.Tensor):
        if value._is_zerotensor():
            return np.zeros(tuple(value.shape))
        return value.detach().numpy()
    return value.detach().numpy() if value.requires_grad else value.numpy()


def assert_close(ours, theirs, atol=1e-10, rtol=1e-7, what="value"):
    if isinstance(theirs, (tuple, list)):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            assert_close(a, b, atol, rtol, what)
        return
    if theirs is None:
        assert ours is None or not np.any(to_numpy(ours)), f"{what}: torch has no gradient"
        return
    if ours is None:  # HyperGrad's None means zero, as torch's zero tensor does
        assert not np.any(to_numpy(theirs)), f"{what}: HyperGrad has no gradient, torch has one"
        return
    a, b = to_numpy(ours), to_numpy(theirs)
    assert a.shape == b.shape, f"{what}: shape {a.shape} != torch's {b.shape}"
    np.testing.assert_allclose(a, b, atol=atol, rtol=rtol, err_msg=what)


def _pair(array, differentiable=True):
    if isinstance(array, np.ndarray) and array.dtype.kind == "f" and differentiable:
        return (hg.tensor(array, requires_grad=True), torch.tensor(array, requires_grad=True))
    if isinstance(array, np.ndarray):
        return hg.tensor(array), torch.tensor(array)
    return array, array


def compare(hg_fn, torch_fn, *arrays, gradgrad=False, atol=1e-10, rtol=1e-7, seed=0,
            constant=()):
    """Outputs and gradients (and second-order gradients) of both functions agree.

    Arrays at the positions in `constant` do not require grad.
    """
    pairs = [_pair(a, i not in constant) for i, a in enumerate(arrays)]
    ours_in = [p[0] for p in pairs]
    theirs_in = [p[1] for p in pairs]
    ours = hg_fn(*ours_in)
    theirs = torch_fn(*theirs_in)
    assert_close(ours, theirs, atol, rtol, "forward")
    if isinstance(theirs, (tuple, list)):
        ours, theirs = ours[0], theirs[0]
    ours_diff = [x for x in ours_in if isinstance(x, hg.Tensor) and x.requires_grad]
    theirs_diff = [x for x in theirs_in if isinstance(x, torch.Tensor) and x.requires_grad]
    if not theirs_diff or not theirs.requires_grad:
        return ours, theirs
    rng = np.random.default_rng(seed)
    cotangent = rng.standard_normal(tuple(theirs.shape))
    grads_ours = hg.autograd.grad(ours, ours_diff, hg.tensor(cotangent), create_graph=gradgrad,
                                  allow_unused=True)
    grads_theirs = torch.autograd.grad(theirs, theirs_diff, torch.tensor(cotangent),
                                       create_graph=gradgrad, allow_unused=True)
    grads_ours = [g if g is not None or t is None else None
                  for g, t in zip(grads_ours, grads_theirs)]
    assert_close(grads_ours, grads_theirs, atol, rtol, "gradient")
    if gradgrad:
        _compare_second_order(grads_ours, grads_theirs, ours_diff, theirs_diff, rng, atol,
                              rtol)
    return ours, theirs


def _compare_second_order(grads_ours, grads_theirs, ours_diff, theirs_diff, rng, atol, rtol):
    total_ours, total_theirs = 0, 0
    for g_o, g_t in zip(grads_ours, grads_theirs):
        if g_t is None or not g_t.requires_grad:
            continue
        v = rng.standard_normal(tuple(g_t.shape))
        total_ours = total_ours + (g_o * hg.tensor(v)).sum()
        total_theirs = total_theirs + (g_t * torch.tensor(v)).sum()
    if isinstance(total_theirs, int):
        return
    second_ours = hg.autograd.grad(total_ours, ours_diff, allow_unused=True) \
        if total_ours.requires_grad else [None] * len(ours_diff)
    second_theirs = torch.autograd.grad(total_theirs, theirs_diff, allow_unused=True)
    second_ours = [g if g is not None or t is None else None
                   for g, t in zip(second_ours, second_theirs)]
    assert_close(second_ours, second_theirs, atol, rtol, "second-order gradient")


def copy_module(torch_module, hg_module):
    """Copy torch's parameters and buffers into the HyperGrad module, matching by name."""
    theirs = torch_module.state_dict()
    ours = hg_module.state_dict()
    assert list(ours) == list(theirs), "state_dict keys differ"
    hg_module.load_state_dict({k: hg.tensor(v.numpy()) for k, v in theirs.items()})


def compare_module(hg_module, torch_module, *arrays, atol=1e-10, rtol=1e-7, seed=0):
    """A module's output, input gradients and parameter gradients agree with torch's."""
    pairs = [_pair(a) for a in arrays]
    ours = hg_module(*[p[0] for p in pairs])
    theirs = torch_module(*[p[1] for p in pairs])
    if isinstance(theirs, tuple):
        assert_close(ours[0], theirs[0], atol, rtol, "forward")
        ours, theirs = ours[0], theirs[0]
    assert_close(ours, theirs, atol, rtol, "forward")
    cotangent = np.random.default_rng(seed).standard_normal(tuple(theirs.shape))
    (ours * hg.tensor(cotangent)).sum().backward()
    (theirs * torch.tensor(cotangent)).sum().backward()
    for (name, p_o), (_, p_t) in zip(hg_module.named_parameters(),
                                     torch_module.named_parameters()):
        assert_close(p_o.grad, p_t.grad, atol, rtol, f"gradient of {name}")
    for p_o, p_t in zip(pairs, pairs):
        if isinstance(p_o[0], hg.Tensor) and p_o[0].requires_grad:
            assert_close(p_o[0].grad, p_t[1].grad, atol, rtol, "input gradient")
    return ours, theirs
