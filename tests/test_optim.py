"""hypergrad.optim against torch.optim: same parameters, same gradients, same trajectory.

Each optimizer test runs torch and HyperGrad side by side for 50 steps. The gradient at each
step is computed, by the same numpy formula, from each library's *own* current parameters
(`grad = a_t * p + b_t`), so any difference in an update would feed back and grow; the
parameters and every state buffer must still agree to float64 precision at the end.
"""

from __future__ import annotations

import copy
import itertools
import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import hypergrad as hg
from hypergrad import optim

STEPS = 50
RTOL = 1e-10
TORCH_ONLY_GROUP_KEYS = {"foreach", "differentiable", "fused", "capturable"}


# ----------------------------------------------------------------------------------------------
# Running both libraries
# ----------------------------------------------------------------------------------------------
def make_problem(shapes, seed, dtype=np.float64, steps=STEPS):
    """Initial values and, per step, the coefficients of grad = a_t * p + b_t."""
    rng = np.random.default_rng(seed)
    initial = [rng.standard_normal(shape).astype(dtype) for shape in shapes]
    coefficients = [[(rng.uniform(0.5, 1.5, shape).astype(dtype),
                      rng.standard_normal(shape).astype(dtype)) for shape in shapes]
                    for _ in range(steps)]
    return initial, coefficients


def as_numpy(t):
    """A copy of the values of a torch or HyperGrad tensor."""
    return t.detach().numpy().copy()


def run(lib, opt_name, kwargs, initial, coefficients, groups=None, skip=()):
    """Run `lib.optim.<opt_name>` over the problem; return (params, optimizer).

    `groups`: a list of (param indices, extra options) to build param groups; `skip`: set of
    (step, param index) pairs whose gradient is left None at that step.
    """
    params = [lib.tensor(value.copy(), requires_grad=True) for value in initial]
    if groups is None:
        spec = params
    else:
        spec = [dict(params=[params[i] for i in indices], **options)
                for indices, options in groups]
    opt = getattr(lib.optim, opt_name)(spec, **kwargs)
    for t, coefs in enumerate(coefficients):
        opt.zero_grad()
        for i, (p, (a, b)) in enumerate(zip(params, coefs)):
            if (t, i) in skip:
                continue
            p.grad = lib.tensor(a * as_numpy(p) + b)
        opt.step()
    return params, opt


def assert_close(actual, expected, rtol=RTOL, atol=1e-12):
    np.testing.assert_allclose(as_numpy(actual), as_numpy(expected), rtol=rtol, atol=atol)


def assert_state_matches(hg_opt, torch_opt, rtol=RTOL, atol=1e-12):
    """Same state dict layout; same buffer values; same param groups (minus torch-only keys)."""
    ours, theirs = hg_opt.state_dict(), torch_opt.state_dict()
    assert ours["state"].keys() == theirs["state"].keys()
    for index, buffers in theirs["state"].items():
        assert ours["state"][index].keys() == buffers.keys()
        for name, value in buffers.items():
            mine = ours["state"][index][name]
            assert str(mine.dtype).split(".")[-1] == str(value.dtype).split(".")[-1], name
            assert tuple(mine.shape) == tuple(value.shape), name
            np.testing.assert_allclose(mine.numpy(), value.numpy(), rtol=rtol, atol=atol,
                                       err_msg=f"state[{index}][{name!r}]")
    assert len(ours["param_groups"]) == len(theirs["param_groups"])
    for mine, group in zip(ours["param_groups"], theirs["param_groups"]):
        expected = {k: v for k, v in group.items() if k not in TORCH_ONLY_GROUP_KEYS}
        assert mine == expected


def compare(opt_name, kwargs, shapes=((3, 4), (5,), ()), seed=0, dtype=np.float64,
            rtol=RTOL, atol=1e-12, groups=None, skip=()):
    initial, coefficients = make_problem(shapes, seed, dtype)
    ours, hg_opt = run(hg, opt_name, kwargs, initial, coefficients, groups, skip)
    theirs, torch_opt = run(torch, opt_name, kwargs, initial, coefficients, groups, skip)
    for mine, expected in zip(ours, theirs):
        assert mine.dtype.name == str(expected.dtype).split(".")[-1]
        assert_close(mine, expected, rtol, atol)
    assert_state_matches(hg_opt, torch_opt, rtol, atol)


def options(**choices):
    """Every combination of the given option values, as kwargs dicts."""
    names = list(choices)
    return [dict(zip(names, values)) for values in itertools.product(*choices.values())]


def case_id(kwargs):
    return ",".join(f"{k}={v}" for k, v in kwargs.items())


SGD_CASES = [kw for kw in options(lr=[0.05], momentum=[0, 0.9], dampening=[0, 0.3],
                                  nesterov=[False, True], weight_decay=[0, 0.01],
                                  maximize=[False, True])
             if not (kw["nesterov"] and (kw["momentum"] == 0 or kw["dampening"] != 0))]
ADAM_CASES = options(lr=[0.01], betas=[(0.9, 0.999), (0.5, 0.9)], amsgrad=[False, True],
                     weight_decay=[0, 0.1], maximize=[False, True])
ADAMW_CASES = options(lr=[0.01], amsgrad=[False, True], weight_decay=[0.01, 0.3],
                      maximize=[False, True])
RMSPROP_CASES = options(lr=[0.01], alpha=[0.99, 0.8], momentum=[0, 0.5], centered=[False, True],
                        weight_decay=[0, 0.1], maximize=[False, True])
ADAGRAD_CASES = options(lr=[0.1], lr_decay=[0, 0.05], initial_accumulator_value=[0, 0.5],
                        weight_decay=[0, 0.1], maximize=[False, True], eps=[1e-10, 1e-3])


@pytest.mark.parametrize("kwargs", SGD_CASES, ids=case_id)
def test_sgd_matches_torch(kwargs):
    compare("SGD", kwargs)


@pytest.mark.parametrize("kwargs", ADAM_CASES, ids=case_id)
def test_adam_matches_torch(kwargs):
    compare("Adam", kwargs)


@pytest.mark.parametrize("kwargs", ADAMW_CASES, ids=case_id)
def test_adamw_matches_torch(kwargs):
    compare("AdamW", kwargs)


@pytest.mark.parametrize("kwargs", RMSPROP_CASES, ids=case_id)
def test_rmsprop_matches_torch(kwargs):
    compare("RMSprop", kwargs)


@pytest.mark.parametrize("kwargs", ADAGRAD_CASES, ids=case_id)
def test_adagrad_matches_torch(kwargs):
    compare("Adagrad", kwargs)


def test_default_hyperparameters_match_torch():
    for name in ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad"):
        compare(name, {})


@pytest.mark.parametrize("name,kwargs", [
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
    ("AdamW", dict(lr=0.01, amsgrad=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True, weight_decay=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, initial_accumulator_value=0.5)),
])
def test_float32_parameters_match_torch(name, kwargs):
    compare(name, kwargs, dtype=np.float32, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name,kwargs", [
    ("SGD", dict(lr=0.05, momentum=0.9, weight_decay=0.01)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
    ("AdamW", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True)),
    ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.5)),
])
def test_complex_parameters_match_torch(name, kwargs):
    """Complex parameters: Adam, RMSprop and Adagrad treat real and imaginary parts as two
    real parameters (torch.view_as_real), SGD works on the complex numbers directly."""
    rng = np.random.default_rng(3)
    shapes = [(3, 2), ()]

    def complex_normal(shape):
        return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)

    initial = [complex_normal(s) for s in shapes]
    coefficients = [[(rng.uniform(0.5, 1.5, s), complex_normal(s)) for s in shapes]
                    for _ in range(STEPS)]
    ours, hg_opt = run(hg, name, kwargs, initial, coefficients)
    theirs, torch_opt = run(torch, name, kwargs, initial, coefficients)
    for mine, expected in zip(ours, theirs):
        assert_close(mine, expected)
    assert_state_matches(hg_opt, torch_opt)


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "Adagrad"])
def test_param_groups_and_missing_gradients_match_torch(name):
    """Two groups with their own options; some parameters get no gradient on some steps
    (they must be skipped, and their state not created until their first gradient)."""
    extra = {"SGD": dict(momentum=0.5), "Adam": dict(betas=(0.8, 0.99)),
             "RMSprop": dict(centered=True), "Adagrad": dict(lr_decay=0.1)}[name]
    groups = [([0, 2], dict(lr=0.03)), ([1], dict(lr=0.01, weight_decay=0.1, **extra))]
    skip = {(t, 1) for t in range(0, 10)} | {(t, 0) for t in range(20, STEPS, 3)}
    compare(name, dict(lr=0.02), groups=groups, skip=skip)


# ----------------------------------------------------------------------------------------------
# Hypothesis: random hyperparameters and problems
# ----------------------------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), lr=st.floats(1e-4, 0.5), beta1=st.floats(0.0, 0.99),
       beta2=st.floats(0.5, 0.9999), eps=st.sampled_from([1e-8, 1e-6, 1e-3]),
       weight_decay=st.sampled_from([0, 1e-3, 0.5]), amsgrad=st.booleans(),
       decoupled=st.booleans())
def test_adam_random_hyperparameters(seed, lr, beta1, beta2, eps, weight_decay, amsgrad,
                                     decoupled):
    compare("AdamW" if decoupled else "Adam",
            dict(lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay,
                 amsgrad=amsgrad), shapes=((4,), (2, 3)), seed=seed)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), lr=st.floats(1e-4, 0.2), momentum=st.floats(0.0, 0.99),
       dampening=st.floats(0.0, 0.9), weight_decay=st.sampled_from([0, 1e-3, 0.5]))
def test_sgd_random_hyperparameters(seed, lr, momentum, dampening, weight_decay):
    compare("SGD", dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay), shapes=((4,), (2, 3)), seed=seed)


# ----------------------------------------------------------------------------------------------
# How a step changes a parameter
# ----------------------------------------------------------------------------------------------
def test_step_updates_in_place_and_bumps_the_version():
    p = hg.tensor([1.0, 2.0], requires_grad=True)
    data = p._data
    opt = optim.SGD([p], lr=0.1)
    p.grad = hg.tensor([1.0, 1.0])
    opt.step()
    assert p._data is data
    assert p._version == 1
    assert p.is_leaf and p.requires_grad and p.grad_fn is None
    tp = torch.tensor([1.0, 2.0], requires_grad=True)
    tp.grad = torch.tensor([1.0, 1.0])
    torch.optim.SGD([tp], lr=0.1).step()
    assert tp._version == p._version


def test_backward_through_a_graph_saved_before_the_step_fails_like_torch():
    for lib in (torch, hg):
        p = lib.tensor([1.0, 2.0], requires_grad=True)
        loss = (p * p).sum()
        opt = lib.optim.SGD([p], lr=0.1)
        p.grad = lib.tensor([1.0, 1.0])
        opt.step()
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            loss.backward()


def test_step_runs_without_grad_and_the_closure_with_grad():
    p = hg.tensor([1.0, 2.0], requires_grad=True)
    seen = []

    def closure():
        seen.append(hg.is_grad_enabled())
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    class Recorder(optim.SGD):
        def step(self, closure=None):
            return super().step(closure)

    opt = Recorder([p], lr=0.1)
    loss = opt.step(closure)
    assert seen == [True]
    assert loss.item() == 5.0
    np.testing.assert_allclose(p.detach().numpy(), [0.8, 1.6])
    assert hg.is_grad_enabled()


def test_zero_grad():
    p = hg.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    (p * p).sum().backward()
    grad = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is grad
    np.testing.assert_array_equal(grad.numpy(), [0.0, 0.0])
    opt.zero_grad()
    assert p.grad is None


def test_zero_grad_detaches_a_grad_with_history():
    p = hg.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    p.grad = (p * p).sum() * hg.ones(2)  # a gradient with a history
    assert p.grad.grad_fn is not None
    opt.zero_grad(set_to_none=False)
    assert p.grad.grad_fn is None and not p.grad.requires_grad


def test_a_deep_copy_steps_its_own_parameters_even_after_a_scheduler_wrapped_step():
    p = hg.tensor([1.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.5)
    optim.lr_scheduler.StepLR(opt, step_size=1)  # wraps opt.step to track calls
    clone = copy.deepcopy(opt)
    (q,) = clone.param_groups[0]["params"]
    q.grad = hg.tensor([1.0])
    clone.step()
    assert q.tolist() == [0.5] and p.tolist() == [1.0]


def test_repr_lists_each_group_like_torch():
    p = hg.tensor([1.0], requires_grad=True)
    text = repr(optim.SGD([{"params": [p]}], lr=0.1, momentum=0.9))
    assert text.splitlines()[:3] == ["SGD (", "Parameter Group 0", "    dampening: 0"]
    assert "    momentum: 0.9" in text and text.endswith(")")


# ----------------------------------------------------------------------------------------------
# state_dict / load_state_dict
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,kwargs", [
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01)),
])
def test_resuming_from_a_state_dict_continues_the_same_trajectory(name, kwargs):
    initial, coefficients = make_problem([(3,), (2, 2)], seed=1, steps=20)
    straight, _ = run(hg, name, kwargs, initial, coefficients)

    first, opt = run(hg, name, kwargs, initial, coefficients[:10])
    saved = copy.deepcopy(opt.state_dict())
    params = [hg.tensor(p.detach().numpy().copy(), requires_grad=True) for p in first]
    resumed = getattr(optim, name)(params, lr=123.0)  # the loaded groups replace this lr
    resumed.load_state_dict(saved)
    assert resumed.param_groups[0]["lr"] == kwargs["lr"]
    assert resumed.param_groups[0]["params"][0] is params[0]
    for coefs in coefficients[10:]:
        resumed.zero_grad()
        for p, (a, b) in zip(params, coefs):
            p.grad = hg.tensor(a * p.detach().numpy() + b)
        resumed.step()
    for mine, expected in zip(params, straight):
        np.testing.assert_array_equal(mine.detach().numpy(), expected.detach().numpy())


def test_load_state_dict_copies_buffers_and_casts_them_to_the_parameter_dtype():
    p = hg.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.Adam([p])
    p.grad = hg.tensor([1.0, 1.0])
    opt.step()
    saved = opt.state_dict()
    q = hg.tensor([1.0, 2.0], dtype=hg.float64, requires_grad=True)
    other = optim.Adam([q])
    other.load_state_dict(saved)
    assert other.state[q]["exp_avg"].dtype == hg.float64
    assert other.state[q]["step"].dtype == hg.float32
    assert other.state[q]["exp_avg"] is not saved["state"][0]["exp_avg"]
    assert other.state[q]["exp_avg"]._data is not saved["state"][0]["exp_avg"]._data


def test_a_torch_state_dict_loads_into_a_hypergrad_optimizer():
    """Same layout: a torch optimizer's state (converted to HyperGrad tensors) resumes here."""
    initial, coefficients = make_problem([(3,)], seed=2, steps=20)
    theirs, torch_opt = run(torch, "Adam", dict(lr=0.01), initial, coefficients)
    _, torch_half = run(torch, "Adam", dict(lr=0.01), initial, coefficients[:10])
    state = torch_half.state_dict()
    converted = {"state": {i: {k: hg.tensor(v.numpy()) for k, v in s.items()}
                           for i, s in state["state"].items()},
                 "param_groups": state["param_groups"]}
    p = hg.tensor(torch_half.param_groups[0]["params"][0].detach().numpy(), requires_grad=True)
    opt = optim.Adam([p])
    opt.load_state_dict(converted)
    for [(a, b)] in coefficients[10:]:
        opt.zero_grad()
        p.grad = hg.tensor(a * p.detach().numpy() + b)
        opt.step()
    assert_close(p, theirs[0])


def test_state_dict_layout_is_torchs():
    p, q = (hg.tensor([1.0], requires_grad=True) for _ in range(2))
    opt = optim.SGD([{"params": [p]}, {"params": [q], "lr": 0.5}], lr=0.1, momentum=0.9)
    p.grad = hg.tensor([1.0])
    opt.step()
    sd = opt.state_dict()
    assert list(sd) == ["state", "param_groups"]
    assert list(sd["state"]) == [0]
    assert list(sd["state"][0]) == ["momentum_buffer"]
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1]]
    assert sd["param_groups"][1]["lr"] == 0.5


@pytest.mark.parametrize("change,message", [
    (lambda groups: groups[:1], "loaded state dict has a different number of parameter groups"),
    (lambda groups: [dict(groups[0], params=[0]), groups[1]],
     "loaded state dict contains a parameter group that doesn't match the size of "
     "optimizer's group"),
])
def test_load_state_dict_errors_match_torch(change, message):
    for lib in (hg, torch):
        a, b, c = (lib.tensor([1.0], requires_grad=True) for _ in range(3))
        opt = lib.optim.SGD([{"params": [a, b]}, {"params": [c]}], lr=0.1)
        sd = opt.state_dict()
        sd["param_groups"] = change(sd["param_groups"])
        with pytest.raises(ValueError, match=message):
            opt.load_state_dict(sd)


# ----------------------------------------------------------------------------------------------
# Constructing optimizers and groups: the errors a user can make, with torch's messages
# ----------------------------------------------------------------------------------------------
def same_error(make):
    """`make(lib)` raises the same exception type and message in both libraries."""
    errors = []
    for lib in (torch, hg):
        with pytest.raises(Exception) as info:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                make(lib)
        errors.append(info.value)
    theirs, ours = errors
    assert type(ours) is type(theirs)
    assert str(ours).replace("hypergrad", "torch") == str(theirs)


def leaf(lib, value=1.0):
    return lib.tensor([value], requires_grad=True)


@pytest.mark.parametrize("make", [
    lambda lib: lib.optim.SGD(leaf(lib), lr=0.1),
    lambda lib: lib.optim.SGD([], lr=0.1),
    lambda lib: lib.optim.SGD([leaf(lib), 3], lr=0.1),
    lambda lib: lib.optim.SGD([{"params": {leaf(lib)}}], lr=0.1),
    lambda lib: lib.optim.SGD([leaf(lib) * 2], lr=0.1),
    lambda lib: lib.optim.SGD([leaf(lib)], lr=-1),
    lambda lib: lib.optim.SGD([leaf(lib)], lr=0.1, momentum=-0.5),
    lambda lib: lib.optim.SGD([leaf(lib)], lr=0.1, weight_decay=-1),
    lambda lib: lib.optim.SGD([leaf(lib)], lr=0.1, nesterov=True),
    lambda lib: lib.optim.SGD([leaf(lib)], lr=0.1, momentum=0.9, dampening=0.1, nesterov=True),
    lambda lib: lib.optim.Adam([leaf(lib)], lr=-0.1),
    lambda lib: lib.optim.Adam([leaf(lib)], eps=-1.0),
    lambda lib: lib.optim.Adam([leaf(lib)], betas=(1.0, 0.999)),
    lambda lib: lib.optim.Adam([leaf(lib)], betas=(0.9, -0.1)),
    lambda lib: lib.optim.Adam([leaf(lib)], betas=(0, 0.999)),
    lambda lib: lib.optim.Adam([leaf(lib)], weight_decay=-1),
    lambda lib: lib.optim.AdamW([leaf(lib)], lr=-1),
    lambda lib: lib.optim.RMSprop([leaf(lib)], alpha=-1),
    lambda lib: lib.optim.RMSprop([leaf(lib)], momentum=-1),
    lambda lib: lib.optim.Adagrad([leaf(lib)], lr_decay=-1),
    lambda lib: lib.optim.Adagrad([leaf(lib)], initial_accumulator_value=-1),
    lambda lib: lib.optim.SGD([{"params": [leaf(lib)]}, {"params": leaf(lib)}, 5], lr=0.1),
])
def test_constructor_errors_match_torch(make):
    same_error(make)


def test_add_param_group_matches_torch():
    for lib in (torch, hg):
        a, b = leaf(lib), leaf(lib)
        opt = lib.optim.SGD([a], lr=0.1, momentum=0.9)
        opt.add_param_group({"params": b, "lr": 0.01})
        assert opt.param_groups[1]["params"] == [b]
        assert opt.param_groups[1]["lr"] == 0.01
        assert opt.param_groups[1]["momentum"] == 0.9
    same_error(lambda lib: _add_twice(lib))
    same_error(lambda lib: lib.optim.SGD([leaf(lib)], lr=0.1).add_param_group([leaf(lib)]))


def _add_twice(lib):
    a = leaf(lib)
    lib.optim.SGD([a], lr=0.1).add_param_group({"params": [a]})


def test_duplicate_parameters_warn_like_torch():
    p = leaf(hg)
    with pytest.warns(UserWarning, match="duplicate parameters"):
        optim.SGD([p, p], lr=0.1)


def test_required_hyperparameter():
    class Plain(optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, {"lr": optim.optimizer.required})

    with pytest.raises(ValueError, match="didn't specify a value of required optimization "
                                         "parameter lr"):
        Plain([leaf(hg)])
    assert Plain([{"params": [leaf(hg)], "lr": 1.0}]).param_groups[0]["lr"] == 1.0


def test_named_parameters_are_accepted():
    p, q = leaf(hg), leaf(hg)
    opt = optim.SGD([("w", p), ("b", q)], lr=0.1)
    assert opt.param_groups[0]["param_names"] == ["w", "b"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["w", "b"]


# ----------------------------------------------------------------------------------------------
# Learning-rate schedulers
# ----------------------------------------------------------------------------------------------
def scheduler_trace(lib, make_opt, make_sched, steps, metrics=None):
    """The lr (and momentum/betas) of every group after construction and after each step."""
    params = [leaf(lib), leaf(lib, 2.0)]
    opt = make_opt(lib, params)
    sched = make_sched(lib.optim.lr_scheduler, opt)
    trace = []

    def record():
        trace.append((sched.get_last_lr(),
                      [(g["lr"], g.get("momentum"), g.get("betas")) for g in opt.param_groups]))

    record()
    for t in range(steps):
        opt.step()
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[t])
        record()
    return trace


def two_groups_sgd(lib, params):
    return lib.optim.SGD([{"params": params[:1]}, {"params": params[1:], "lr": 0.3}], lr=0.1,
                         momentum=0.9)


def two_groups_adam(lib, params):
    return lib.optim.Adam([{"params": params[:1]}, {"params": params[1:], "lr": 0.3}], lr=0.1)


SCHEDULERS = {
    "StepLR": lambda s, o: s.StepLR(o, step_size=3, gamma=0.5),
    "MultiStepLR": lambda s, o: s.MultiStepLR(o, milestones=[2, 5, 5, 9], gamma=0.3),
    "ExponentialLR": lambda s, o: s.ExponentialLR(o, gamma=0.9),
    "CosineAnnealingLR": lambda s, o: s.CosineAnnealingLR(o, T_max=10, eta_min=0.001),
    "CosineAnnealingLR-no-min": lambda s, o: s.CosineAnnealingLR(o, T_max=7),
    "LambdaLR": lambda s, o: s.LambdaLR(o, lambda epoch: 1 / (epoch + 1)),
    "LambdaLR-per-group": lambda s, o: s.LambdaLR(o, [lambda e: 0.95 ** e, lambda e: e + 1]),
    "OneCycleLR": lambda s, o: s.OneCycleLR(o, max_lr=0.5, total_steps=40),
    "OneCycleLR-three-phase-linear": lambda s, o: s.OneCycleLR(
        o, max_lr=[0.5, 1.0], epochs=4, steps_per_epoch=10, three_phase=True,
        anneal_strategy="linear", pct_start=0.25),
    "OneCycleLR-no-momentum": lambda s, o: s.OneCycleLR(o, max_lr=0.5, total_steps=40,
                                                        cycle_momentum=False, div_factor=10.0),
}


@pytest.mark.parametrize("name", list(SCHEDULERS))
@pytest.mark.parametrize("make_opt", [two_groups_sgd, two_groups_adam], ids=["sgd", "adam"])
def test_scheduler_lr_sequence_equals_torch(name, make_opt):
    steps = 40 if name.startswith("OneCycle") else 35
    ours = scheduler_trace(hg, make_opt, SCHEDULERS[name], steps)
    theirs = scheduler_trace(torch, make_opt, SCHEDULERS[name], steps)
    assert ours == theirs


@pytest.mark.parametrize("kwargs", [
    dict(),
    dict(mode="max", factor=0.5, patience=2, threshold=0.1, cooldown=2),
    dict(mode="min", threshold_mode="abs", threshold=0.05, patience=0, min_lr=[0.01, 0.05]),
    dict(mode="max", threshold_mode="abs", patience=1, eps=0.05, min_lr=0.02),
])
def test_reduce_lr_on_plateau_equals_torch(kwargs):
    rng = np.random.default_rng(0)
    metrics = list(np.cumsum(rng.normal(0, 1, 60)) * 0.1)
    metrics[10:30] = [metrics[10]] * 20  # a long plateau
    make = lambda s, o: s.ReduceLROnPlateau(o, **kwargs)  # noqa: E731
    ours = scheduler_trace(hg, two_groups_sgd, make, 60, metrics)
    theirs = scheduler_trace(torch, two_groups_sgd, make, 60, metrics)
    assert ours == theirs


def test_reduce_lr_on_plateau_accepts_a_tensor_metric():
    opt = optim.SGD([leaf(hg)], lr=1.0)
    sched = optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0)
    for loss in (1.0, 2.0, 3.0):
        sched.step(hg.tensor(loss))
    assert sched.get_last_lr() == [pytest.approx(0.01)]


def test_two_schedulers_chain_like_torch():
    def make(lib):
        params = [leaf(lib)]
        opt = lib.optim.SGD(params, lr=1.0)
        first = lib.optim.lr_scheduler.ExponentialLR(opt, gamma=0.9)
        second = lib.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.1)
        lrs = []
        for _ in range(10):
            opt.step()
            first.step()
            second.step()
            lrs.append(opt.param_groups[0]["lr"])
        return lrs
    assert make(hg) == make(torch)


@pytest.mark.parametrize("name", ["StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR",
                                  "LambdaLR", "OneCycleLR"])
def test_scheduler_state_dict_resumes_like_torch(name):
    """Save after 12 steps, build a fresh optimizer and scheduler, load both, continue."""
    def resumed(lib):
        params = [leaf(lib), leaf(lib, 2.0)]
        opt = two_groups_sgd(lib, params)
        sched = SCHEDULERS[name](lib.optim.lr_scheduler, opt)
        for _ in range(12):
            opt.step()
            sched.step()
        opt_state, sched_state = copy.deepcopy(opt.state_dict()), sched.state_dict()
        opt2 = two_groups_sgd(lib, [leaf(lib), leaf(lib, 2.0)])
        sched2 = SCHEDULERS[name](lib.optim.lr_scheduler, opt2)
        opt2.load_state_dict(opt_state)
        sched2.load_state_dict(sched_state)
        lrs = [sched2.get_last_lr()]
        for _ in range(12):
            opt2.step()
            sched2.step()
            lrs.append(sched2.get_last_lr())
        return lrs
    assert resumed(hg) == resumed(torch)


@pytest.mark.parametrize("name", ["StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR"])
def test_step_with_an_epoch_uses_the_closed_form_like_torch(name):
    def lrs(lib):
        opt = two_groups_sgd(lib, [leaf(lib), leaf(lib, 2.0)])
        sched = SCHEDULERS[name](lib.optim.lr_scheduler, opt)
        out = []
        for epoch in (3, 7, 5, 12):
            opt.step()
            with pytest.warns(UserWarning, match="The epoch parameter"):
                sched.step(epoch)
            out.append(sched.get_last_lr())
        return out
    assert lrs(hg) == lrs(torch)


def test_scheduler_stepped_before_the_optimizer_warns_like_torch():
    for lib in (torch, hg):
        opt = lib.optim.SGD([leaf(lib)], lr=0.1)
        sched = lib.optim.lr_scheduler.StepLR(opt, step_size=1)
        with pytest.warns(UserWarning, match="Detected call of `lr_scheduler.step\\(\\)` before "
                                             "`optimizer.step\\(\\)`"):
            sched.step()


def test_scheduler_after_the_optimizer_does_not_warn():
    opt = optim.SGD([leaf(hg)], lr=0.1)
    sched = optim.lr_scheduler.StepLR(opt, step_size=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.step()
        sched.step()


def test_calling_get_lr_directly_warns():
    sched = optim.lr_scheduler.StepLR(optim.SGD([leaf(hg)], lr=0.1), step_size=1)
    with pytest.warns(UserWarning, match="please use `get_last_lr\\(\\)`"):
        sched.get_lr()


@pytest.mark.parametrize("make", [
    lambda lib: lib.optim.lr_scheduler.StepLR("not an optimizer", step_size=1),
    lambda lib: lib.optim.lr_scheduler.StepLR(lib.optim.SGD([leaf(lib)], lr=0.1), step_size=1,
                                              last_epoch=4),
    lambda lib: lib.optim.lr_scheduler.LambdaLR(lib.optim.SGD([leaf(lib)], lr=0.1),
                                                [lambda e: 1, lambda e: 2]),
    lambda lib: lib.optim.lr_scheduler.OneCycleLR(lib.optim.SGD([leaf(lib)], lr=0.1), 0.1),
    lambda lib: lib.optim.lr_scheduler.OneCycleLR(lib.optim.SGD([leaf(lib)], lr=0.1), 0.1,
                                                  total_steps=0),
    lambda lib: lib.optim.lr_scheduler.OneCycleLR(lib.optim.SGD([leaf(lib)], lr=0.1), 0.1,
                                                  total_steps=10, pct_start=1.5),
    lambda lib: lib.optim.lr_scheduler.OneCycleLR(lib.optim.SGD([leaf(lib)], lr=0.1), 0.1,
                                                  total_steps=10, anneal_strategy="exp"),
    lambda lib: lib.optim.lr_scheduler.OneCycleLR(lib.optim.SGD([leaf(lib)], lr=0.1),
                                                  [0.1, 0.2], total_steps=10),
    lambda lib: lib.optim.lr_scheduler.ReduceLROnPlateau(lib.optim.SGD([leaf(lib)], lr=0.1),
                                                         factor=1.0),
    lambda lib: lib.optim.lr_scheduler.ReduceLROnPlateau(lib.optim.SGD([leaf(lib)], lr=0.1),
                                                         mode="middle"),
    lambda lib: lib.optim.lr_scheduler.ReduceLROnPlateau(lib.optim.SGD([leaf(lib)], lr=0.1),
                                                         min_lr=[0.1, 0.2]),
])
def test_scheduler_errors_match_torch(make):
    same_error(make)


def test_one_cycle_refuses_to_step_past_its_end_like_torch():
    def overrun(lib):
        opt = lib.optim.SGD([leaf(lib)], lr=0.1, momentum=0.9)
        sched = lib.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=3)
        for _ in range(4):
            opt.step()
            sched.step()
    same_error(overrun)


def test_one_cycle_needs_momentum_or_betas():
    class NoMomentum(optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, {"lr": 0.1})

    with pytest.raises(ValueError, match="optimizer must support momentum or beta1"):
        optim.lr_scheduler.OneCycleLR(NoMomentum([leaf(hg)]), 0.1, total_steps=10)


def test_cosine_annealing_reaches_eta_min_at_t_max():
    opt = optim.SGD([leaf(hg)], lr=0.1)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=8, eta_min=0.01)
    for _ in range(8):
        opt.step()
        sched.step()
    assert math.isclose(sched.get_last_lr()[0], 0.01)


# ----------------------------------------------------------------------------------------------
# A whole training script, written once per library
# ----------------------------------------------------------------------------------------------
def train_mlp(lib, initial_state, x, y, make_opt, make_sched):
    """A learner's loop: model, DataLoader, loss, optimizer, scheduler, 3 epochs."""
    nn = lib.nn
    model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1)).double()
    model.load_state_dict({k: lib.tensor(v) for k, v in initial_state.items()})
    loader = lib.utils.data.DataLoader(
        lib.utils.data.TensorDataset(lib.tensor(x), lib.tensor(y)), batch_size=8)
    opt = make_opt(lib.optim, model.parameters())
    sched = make_sched(lib.optim.lr_scheduler, opt)
    loss_fn = nn.MSELoss()
    for _ in range(3):
        for xb, yb in loader:
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            sched.step()
    return model, opt


@pytest.mark.parametrize("make_opt,make_sched", [
    (lambda o, p: o.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
     lambda s, o: s.StepLR(o, step_size=5, gamma=0.5)),
    (lambda o, p: o.Adam(p, lr=0.01, amsgrad=True),
     lambda s, o: s.OneCycleLR(o, max_lr=0.05, total_steps=12)),
    (lambda o, p: o.AdamW(p, lr=0.01), lambda s, o: s.CosineAnnealingLR(o, T_max=6)),
    (lambda o, p: o.RMSprop(p, lr=0.01, centered=True, momentum=0.5),
     lambda s, o: s.ExponentialLR(o, gamma=0.9)),
    (lambda o, p: o.Adagrad(p, lr=0.1, lr_decay=0.01),
     lambda s, o: s.LambdaLR(o, lambda epoch: 1 / (1 + epoch))),
], ids=["SGD+StepLR", "Adam+OneCycleLR", "AdamW+Cosine", "RMSprop+Exponential",
        "Adagrad+LambdaLR"])
def test_training_a_model_matches_torch(make_opt, make_sched):
    reference = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(),
                                    torch.nn.Linear(8, 1)).double()
    initial = {k: v.detach().numpy().copy() for k, v in reference.state_dict().items()}
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 3))
    y = np.sin(x.sum(axis=1, keepdims=True))
    ours, hg_opt = train_mlp(hg, initial, x, y, make_opt, make_sched)
    theirs, torch_opt = train_mlp(torch, initial, x, y, make_opt, make_sched)
    for (name, mine), (_, expected) in zip(ours.state_dict().items(),
                                           theirs.state_dict().items()):
        np.testing.assert_allclose(mine.numpy(), expected.numpy(), rtol=1e-9, atol=1e-12,
                                   err_msg=name)
    assert_state_matches(hg_opt, torch_opt, rtol=1e-9, atol=1e-12)
