"""The pointwise op plugin (ops/pointwise.py) against real torch.

Each op is written once in each library on the same float64 values and must agree: values,
dtype, grad_fn name, the gradient for a random cotangent and the second-order gradient (the
helpers are those of test_ops_ordering). Then what torch users meet: the limits and poles of
the special functions (sinc at 0, erfinv at +-1, lgamma and digamma at the poles), the
conventions at 0 (xlogy, copysign, logit), the number overloads and their nodes, integer
inputs, the fused multiply-adds of torch's kernels at the edges of the float range, and the
errors.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from test_ops_ordering import assert_same, compare

import hypergrad as hg

SETTINGS = settings(max_examples=20, deadline=None)
SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)


def arrays(low=-4.0, high=4.0, shape=SHAPES):
    """float64 arrays of values in [low, high], with a few round values for ties. Tiny
    magnitudes are left out: there second derivatives of norms are differences of huge
    numbers, rounding noise in both libraries (special values are tested on their own)."""
    round_values = [v for v in (-2.0, -1.0, 0.5, 1.0, 2.0) if low <= v <= high]
    return hnp.arrays(np.float64, shape, elements=st.one_of(
        st.floats(low, high, allow_nan=False, allow_infinity=False).filter(
            lambda v: v == 0 or abs(v) > 1e-3),
        st.sampled_from(round_values or [low])))


@st.composite
def broadcast_pair(draw, low=-4.0, high=4.0, low_b=None, high_b=None):
    shape_a, shape_b = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_side=3)
                            .map(lambda r: r.input_shapes))
    return (draw(arrays(low, high, shape_a)),
            draw(arrays(low if low_b is None else low_b, high if high_b is None else high_b,
                        shape_b)))


def call(name, *args, **kwargs):
    """`lambda *tensors: lib.name(*tensors, *args, **kwargs)` for hypergrad and for torch."""
    def make(lib):
        target = lib
        for part in name.split("."):
            target = getattr(target, part)
        return lambda *tensors: target(*tensors, *args, **kwargs)

    return make(hg), make(torch)


def raises_like_torch(error, make):
    """`make(lib)` raises `error` in torch, and in HyperGrad."""
    with pytest.raises(error):
        make(torch)
    with pytest.raises(error):
        make(hg)


# ----------------------------------------------------------------------------------------------
# lerp, addcmul, addcdiv
# ----------------------------------------------------------------------------------------------
@SETTINGS
@given(data=st.data())
def test_lerp_with_a_number_or_a_tensor_weight(data):
    a, b = data.draw(broadcast_pair(), label="a, b")
    weight = data.draw(st.floats(-0.5, 1.5), label="weight")
    compare(*call("lerp", weight=weight), [a, b])
    w = data.draw(arrays(-0.5, 1.5, hnp.array_shapes(min_dims=0, max_dims=2, max_side=3)),
                  label="w")
    try:
        np.broadcast_shapes(a.shape, b.shape, w.shape)
    except ValueError:
        return
    compare(*call("lerp"), [a, b, w])


def test_lerp_nodes_edges_dtypes_and_in_place():
    ours = hg.lerp(hg.ones(2, requires_grad=True), hg.zeros(2), 0.25)
    assert ours.grad_fn.name() == "LerpBackward0" and len(ours.grad_fn.next_functions) == 2
    weight = hg.tensor(0.5, requires_grad=True)
    assert hg.lerp(hg.ones(2), hg.zeros(2), weight).grad_fn.name() == "LerpBackward1"
    for lib in (hg, torch):
        with pytest.raises(RuntimeError, match="expected dtype float for `end`"):
            lib.lerp(lib.ones(2), lib.ones(2, dtype=lib.float64), 0.5)
        with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
            lib.lerp(lib.ones(2, dtype=lib.int64), lib.ones(2, dtype=lib.int64), 0.5)
    x, y = np.array([1.0, -2.0, 3.0], np.float32), np.array([0.5, 4.0, -1.0], np.float32)
    ours, theirs = hg.tensor(x), torch.tensor(x)
    assert ours.lerp_(hg.tensor(y), 0.75) is ours
    assert_same(ours, theirs.lerp_(torch.tensor(y), 0.75))


@pytest.mark.parametrize("name", ["addcmul", "addcdiv"])
@SETTINGS
@given(data=st.data())
def test_addcmul_addcdiv_match_torch(name, data):
    shapes = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=3, max_side=3),
                       label="shapes").input_shapes
    a = data.draw(arrays(shape=shapes[0]))
    t1 = data.draw(arrays(shape=shapes[1]))
    t2 = data.draw(arrays(0.5, 4.0, shape=shapes[2]))
    value = data.draw(st.sampled_from([1, 2, -0.5]), label="value")
    compare(*call(name, value=value), [a, t1, t2])


def test_addcmul_addcdiv_dtypes_errors_and_fused_rounding():
    ints = [np.array([1, 2, 3]) for _ in range(3)]
    assert_same(hg.addcmul(*map(hg.tensor, ints), value=2),
                torch.addcmul(*map(torch.tensor, ints), value=2))
    with pytest.raises(RuntimeError, match="Integer division with addcdiv"):
        hg.addcdiv(hg.ones(2), hg.tensor([1, 2]), hg.tensor([1, 2]))
    # torch's kernel is one fused multiply-add: -inf + 1e30 * 1e30 stays -inf in float32
    values = [np.array([-np.inf, 1.0], np.float32), np.array([1e30, 1e30], np.float32),
              np.array([1e30, 1e30], np.float32)]
    assert_same(hg.addcmul(*map(hg.tensor, values)), torch.addcmul(*map(torch.tensor, values)))
    ours, theirs = hg.ones(3), torch.ones(3)
    assert ours.addcdiv_(hg.ones(3), hg.full((3,), 4.0), value=2) is ours
    assert_same(ours, theirs.addcdiv_(torch.ones(3), torch.full((3,), 4.0), value=2))


# ----------------------------------------------------------------------------------------------
# hypot, logaddexp, logaddexp2, xlogy
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["hypot", "logaddexp", "logaddexp2", "fmax", "fmin"])
@SETTINGS
@given(pair=broadcast_pair())
@example(pair=(np.array([1.0, 2.0, -1.0]), np.array([1.0, -3.0, -1.0])))
def test_binary_ops_match_torch(name, pair):
    compare(*call(name), list(pair))


@pytest.mark.parametrize("name", ["hypot", "logaddexp", "logaddexp2", "fmax", "fmin"])
def test_binary_ops_at_special_values(name):
    a = np.array([np.inf, -np.inf, np.inf, np.nan, 0.0, 1e308, np.nan, -0.0])
    b = np.array([np.inf, -np.inf, -np.inf, 1.0, 0.0, 1e308, np.nan, 0.0])
    with np.errstate(all="ignore"):
        compare(*call(name), [a, b], gradgrad=False)


def test_binary_ops_refuse_numbers_and_integers_as_torch():
    for name in ("hypot", "logaddexp", "fmax"):
        for lib in (hg, torch):
            with pytest.raises(TypeError, match="must be Tensor"):
                getattr(lib, name)(lib.ones(2), 2.0)
    for name in ("hypot", "logaddexp", "logaddexp2"):
        for lib in (hg, torch):
            with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
                getattr(lib, name)(lib.ones(2, dtype=lib.int64), lib.ones(2, dtype=lib.int64))
    assert_same(hg.fmax(hg.tensor([True, False]), hg.tensor([False, False])),
                torch.fmax(torch.tensor([True, False]), torch.tensor([False, False])))


@SETTINGS
@given(pair=broadcast_pair(low_b=0.1, high_b=5.0), number=st.floats(0.1, 5.0))
@example(pair=(np.array([0.0, 0.0, 1.0, 0.0]), np.array([0.0, 2.0, 0.5, -1.0])), number=0.0)
def test_xlogy_matches_torch_including_zeros(pair, number):
    x, y = pair
    with np.errstate(divide="ignore", invalid="ignore"):
        compare(*call("xlogy"), [x, y])
        compare(*call("xlogy", number), [x])
        compare(lambda t: hg.xlogy(number, t), lambda t: torch.xlogy(number, t), [y])


def test_xlogy_nodes_dtypes_and_in_place():
    x = hg.tensor([0.0, 1.0], requires_grad=True)
    assert hg.xlogy(x, x).grad_fn.name() == "XlogyBackward0"
    assert hg.xlogy(2.0, x).grad_fn.name() == "XlogyBackward1"
    assert hg.xlogy(x, 2.0).grad_fn.name() == "XlogyBackward2"
    assert len(hg.xlogy(x, 2.0).grad_fn.next_functions) == 1
    ints = np.array([0, 1, 2])
    assert_same(hg.xlogy(hg.tensor(ints), hg.tensor(ints)),
                torch.xlogy(torch.tensor(ints), torch.tensor(ints)))
    assert_same(hg.xlogy(4e-149, hg.tensor(False)), torch.xlogy(4e-149, torch.tensor(False)))
    ours, theirs = hg.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0])
    assert ours.xlogy_(2.0) is ours
    assert_same(ours, theirs.xlogy_(2.0))
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type Long"):
        hg.tensor([1, 2]).xlogy_(hg.tensor([1.0, 2.0]))


# ----------------------------------------------------------------------------------------------
# Special functions
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, low, high", [
    ("sinc", -4, 4), ("erfc", -4, 4), ("erfinv", -0.999, 0.999), ("lgamma", -4, 6),
    ("digamma", -4, 6), ("deg2rad", -400, 400), ("rad2deg", -4, 4), ("frac", -4, 4),
    ("logit", 0.01, 0.99)])
@SETTINGS
@given(data=st.data())
def test_unary_ops_match_torch(name, low, high, data):
    x = data.draw(arrays(low, high), label="x")
    if name == "sinc":  # keep away from 0, where torch's formula cancels (see Sinc)
        x = np.where(np.abs(x) < 1e-3, 0.5, x)
    if name in ("lgamma", "digamma"):  # away from the poles at 0, -1, -2, ...
        x = np.where((x <= 0) & (np.abs(x - np.round(x)) < 1e-2), 0.5, x)
    compare(*call(name), [x])


@pytest.mark.parametrize("name", ["sinc", "erfc", "erfinv", "lgamma", "digamma", "deg2rad",
                                  "rad2deg", "frac", "logit", "nan_to_num"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_unary_ops_at_special_values(name, dtype):
    values = np.array([0.0, -0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -2.5, np.inf, -np.inf, np.nan,
                       1e-30, -1e-30, 1 - 2.0 ** -24, -(1 - 2.0 ** -53)]).astype(dtype)
    with np.errstate(all="ignore"):
        compare(*call(name), [values], gradgrad=False)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_erfinv_close_to_one_is_accurate_as_torch(dtype):
    eps = np.finfo(dtype).eps
    values = np.concatenate([1 - np.arange(1, 200) * eps / 2, -1 + np.arange(1, 200) * eps / 2,
                             np.linspace(-0.99, 0.99, 101)]).astype(dtype)
    assert_same(hg.erfinv(hg.tensor(values)), torch.erfinv(torch.tensor(values)),
                rtol=1.3e-6 if dtype == np.float32 else 1e-7)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_higher_derivatives_of_lgamma_run_through_polygamma(dtype):
    """lgamma' = digamma, digamma' = trigamma (a huge finite number at the negative integers,
    as torch's sin-based reflection gives), trigamma' = polygamma(2), as torch."""
    x = np.array([-2.5, -1.0, 0.25, 1.0, 3.5, 12.0]).astype(dtype)
    ours = hg.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    ours_grads, theirs_grads = [hg.lgamma(ours).sum()], [torch.lgamma(theirs).sum()]
    for _ in range(4):
        ours_grads.append(hg.autograd.grad(ours_grads[-1], ours, create_graph=True)[0].sum())
        theirs_grads.append(torch.autograd.grad(theirs_grads[-1], theirs,
                                                create_graph=True)[0].sum())
    ours_x = hg.tensor(x, requires_grad=True)
    theirs_x = torch.tensor(x, requires_grad=True)
    first = hg.autograd.grad(hg.digamma(ours_x).sum(), ours_x, create_graph=True)[0]
    assert_same(first, torch.autograd.grad(torch.digamma(theirs_x).sum(), theirs_x,
                                           create_graph=True)[0],
                rtol=1.3e-6 if dtype == "float32" else 1e-7)
    for o, t in zip(ours_grads, theirs_grads):
        assert_same(o, t, rtol=2e-5 if dtype == "float32" else 1e-7)


def test_special_functions_need_no_scipy():
    from pathlib import Path

    from hypergrad.ops import pointwise

    source = Path(pointwise.__file__).read_text()
    assert "import scipy" not in source and "from scipy" not in source


def test_sinc_is_one_at_zero_with_gradient_zero():
    ours = hg.tensor([0.0, 1.0], requires_grad=True)
    out = hg.sinc(ours)
    out.sum().backward()
    assert out.tolist()[0] == 1.0 and ours.grad.tolist()[0] == 0.0
    assert hg.sinc(hg.tensor([1, 2])).dtype == hg.float32


# ----------------------------------------------------------------------------------------------
# fmod, copysign, nan_to_num, logit, deg2rad, frac
# ----------------------------------------------------------------------------------------------
@SETTINGS
@given(pair=broadcast_pair(low_b=0.5, high_b=4.0), number=st.floats(0.5, 4.0))
def test_fmod_and_copysign_match_torch(pair, number):
    x, y = pair
    y = np.where(np.random.default_rng(0).random(y.shape) < 0.5, -y, y)
    compare(*call("fmod"), [x, y])
    compare(*call("fmod", number), [x])
    compare(*call("copysign"), [x, y])
    compare(*call("copysign", -number), [x])


def test_fmod_copysign_conventions_nodes_and_errors():
    x = np.array([-3.0, 3.0, 5.0, -0.0, 2.0])
    y = np.array([2.0, -2.0, 0.0, -1.0, -0.0])
    with np.errstate(all="ignore"):
        for name in ("fmod", "copysign"):
            compare(*call(name), [x, y], gradgrad=False)
    t = hg.tensor([1.0], requires_grad=True)
    assert hg.fmod(t, 2.0).grad_fn.name() == "FmodBackward0"
    assert hg.fmod(t, t).grad_fn.name() == "FmodBackward1"
    assert hg.copysign(t, -1.0).grad_fn.name() == "CopysignBackward1"
    assert hg.copysign(t, t).grad_fn.name() == "CopysignBackward0"
    assert_same(hg.fmod(hg.tensor([-7, 7]), 3), torch.fmod(torch.tensor([-7, 7]), 3))
    assert_same(hg.fmod(hg.tensor([-7, 7]), 2.5), torch.fmod(torch.tensor([-7, 7]), 2.5))
    assert_same(hg.copysign(hg.tensor([1, 2]), -1), torch.copysign(torch.tensor([1, 2]), -1))
    raises_like_torch(RuntimeError, lambda lib: lib.fmod(lib.tensor([3, 4]), lib.tensor([0, 1])))
    raises_like_torch(TypeError, lambda lib: lib.fmod(2.0, lib.tensor([1.0])))
    raises_like_torch(NotImplementedError, lambda lib: lib.frac(lib.tensor([1, 2])))


@pytest.mark.parametrize("kwargs", [{}, {"nan": 1.5}, {"posinf": 10.0, "neginf": -3.0}])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
def test_nan_to_num_matches_torch(kwargs, dtype):
    values = np.array([np.nan, np.inf, -np.inf, 1.0, -2.0, 0.0])
    if dtype in ("int64", "bool"):
        values = np.array([1, 0, 3, 0, 2, 1])
    values = values.astype(dtype)
    assert_same(hg.nan_to_num(hg.tensor(values), **kwargs),
                torch.nan_to_num(torch.tensor(values), **kwargs))
    ours, theirs = hg.tensor(values), torch.tensor(values)
    assert ours.nan_to_num_(**kwargs) is ours
    assert_same(ours, theirs.nan_to_num_(**kwargs))


@pytest.mark.parametrize("eps", [None, 0.0, 0.1, 0.6, -1.0])
def test_logit_gradient_with_and_without_a_graph_as_torch(eps):
    """torch's logit backward is a kernel without create_graph (NaN in, NaN out; grad * inf
    at 0 and 1) and a composite with it (0 outside [eps, 1 - eps])."""
    values = np.array([np.nan, 0.0, -0.0, 1.0, 0.05, 0.5, -0.2, 1.3], np.float32)
    for create_graph in (False, True):
        ours_x = hg.tensor(values, requires_grad=True)
        theirs_x = torch.tensor(values, requires_grad=True)
        with np.errstate(all="ignore"):
            ours = hg.autograd.grad(hg.logit(ours_x, eps).sum(), ours_x,
                                    create_graph=create_graph)[0]
        theirs = torch.autograd.grad(torch.logit(theirs_x, eps).sum(), theirs_x,
                                     create_graph=create_graph)[0]
        assert_same(ours, theirs)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_logit_gradient_follows_torchs_scalar_and_vector_kernels(dtype):
    """torch's kernel runs whole blocks of two SIMD vectors through its vector function and
    the rest through its scalar one; they disagree at -0.0 (and at NaN with eps)."""
    for n in (8, 16, 31, 32, 33, 48, 65):
        values = np.tile(np.array([-0.0, np.nan, 0.0, 1.0, 0.3], dtype), n)[:n]
        for eps in (None, 0.1):
            results = []
            for lib in (hg, torch):
                x = lib.tensor(values, requires_grad=True)
                with np.errstate(all="ignore"):
                    results.append(lib.autograd.grad(lib.logit(x, eps).sum(), x)[0])
            assert_same(*results)


def test_degrees_and_logit_of_integers():
    ints = np.array([0, 90, 180])
    assert_same(hg.deg2rad(hg.tensor(ints)), torch.deg2rad(torch.tensor(ints)))
    assert_same(hg.rad2deg(hg.tensor(ints)), torch.rad2deg(torch.tensor(ints)))
    assert_same(hg.logit(hg.tensor([0, 1]), 0.25), torch.logit(torch.tensor([0, 1]), 0.25))
    with pytest.raises(RuntimeError, match="can't be cast"):
        hg.tensor([1, 2]).deg2rad_()


# ----------------------------------------------------------------------------------------------
# dist, cdist
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("p", [2, 1, 3, 0.5, 1.5, math.inf, -math.inf, -1])
@SETTINGS
@given(pair=broadcast_pair())
@example(pair=(np.array([1.0, 2.0, 3.0]), np.array([1.0, -2.0, 0.0])))
def test_dist_matches_torch(p, pair):
    with np.errstate(all="ignore"):  # 0 * inf where a - b == 0 (numpy warns, torch does not)
        compare(*call("dist", p=p), list(pair))


def test_dist_edges_as_torch():
    with pytest.raises(RuntimeError):
        hg.dist(hg.tensor([1.0, 2.0], requires_grad=True), hg.tensor([0.0, 2.0]), 0).backward()
    assert_same(hg.dist(hg.tensor([0.0, 1.0]), hg.tensor([0.0, 1.0]), 0),
                torch.dist(torch.tensor([0.0, 1.0]), torch.tensor([0.0, 1.0]), 0))
    one = np.array([1e30], np.float32)  # one element: |a - b|, with no square to overflow
    assert_same(hg.dist(hg.tensor(one), hg.zeros(1)), torch.dist(torch.tensor(one),
                                                                 torch.zeros(1)))
    for lib in (hg, torch):
        with pytest.raises(RuntimeError, match="input dtype should be either floating"):
            lib.dist(lib.tensor([1, 2]), lib.tensor([2, 3]))


@pytest.mark.parametrize("p", [2.0, 1.0, 0.0, 0.5, 1.5, 3.0, math.inf])
@SETTINGS
@given(data=st.data())
def test_cdist_matches_torch_and_has_no_second_derivative(p, data):
    rows_1, rows_2, columns = (data.draw(st.integers(1, 4)) for _ in range(3))
    batch = data.draw(st.sampled_from([(), (2,)]), label="batch")
    x1 = data.draw(arrays(shape=batch + (rows_1, columns)), label="x1")
    x2 = data.draw(arrays(shape=(rows_2, columns)), label="x2")
    compare(*call("cdist", p=p), [x1, x2], gradgrad=False)
    ours = hg.tensor(x1, requires_grad=True)
    grad = hg.autograd.grad(hg.cdist(ours, hg.tensor(x2), p=p).sum(), ours,
                            create_graph=True)[0]
    assert grad.grad_fn.name() == "CdistBackwardBackward0"
    with pytest.raises(NotImplementedError, match="_cdist_backward"):
        grad.sum().backward()


def test_cdist_uses_a_matrix_product_for_many_rows_as_torch():
    rng = np.random.default_rng(0)
    x1, x2 = rng.standard_normal((30, 3)), rng.standard_normal((4, 3))
    ours, _ = compare(*call("cdist"), [x1, x2])
    assert ours.grad_fn.name() == "ViewBackward0"
    assert ours.grad_fn.next_functions[0][0].name() == "EuclideanDistBackward0"
    compare(*call("cdist", compute_mode="use_mm_for_euclid_dist"), [x1[:3], x2])
    compare(*call("cdist", compute_mode="donot_use_mm_for_euclid_dist"), [x1, x2],
            gradgrad=False)
    for bad in ({"compute_mode": None}, {"p": -1.0}):
        for lib in (hg, torch):
            with pytest.raises((ValueError, RuntimeError)):
                lib.cdist(lib.ones(2, 2), lib.ones(2, 2), **bad)


# ----------------------------------------------------------------------------------------------
# cross, linalg.cross
# ----------------------------------------------------------------------------------------------
@SETTINGS
@given(data=st.data())
def test_cross_matches_torch(data):
    shape = list(data.draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=3), label="shape"))
    dim = data.draw(st.integers(-len(shape), len(shape) - 1), label="dim")
    shape[dim] = 3
    other = [1 if i != dim % len(shape) and data.draw(st.booleans()) else s
             for i, s in enumerate(shape)]
    a, b = data.draw(arrays(shape=tuple(shape))), data.draw(arrays(shape=tuple(other)))
    compare(*call("linalg.cross", dim=dim), [a, b])
    compare(*call("cross", dim=dim), [a, b])


def test_cross_default_dim_integers_errors_and_fused_rounding():
    a, b = np.arange(9.0).reshape(3, 3), np.ones((3, 3))
    with warnings.catch_warnings():  # torch warns once per process that dim will be required
        warnings.simplefilter("ignore", UserWarning)
        theirs = torch.cross(torch.tensor(a), torch.tensor(b))
    assert_same(hg.cross(hg.tensor(a), hg.tensor(b)), theirs)
    ints = np.array([[1, 2, 3], [4, 5, 6]])
    assert_same(hg.linalg.cross(hg.tensor(ints), hg.tensor(ints[::-1].copy())),
                torch.linalg.cross(torch.tensor(ints), torch.tensor(ints[::-1].copy())))
    huge = np.full(3, 1e30, np.float32)  # torch's fused a1 * b2 - a2 * b1: -inf, not NaN
    assert_same(hg.linalg.cross(hg.tensor(huge), hg.tensor(huge)),
                torch.linalg.cross(torch.tensor(huge), torch.tensor(huge)))
    for make in (lambda lib: lib.linalg.cross(lib.ones(2), lib.ones(2)),
                 lambda lib: lib.linalg.cross(lib.ones(4, 3), lib.ones(3)),
                 lambda lib: lib.linalg.cross(lib.ones(3), lib.ones(3, dtype=lib.float64)),
                 lambda lib: lib.cross(lib.ones(4, 2), lib.ones(4, 2))):
        raises_like_torch(RuntimeError, make)


# ----------------------------------------------------------------------------------------------
# trapezoid, cumulative_trapezoid
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["trapezoid", "cumulative_trapezoid"])
@SETTINGS
@given(data=st.data())
def test_trapezoid_matches_torch(name, data):
    y = data.draw(arrays(shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=4)), label="y")
    dim = data.draw(st.integers(-y.ndim, y.ndim - 1), label="dim")
    how = data.draw(st.sampled_from(["dx", "x1d", "x"]), label="how")
    if how == "dx":
        compare(*call(name, dx=data.draw(st.floats(0.1, 2.0)), dim=dim), [y])
    else:
        shape = (y.shape[dim],) if how == "x1d" else y.shape
        compare(*call(name, dim=dim), [y, data.draw(arrays(shape=shape), label="x")])


def test_trapezoid_graph_dtypes_and_edges_as_torch():
    y = hg.tensor([1.0, 2.0, 4.0], requires_grad=True)
    assert hg.trapezoid(y).grad_fn.name() == "MulBackward1"
    assert hg.trapezoid(y, hg.tensor([0.0, 1.0, 3.0])).grad_fn.name() == "DivBackward1"
    assert hg.cumulative_trapezoid(y).grad_fn.name() == "CumsumBackward0"
    assert hg.trapz is not None
    ints = np.array([[1, 2, 4], [0, 3, 3]])
    for name in ("trapezoid", "cumulative_trapezoid"):
        assert_same(getattr(hg, name)(hg.tensor(ints)), getattr(torch, name)(torch.tensor(ints)))
        assert_same(getattr(hg, name)(hg.zeros(2, 0)), getattr(torch, name)(torch.zeros(2, 0)))
    assert_same(hg.trapezoid(hg.zeros(2, 0, dtype=hg.int64)),
                torch.trapezoid(torch.zeros(2, 0, dtype=torch.int64)))
    for make, error in ((lambda lib: lib.trapezoid(lib.ones(3, dtype=lib.bool)), RuntimeError),
                        (lambda lib: lib.trapezoid(lib.ones(3), lib.ones(2)), RuntimeError),
                        (lambda lib: lib.trapezoid(lib.ones(3), dx=True), RuntimeError),
                        (lambda lib: lib.trapezoid(lib.tensor(1.0)), IndexError),
                        (lambda lib: lib.cumulative_trapezoid(lib.tensor(1.0)), IndexError)):
        raises_like_torch(error, make)
