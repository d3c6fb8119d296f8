"""float16 as torch computes it: arithmetic in float32, rounded once; sums accumulated in float32.

torch's CPU kernels compute float16 ("Half") in float32, its "opmath" type, and accumulate
float16 reductions in float32 (its `acc_type`), rounding the result to float16 once. numpy
rounds a Python operand to float16 first and, given a float16 `dtype`, sums in float16. These
tests hold HyperGrad to torch's answers, bit for bit (ops/arithmetic.py's Note [A float16
tensor times a Python number], ops/reduction.py's `_accumulated`).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import hypergrad as hg

HALVES = hnp.arrays(np.float16, hnp.array_shapes(min_dims=1, max_dims=2, max_side=6),
                    elements=st.floats(-1e4, 1e4, width=16))
NUMBERS = st.one_of(st.floats(-1e5, 1e5, allow_subnormal=False).filter(lambda v: v != 0),
                    st.integers(-100000, 100000).filter(lambda v: v != 0))


def same_bits(ours, theirs):
    ours, theirs = ours.detach().numpy(), theirs.detach().numpy()
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("op", ["mul", "div", "add", "sub", "maximum", "pow", "gt", "eq"])
@settings(max_examples=30, deadline=None)
@given(values=HALVES, number=NUMBERS)
@example(values=np.ones(3, np.float16), number=100000)     # 1 / 100000 is 1e-05, not 1 / inf
@example(values=np.full(2, 3, np.float16), number=0.1)     # 0.1 is not rounded to float16 first
@example(values=np.ones(2, np.float16), number=1e-5)
def test_a_float16_tensor_and_a_python_number_as_in_torch(op, values, number):
    if op == "pow":
        number = float(np.clip(number, -3, 3))
    if op == "maximum":   # maximum takes two tensors; the number becomes a 0-dim float16 tensor
        ours = hg.maximum(hg.tensor(values), hg.tensor(number, dtype=hg.float16))
        theirs = torch.maximum(torch.tensor(values), torch.tensor(number, dtype=torch.float16))
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours = getattr(hg, op)(hg.tensor(values), number)
            theirs = getattr(torch, op)(torch.tensor(values), number)
    same_bits(ours, theirs)


@settings(max_examples=20, deadline=None)
@given(values=HALVES, number=NUMBERS)
@example(values=np.full(3, 7, np.float16), number=0.1)
def test_float16_products_with_numbers_differentiate_as_in_torch(values, number):
    grads = []
    for L in (hg, torch):
        x = L.tensor(values, requires_grad=True)
        ((x * number) / number).sum().backward()
        grads.append(x.grad)
    same_bits(*grads)


def test_in_place_float16_product_with_a_number_as_in_torch():
    ours, theirs = hg.full((4,), 3.0, dtype=hg.float16), torch.full((4,), 3.0,
                                                                    dtype=torch.float16)
    ours.mul_(0.1)
    theirs.mul_(0.1)
    same_bits(ours, theirs)


REDUCTIONS = {
    "sum": lambda L, x: x.sum(),
    "sum(dim)": lambda L, x: x.sum(-1),
    "mean": lambda L, x: x.mean(),
    "mean(dim)": lambda L, x: x.mean(-1, keepdim=True),
    "cumsum": lambda L, x: x.cumsum(-1),
    "vector_norm": lambda L, x: L.linalg.vector_norm(x),
    "norm(dim)": lambda L, x: x.norm(dim=-1),
}


@pytest.mark.parametrize("reduction", REDUCTIONS.values(), ids=REDUCTIONS.keys())
@settings(max_examples=20, deadline=None)
@given(values=hnp.arrays(np.float16, st.tuples(st.integers(1, 3), st.integers(1, 3000)),
                         elements=st.floats(-100, 100, width=16)))
@example(values=np.ones((1, 100000), np.float16))   # mean 1, not inf; cumsum reaches inf
@example(values=np.full((2, 3000), 0.1, np.float16))
def test_float16_reductions_accumulate_in_float32_as_in_torch(reduction, values):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        same_bits(reduction(hg, hg.tensor(values)), reduction(torch, torch.tensor(values)))


def test_the_gradient_of_a_long_float16_mean_is_not_zero():
    grads = []
    for L in (hg, torch):
        x = L.ones(100000, dtype=L.float16, requires_grad=True)
        x.mean().backward()
        grads.append(x.grad)
    same_bits(*grads)
    assert grads[0][0].item() == pytest.approx(1e-5, rel=2e-3)


@pytest.mark.parametrize("dtype", ["int64", "float32"])
@pytest.mark.parametrize("reduction", ["sum", "cumsum"])
def test_a_float16_result_dtype_rounds_the_input_first_as_torch(dtype, reduction):
    """`x.sum(dtype=float16)` converts x to float16, then sums in float32 (review finding)."""
    rng = np.random.default_rng(5)
    values = np.concatenate([[100000, -100000, 1], rng.uniform(-50, 50, 600)]).astype(dtype)
    results = []
    for L in (hg, torch):
        x = L.tensor(values)
        results.append(x.sum(dtype=L.float16) if reduction == "sum" else
                       x.cumsum(0, dtype=L.float16))
    same_bits(*results)


@pytest.mark.parametrize("op", ["mul", "div"])
def test_a_python_number_first_is_rounded_to_float16_as_torch(op):
    """torch computes in float32 only with the number second; first, it is rounded first."""
    values = np.array([1.1, -7.7, 9.9], np.float16)
    same_bits(getattr(hg, op)(0.3, hg.tensor(values)),
              getattr(torch, op)(0.3, torch.tensor(values)))
    same_bits(0.3 * hg.tensor(values), 0.3 * torch.tensor(values))   # __rmul__: number second
    same_bits(0.3 / hg.tensor(values), 0.3 / torch.tensor(values))
