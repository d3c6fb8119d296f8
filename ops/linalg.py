"""Linear algebra: matmul (and `@`), mm, bmm, mv, dot, outer.

The four products torch implements as kernels are ops here, each with torch's node name:
`dot` (vector . vector, DotBackward0), `mv` (matrix @ vector, MvBackward0), `mm` (matrix @
matrix, MmBackward0) and `bmm` (a batch of matrix products, BmmBackward0). Their backward
formulas are the derivatives.yaml ones, written with the same products, so they can be
differentiated again.

`matmul` is a composite, like torch's `at::native::matmul`: it picks one of the products by the
operands' dimensions (and, as torch, by requires_grad and memory layout) and reshapes around
it (Note [How matmul picks a product]).
`outer` is a composite too, `a.reshape(-1, 1) * b`, as in torch (MulBackward0).

Note [How matmul picks a product]
    As torch's `_matmul_impl` (aten/src/ATen/native/LinearAlgebra.cpp), with a = input and
    b = other, by (a.dim(), b.dim()):
      (1, 1)      dot(a, b)
      (2, 1)      mv(a, b)
      (1, 2)      mm(a.unsqueeze(0), b), then the leading 1 squeezed away (SqueezeBackward4)
      (2, 2)      mm(a, b)
      otherwise, "folding" when `_should_fold` says so: the larger operand (>= 3-D) folds its
                  leading dims into the rows of a matrix, one mm (or mv) multiplies, and
                  `_unsafe_view` gives the result its shape (UnsafeViewBackward0). If b is the
                  larger, this computes b.mT @ a (a 1-D) or (b.mT @ a.mT).mT, made contiguous
                  (CloneBackward0, or TransposeBackward0 if it already is);
      otherwise   the batch dims of both broadcast; each operand is expanded to them and
                  reshaped to 3-D, `bmm` multiplies, and `_unsafe_view` gives the final shape.
                  A 1-D operand acts as a row (a) or a column (b), whose dim is then dropped.
    Which path runs depends on requires_grad and on memory layout (strides), as in torch, so
    the node on top of a matmul is torch's; the values and gradients are the same either way.
"""

from __future__ import annotations

import math

import numpy as np

from hypergrad.conformance.domains import ALL_REAL, ErrorSample, Sample, SampleTensor
from hypergrad.plugins import Op, op_function
from hypergrad.tensor import Tensor

# The C type names torch's mm prints in its dtype-mismatch message.
_C_TYPE_NAME = {"float32": "float", "float64": "double", "float16": "c10::Half",
                "int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char",
                "uint8": "unsigned char", "bool": "bool", "complex64": "c10::complex<float>",
                "complex128": "c10::complex<double>"}

# torch's short scalar-type names, as in "expected scalar type Float but found Double".
_TYPE_NAME = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
              "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool",
              "complex64": "ComplexFloat", "complex128": "ComplexDouble"}


def _reject_bool(a, kernel):
    """torch's CPU kernels have no bool products."""
    if a.dtype == np.bool_:
        raise NotImplementedError(f"\"{kernel}\" not implemented for 'Bool'")


def _shape_text(shape):
    return "x".join(str(s) for s in shape)


def _product_samples(kind):
    """Two tensors with matching inner sizes: "dot", "mv", "mm" or "bmm"."""

    def samples(g):
        b, n, k, m = (g.integers(1, 3) for _ in range(4))
        shapes = {"dot": ((k,), (k,)), "mv": ((n, k), (k,)), "mm": ((n, k), (k, m)),
                  "bmm": ((b, n, k), (b, k, m))}[kind]
        return Sample((g.tensor(shapes[0]), g.tensor(shapes[1])))

    return samples


# ----------------------------------------------------------------------------------------------
# The four products
# ----------------------------------------------------------------------------------------------
class Dot(Op):
    """Inner product of two 1-D tensors of the same size and dtype.

    out = sum(a * b);  d/da = grad * b;  d/db = grad * a
    """

    name = "dot"
    methods = ("dot",)
    inputs = 2
    reference = "torch.dot"
    samples = _product_samples("dot")
    dtypes = ALL_REAL

    def forward(ctx, a, b):
        if a.ndim != 1 or b.ndim != 1:
            raise RuntimeError(f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
        if a.shape != b.shape:
            raise RuntimeError(f"inconsistent tensor size, expected tensor [{a.shape[0]}] and "
                               f"src [{b.shape[0]}] to have the same number of elements, but "
                               f"got {a.shape[0]} and {b.shape[0]} elements respectively")
        if a.dtype != b.dtype:
            raise RuntimeError("dot : expected both vectors to have same dtype, but found "
                               f"{_TYPE_NAME[a.dtype.name]} and {_TYPE_NAME[b.dtype.name]}")
        _reject_bool(a, "dot")
        ctx.save_for_backward(a, b)
        return np.asarray(np.dot(a, b))

    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return grad * b, grad * a


class Mv(Op):
    """Matrix-vector product of a 2-D and a 1-D tensor.

    out = a @ v;  d/da = outer(grad, v);  d/dv = a.t() @ grad
    """

    name = "mv"
    methods = ("mv",)
    inputs = 2
    reference = "torch.mv"
    samples = _product_samples("mv")
    dtypes = ALL_REAL

    def forward(ctx, a, v):
        if a.ndim != 2 or v.ndim != 1:
            raise RuntimeError(f"vector + matrix @ vector expected, got 1, {a.ndim}, {v.ndim}")
        if a.shape[1] != v.shape[0]:
            raise RuntimeError(f"size mismatch, got input ({a.shape[0]}), mat "
                               f"({_shape_text(a.shape)}), vec ({v.shape[0]})")
        if a.dtype != v.dtype:
            vec, mat = _TYPE_NAME[v.dtype.name], _TYPE_NAME[a.dtype.name]
            raise RuntimeError(f"addmv input tensors must have the same dtype, but got {vec}, "
                               f"{mat}, and {vec}")
        _reject_bool(a, "addmv_impl_cpu")
        ctx.save_for_backward(a, v)
        return a @ v

    def backward(ctx, grad):
        a, v = ctx.saved_tensors
        return outer(grad, v), a.t().mv(grad)


class Mm(Op):
    """Matrix product of two 2-D tensors of the same dtype.

    out = a @ b;  d/da = grad @ b.t();  d/db = a.t() @ grad
    """

    name = "mm"
    methods = ("mm",)
    inputs = 2
    reference = "torch.mm"
    samples = _product_samples("mm")
    dtypes = ALL_REAL

    def forward(ctx, a, b):
        if a.ndim != 2:
            raise RuntimeError("self must be a matrix")
        if b.ndim != 2:
            raise RuntimeError("mat2 must be a matrix")
        if a.shape[1] != b.shape[0]:
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied "
                               f"({_shape_text(a.shape)} and {_shape_text(b.shape)})")
        if a.dtype != b.dtype:
            raise RuntimeError("expected m1 and m2 to have the same dtype, but got: "
                               f"{_C_TYPE_NAME[a.dtype.name]} != {_C_TYPE_NAME[b.dtype.name]}")
        _reject_bool(a, "addmm_impl_cpu_")
        ctx.save_for_backward(a, b)
        return a @ b

    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return grad.mm(b.t()), a.t().mm(grad)


class Bmm(Op):
    """A batch of matrix products: two 3-D tensors with the same batch size and dtype.

    out[i] = a[i] @ b[i];  d/da = grad @ b.transpose(1, 2);  d/db = a.transpose(1, 2) @ grad
    """

    name = "bmm"
    methods = ("bmm",)
    inputs = 2
    reference = "torch.bmm"
    samples = _product_samples("bmm")
    dtypes = ALL_REAL

    def forward(ctx, a, b):
        if a.ndim != 3:
            raise RuntimeError("batch1 must be a 3D tensor")
        if b.ndim != 3:
            raise RuntimeError("batch2 must be a 3D tensor")
        if a.dtype != b.dtype:
            raise RuntimeError(f"expected scalar type {_TYPE_NAME[a.dtype.name]} but found "
                               f"{_TYPE_NAME[b.dtype.name]}")
        if b.shape[:2] != (a.shape[0], a.shape[2]):
            raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                               f"[{a.shape[0]}, {a.shape[2]}] but got: [{b.shape[0]}, "
                               f"{b.shape[1]}].")
        _reject_bool(a, "bmm")
        ctx.save_for_backward(a, b)
        return a @ b

    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return grad.bmm(b.transpose(1, 2)), a.transpose(1, 2).bmm(grad)


class UnsafeView(Op):
    """`input` with a new shape, as a new tensor rather than a view (torch's `_unsafe_view`).

    matmul uses it to give a product its final shape.
    out = reshape(a, shape);  d/da = grad.reshape(a.shape)
    """

    node_name = "UnsafeViewBackward0"

    def forward(ctx, a, shape):
        ctx.input_shape = a.shape
        return a.reshape(shape)

    def backward(ctx, grad):
        return grad.reshape(ctx.input_shape)


class SqueezeRow(Op):
    """The (1, m) product of vector @ matrix without its leading dim.

    torch squeezes that fresh product in place (`squeeze_(0)`), which records
    SqueezeBackward4; nothing else can see the product, so doing it out of place is the same.
    out = a.reshape(a.shape[1:]);  d/da = grad.unsqueeze(0)
    """

    node_name = "SqueezeBackward4"

    def forward(ctx, a):
        return a.reshape(a.shape[1:])

    def backward(ctx, grad):
        return grad.unsqueeze(0)


# ----------------------------------------------------------------------------------------------
# matmul, outer
# ----------------------------------------------------------------------------------------------
def _broadcast_batch(batch_a, batch_b):
    """The broadcast of two batch shapes, with torch's message when they do not broadcast."""
    ndim = max(len(batch_a), len(batch_b))
    batch_a = (1,) * (ndim - len(batch_a)) + tuple(batch_a)
    batch_b = (1,) * (ndim - len(batch_b)) + tuple(batch_b)
    out = []
    for i, (x, y) in enumerate(zip(batch_a, batch_b)):
        if x != y and x != 1 and y != 1:
            raise RuntimeError(f"The size of tensor a ({x}) must match the size of tensor b "
                               f"({y}) at non-singleton dimension {i}")
        out.append(y if x == 1 else x)
    return tuple(out)


def _should_fold(input, other):
    """torch's should_fold: can one mm (or mv) do the product (Note [How matmul picks...])?

    The larger operand (`other` transposed, if it is the larger) must be >= 3-D and the other
    <= 2-D. Fold if the smaller operand requires grad: its gradient then comes out of one mm,
    never as a batch of products to sum. Otherwise fold only if it costs no copy: not for a
    2-D `input` (the result would need one), and only if the larger operand's leading dims can
    merge into one without copying (by its strides).
    """
    if input.dim() >= other.dim():
        smaller, shape, strides = other, input.shape, input.stride()
    else:  # the larger is other.mT: its last two sizes and strides swap
        smaller, shape, strides = input, other.shape, other.stride()
        shape = shape[:-2] + (shape[-1], shape[-2])
        strides = strides[:-2] + (strides[-1], strides[-2])
    if len(shape) < 3 or smaller.dim() > 2:
        return False
    if smaller.requires_grad:
        return True
    if input.dim() == 2:
        return False
    if math.prod(shape) == 0:
        return True
    return all(strides[i] == strides[i + 1] * shape[i + 1] for i in range(len(shape) - 2))


def _folded_matmul(input, other):
    """One mm (or mv): the larger operand's leading dims fold into the rows of a matrix.

    When `other` is the larger, compute (other.mT @ input.mT).mT instead, as torch does.
    """
    transpose = other.dim() > input.dim()
    if transpose:
        larger, smaller = other.mT, (input.t() if input.dim() == 2 else input)
    else:
        larger, smaller = input, other
    rows = tuple(larger.shape[:-1])
    folded = larger.reshape(math.prod(rows), larger.shape[-1])
    if smaller.dim() == 1:
        return UnsafeView.apply(Mv.apply(folded, smaller), rows)
    out = UnsafeView.apply(Mm.apply(folded, smaller), rows + (smaller.shape[1],))
    return out.mT.contiguous() if transpose else out


def _batched_matmul(input, other):
    """The general case: batch dims broadcast, both operands expand to them, one bmm."""
    if input.dim() == 3 and other.dim() == 3 and input.shape[0] != other.shape[0]:
        # a batch of one that requires grad is squeezed away, so the product can fold
        if input.shape[0] == 1 and input.requires_grad:
            return matmul(input.squeeze(0), other)
        if other.shape[0] == 1 and other.requires_grad:
            return matmul(input, other.squeeze(0))
    n = input.shape[-2] if input.dim() > 1 else 1
    k = input.shape[-1]
    k2 = other.shape[-2] if other.dim() > 1 else other.shape[0]
    m = other.shape[-1] if other.dim() > 1 else 1
    batch = _broadcast_batch(input.shape[:-2], other.shape[:-2])
    size = math.prod(batch)
    a3 = input.expand(batch + (n, k)).reshape(size, n, k)
    shape = batch + ((n,) if input.dim() > 1 else ()) + ((m,) if other.dim() > 1 else ())
    if other.dim() == 1:
        b3 = other.expand(batch + (k2,)).reshape(size, k2).unsqueeze(2)
        return UnsafeView.apply(a3.bmm(b3).squeeze(-1), shape)
    b3 = other.expand(batch + (k2, m)).reshape(size, k2, m)
    return UnsafeView.apply(a3.bmm(b3), shape)


def _matmul_samples(g):
    """Every case of Note [How matmul picks a product], with broadcastable batch dims."""
    n, k, m = g.integers(1, 3), g.integers(1, 3), g.integers(1, 3)
    case = g.sampled_from(["dot", "mv", "vm", "mm", "batched", "batched_vec", "vec_batched",
                           "fold"])
    batch = g.shape(min_dims=1, max_dims=2, max_side=3)
    other_batch = tuple(s if g.booleans() else 1 for s in batch)[g.integers(0, len(batch)):]
    shapes = {"dot": ((k,), (k,)), "mv": ((n, k), (k,)), "vm": ((k,), (k, m)),
              "mm": ((n, k), (k, m)), "batched": (batch + (n, k), other_batch + (k, m)),
              "batched_vec": ((k,), batch + (k, m)), "vec_batched": (batch + (n, k), (k,)),
              "fold": (batch + (n, k), (k, m))}[case]
    return Sample((g.tensor(shapes[0]), g.tensor(shapes[1])))


def _error_sample(shape_a, shape_b, dtype_b, message):
    a = SampleTensor(np.ones(shape_a, dtype=np.float32), False)
    b = SampleTensor(np.ones(shape_b, dtype=dtype_b), False)
    return ErrorSample(Sample((a, b)), RuntimeError, message)


@op_function("matmul", methods=("matmul", "__matmul__", "__rmatmul__"),
             reference="torch.matmul", samples=_matmul_samples, dtypes=ALL_REAL,
             node_names=("DotBackward0", "MvBackward0", "MmBackward0", "SqueezeBackward4",
                         "UnsafeViewBackward0", "CloneBackward0", "TransposeBackward0"),
             error_samples=(
                 _error_sample((2, 3), (4, 5), np.float32,
                               r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)"),
                 _error_sample((2, 3), (3, 5), np.float64,
                               "expected m1 and m2 to have the same dtype, but got: float != "
                               "double")))
def matmul(input, other):
    """Matrix product with torch's rules for 1-D operands and broadcast batch dims.

    1-D @ 1-D is `dot`, 2-D @ 1-D `mv`, 2-D @ 2-D `mm`; a 1-D operand otherwise acts as a row
    (left) or column (right) whose dimension is dropped from the result; leading (batch) dims
    broadcast, and one mm or a bmm does the work (Note [How matmul picks a product]).
    The gradients are those of the products used.
    """
    for position, (name, value) in enumerate((("input", input), ("other", other)), 1):
        if not isinstance(value, Tensor):
            raise TypeError(f"matmul(): argument '{name}' (position {position}) must be Tensor, "
                            f"not {type(value).__name__}")
    dims = (input.dim(), other.dim())
    if 0 in dims:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are "
                           f"{dims[0]}D and {dims[1]}D")
    if dims == (1, 1):
        return Dot.apply(input, other)
    if dims == (2, 1):
        return Mv.apply(input, other)
    if dims == (1, 2):
        return SqueezeRow.apply(Mm.apply(input.unsqueeze(0), other))
    if dims == (2, 2):
        return Mm.apply(input, other)
    if _should_fold(input, other):
        return _folded_matmul(input, other)
    return _batched_matmul(input, other)


def _outer_samples(g):
    return Sample((g.tensor((g.integers(1, 4),)), g.tensor((g.integers(1, 4),))))


@op_function("outer", methods=("outer",), reference="torch.outer", samples=_outer_samples,
             dtypes=ALL_REAL,
             node_names=("MulBackward0",))
def outer(input, vec2):
    """Outer product of two 1-D tensors: out[i, j] = input[i] * vec2[j].

    A composite, as in torch: input.reshape(-1, 1) * vec2, so its node is MulBackward0.
    """
    for name, value in (("self", input), ("vec2", vec2)):
        if value.dim() != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {value.dim()}-D")
    return input.reshape(-1, 1) * vec2
