"""The linear-algebra op plugin (ops/linalg.py) against real torch.

matmul is drawn over every case torch distinguishes (1-D . 1-D, matrix @ vector, vector @
matrix, matrix @ matrix, batched operands whose batch dims broadcast, 1-D with batched), on
float64 values drawn by hypothesis, and must agree with torch on values, dtype, the grad_fn
name (except where ops/linalg.py documents a difference), the gradients for a random
cotangent and the second-order gradients. Then mm, bmm, mv, dot, outer, the operators,
integer dtypes and torch's error messages.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import hypergrad as hg

SETTINGS = settings(max_examples=30, deadline=None)
VALUES = st.floats(-3, 3, allow_nan=False, allow_infinity=False)


# ----------------------------------------------------------------------------------------------
# helpers: run the same function in both libraries and compare
# ----------------------------------------------------------------------------------------------
def assert_same(ours, theirs, rtol=1e-7, atol=1e-7):
    """Same dtype, shape and values."""
    assert isinstance(ours, hg.Tensor), type(ours)
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "hypergrad.")
    assert tuple(ours.shape) == tuple(theirs.shape)
    expected = theirs.detach().numpy(force=True)
    if expected.dtype.kind in "biu":
        np.testing.assert_array_equal(ours.detach().numpy(), expected)
    else:
        np.testing.assert_allclose(ours.detach().numpy(), expected, rtol=rtol, atol=atol)


def assert_same_grads(ours, theirs):
    """Gradients agree; "not connected" (None) and a zero gradient count as the same."""
    for ours_grad, their_grad in zip(ours, theirs):
        if their_grad is None:
            assert ours_grad is None or not np.any(ours_grad.detach().numpy())
        elif ours_grad is None:
            assert not np.any(their_grad.detach().numpy(force=True))
        else:
            assert_same(ours_grad, their_grad)


def second_order(grads, inputs, library):
    """d/d(inputs) of sum(grad * weights): the second-order gradient a user would ask for."""
    total = None
    for i, grad in enumerate(grads):
        if grad is None or not grad.requires_grad:
            continue
        weights = np.random.default_rng(7 + i).standard_normal(tuple(grad.shape))
        term = (grad * library.tensor(weights)).sum()
        total = term if total is None else total + term
    if total is None:
        return [None] * len(inputs)
    return library.autograd.grad(total, inputs, allow_unused=True)


def compare(hg_fn, torch_fn, arrays, *, requires_grad=None, node=True):
    """Run `fn` on float64 tensors made from `arrays` in both libraries and compare everything:
    values, dtype, node name, first- and second-order gradients of the inputs that require
    grad (all of them unless `requires_grad` says otherwise)."""
    requires_grad = requires_grad or [True] * len(arrays)
    ours_in = [hg.tensor(a, requires_grad=r) for a, r in zip(arrays, requires_grad)]
    theirs_in = [torch.tensor(a, requires_grad=r) for a, r in zip(arrays, requires_grad)]
    ours, theirs = hg_fn(*ours_in), torch_fn(*theirs_in)
    assert_same(ours, theirs)
    if node:
        assert ours.grad_fn.name() == theirs.grad_fn.name()
    wrt_ours = [t for t in ours_in if t.requires_grad]
    wrt_theirs = [t for t in theirs_in if t.requires_grad]
    cotangent = np.random.default_rng(3).standard_normal(tuple(theirs.shape))
    ours_grads = hg.autograd.grad(ours, wrt_ours, hg.tensor(cotangent), create_graph=True,
                                  allow_unused=True)
    theirs_grads = torch.autograd.grad(theirs, wrt_theirs, torch.tensor(cotangent),
                                       create_graph=True, allow_unused=True)
    assert_same_grads(ours_grads, theirs_grads)
    # The second-order gradient, also with respect to the cotangent-free inputs' partners.
    assert_same_grads(second_order(ours_grads, wrt_ours, hg),
                      second_order(theirs_grads, wrt_theirs, torch))
    return ours, theirs


@st.composite
def matmul_shapes(draw):
    """Two shapes torch's matmul accepts, over all of its cases, batch dims broadcasting."""
    n, k, m = (draw(st.integers(0 if i == 1 else 1, 3), label=label)
               for i, label in enumerate(("n", "k", "m")))
    batch = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3), label="batch")
    # the other operand's batch dims: a suffix of `batch`, some sizes replaced by 1
    other = tuple(1 if draw(st.booleans()) else s for s in batch)
    other = other[draw(st.integers(0, len(other))):]
    if draw(st.booleans()):
        batch, other = other, batch
    left = draw(st.sampled_from(["vector", "matrix", "batched"]), label="left")
    right = draw(st.sampled_from(["vector", "matrix", "batched"]), label="right")
    shape_a = {"vector": (k,), "matrix": (n, k), "batched": batch + (n, k)}[left]
    shape_b = {"vector": (k,), "matrix": (k, m), "batched": other + (k, m)}[right]
    return shape_a, shape_b


def arrays_of(data, shapes):
    return [data.draw(hnp.arrays(np.float64, s, elements=VALUES), label=f"x{i}")
            for i, s in enumerate(shapes)]


# ----------------------------------------------------------------------------------------------
# matmul: every case
# ----------------------------------------------------------------------------------------------
@SETTINGS
@given(data=st.data())
@example(data=((3,), (3,)))                     # dot
@example(data=((2, 3), (3,)))                   # mv
@example(data=((3,), (3, 4)))                   # vector @ matrix
@example(data=((2, 3), (3, 4)))                 # mm
@example(data=((2, 2, 3), (3, 4)))              # folded into one mm
@example(data=((5, 1, 2, 3), (4, 3, 2)))        # batch dims broadcast both ways
@example(data=((3,), (2, 1, 3, 2)))             # vector @ batched
@example(data=((2, 1, 2, 3), (3,)))             # batched @ vector
@example(data=((2, 3, 0), (2, 0, 4)))           # empty inner dimension
def test_matmul_matches_torch(data):
    if isinstance(data, tuple):
        shapes = data
        arrays = [np.random.default_rng(0).standard_normal(s) for s in shapes]
    else:
        shapes = data.draw(matmul_shapes(), label="shapes")
        arrays = arrays_of(data, shapes)
    compare(lambda a, b: a @ b, lambda a, b: a @ b, arrays)


@SETTINGS
@given(data=st.data())
def test_matmul_with_one_operand_requiring_grad(data):
    shapes = data.draw(matmul_shapes(), label="shapes")
    arrays = arrays_of(data, shapes)
    which = data.draw(st.sampled_from([[True, False], [False, True]]), label="requires_grad")
    compare(hg.matmul, torch.matmul, arrays, requires_grad=which)


@SETTINGS
@given(data=st.data())
def test_matmul_of_transposed_operands(data):
    """torch's choice of product depends on strides: here operands are transposed views."""
    shapes = data.draw(matmul_shapes(), label="shapes")
    flips = [len(s) >= 2 and data.draw(st.booleans(), label=f"flip{i}")
             for i, s in enumerate(shapes)]
    # the leaves hold each operand transposed; the operands are the leaves' .mT views
    leaves = [np.ascontiguousarray(np.swapaxes(x, -1, -2)) if flip else x
              for x, flip in zip(arrays_of(data, shapes), flips)]

    def product(a, b):
        a, b = (t.mT if flip else t for t, flip in zip((a, b), flips))
        return a @ b

    which = data.draw(st.sampled_from([[True, True], [True, False], [False, True]]))
    compare(product, product, leaves, requires_grad=which)


def test_matmul_spellings_agree():
    a, b = np.arange(6.0).reshape(2, 3), np.arange(12.0).reshape(3, 4)
    ours_a, ours_b = hg.tensor(a), hg.tensor(b)
    expected = (torch.tensor(a) @ torch.tensor(b))
    for result in (ours_a @ ours_b, hg.matmul(ours_a, ours_b), ours_a.matmul(ours_b),
                   ours_b.__rmatmul__(ours_a)):
        assert_same(result, expected)


def test_matmul_node_names_match_torch():
    def node(library, *shapes):
        operands = [library.ones(*s, dtype=library.float64, requires_grad=True) for s in shapes]
        return operands[0].matmul(operands[1]).grad_fn.name()

    for shapes in [((3,), (3,)), ((2, 3), (3,)), ((2, 3), (3, 4)), ((2, 2, 3), (2, 3, 4)),
                   ((2, 2, 3), (3, 4)), ((2, 2, 3), (3,)), ((3,), (2, 3, 4))]:
        assert node(hg, *shapes) == node(torch, *shapes), shapes
    assert node(hg, (3,), (3,)) == "DotBackward0"
    assert node(hg, (2, 2, 3), (2, 3, 4)) == "UnsafeViewBackward0"
    assert node(hg, (2, 3), (3,)) == "MvBackward0"


# ----------------------------------------------------------------------------------------------
# mm, bmm, mv, dot, outer
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, make_shapes", [
    ("mm", lambda n, k, m, b: ((n, k), (k, m))),
    ("bmm", lambda n, k, m, b: ((b, n, k), (b, k, m))),
    ("mv", lambda n, k, m, b: ((n, k), (k,))),
    ("dot", lambda n, k, m, b: ((k,), (k,))),
    ("outer", lambda n, k, m, b: ((n,), (m,))),
])
@SETTINGS
@given(data=st.data())
def test_products_match_torch(name, make_shapes, data):
    sizes = data.draw(st.tuples(*(st.integers(1, 4) for _ in range(4))), label="sizes")
    arrays = arrays_of(data, make_shapes(*sizes))
    compare(getattr(hg, name), getattr(torch, name), arrays)
    compare(lambda a, b: getattr(a, name)(b), lambda a, b: getattr(a, name)(b), arrays)


@pytest.mark.parametrize("dtype", ["int64", "int32"])
def test_integer_products_keep_their_dtype(dtype):
    a, b = np.arange(6).reshape(2, 3).astype(dtype), np.arange(12).reshape(3, 4).astype(dtype)
    assert_same(hg.tensor(a) @ hg.tensor(b), torch.tensor(a) @ torch.tensor(b))
    assert_same(hg.tensor(a[0]) @ hg.tensor(a[1]), torch.tensor(a[0]) @ torch.tensor(a[1]))
    assert_same(hg.tensor(np.stack([a, a])) @ hg.tensor(b),
                torch.tensor(np.stack([a, a])) @ torch.tensor(b))


def test_outer_promotes_like_mul():
    a, b = np.array([1, 2, 3]), np.array([0.5, -1.0])
    assert_same(hg.outer(hg.tensor(a), hg.tensor(b)), torch.outer(torch.tensor(a),
                                                                  torch.tensor(b)))


def test_float32_products():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((2, 3, 4), dtype=np.float32), rng.standard_normal((4, 5),
                                                                                dtype=np.float32)
    assert_same(hg.tensor(a) @ hg.tensor(b), torch.tensor(a) @ torch.tensor(b),
                rtol=1.3e-6, atol=1e-5)


# ----------------------------------------------------------------------------------------------
# errors: the same exception type and message as torch
# ----------------------------------------------------------------------------------------------
def _ones(library, shape, dtype="float32"):
    return library.ones(shape, dtype=getattr(library, dtype))


ERRORS = [
    ("mm shapes", "mm", (2, 3), (4, 5), "float32"),
    ("mm dtypes", "mm", (2, 3), (3, 5), "float64"),
    ("mm int and float", "mm", (2, 3), (3, 5), "int64"),
    ("mm of a vector", "mm", (3,), (3, 5), "float32"),
    ("mm by a 3-D tensor", "mm", (2, 3), (2, 3, 5), "float32"),
    ("matmul shapes", "matmul", (2, 3), (4, 5), "float32"),
    ("matmul dtypes", "matmul", (2, 3), (3, 5), "float64"),
    ("matmul 0-D", "matmul", (), (3,), "float32"),
    ("matmul dot sizes", "matmul", (3,), (4,), "float32"),
    ("matmul dot dtypes", "matmul", (3,), (3,), "float64"),
    ("matmul mv sizes", "matmul", (2, 3), (4,), "float32"),
    ("matmul mv dtypes", "matmul", (2, 3), (3,), "float64"),
    ("matmul vector @ matrix sizes", "matmul", (3,), (4, 5), "float32"),
    ("matmul batch sizes", "matmul", (2, 3, 4), (3, 4, 6), "float32"),
    ("matmul batch sizes, dim 1", "matmul", (2, 2, 3, 4), (3, 4, 6), "float32"),
    ("matmul batched inner sizes", "matmul", (2, 3, 4), (2, 5, 6), "float32"),
    ("matmul folded inner sizes", "matmul", (2, 3, 4), (5, 6), "float32"),
    ("matmul folded mv sizes", "matmul", (2, 3, 4), (5,), "float32"),
    ("matmul matrix @ batched sizes", "matmul", (5, 3), (2, 4, 6), "float32"),
    ("matmul batched dtypes", "matmul", (2, 3, 4), (2, 4, 6), "float64"),
    ("bmm of 2-D", "bmm", (3, 4), (2, 4, 6), "float32"),
    ("bmm batch sizes", "bmm", (2, 3, 4), (3, 4, 6), "float32"),
    ("bmm dtypes", "bmm", (2, 3, 4), (2, 4, 6), "float64"),
    ("mv sizes", "mv", (2, 3), (4,), "float32"),
    ("mv dtypes", "mv", (2, 3), (3,), "float64"),
    ("mv of a vector", "mv", (3,), (3,), "float32"),
    ("dot of 2-D", "dot", (3, 1), (3,), "float32"),
    ("dot dtypes", "dot", (3,), (3,), "float64"),
    ("outer of 2-D", "outer", (3, 1), (3,), "float32"),
    ("outer of 0-D", "outer", (), (3,), "float32"),
    ("mm of bool", "mm", (2, 2), (2, 2), "bool"),
    ("bmm of bool", "bmm", (2, 2, 2), (2, 2, 2), "bool"),
    ("dot of bool", "dot", (2,), (2,), "bool"),
]


@pytest.mark.parametrize("label, name, shape_a, shape_b, dtype_b", ERRORS,
                         ids=[e[0] for e in ERRORS])
def test_errors_match_torch(label, name, shape_a, shape_b, dtype_b):
    dtype_a = "bool" if dtype_b == "bool" else "float32"
    with pytest.raises(Exception) as theirs:
        getattr(torch, name)(_ones(torch, shape_a, dtype_a), _ones(torch, shape_b, dtype_b))
    with pytest.raises(type(theirs.value)) as ours:
        getattr(hg, name)(_ones(hg, shape_a, dtype_a), _ones(hg, shape_b, dtype_b))
    assert str(ours.value) == str(theirs.value)


def test_the_brief_s_messages():
    with pytest.raises(RuntimeError, match=r"^mat1 and mat2 shapes cannot be multiplied "
                                           r"\(2x3 and 4x5\)$"):
        hg.ones(2, 3) @ hg.ones(4, 5)
    with pytest.raises(RuntimeError, match="^expected m1 and m2 to have the same dtype, but got: "
                                           "float != double$"):
        hg.mm(hg.ones(2, 3), hg.ones(3, 5, dtype=hg.float64))


def test_matmul_with_a_number_is_a_type_error():
    with pytest.raises(TypeError):
        hg.ones(3) @ 2
    with pytest.raises(TypeError):
        [[1.0, 2.0]] @ hg.ones(2, 2)
    with pytest.raises(TypeError):
        hg.matmul(hg.ones(3), 2)


# ----------------------------------------------------------------------------------------------
# Gradient layouts: torch's mm backward keeps a column-major input's gradient column-major
# ----------------------------------------------------------------------------------------------
def _strides_hooks_see(L, x_column_major, w_column_major, fused):
    """The strides of the gradients that reach the two operands of a product (or of addmm)."""
    seen = {}
    x = (L.ones(3, 4, requires_grad=True) * 1).t() if x_column_major else \
        L.ones(4, 3, requires_grad=True) * 1
    w = (L.ones(5, 3, requires_grad=True) * 1).t() if w_column_major else \
        L.ones(3, 5, requires_grad=True) * 1
    x.register_hook(lambda g: seen.update(x=g.stride()))
    w.register_hook(lambda g: seen.update(w=g.stride()))
    out = L.addmm(L.zeros(5), x, w) if fused else x.mm(w)
    out.sum().backward()
    return seen


@pytest.mark.parametrize("fused", [False, True], ids=["mm", "addmm"])
@pytest.mark.parametrize("x_column_major", [False, True])
@pytest.mark.parametrize("w_column_major", [False, True])
def test_product_gradients_keep_their_inputs_layout_as_in_torch(x_column_major, w_column_major,
                                                                  fused):
    ours = _strides_hooks_see(hg, x_column_major, w_column_major, fused)
    theirs = _strides_hooks_see(torch, x_column_major, w_column_major, fused)
    assert ours == theirs


def test_product_gradient_of_a_row_made_by_transposes_as_in_torch():
    """A 1x4 matrix that went through a transpose: numpy and torch give it different strides
    for the same layout, so the column-major rule must not read them (review finding)."""
    seen = {}
    for L in (hg, torch):
        x = (L.ones(1, 4, requires_grad=True).t() * 1).t()
        x.register_hook(lambda g, L=L: seen.update({L.__name__: g.stride()}))
        x.mm(L.ones(4, 3)).sum().backward()
    assert seen["hypergrad"] == seen["torch"] == (4, 1)


def test_a_linear_layers_weight_gradient_arrives_in_the_weights_layout():
    """W.t() is column-major, so its gradient is too, and W's, through the transpose, has W's
    strides before it reaches AccumulateGrad, as in torch."""
    seen = {}
    for L in (hg, torch):
        layer = L.nn.Linear(4, 3)
        layer.weight.register_hook(lambda g, L=L: seen.update({L.__name__: g.stride()}))
        layer(L.ones(5, 4)).sum().backward()
        np.testing.assert_allclose(np.asarray(layer.weight.grad.tolist()), np.full((3, 4), 5.0))
    assert seen["hypergrad"] == seen["torch"] == (4, 1)
