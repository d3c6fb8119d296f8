"""linalg.solve_triangular against torch, and the ops that changed with it.

- linalg.solve_triangular: values, both gradients and second-order gradients on drawn shapes
  (batch dims that broadcast, left=False, unitriangular, float32 and float64); where inf and
  NaN go; dtypes; torch's errors.
- linalg.cholesky and linalg.qr: their backward solves triangular systems now, as torch's.
- amax/amin on empty inputs: the bad dim is printed as the user gave it; ops that reduce one
  dim refuse a tuple of dims.
- _copy_from (copy_) and sum_to_size: torch's errors, gradients and nodes.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

import hypergrad as hg

TOLERANCE = {np.float32: {"rtol": 1e-4, "atol": 1e-4}, np.float64: {"rtol": 1e-9, "atol": 1e-9}}


def both(fn):
    """Run fn(lib) for hypergrad and torch; return the two results (or the two errors)."""
    results = []
    for lib in (hg, torch):
        try:
            results.append(fn(lib))
        except Exception as error:  # noqa: BLE001 - the error is the result
            results.append(error)
    return results


def assert_same_error(fn):
    ours, theirs = both(fn)
    assert isinstance(theirs, Exception), f"torch does not raise: {theirs}"
    assert type(ours) is type(theirs) or isinstance(ours, type(theirs)), (ours, theirs)
    assert str(ours) == str(theirs)


def close(ours, theirs, dtype):
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), equal_nan=True,
                               **TOLERANCE[dtype])


def triangular_problem(seed, batch_a, batch_b, n, k, left, dtype):
    """A with a diagonally dominant triangle (and values in the other one), and B."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(-1, 1, batch_a + (n, n)) + (n + 1) * np.eye(n)
    b = rng.uniform(-2, 2, batch_b + ((n, k) if left else (k, n)))
    return a.astype(dtype), b.astype(dtype)


# ----------------------------------------------------------------------------------------------
# linalg.solve_triangular: values and derivatives
# ----------------------------------------------------------------------------------------------
BATCHES = [((), ()), ((2,), ()), ((), (3,)), ((2, 1), (3,)), ((1,), (2, 2)), ((2,), (2,)),
           ((0,), ()), ((2,), (1,))]


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**16), batches=st.sampled_from(BATCHES), n=st.integers(0, 4),
       k=st.integers(0, 3), upper=st.booleans(), left=st.booleans(),
       unitriangular=st.booleans(), dtype=st.sampled_from([np.float32, np.float64]))
@example(seed=0, batches=((2,), ()), n=3, k=2, upper=True, left=True, unitriangular=False,
         dtype=np.float64)
@example(seed=1, batches=((2, 1), (3,)), n=3, k=1, upper=False, left=False,
         unitriangular=True, dtype=np.float32)
def test_values_and_gradients_agree_with_torch(seed, batches, n, k, upper, left, unitriangular,
                                               dtype):
    a, b = triangular_problem(seed, *batches, n, k, left, dtype)
    grad = np.random.default_rng(seed + 1).uniform(-1, 1, np.broadcast_shapes(
        a.shape[:-2], b.shape[:-2]) + b.shape[-2:]).astype(dtype)

    def run(lib):
        A = lib.tensor(a, requires_grad=True)
        B = lib.tensor(b, requires_grad=True)
        X = lib.linalg.solve_triangular(A, B, upper=upper, left=left,
                                        unitriangular=unitriangular)
        gA, gB = lib.autograd.grad(X, (A, B), lib.tensor(grad), create_graph=True)
        # second order: differentiate <gA, gA> + <gB, 1> with respect to A and B
        total = (gA * gA).sum() + gB.sum()
        ggA, ggB = lib.autograd.grad(total, (A, B), allow_unused=True)
        return X, gA, gB, ggA, ggB

    ours, theirs = both(run)
    assert not isinstance(theirs, Exception), theirs
    assert ours[0].grad_fn.name() == theirs[0].grad_fn.name() == "LinalgSolveTriangularBackward0"
    assert ours[0].dtype.name == str(theirs[0].dtype).rpartition(".")[2]
    for mine, torchs in zip(ours, theirs):
        assert tuple(mine.shape) == tuple(torchs.shape)
        close(mine, torchs, dtype)


def test_only_the_triangle_of_A_gets_a_gradient():
    a, b = triangular_problem(3, (), (), 3, 2, True, np.float64)
    for upper, unitriangular in [(True, False), (False, False), (True, True), (False, True)]:
        A = hg.tensor(a, requires_grad=True)
        X = hg.linalg.solve_triangular(A, hg.tensor(b), upper=upper, unitriangular=unitriangular)
        gA, = hg.autograd.grad(X.sum(), A)
        keep = np.triu(np.ones((3, 3)), int(unitriangular)) if upper else \
            np.tril(np.ones((3, 3)), -int(unitriangular))
        assert (gA.numpy()[keep == 0] == 0).all()


def test_the_gradient_of_B_alone_skips_A():
    a, b = triangular_problem(4, (2,), (), 2, 1, True, np.float64)
    B = hg.tensor(b, requires_grad=True)
    X = hg.linalg.solve_triangular(hg.tensor(a), B, upper=False)
    assert X.grad_fn.next_functions[0][0] is None
    gB, = hg.autograd.grad(X.sum(), B)
    tB = torch.tensor(b, requires_grad=True)
    tgB, = torch.autograd.grad(torch.linalg.solve_triangular(torch.tensor(a), tB,
                                                             upper=False).sum(), tB)
    close(gB, tgB, np.float64)


# ----------------------------------------------------------------------------------------------
# linalg.solve_triangular: where inf and NaN go (substitution, as trsm)
# ----------------------------------------------------------------------------------------------
NAN, INF = math.nan, math.inf
SPECIAL_CASES = {
    # a NaN in the triangle the solve does not read changes nothing
    "nan in the other triangle": ([[2.0, NAN, NAN], [1.0, 3.0, NAN], [1.0, 1.0, 4.0]],
                                  [[1.0], [2.0], [3.0]], {"upper": False}),
    # with unitriangular the diagonal is not read either
    "nan on a unit diagonal": ([[NAN, 0.0], [2.0, NAN]], [[1.0], [1.0]],
                               {"upper": False, "unitriangular": True}),
    # a NaN in B stays in its column and reaches only the rows solved after it
    "nan in B": ([[2.0, 0.0, 0.0], [1.0, 3.0, 0.0], [1.0, 1.0, 4.0]],
                 [[1.0, 5.0], [NAN, 2.0], [3.0, 1.0]], {"upper": False}),
    "nan in B, back substitution": ([[2.0, 1.0, 1.0], [0.0, 3.0, 1.0], [0.0, 0.0, 4.0]],
                                    [[1.0, 5.0], [NAN, 2.0], [3.0, 1.0]], {"upper": True}),
    # a zero on the diagonal: inf, and no error
    "zero pivot": ([[2.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 1.0, 4.0]],
                   [[0.0, 1.0], [2.0, 2.0], [3.0, 1.0]], {"upper": False}),
    # inf times a zero of X is NaN (trsm does not skip zeros)
    "inf times zero": ([[2.0, 0.0, 0.0], [1.0, 3.0, 0.0], [INF, 1.0, 4.0]],
                       [[0.0, 1.0], [2.0, 2.0], [3.0, 1.0]], {"upper": False}),
    "left=False": ([[2.0, INF, 1.0], [0.0, NAN, 1.0], [0.0, 0.0, 4.0]],
                   [[1.0, 2.0, 3.0]], {"upper": True, "left": False, "unitriangular": True}),
}


@pytest.mark.parametrize("case", sorted(SPECIAL_CASES))
def test_inf_and_nan_land_where_torch_puts_them(case):
    a, b, kwargs = SPECIAL_CASES[case]
    for dtype in (np.float32, np.float64):
        ours, theirs = both(lambda lib, dtype=dtype: lib.linalg.solve_triangular(
            lib.tensor(np.array(a, dtype)), lib.tensor(np.array(b, dtype)), **kwargs))
        close(ours, theirs, dtype)


# ----------------------------------------------------------------------------------------------
# linalg.solve_triangular: dtypes and errors
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("a_dtype, b_dtype", [("float32", "float64"), ("float64", "float32"),
                                              ("float32", "int64"), ("float64", "bool")])
def test_B_is_cast_to_the_dtype_of_A(a_dtype, b_dtype):
    a = np.array([[2.0, 0.0], [1.0, 4.0]])
    b = np.array([[1], [3]])

    def run(lib):
        return lib.linalg.solve_triangular(lib.tensor(a, dtype=getattr(lib, a_dtype)),
                                           lib.tensor(b, dtype=getattr(lib, b_dtype)),
                                           upper=False)

    ours, theirs = both(run)
    assert ours.dtype.name == a_dtype == str(theirs.dtype).rpartition(".")[2]
    close(ours, theirs, np.float32)


def test_the_gradient_of_B_has_B_dtype():
    def run(lib):
        A = lib.tensor([[2.0, 0.0], [1.0, 4.0]], requires_grad=True)
        B = lib.tensor([[1.0], [3.0]], dtype=lib.float64, requires_grad=True)
        gA, gB = lib.autograd.grad(lib.linalg.solve_triangular(A, B, upper=False).sum(), (A, B))
        return gA.dtype, gB.dtype

    ours, theirs = both(run)
    assert [d.name for d in ours] == ["float32", "float64"]
    assert [str(d) for d in theirs] == ["torch.float32", "torch.float64"]


ERRORS = {
    "A not square": (np.ones((2, 3)), np.ones((2, 1)), {"upper": True}),
    "A a vector": (np.ones(3), np.ones((3, 1)), {"upper": True}),
    "A a vector, B too": (np.ones(3), np.ones(3), {"upper": True}),
    "B a vector": (np.eye(3), np.ones(3), {"upper": True}),
    "A not square, B a vector": (np.ones((3, 2)), np.ones(3), {"upper": True}),
    "AX = B shapes": (np.eye(3), np.ones((2, 1)), {"upper": False}),
    "XA = B shapes": (np.eye(3), np.ones((3, 2)), {"upper": False, "left": False}),
    "batch dims": (np.ones((2, 3, 3)), np.ones((4, 3, 1)), {"upper": True}),
    "batch dims, longer B": (np.ones((2, 3, 3)), np.ones((1, 5, 4, 3, 2)), {"upper": True}),
    "int A": (np.eye(2, dtype=np.int64), np.ones((2, 1)), {"upper": True}),
    "int A and B": (np.eye(2, dtype=np.int64), np.ones((2, 1), np.int64), {"upper": True}),
    "bool A": (np.eye(2, dtype=bool), np.ones((2, 1)), {"upper": True}),
    "half A": (np.eye(2, dtype=np.float16), np.ones((2, 1)), {"upper": True}),
    "int A, bad batch": (np.ones((2, 3, 3), np.int64), np.ones((4, 3, 1)), {"upper": True}),
    "no upper": (np.eye(2), np.ones((2, 1)), {}),
    "upper an int": (np.eye(2), np.ones((2, 1)), {"upper": 1}),
    "upper None": (np.eye(2), np.ones((2, 1)), {"upper": None}),
    "left an int": (np.eye(2), np.ones((2, 1)), {"upper": True, "left": 0}),
    "B a number": (np.eye(2), 1.0, {"upper": True}),
    "A a list": ([[1.0]], np.ones((1, 1)), {"upper": True}),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_errors_are_torch_errors(case):
    a, b, kwargs = ERRORS[case]

    def convert(lib, value):
        return lib.from_numpy(value) if isinstance(value, np.ndarray) else value

    assert_same_error(lambda lib: lib.linalg.solve_triangular(convert(lib, a), convert(lib, b),
                                                              **kwargs))


def test_upper_cannot_be_positional():
    with pytest.raises(TypeError):
        hg.linalg.solve_triangular(hg.eye(2), hg.ones(2, 1), True)


@pytest.mark.parametrize("a_shape, b_shape, left", [((0, 0), (0, 3), True),
                                                    ((0, 0), (3, 0), False),
                                                    ((2, 2), (2, 0), True),
                                                    ((0, 2, 2), (2, 1), True)])
def test_empty_inputs(a_shape, b_shape, left):
    ours, theirs = both(lambda lib: lib.linalg.solve_triangular(
        lib.ones(a_shape), lib.ones(b_shape), upper=True, left=left))
    assert tuple(ours.shape) == tuple(theirs.shape)


# ----------------------------------------------------------------------------------------------
# linalg.cholesky and linalg.qr: triangular solves in the backward
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_gradient_keeps_a_nan_where_torch_does(upper):
    """An inf on the diagonal: the general LU solve HyperGrad used spread its NaN over the
    whole gradient; the triangular solves keep it in place, as torch's."""
    a = np.array([[INF, 1.0], [1.0, 2.0]])
    grad = np.array([[0.9, -1.3], [1.5, 0.2]])

    def run(lib):
        A = lib.tensor(a, requires_grad=True)
        return lib.autograd.grad(lib.linalg.cholesky(A, upper=upper), A, lib.tensor(grad))[0]

    ours, theirs = both(run)
    close(ours, theirs, np.float64)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**16), n=st.integers(1, 4), upper=st.booleans())
def test_cholesky_gradients_agree_with_torch(seed, n, upper):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (2, n, n))
    a = x @ np.swapaxes(x, -1, -2) + n * np.eye(n)
    grad = rng.uniform(-1, 1, (2, n, n))

    def run(lib):
        A = lib.tensor(a, requires_grad=True)
        gA, = lib.autograd.grad(lib.linalg.cholesky(A, upper=upper), A, lib.tensor(grad),
                                create_graph=True)
        ggA, = lib.autograd.grad((gA * gA).sum(), A)
        return gA, ggA

    ours, theirs = both(run)
    for mine, torchs in zip(ours, theirs):
        close(mine, torchs, np.float64)


@pytest.mark.parametrize("a", [[[1.0, 0.0], [0.0, 0.0], [0.0, 0.0]], [[0.0, 1.0], [0.0, 1.0]],
                               [[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]])
def test_qr_gradient_of_a_singular_R_is_inf_or_nan_not_an_error(a):
    def run(lib):
        A = lib.tensor(a, requires_grad=True)
        q, r = lib.linalg.qr(A)
        return lib.autograd.grad(q.sum() + r.sum(), A)[0]

    ours, theirs = both(run)
    assert not isinstance(ours, Exception), ours
    close(ours, theirs, np.float64)


# ----------------------------------------------------------------------------------------------
# Reductions: a bad dim
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["amax", "amin"])
@pytest.mark.parametrize("shape, dim", [((2, 0), -1), ((2, 0), 1), ((0, 3), -2), ((0,), -1),
                                        ((2, 0), (-1,)), ((2, 0), (-1, 1)), ((0, 3), (0, -2)),
                                        ((0,), (0, 1)), ((0,), (-1, 1)), ((0,), 1), ((0,), -2),
                                        ((2, 0), (0, 5)), ((2, 3), 2), ((2, 3), -3),
                                        ((2, 3), (0, -2)), ((), 1), ((), -2), ((0, 3), ())])
def test_amax_amin_errors_print_the_dim_as_given(name, shape, dim):
    assert_same_error(lambda lib: getattr(lib, name)(lib.zeros(shape), dim))


@pytest.mark.parametrize("name", ["max", "min", "argmax", "argmin", "cumsum"])
@pytest.mark.parametrize("dim", [(0,), (0, 1), [1], True])
def test_one_dim_reductions_refuse_a_tuple_of_dims(name, dim):
    for lib in (hg, torch):
        with pytest.raises(TypeError, match="dim|invalid combination"):
            getattr(lib, name)(lib.zeros(2, 3), dim)


def test_aminmax_refuses_a_tuple_of_dims():
    assert_same_error(lambda lib: lib.aminmax(lib.zeros(2, 3), dim=(0, 1)))


@pytest.mark.parametrize("name", ["sum", "mean", "amax", "amin", "max", "argmax", "cumsum",
                                  "logsumexp", "var", "aminmax"])
@pytest.mark.parametrize("dim", [2, -3, 5, -5])
def test_out_of_range_dims_raise_torch_errors(name, dim):
    if name == "aminmax":
        assert_same_error(lambda lib: lib.aminmax(lib.zeros(2, 3), dim=dim))
    else:
        assert_same_error(lambda lib: getattr(lib, name)(lib.zeros(2, 3), dim))


# ----------------------------------------------------------------------------------------------
# _copy_from (copy_) and sum_to_size
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("self_shape, src_shape", [((3,), (2,)), ((3,), (1, 3)), ((3,), (2, 3)),
                                                   ((), (1,)), ((2, 3), (3, 3)), ((3,), (0,))])
def test_copy_errors_are_torch_errors(self_shape, src_shape):
    assert_same_error(lambda lib: lib.zeros(self_shape).copy_(lib.ones(src_shape)))


def test_copy_gives_self_a_zero_gradient_even_for_an_inf_cotangent():
    def run(lib):
        a = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        src = lib.tensor([5.0], dtype=lib.float64, requires_grad=True)
        out = a.clone().copy_(src)
        ga, gsrc = lib.autograd.grad(out, (a, src), lib.tensor([INF, 1.0, 2.0]))
        return type(out.grad_fn).__name__, ga, gsrc

    ours, theirs = both(run)
    assert ours[0] == theirs[0] == "CopyBackwards"
    close(ours[1], theirs[1], np.float64)
    close(ours[2], theirs[2], np.float64)
    assert ours[2].dtype.name == "float64"


@pytest.mark.parametrize("shape, size", [((2, 3, 4), (3, 4)), ((2, 3, 4), (1, 4)),
                                         ((2, 3, 4), (2, 1, 4)), ((2, 3, 4), (1, 1, 1)),
                                         ((2, 3, 4), ()), ((2, 3, 4), (2, 3, 4)), ((), ()),
                                         ((1, 3), (3,)), ((0, 3), (3,)), ((0, 3), (1, 3))])
def test_sum_to_size_records_torch_nodes(shape, size):
    def run(lib):
        x = lib.ones(shape, requires_grad=True)
        y = x.sum_to_size(size)
        names = []
        node = y.grad_fn
        while node is not None and "AccumulateGrad" not in type(node).__name__:
            names.append(node.name())
            node = node.next_functions[0][0]
        return y is x, tuple(y.shape), names

    ours, theirs = both(run)
    assert ours == theirs


@pytest.mark.parametrize("size", [(3,), (2, 3)])
def test_sum_to_size_keeps_the_dtype_only_when_nothing_is_summed(size):
    ours, theirs = both(lambda lib: lib.ones(2, 3, dtype=lib.int32).sum_to_size(size))
    assert ours.dtype.name == str(theirs.dtype).rpartition(".")[2]


@pytest.mark.parametrize("shape, size", [((2, 3), (2,)), ((3,), (2, 3)), ((2, 3), (5, 3)),
                                         ((), (1,))])
def test_sum_to_size_errors_are_torch_errors(shape, size):
    assert_same_error(lambda lib: lib.ones(shape).sum_to_size(size))


def test_sum_to_size_needs_a_size():
    assert_same_error(lambda lib: lib.ones(2, 3).sum_to_size())
