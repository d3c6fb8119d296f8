"""Type promotion and the factory functions, against real torch.

Promotion is checked exhaustively: every pair of dtypes as dimensioned and 0-dim tensors, every
dtype against every kind of Python (and numpy) number, and every triple through an op. The
factory functions are checked for torch's dtype defaults, shapes, values and error messages.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
import torch

import hypergrad as hg

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64",
          "complex64", "complex128"]
NUMERIC = ["uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
KINDS = ["dim", "0-dim"]
SCALARS = [True, 2, 2.5, 1 + 1j]
NUMPY_SCALARS = [np.float64(2.5), np.float32(2.5), np.float16(2.5), np.int64(2), np.int32(2),
                 np.int8(2), np.uint8(2), np.bool_(True), np.complex64(1j)]


def name(dtype):
    return str(dtype).split(".")[-1]


def operand(lib, dtype, kind):
    return lib.ones(2 if kind == "dim" else (), dtype=getattr(lib, dtype))


def expected(torch_dtype):
    """torch's answer in HyperGrad terms: HyperGrad has no complex32 and uses complex64."""
    return "complex64" if name(torch_dtype) == "complex32" else name(torch_dtype)


@pytest.fixture
def default_float64():
    previous = (torch.get_default_dtype(), hg.get_default_dtype())
    torch.set_default_dtype(torch.float64)
    hg.set_default_dtype(hg.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(previous[0])
        hg.set_default_dtype(previous[1])


# ----------------------------------------------------------------------------------------------
# promote_types, can_cast
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("a, b", list(itertools.product(DTYPES, repeat=2)))
def test_promote_types_matches_torch(a, b):
    t = torch.promote_types(getattr(torch, a), getattr(torch, b))
    assert hg.promote_types(getattr(hg, a), getattr(hg, b)).name == expected(t)


@pytest.mark.parametrize("a, b", list(itertools.product(DTYPES, repeat=2)))
def test_can_cast_matches_torch(a, b):
    assert hg.can_cast(getattr(hg, a), getattr(hg, b)) == \
        torch.can_cast(getattr(torch, a), getattr(torch, b))


# ----------------------------------------------------------------------------------------------
# result_type
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind_a, kind_b", list(itertools.product(KINDS, repeat=2)))
@pytest.mark.parametrize("a, b", list(itertools.product(DTYPES, repeat=2)))
def test_result_type_of_two_tensors_matches_torch(a, b, kind_a, kind_b):
    t = torch.result_type(operand(torch, a, kind_a), operand(torch, b, kind_b))
    h = hg.result_type(operand(hg, a, kind_a), operand(hg, b, kind_b))
    assert h.name == expected(t)


@pytest.mark.parametrize("scalar", SCALARS + NUMPY_SCALARS, ids=repr)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_result_type_of_tensor_and_number_matches_torch(dtype, kind, scalar):
    t = torch.result_type(operand(torch, dtype, kind), scalar)
    assert hg.result_type(operand(hg, dtype, kind), scalar).name == expected(t)
    t = torch.result_type(scalar, operand(torch, dtype, kind))
    assert hg.result_type(scalar, operand(hg, dtype, kind)).name == expected(t)


@pytest.mark.parametrize("a, b", list(itertools.product(SCALARS, repeat=2)), ids=repr)
def test_result_type_of_two_numbers_matches_torch(a, b):
    assert hg.result_type(a, b).name == name(torch.result_type(a, b))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("scalar", SCALARS, ids=repr)
def test_result_type_follows_the_default_dtype(default_float64, dtype, scalar):
    for kind in KINDS:
        t = torch.result_type(operand(torch, dtype, kind), scalar)
        assert hg.result_type(operand(hg, dtype, kind), scalar).name == expected(t)
    assert hg.result_type(scalar, scalar).name == name(torch.result_type(scalar, scalar))


def test_result_type_of_three_operands_matches_torch_ops():
    """Every triple of numeric dtypes, dimensioned or 0-dim: addcmul computes in the
    promoted dtype of its three inputs, which must be hg.result_type of them."""
    specs = list(itertools.product(NUMERIC, KINDS))
    mismatches = []
    for combo in itertools.product(specs, repeat=3):
        t = torch.addcmul(*[operand(torch, d, k) for d, k in combo]).dtype
        h = hg.result_type(*[operand(hg, d, k) for d, k in combo])
        if h.name != name(t):
            mismatches.append((combo, name(t), h.name))
    assert mismatches == []


def test_documented_rules():
    i32 = hg.tensor([1], dtype=hg.int32)
    assert (i32 + 5).dtype == hg.int32
    assert (i32 + 1.5).dtype == hg.float32
    assert (hg.ones(2) + hg.tensor(1.0, dtype=hg.float64)).dtype == hg.float32
    assert (hg.ones(2, dtype=hg.uint8) + hg.ones(2, dtype=hg.int8)).dtype == hg.int16
    assert (hg.tensor([1, 2]) / hg.tensor([2, 2])).dtype == hg.float32
    assert (hg.ones(2, dtype=hg.int64) + hg.ones(2, dtype=hg.float16)).dtype == hg.float16


# ----------------------------------------------------------------------------------------------
# Ops compute in the promoted dtype (the per-op fast path must agree with result_type)
# ----------------------------------------------------------------------------------------------
OPERANDS = [(d, k) for d in DTYPES for k in KINDS] + [("scalar", s) for s in SCALARS]


def make(lib, spec):
    dtype, kind = spec
    return kind if dtype == "scalar" else operand(lib, dtype, kind)


@pytest.mark.parametrize("op", ["add", "mul"])
def test_binary_op_output_dtypes_match_torch(op):
    mismatches = []
    for a, b in itertools.product(OPERANDS, repeat=2):
        if a[0] == "scalar" and b[0] == "scalar":
            continue
        results = []
        for lib in (torch, hg):
            x, y = make(lib, a), make(lib, b)
            try:
                value = x * y if op == "mul" else x + y
                results.append(expected(value.dtype))
            except (RuntimeError, TypeError) as error:
                results.append(type(error).__name__)
        if results[0] != results[1]:
            mismatches.append((a, b, results))
    assert mismatches == []


def test_true_division_of_integers_gives_the_default_float(default_float64):
    assert (hg.tensor([1, 2]) / 2).dtype == hg.float64
    assert hg.tensor([1.5]).dtype == hg.float64
    assert hg.tensor([1 + 1j]).dtype == hg.complex128
    assert (hg.tensor([1], dtype=hg.int32) + 1.5).dtype == hg.float64


def test_set_default_dtype_rejects_non_floats():
    for lib in (torch, hg):
        with pytest.raises(TypeError, match="only floating-point types are supported as the "
                                            "default type"):
            lib.set_default_dtype(lib.int64)
    assert hg.get_default_dtype() == hg.float32


def test_dtype_objects():
    assert repr(hg.float32) == "hypergrad.float32"
    assert hg.float is hg.float32 and hg.double is hg.float64 and hg.long is hg.int64
    assert hg.half is hg.float16 and hg.int is hg.int32 and hg.short is hg.int16
    for d in DTYPES:
        h, t = getattr(hg, d), getattr(torch, d)
        assert (h.is_floating_point, h.is_complex, h.is_signed, h.itemsize) == \
            (t.is_floating_point, t.is_complex, t.is_signed, t.itemsize)


# ----------------------------------------------------------------------------------------------
# Factory functions
# ----------------------------------------------------------------------------------------------
def compare(source, values=True, rtol=None, atol=None):
    """Evaluate `source` with each library: same dtype, shape, requires_grad (and values)."""
    t = eval(source, {"L": torch, "np": np})
    h = eval(source, {"L": hg, "np": np})
    assert name(h.dtype) == name(t.dtype)
    assert tuple(h.shape) == tuple(t.shape)
    assert h.requires_grad == t.requires_grad
    if values:
        h_values = torch.from_numpy(np.array(h.detach().numpy()))
        torch.testing.assert_close(h_values, t.detach(), rtol=rtol, atol=atol)


DETERMINISTIC = [
    "L.zeros(2, 3)", "L.zeros((2, 3))", "L.zeros([2, 3])", "L.zeros(L.Size([2, 3]))",
    "L.zeros(())", "L.zeros([])", "L.zeros(0)", "L.zeros(2, dtype=L.int32)",
    "L.zeros(2, dtype=L.bool)", "L.zeros(2, requires_grad=True)", "L.zeros(np.int64(2), 3)",
    "L.zeros(L.tensor(2))", "L.ones(2, 3, dtype=L.float64)", "L.ones(4, dtype=L.uint8)",
    "L.ones((), dtype=L.complex64)", "L.full((2, 3), 1.5)", "L.full((2, 3), 7)",
    "L.full((2, 3), True)", "L.full((2,), 1 + 2j)", "L.full((2,), 7, dtype=L.float32)",
    "L.full([], 7)", "L.full((2,), L.tensor(3.0))", "L.full((2,), L.tensor(3))",
    "L.full((2,), np.float64(3.0))", "L.full((2,), np.int32(3))", "L.full((2,), np.bool_(True))",
    "L.full((2,), 2.5, requires_grad=True)",
    "L.arange(5)", "L.arange(5.0)", "L.arange(1, 4)", "L.arange(0, 1, 0.25)", "L.arange(0, 1, 0.3)",
    "L.arange(1, 2.5)", "L.arange(5, dtype=L.float32)", "L.arange(10, 0, -3)",
    "L.arange(L.tensor(3))", "L.arange(L.tensor(3.0))", "L.arange(np.int64(3))",
    "L.arange(np.float64(3))", "L.arange(np.float32(3))", "L.arange(True)",
    "L.arange(-1.5, 1.5, 0.5)", "L.arange(3.0, requires_grad=True)", "L.arange(0, 1, 0.1)",
    "L.arange(0, 0.3, 0.1)", "L.arange(1, 1.3, 0.1)", "L.arange(-3, 3, 0.7)",
    "L.arange(-3, 3, 0.7, dtype=L.float64)", "L.arange(0.5, dtype=L.int64)",
    "L.arange(0.5, dtype=L.int32)", "L.arange(0.5, 3.7, dtype=L.int64)",
    "L.arange(0.5, 3.7, dtype=L.int32)", "L.arange(2.5, dtype=L.int64)",
    "L.arange(-2.5, 2, dtype=L.int64)", "L.arange(0, 10, 2.5, dtype=L.int64)",
    "L.arange(0, 10, 2.5, dtype=L.int32)", "L.arange(10, -3, -2.5, dtype=L.int64)",
    "L.arange(10, -3, -2.5, dtype=L.int16)", "L.arange(1, 20, 3, dtype=L.uint8)",
    "L.arange(0, 5, dtype=L.float16)", "L.arange(0, 5.5, 0.1, dtype=L.float16)",
    "L.linspace(0, 1, 5)", "L.linspace(0, 1, 1)", "L.linspace(0, 1, 0)", "L.linspace(-1, 1, 7)",
    "L.linspace(0, 10, 5, dtype=L.int64)", "L.linspace(0, 1, 5, dtype=L.int64)",
    "L.linspace(2, 3, 4, dtype=L.float64)", "L.linspace(0.0, 1.0, 3, dtype=L.float16)",
    "L.linspace(L.tensor(0.0), L.tensor(1.0), 3)", "L.linspace(0, 1, 3, requires_grad=True)",
    "L.logspace(0, 2, 3)", "L.logspace(0, 2, 3, base=2)", "L.logspace(0, 2, 3, dtype=L.int64)",
    "L.eye(3)", "L.eye(2, 3)", "L.eye(3, 2)", "L.eye(3, dtype=L.int64)", "L.eye(0)", "L.eye(2, 0)",
    "L.eye(2, requires_grad=True)", "L.tensor([])", "L.tensor([], dtype=L.int64)",
    "L.zeros_like(L.ones(2, 3, dtype=L.int32))", "L.ones_like(L.ones(2, 3, dtype=L.float64))",
    "L.ones_like(L.ones(2, 3, dtype=L.float64), dtype=L.int64)",
    "L.full_like(L.ones(2, dtype=L.int32), 2.7)", "L.full_like(L.ones(2), 2)",
    "L.zeros_like(L.ones(2, requires_grad=True))", "L.zeros_like(L.ones(2), requires_grad=True)",
    "L.ones_like(L.tensor(2.0))", "L.full_like(L.ones(2, 2), 3, dtype=L.bool)",
    "L.ones(2, dtype=float)", "L.ones(2, dtype=int)", "L.ones(2, dtype=bool)",
    "L.ones(2, dtype=complex)", "L.ones(2).to(float)", "L.tensor([1, 2], dtype=float)",
]


@pytest.mark.parametrize("source", DETERMINISTIC)
def test_factory_matches_torch(source):
    compare(source, rtol=1e-3 if "float16" in source else None,
            atol=1e-5 if "float16" in source else None)


RANDOM = [
    "L.rand(2, 3)", "L.rand(2, 3, dtype=L.float64)", "L.rand(())", "L.rand(0, 4)",
    "L.rand(3, requires_grad=True)", "L.rand(2, dtype=L.complex64)", "L.randn(2, 3)",
    "L.randn(2, 3, dtype=L.float16)", "L.randn(4, requires_grad=True)",
    "L.randn(2, dtype=L.complex128)", "L.randint(5, (3,))", "L.randint(2, 5, (3,))",
    "L.randint(5, (3,), dtype=L.int32)", "L.randint(5, (3,), dtype=L.float32)",
    "L.randint(0, 5, (3, 2))", "L.randint(5, size=(3,))", "L.randint(low=1, high=5, size=(3,))",
    "L.randint(high=5, size=(3,))", "L.randperm(5)", "L.randperm(0)",
    "L.randperm(5, dtype=L.float32)", "L.empty(2, 3)", "L.empty(0)", "L.empty((2,), dtype=L.int32)",
    "L.empty_like(L.ones(2, 3))", "L.rand_like(L.ones(2, 3, dtype=L.float64))",
    "L.randn_like(L.ones(2, 3))", "L.randint_like(L.ones(2, 3), 5)",
    "L.randint_like(L.ones(2, 3), 2, 5)", "L.randint_like(L.ones(2, dtype=L.int16), 7)",
    "L.normal(0.0, 1.0, (2, 3))", "L.normal(L.zeros(3), 1.0)",
    "L.normal(L.zeros(3, dtype=L.float64), 1.0)", "L.bernoulli(L.full((3,), 0.5))",
    "L.multinomial(L.tensor([0.2, 0.8]), 2)",
]


@pytest.mark.parametrize("source", RANDOM)
def test_random_factory_dtype_and_shape_match_torch(source):
    compare(source, values=False)


def test_random_values_are_in_range():
    hg.manual_seed(0)
    assert 0 <= hg.rand(1000).numpy().min() and hg.rand(1000).numpy().max() < 1
    ints = hg.randint(2, 5, (1000,)).numpy()
    assert set(ints.tolist()) == {2, 3, 4}
    assert sorted(hg.randperm(10).tolist()) == list(range(10))
    normal = hg.randn(20000).numpy()
    assert abs(normal.mean()) < 0.05 and abs(normal.std() - 1) < 0.05
    z = hg.randn(20000, dtype=hg.complex64).numpy()
    assert abs(np.mean(np.abs(z) ** 2) - 1) < 0.05 and abs(z.imag.std() - z.real.std()) < 0.05


FACTORY_ERRORS = [
    "L.zeros(-1)", "L.zeros(2, -1)", "L.ones(-1)", "L.empty(-1)", "L.full((-1,), 2.0)",
    "L.rand(-1)", "L.randn(2, -3)", "L.randperm(-1)", "L.arange(0, 10, -1)", "L.arange(0, 10, 0)",
    "L.arange(0, 5, dtype=L.bool)", "L.linspace(0, 1, -1)", "L.linspace(0, 1, 5, dtype=L.bool)",
    "L.eye(-1)", "L.eye(2, -1)", "L.rand(2, dtype=L.int64)", "L.rand(2, dtype=L.int32)",
    "L.rand(2, dtype=L.bool)", "L.randn(2, dtype=L.int64)", "L.randn(2, dtype=L.uint8)",
    "L.randn(2, dtype=L.bool)", "L.rand_like(L.ones(2, dtype=L.int64))",
    "L.zeros(2, dtype=L.int64, requires_grad=True)", "L.ones(2, dtype=L.int64, requires_grad=True)",
    "L.arange(5, dtype=L.int64, requires_grad=True)", "L.full((2,), 1, requires_grad=True)",
]


@pytest.mark.parametrize("source", FACTORY_ERRORS)
def test_factory_errors_match_torch(source):
    results = []
    for lib in (torch, hg):
        with pytest.raises(Exception) as info:
            eval(source, {"L": lib, "np": np})
        results.append((type(info.value).__name__, str(info.value)))
    assert results[1] == results[0]


@pytest.mark.parametrize("source", ["L.ones(2.5)", "L.zeros(2, 3.0)", "L.zeros(L.tensor(2.0))"])
def test_factory_sizes_must_be_integers(source):
    for lib in (torch, hg):
        with pytest.raises(TypeError):
            eval(source, {"L": lib})


# ----------------------------------------------------------------------------------------------
# The random generator
# ----------------------------------------------------------------------------------------------
def draw():
    return [hg.rand(3).tolist(), hg.randn(2, 2).tolist(), hg.randint(0, 100, (4,)).tolist(),
            hg.randperm(6).tolist(), hg.normal(0.0, 1.0, (2,)).tolist(),
            hg.bernoulli(hg.full((4,), 0.5)).tolist()]


def test_manual_seed_makes_draws_reproducible():
    hg.manual_seed(1234)
    first = draw()
    hg.manual_seed(1234)
    assert draw() == first
    hg.manual_seed(4321)
    assert draw() != first
    assert hg.initial_seed() == 4321


def test_manual_seed_returns_the_default_generator_and_state_round_trips():
    assert hg.manual_seed(7) is hg.default_generator
    state = hg.get_rng_state()
    first = draw()
    hg.set_rng_state(state)
    assert draw() == first


def test_a_generator_is_independent_of_the_default_one():
    g = hg.Generator().manual_seed(5)
    hg.manual_seed(0)
    a = hg.rand(3, generator=g).tolist()
    b = hg.rand(3).tolist()
    g.manual_seed(5)
    hg.manual_seed(99)
    assert hg.rand(3, generator=g).tolist() == a
    hg.manual_seed(0)
    assert hg.rand(3).tolist() == b


def test_like_factories_follow_the_seed():
    x = hg.ones(2, 3)
    hg.manual_seed(3)
    a = (hg.rand_like(x).tolist(), hg.randn_like(x).tolist(), hg.randint_like(x, 9).tolist())
    hg.manual_seed(3)
    assert (hg.rand_like(x).tolist(), hg.randn_like(x).tolist(),
            hg.randint_like(x, 9).tolist()) == a


def test_no_warnings_from_factories():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hg.zeros(2), hg.arange(3), hg.linspace(0, 1, 3), hg.eye(2), hg.full((2,), 1.0)
