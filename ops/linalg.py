"""Linear algebra: the matrix products and `torch.linalg`.

Products. The four products torch implements as kernels are ops here, each with torch's node
name: `dot` (DotBackward0), `mv` (MvBackward0), `mm` (MmBackward0) and `bmm` (BmmBackward0),
with `vdot`, and the fused `addmm`, `addmv`, `baddbmm` (`beta * input + alpha * product`).
Their backward formulas are the derivatives.yaml ones, written with the same products, so they
can be differentiated again. `matmul` (and `@`) is a composite, like torch's
`at::native::matmul` (Note [How matmul picks a product]); so are `outer`, `inner`, `kron`,
`tensordot`, `einsum` (Note [How einsum contracts]), `linalg.multi_dot` and `linalg.vecdot`:
their graphs are made of the ops torch uses, so their nodes are torch's.

torch.linalg. `linalg.inv`, `det`, `slogdet`, `solve`, `cholesky`, `qr`, `eigh`, `svd`, `pinv`
and `lstsq` are ops whose forward calls LAPACK through numpy.linalg and whose backward is the
formula of torch/csrc/autograd/FunctionsManual.cpp (linalg_det_backward, svd_backward, ...),
written in HyperGrad ops (matmul, solve, tril, ...) so that it has a gradient itself
(Note [Decompositions]). `eigvalsh`, `svdvals`, `matrix_norm`, `norm`, `matrix_power` are
composites of those, as in torch. Top-level aliases where torch has them: `det`, `inverse`,
`slogdet`, `pinverse`, `matrix_power`. `linalg.solve_triangular` needs no factorization: it
solves by substitution, in numpy (Note [Triangular solves by substitution]), and the backward
formulas that torch writes with triangular solves (cholesky's, qr's) use it too.

Note [How matmul picks a product]).
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

Note [How einsum contracts]
    As torch's `at::native::einsum` (aten/src/ATen/native/Linear.cpp). Every label gets a
    position: first the output labels (the ellipsis dims where the output has them), then the
    labels to sum over. Each operand takes diagonals for a label it repeats (`diagonal` +
    `movedim`), gains size-1 dims for labels it lacks (`unsqueeze`) and is permuted to that
    order (`permute`). The operands are then combined left to right: a label that only the
    left or only the right operand still has is summed at once (`sum`), and the pair is
    multiplied with one `bmm` after folding its dims into (shared, left-only, summed) and
    (shared, summed, right-only) - or with `mul` when there is nothing to sum. At the end the
    summed dims (now of size 1) are dropped with a `view` (or summed, for one operand). So
    there is no einsum node: the gradient is that of the permutes, diagonals, sums and bmms,
    as in torch, and the node on top is torch's (ViewBackward0, PermuteBackward0, ...).

Note [Decompositions]
    numpy.linalg calls LAPACK, as torch does, so a forward is one numpy call plus torch's
    checks. Each backward is the formula torch uses, line for line: for example the gradient
    of `inv` is `-inv.mT @ grad @ inv.mT`, and that of `eigh` is
    `V ((V^T gV - (V^T gV)^T) / 2 / E + diag(gL)) V^T` with E_ij = L_j - L_i. Formulas that
    divide by eigenvalue or singular-value gaps are finite only when those are distinct: torch
    and HyperGrad then both give inf or NaN. Ops with several outputs set
    `materialize_grads = False`, so their backward gets None for an output nobody used (as
    torch's formulas get an undefined gradient) and skips its terms, as torch does: the
    gradient of the eigenvalues alone is finite even when eigenvalues repeat.

Note [Signs of eigenvectors and singular vectors]
    An eigenvector (and a pair of singular vectors) is unique only up to its sign, and LAPACK
    builds choose differently: torch's MKL and numpy's OpenBLAS return opposite signs for
    some matrices. HyperGrad returns what its LAPACK returns, as torch does; values that do
    not depend on the signs (eigenvalues, singular values, U diag(S) Vh, pinv, gradients of
    sign-invariant functions) agree with torch. The conformance references of `eigh` and
    `svd` flip the signs of torch's vectors to numpy's before comparing. They flip them in the
    output's storage, so torch's node and the tensors it saved are untouched and its backward
    computes the gradient of the flipped (equally valid) output.

Note [LAPACK errors]
    torch raises `torch.linalg.LinAlgError`, a RuntimeError, when LAPACK reports a failure,
    and says where: "linalg.inv: (Batch element 1): The diagonal element 3 is zero, ...".
    numpy only says "Singular matrix", so HyperGrad finds the place as LAPACK does, with the
    same steps in plain numpy (`_first_zero_pivot` for LU, `_first_failing_minor` for
    Cholesky), and raises `hypergrad.linalg.LinAlgError` with torch's message.

Note [Non-finite inputs]
    What LAPACK returns for a matrix with inf or NaN is not specified, and MKL (torch) and
    OpenBLAS (numpy) differ. HyperGrad follows torch where torch has a rule: an SVD of a
    non-finite matrix raises LinAlgError; Cholesky fails at the first pivot that is not
    positive (NaN included); a NaN anywhere in a matrix makes all of its inverse NaN; slogdet's
    sign is 0 where its logabsdet is NaN. Beyond that the results may differ (the `special`
    divergences of the ops say which).

Note [Triangular solves by substitution]
    With A lower triangular, row k of A X = B reads a_kk x_k + sum_{j<k} a_kj x_j = b_k: the
    rows of X follow one after the other from the first (forward substitution; an upper A is
    solved from the last row up, back substitution). torch calls BLAS trsm for this, and
    `_substitute` takes the steps of the reference trsm, in its order: once row k of X is known,
    a_ik x_k is subtracted from every row i not solved yet. One Python loop runs over the n
    rows; each step is vectorized over the batch and the columns of B. Following trsm, rather
    than solving with a general LU, keeps where an inf or a NaN goes: a NaN in column j of B
    stays in column j, and reaches only the rows solved after it; the other triangle of A (and
    its diagonal, if unitriangular) is never read, so a NaN there changes nothing. X A = B
    (left=False) is A^T X^T = B^T, solved the same way. What stays different is rounding at the
    edges of the float range: MKL's kernels (torch's) sum the terms of a row in an order that
    depends on the size and layout, and fuse some multiply-adds (one rounding, so a product that
    overflows on its own does not become inf first). Sums of huge or tiny values then round
    differently, and now and then an inf in one library is a NaN (inf - inf, or 0 * inf) in the
    other; the `special` divergence of linalg.solve_triangular says so.
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

import hypergrad
from hypergrad.conformance.domains import (ALL_REAL, BOOL_AND_REAL, FLOATING,
                                           ILL_CONDITIONED_SUMS, ErrorSample, Sample,
                                           SampleTensor, error_sample, on_some_inputs)
from hypergrad.linalg import LinAlgError
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


# Products sum terms, so they declare ILL_CONDITIONED_SUMS as tolerances (Note [Sums of huge
# values are ill-conditioned] in conformance/domains.py).

# With infinities of both signs in a row and column, a product's sum meets inf - inf or not
# depending on the order the BLAS kernel adds in: MKL's and OpenBLAS's orders differ.
_BLAS_INF_ORDER = on_some_inputs(
    "with infinities of both signs in one sum, torch's MKL and numpy's OpenBLAS kernels add in "
    "different orders, so an element is NaN in one and +-inf in the other; see Note "
    "[Non-finite inputs]")


def _reject_bool(a, kernel):
    """torch's CPU kernels have no bool products."""
    if a.dtype.kind == "b":
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
    tolerances = ILL_CONDITIONED_SUMS
    divergences = {"special": _BLAS_INF_ORDER}

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
        need_a, need_b = ctx.needs_input_grad
        return grad * b if need_a else None, grad * a if need_b else None


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
    tolerances = ILL_CONDITIONED_SUMS
    divergences = {"special": _BLAS_INF_ORDER}

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
        need_a, need_v = ctx.needs_input_grad
        return outer(grad, v) if need_a else None, a.t().mv(grad) if need_v else None


def _column_major(t):
    """torch's test for a column-major matrix: strides (1, rows), counted in elements. Only for
    matrices without a dimension of size 1: there numpy and torch choose different strides for
    the same layout, and the test would read numpy's."""
    data = t._data
    rows, columns = data.shape
    return rows > 1 and columns > 1 and data.strides[0] == data.itemsize and \
        data.strides[1] == rows * data.itemsize


def _mm_mat1_backward(grad, mat1, mat2):
    """grad @ mat2^T, column-major when mat1 is (torch's `mm_mat1_backward`, which keeps a
    gradient in its input's layout: `x @ W.t()` in a linear layer gives W.t() a column-major
    gradient, so W's, through the transpose, is row-major and `.grad` can take it as it is)."""
    if _column_major(mat1):
        return mat2.mm(grad.t()).t()
    return grad.mm(mat2.t())


def _mm_mat2_backward(grad, mat1, mat2):
    """mat1^T @ grad, column-major when mat2 is (torch's `mm_mat2_backward`)."""
    if _column_major(mat2):
        return grad.t().mm(mat1).t()
    return mat1.t().mm(grad)


def _check_mm(a, b):
    """torch's error for operands `mm` refuses."""
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
    tolerances = ILL_CONDITIONED_SUMS
    divergences = {"special": _BLAS_INF_ORDER}

    def forward(ctx, a, b):
        if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0] or a.dtype != b.dtype or \
                a.dtype.kind == "b":
            _check_mm(a, b)   # one test for the valid case; torch's error for the others
        ctx.save_for_backward(a, b)
        return np.matmul(a, b)

    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad   # torch computes only what is asked for
        return (_mm_mat1_backward(grad, a, b) if need_a else None,
                _mm_mat2_backward(grad, a, b) if need_b else None)


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
    tolerances = ILL_CONDITIONED_SUMS
    divergences = {"special": _BLAS_INF_ORDER}

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
        need_a, need_b = ctx.needs_input_grad
        return (grad.bmm(b.transpose(1, 2)) if need_a else None,
                a.transpose(1, 2).bmm(grad) if need_b else None)


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
             tolerances=ILL_CONDITIONED_SUMS, divergences={"special": _BLAS_INF_ORDER},
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
    if isinstance(input, Tensor) and isinstance(other, Tensor) and input._data.ndim == 2 == \
            other._data.ndim:   # the common case first: a 2-D product
        return Mm.apply(input, other)
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


# ----------------------------------------------------------------------------------------------
# vdot, and the fused products addmm, addmv, baddbmm
# ----------------------------------------------------------------------------------------------
class Vdot(Op):
    """Inner product of two 1-D tensors, the first conjugated (for real tensors, `dot`).

    out = sum(conj(a) * b);  d/da = grad * b;  d/db = grad * a
    """

    name = "vdot"
    methods = ("vdot",)
    inputs = 2
    reference = "torch.vdot"
    samples = _product_samples("dot")
    dtypes = ALL_REAL
    tolerances = ILL_CONDITIONED_SUMS
    divergences = {"special": _BLAS_INF_ORDER}

    def forward(ctx, a, b):
        if a.ndim != 1 or b.ndim != 1:
            raise RuntimeError(f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
        if a.dtype != b.dtype:
            raise RuntimeError("dot : expected both vectors to have same dtype, but found "
                               f"{_TYPE_NAME[a.dtype.name]} and {_TYPE_NAME[b.dtype.name]}")
        if a.shape != b.shape:
            raise RuntimeError(f"inconsistent tensor size, expected tensor [{a.shape[0]}] and "
                               f"src [{b.shape[0]}] to have the same number of elements, but "
                               f"got {a.shape[0]} and {b.shape[0]} elements respectively")
        _reject_bool(a, "dot")
        ctx.save_for_backward(a, b)
        return np.asarray(np.dot(a, b))

    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return grad * b if need_a else None, grad * a if need_b else None


def _scaled(x, factor):
    """`x * factor`, or `x` itself when factor is 1 (torch's maybe_multiply)."""
    return x if factor == 1 else x * factor


def _same_shape_or_expand(a, shape):
    """`a` broadcast to `shape` (the product's), with torch's messages when it cannot be."""
    lead = len(shape) - a.ndim
    if lead < 0:
        raise RuntimeError(f"expand(torch.{_TENSOR_TYPE[a.dtype.name]}{{{list(a.shape)}}}, "
                           f"size={list(shape)}): the number of sizes provided ({len(shape)}) "
                           f"must be greater or equal to the number of dimensions in the tensor "
                           f"({a.ndim})")
    for i, size in enumerate(a.shape):
        if size != 1 and size != shape[lead + i]:
            raise RuntimeError(f"The expanded size of the tensor ({shape[lead + i]}) must match "
                               f"the existing size ({size}) at non-singleton dimension "
                               f"{lead + i}.  Target sizes: {list(shape)}.  Tensor sizes: "
                               f"{list(a.shape)}")
    return np.broadcast_to(a, shape)


# torch's legacy tensor type names, as expand's message prints them.
_TENSOR_TYPE = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
                "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor",
                "int8": "CharTensor", "uint8": "ByteTensor", "bool": "BoolTensor"}


def _fused(input, product, beta, alpha, blas=True):
    """beta * input + alpha * product, as torch computes it: beta and alpha are first cast to
    the tensors' dtype (integers truncate, tiny floats become 0); beta == 0 ignores input (its
    NaNs too), and so does alpha == 0 the product where BLAS computes it (mm, mv; not bmm)."""
    if input.dtype.kind in "biu":
        beta, alpha = int(beta), int(alpha)
    else:
        beta, alpha = input.dtype.type(beta), input.dtype.type(alpha)
    out = np.zeros(np.shape(input), input.dtype)     # a new tensor, never a view of input
    if beta != 0:
        out += input if beta == 1 else beta * input
    if alpha != 0 or not blas:
        out += product if alpha == 1 else alpha * product
    return out


def _fused_samples(kind):
    """input, and the two factors of a product: "mm", "mv" or "bmm"; sometimes beta, alpha."""

    def samples(g):
        b, n, k, m = (g.integers(1, 3) for _ in range(4))
        out, first, second = {"mm": ((n, m), (n, k), (k, m)), "mv": ((n,), (n, k), (k,)),
                              "bmm": ((b, n, m), (b, n, k), (b, k, m))}[kind]
        # the input broadcasts to the product's shape: sometimes with fewer or size-1 dims
        shape = out[g.integers(0, len(out)):]
        shape = tuple(1 if g.booleans() and g.booleans() else s for s in shape)
        kwargs = {}
        if g.booleans():
            number = g.floats if g.dtype.is_floating_point else g.integers
            kwargs = {"beta": g.sampled_from([0, 1, number(-2, 2)]), "alpha": number(-2, 2)}
        return Sample((g.tensor(shape), g.tensor(first), g.tensor(second)), kwargs)

    return samples


def _check_same_dtypes(*named, message):
    dtypes = [a.dtype for _, a in named]
    if len(set(dtypes)) > 1:
        raise RuntimeError(message(*[_TYPE_NAME[d.name] for d in dtypes]))


class Addmm(Op):
    """`beta * input + alpha * (mat1 @ mat2)`; input broadcasts to the product's shape.

    out = beta * a + alpha * m1 @ m2;  d/da = beta * grad;  d/dm1 = alpha * grad @ m2^T;
    d/dm2 = alpha * m1^T @ grad
    """

    name = "addmm"
    methods = ("addmm", "addmm_")
    inputs = 3
    reference = "torch.addmm"
    samples = _fused_samples("mm")
    dtypes = ALL_REAL
    tolerances = ILL_CONDITIONED_SUMS
    divergences = {"special": _BLAS_INF_ORDER}
    error_samples = (
        error_sample(np.ones((2, 3)), np.ones(2), np.ones((2, 3)),
                     match="mat1 must be a matrix, got 1-D tensor"),
        error_sample(np.ones((2, 3)), np.ones((2, 2)), np.ones((3, 3)),
                     match=r"mat1 and mat2 shapes cannot be multiplied \(2x2 and 3x3\)"),
        error_sample(np.ones(4), np.ones((2, 2)), np.ones((2, 3)),
                     match="The expanded size of the tensor (3) must match"),
    )

    def forward(ctx, input, mat1, mat2, *, beta=1, alpha=1):
        if mat1.ndim != 2:
            raise RuntimeError(f"mat1 must be a matrix, got {mat1.ndim}-D tensor")
        if mat2.ndim != 2:
            raise RuntimeError(f"mat2 must be a matrix, got {mat2.ndim}-D tensor")
        _check_same_dtypes(("self", input), ("mat2", mat2), message=lambda a, b: (
            f"self and mat2 must have the same dtype, but got {a} and {b}"))
        _check_same_dtypes(("mat1", mat1), ("mat2", mat2), message=lambda a, b: (
            f"mat1 and mat2 must have the same dtype, but got {a} and {b}"))
        if mat1.shape[1] != mat2.shape[0]:
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied "
                               f"({_shape_text(mat1.shape)} and {_shape_text(mat2.shape)})")
        shape = (mat1.shape[0], mat2.shape[1])
        input = _same_shape_or_expand(input, shape)
        _reject_bool(mat1, "addmm_impl_cpu_")
        ctx.save_for_backward(mat1, mat2)
        ctx.beta, ctx.alpha = beta, alpha
        with np.errstate(all="ignore"):
            return _fused(input, mat1 @ mat2, beta, alpha)

    def backward(ctx, grad):
        mat1, mat2 = ctx.saved_tensors
        need_input, need_mat1, need_mat2 = ctx.needs_input_grad
        return (_scaled(grad, ctx.beta) if need_input else None,
                _scaled(_mm_mat1_backward(grad, mat1, mat2), ctx.alpha) if need_mat1 else None,
                _scaled(_mm_mat2_backward(grad, mat1, mat2), ctx.alpha) if need_mat2 else None)


class Addmv(Op):
    """`beta * input + alpha * (mat @ vec)`; input (1-D or a number-like 0-D) broadcasts.

    out = beta * a + alpha * m @ v;  d/da = beta * grad;  d/dm = alpha * outer(grad, v);
    d/dv = alpha * m^T @ grad
    """

    name = "addmv"
    methods = ("addmv", "addmv_")
    inputs = 3
    reference = "torch.addmv"
    samples = _fused_samples("mv")
    dtypes = ALL_REAL
    tolerances = ILL_CONDITIONED_SUMS
    divergences = {"special": _BLAS_INF_ORDER}
    error_samples = (
        error_sample(np.ones(3), np.ones((3, 2)), np.ones(3),
                     match=r"size mismatch, got input \(3\), mat \(3x2\), vec \(3\)"),
        error_sample(np.ones((3, 1)), np.ones((3, 2)), np.ones(2),
                     match="vector + matrix @ vector expected, got 2, 2, 1"),
    )

    def forward(ctx, input, mat, vec, *, beta=1, alpha=1):
        if mat.ndim != 2 or vec.ndim != 1 or input.ndim > 1:
            raise RuntimeError(f"vector + matrix @ vector expected, got {input.ndim}, "
                               f"{mat.ndim}, {vec.ndim}")
        if mat.shape[1] != vec.shape[0] or (input.size != mat.shape[0] and input.size != 1):
            raise RuntimeError(f"size mismatch, got input ({input.shape[0] if input.ndim else 1}"
                               f"), mat ({_shape_text(mat.shape)}), vec ({vec.shape[0]})")
        _check_same_dtypes(("input", input), ("mat", mat), ("vec", vec), message=lambda a, b, c: (
            f"addmv input tensors must have the same dtype, but got {a}, {b}, and {c}"))
        _reject_bool(mat, "addmv_impl_cpu")
        ctx.save_for_backward(mat, vec)
        ctx.beta, ctx.alpha = beta, alpha
        with np.errstate(all="ignore"):
            return _fused(np.broadcast_to(input, (mat.shape[0],)), mat @ vec, beta, alpha)

    def backward(ctx, grad):
        mat, vec = ctx.saved_tensors
        need_input, need_mat, need_vec = ctx.needs_input_grad
        return (_scaled(grad, ctx.beta) if need_input else None,
                _scaled(outer(grad, vec), ctx.alpha) if need_mat else None,
                _scaled(mat.t().mv(grad), ctx.alpha) if need_vec else None)


class Baddbmm(Op):
    """`beta * input + alpha * (batch1 @ batch2)`, a batch of fused products.

    out = beta * a + alpha * b1 @ b2;  d/da = beta * grad;
    d/db1 = alpha * grad @ b2^T;  d/db2 = alpha * b1^T @ grad   (per batch element)
    """

    name = "baddbmm"
    methods = ("baddbmm", "baddbmm_")
    inputs = 3
    reference = "torch.baddbmm"
    samples = _fused_samples("bmm")
    dtypes = ALL_REAL
    tolerances = ILL_CONDITIONED_SUMS
    divergences = {"special": _BLAS_INF_ORDER}
    error_samples = (
        error_sample(np.ones((4, 2, 3)), np.ones((4, 2, 2)), np.ones((3, 2, 3)),
                     match=r"Expected size for first two dimensions of batch2 tensor to be: "
                           r"\[4, 2\] but got: \[3, 2\]\."),
        error_sample(np.ones((2, 3)), np.ones((2, 2)), np.ones((4, 2, 3)),
                     match="batch1 must be a 3D tensor"),
    )

    def forward(ctx, input, batch1, batch2, *, beta=1, alpha=1):
        if batch1.ndim != 3:
            raise RuntimeError("batch1 must be a 3D tensor")
        if batch2.ndim != 3:
            raise RuntimeError("batch2 must be a 3D tensor")
        if batch2.shape[:2] != (batch1.shape[0], batch1.shape[2]):
            raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                               f"[{batch1.shape[0]}, {batch1.shape[2]}] but got: "
                               f"[{batch2.shape[0]}, {batch2.shape[1]}].")
        if input.dtype != batch1.dtype:
            raise RuntimeError(f"Input dtypes must be the same, got: input "
                               f"{_C_TYPE_NAME[input.dtype.name]}, batch1: "
                               f"{_C_TYPE_NAME[batch1.dtype.name]}, batch2: "
                               f"{_C_TYPE_NAME[batch2.dtype.name]}")
        if batch1.dtype != batch2.dtype:
            raise RuntimeError(f"expected scalar type {_TYPE_NAME[batch1.dtype.name]} but found "
                               f"{_TYPE_NAME[batch2.dtype.name]}")
        shape = (batch1.shape[0], batch1.shape[1], batch2.shape[2])
        input = _same_shape_or_expand(input, shape)
        _reject_bool(batch1, "baddbmm_cpu")
        ctx.save_for_backward(batch1, batch2)
        ctx.beta, ctx.alpha = beta, alpha
        with np.errstate(all="ignore"):
            return _fused(input, batch1 @ batch2, beta, alpha, blas=False)

    def backward(ctx, grad):
        batch1, batch2 = ctx.saved_tensors
        need_input, need_1, need_2 = ctx.needs_input_grad
        return (_scaled(grad, ctx.beta) if need_input else None,
                _scaled(grad.bmm(batch2.transpose(1, 2)), ctx.alpha) if need_1 else None,
                _scaled(batch1.transpose(1, 2).bmm(grad), ctx.alpha) if need_2 else None)


# ----------------------------------------------------------------------------------------------
# inner, kron, tensordot
# ----------------------------------------------------------------------------------------------
def _pair_samples(g):
    """Two tensors sharing their last size (inner), or 0-dim ones."""
    k = g.integers(1, 3)
    shapes = [g.shape(min_dims=0, max_dims=2, max_side=3) + (k,) for _ in range(2)]
    shapes = [() if g.booleans() and g.booleans() else s for s in shapes]
    return Sample(tuple(g.tensor(s) for s in shapes))


@op_function("inner", methods=("inner",), reference="torch.inner", samples=_pair_samples,
             dtypes=ALL_REAL, tolerances=ILL_CONDITIONED_SUMS,
             divergences={"special": _BLAS_INF_ORDER},
             node_names=("ViewBackward0", "MulBackward0"),
             error_samples=[error_sample(np.ones((2, 3)), np.ones((4, 2)),
                                         match="inner() the last dimension must match")])
def inner(input, other):
    """Sums of products over the last dims: out[i.., j..] = sum_k input[i.., k] other[j.., k].

    As torch: a 0-dim operand multiplies (MulBackward0), otherwise it is
    `tensordot(input, other, ([-1], [-1]))`, whose node is ViewBackward0.
    """
    if input.dim() == 0 or other.dim() == 0:
        return input * other
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but "
                           f"got shapes {list(input.shape)} and {list(other.shape)}")
    return _tensordot(input, other, [-1], [-1])


def _kron_samples(g):
    shapes = [g.shape(min_dims=0, max_dims=3, max_side=3) for _ in range(2)]
    return Sample(tuple(g.tensor(s) for s in shapes))


def _view_strides(shape, strides, new_shape):
    """The strides of a tensor (shape, strides) viewed as `new_shape`, or None if no view
    can have that shape (torch's computeStride, aten/src/ATen/TensorUtils.cpp).

    The dims are split into chunks that are contiguous in memory; a view must split or merge
    dims only inside one chunk.
    """
    if not shape or 0 in shape:
        return [1] * len(new_shape)
    new_strides = [0] * len(new_shape)
    view_d = len(new_shape) - 1
    chunk_base = strides[-1]
    tensor_numel = view_numel = 1
    for d in range(len(shape) - 1, -1, -1):
        tensor_numel *= shape[d]
        if d == 0 or (shape[d - 1] != 1 and strides[d - 1] != tensor_numel * chunk_base):
            while view_d >= 0 and (view_numel < tensor_numel or new_shape[view_d] == 1):
                new_strides[view_d] = view_numel * chunk_base
                view_numel *= new_shape[view_d]
                view_d -= 1
            if view_numel != tensor_numel:
                return None
            if d > 0:
                chunk_base = strides[d - 1]
                tensor_numel = view_numel = 1
    return None if view_d != -1 else new_strides


def _elementwise_output_strides(operands, shape):
    """The strides torch gives the output of an elementwise op on `operands` ((shape,
    strides) pairs broadcasting to `shape`): dense, with its dims in the memory order of the
    inputs (TensorIterator's reorder_dimensions: the first input with a strict order between
    two dims decides, broadcast dims are skipped)."""
    ndim = len(shape)
    op_strides = [[0 if op_shape[i] == 1 and shape[i] != 1 else strides[i] for i in range(ndim)]
                  for op_shape, strides in operands]

    def should_swap(d0, d1):
        for strides in op_strides:
            if strides[d0] == 0 or strides[d1] == 0:
                continue
            if strides[d0] != strides[d1]:
                return 1 if strides[d0] > strides[d1] else -1
            if shape[d0] > shape[d1]:
                return 1
        return 0

    order = list(range(ndim - 1, -1, -1))   # fastest-moving dim first
    for i in range(1, ndim):                # insertion sort, stopping at a strict "keep"
        d1 = i
        for d0 in range(i - 1, -1, -1):
            comparison = should_swap(order[d0], order[d1])
            if comparison > 0:
                order[d0], order[d1] = order[d1], order[d0]
                d1 = d0
            elif comparison < 0:
                break
    strides, step = [0] * ndim, 1
    for d in order:
        strides[d] = step
        step *= shape[d]
    return strides


def _check_kron_layout(input, other, a_view, b_view, result_shape):
    """torch's kron fails on some non-contiguous inputs: its product keeps the operands'
    memory order (see _elementwise_output_strides), and the final _unsafe_view to
    `result_shape` then needs dims that are not adjacent in memory. Raise as torch does."""
    a_strides = _view_strides(tuple(input.shape), input.stride(), a_view)
    b_strides = _view_strides(tuple(other.shape), other.stride(), b_view)
    shape = tuple(y if x == 1 else x for x, y in zip(a_view, b_view))
    strides = _elementwise_output_strides([(a_view, a_strides), (b_view, b_strides)], shape)
    if _view_strides(shape, strides, result_shape) is None:
        raise RuntimeError("view size is not compatible with input tensor's size and stride (at "
                           "least one dimension spans across two contiguous subspaces). Use "
                           ".reshape(...) instead.")


@op_function("kron", methods=("kron",), reference="torch.kron", samples=_kron_samples,
             dtypes=BOOL_AND_REAL, node_names=("UnsafeViewBackward0",))
def kron(input, other):
    """The Kronecker product: every element of `input` times the whole of `other`.

    As torch's KronImpl: both operands are viewed with interleaved size-1 dims (input as
    (a0, 1, a1, 1, ...), other as (1, b0, 1, b1, ...)), multiplied with broadcasting, and
    the product viewed as (a0 * b0, a1 * b1, ...). The views are `_unsafe_view`s, so the
    node on top is UnsafeViewBackward0; the gradient is that of the product. Like torch, it
    refuses some transposed inputs, whose product cannot be viewed (_check_kron_layout).
    """
    ndim = max(input.dim(), other.dim())
    a_shape = (1,) * (ndim - input.dim()) + tuple(input.shape)
    b_shape = (1,) * (ndim - other.dim()) + tuple(other.shape)
    a_view = tuple(s for size in a_shape for s in (size, 1))
    b_view = tuple(s for size in b_shape for s in (1, size))
    result_shape = tuple(a * b for a, b in zip(a_shape, b_shape))
    _check_kron_layout(input, other, a_view, b_view, result_shape)
    product = UnsafeView.apply(input, a_view) * UnsafeView.apply(other, b_view)
    return UnsafeView.apply(product, result_shape)


def _tensordot_samples(g):
    """Two tensors and `dims`: a number of trailing/leading dims, or two lists of dims."""
    contracted = tuple(g.integers(1, 3) for _ in range(g.integers(0, 2)))
    left = g.shape(min_dims=0, max_dims=2, max_side=3)
    right = g.shape(min_dims=0, max_dims=2, max_side=3)
    if g.booleans():
        return Sample((g.tensor(left + contracted), g.tensor(contracted + right)),
                      {"dims": len(contracted)})
    # the contracted dims at drawn places of each operand, paired up in a drawn order
    a_shape, b_shape = list(left), list(right)
    dims_a, dims_b = [], []
    for size in contracted:
        dims_a.append(g.integers(0, len(a_shape)))
        a_shape.insert(dims_a[-1], size)
        dims_b.append(g.integers(0, len(b_shape)))
        b_shape.insert(dims_b[-1], size)
    dims_a = _positions_after_inserts(dims_a)
    dims_b = _positions_after_inserts(dims_b)
    return Sample((g.tensor(tuple(a_shape)), g.tensor(tuple(b_shape))),
                  {"dims": (dims_a, dims_b)})


def _positions_after_inserts(positions):
    """Where each inserted dim ends up after all the inserts (later inserts shift it)."""
    final = []
    for i, p in enumerate(positions):
        for q in positions[i + 1:]:
            if q <= p:
                p += 1
        final.append(p)
    return final


@op_function("tensordot", reference="torch.tensordot", samples=_tensordot_samples,
             dtypes=ALL_REAL, tolerances=ILL_CONDITIONED_SUMS, node_names=("ViewBackward0",),
             error_samples=[
                 error_sample(np.ones((2, 3)), np.ones((4, 2)), 1,
                              match="contracted dimensions need to match, but first has size 3 "
                                    "in dim -1 and second has size 4 in dim 0"),
                 error_sample(np.ones((2, 3)), np.ones((3, 2)), -1,
                              match=r"tensordot expects dims >= 0, but got dims=-1"),
                 error_sample(np.ones((2, 3)), np.ones((3, 2)), ([1], [0, 1]),
                              match="both dimension lists should have same length")])
def tensordot(a, b, dims=2, out=None):
    """Sums of products over `dims` of `a` and `b`: the last `dims` of a with the first of b,
    or the dims listed in `dims = (dims_a, dims_b)`, paired in order.

    As torch: both operands are permuted so the contracted dims meet, folded into matrices,
    multiplied with one `mm` and the result reshaped (ViewBackward0). A contracted dim of
    size 1 in one operand broadcasts: the other is summed over it first.
    """
    if out is not None:
        raise TypeError("tensordot(): HyperGrad has no out= tensors; use the returned tensor")
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, bool) or not isinstance(dims, (int, tuple, list)):
        raise RuntimeError(  # noqa: TRY004 (torch raises RuntimeError here)
            f"tensordot expects dims to be int or Tuple[List[int], List[int]] or "
            f"List[List[int]] containing two lists, but got dims={dims}")
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > min(a.dim(), b.dim()):
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={dims}")
        return _tensordot(a, b, list(range(-dims, 0)), list(range(dims)))
    dims_a, dims_b = dims
    for position, value in ((3, dims_a), (4, dims_b)):
        if isinstance(value, int):
            name = "dims_self" if position == 3 else "dims_other"
            raise TypeError(f"tensordot(): argument '{name}' (position {position}) must be "
                            f"tuple of ints, not int")
    return _tensordot(a, b, list(dims_a), list(dims_b))


def _tensordot(a, b, dims_a, dims_b):
    """torch's at::native::tensordot on dim lists (see `tensordot`)."""
    if len(dims_a) != len(dims_b):
        raise RuntimeError("both dimension lists should have same length")
    if a.dtype != b.dtype:
        raise RuntimeError("both inputs should have same dtype")
    contracted_size = 1
    for da, db in zip(dims_a, dims_b):
        sa, sb = a.shape[da], b.shape[db]
        if sb == 1:       # a broadcast dim can be summed at once
            a = a.sum(da, keepdim=True, dtype=a.dtype)
        elif sa == 1:
            b = b.sum(db, keepdim=True, dtype=b.dtype)
        elif sa != sb:
            raise RuntimeError(f"contracted dimensions need to match, but first has size {sa} "
                               f"in dim {da} and second has size {sb} in dim {db}")
        else:
            contracted_size *= sa
    kept_a = [i for i in range(a.dim()) if i not in {d % a.dim() for d in dims_a}]
    kept_b = [i for i in range(b.dim()) if i not in {d % b.dim() for d in dims_b}]
    rows = math.prod(a.shape[i] for i in kept_a)
    cols = math.prod(b.shape[i] for i in kept_b)
    left = a.permute(kept_a + list(dims_a)).reshape(rows, contracted_size)
    right = b.permute(list(dims_b) + kept_b).reshape(contracted_size, cols)
    shape = [a.shape[i] for i in kept_a] + [b.shape[i] for i in kept_b]
    return left.mm(right).reshape(shape)


# ----------------------------------------------------------------------------------------------
# einsum (Note [How einsum contracts])
# ----------------------------------------------------------------------------------------------
_ELLIPSIS = "..."


def _einsum_arguments(args):
    """(equation, operands) from torch.einsum's three spellings: `einsum("ij,jk", a, b)`,
    `einsum("ij,jk", [a, b])` and the sublist form `einsum(a, [0, 1], b, [1, 2], [0, 2])`."""
    if len(args) < 2:
        raise ValueError("einsum(): must specify the equation string and at least one operand, "
                         "or at least one operand and its subscripts list")
    if isinstance(args[0], Tensor):
        def label(n):
            if n is Ellipsis:
                return _ELLIPSIS
            if 0 <= n < 26:
                return chr(ord("A") + n)
            if 26 <= n < 52:
                return chr(ord("a") + n - 26)
            raise ValueError("einsum(): subscript in subscript list is not within the valid "
                             "range [0, 52)")

        equation = ",".join("".join(label(s) for s in sub) for sub in args[1::2])
        if len(args) % 2 == 1:
            equation += "->" + "".join(label(s) for s in args[-1])
            return equation, list(args[:-1:2])
        return equation, list(args[::2])
    equation, operands = args[0], list(args[1:])
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = list(operands[0])
    return equation, operands


def _parse_subscripts(text, start, where):
    """The labels of one operand (or of the output): letters and at most one "..."."""
    labels = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == " ":
            i += 1
            continue
        if char == ".":
            if _ELLIPSIS in labels:
                raise RuntimeError(f"einsum(): found '.' for {where} for which an ellipsis was "
                                   f"already found" if where != "output" else
                                   "einsum(): found '.' for output but an ellipsis (...) was "
                                   "already found")
            if text[i:i + 3] != _ELLIPSIS:
                raise RuntimeError(f"einsum(): found '.' for {where} that is not part of any "
                                   f"ellipsis" + (" (...)" if where == "output" else ""))
            labels.append(_ELLIPSIS)
            i += 3
            continue
        if not ("a" <= char <= "z" or "A" <= char <= "Z"):
            raise RuntimeError(f"einsum(): invalid subscript given at index {start + i} in the "
                               f"equation string, subscripts must be in [a-zA-Z]")
        labels.append(char)
        i += 1
    return labels


def _label_order(label):
    """torch orders labels A-Z before a-z (it numbers them that way)."""
    return (label.islower(), label)


_EINSUM_CASES = [
    # (equation, shapes as label strings for each operand)
    ("ij,jk->ik", ("ij", "jk")), ("ij,jk", ("ij", "jk")), ("i,i->", ("i", "i")),
    ("i,i", ("i", "i")), ("i,j->ij", ("i", "j")), ("ii", ("ii",)), ("ii->i", ("ii",)),
    ("ij->ji", ("ij",)), ("ij", ("ij",)), ("ij->", ("ij",)), ("ij->j", ("ij",)),
    ("bij,bjk->bik", ("bij", "bjk")), ("...ij,...jk->...ik", ("bij", "jk")),
    ("...ij->...ji", ("bij",)), ("i...->...", ("ib",)), ("...,...->...", ("bi", "i")),
    ("ij,ij->ij", ("ij", "ij")), ("ij,kj->ik", ("ij", "kj")), ("iij->j", ("iij",)),
    ("bn,anm,bm->ba", ("bn", "anm", "bm")), ("ij,jk,kl->il", ("ij", "jk", "kl")),
    ("i,i,i->i", ("i", "i", "i")), ("ijk,kji->", ("ijk", "kji")), ("a,b,c->", ("a", "b", "c")),
    ("Ab,bA->A", ("Ab", "bA")), ("ij,j", ("ij", "j")), ("...i,...i", ("bi", "bi")),
]


def _einsum_samples(g):
    """An equation from _EINSUM_CASES, operands with a size drawn per label (1 broadcasts)."""
    equation, operand_labels = g.sampled_from(_EINSUM_CASES)
    size = {}
    for label in sorted(set("".join(operand_labels))):
        size[label] = g.integers(1, 3)
    operands = tuple(g.tensor(tuple(size[s] for s in labels)) for labels in operand_labels)
    return Sample((equation,) + operands)


_EINSUM_ERRORS = [
    error_sample("ij,jk->ik", np.ones((2, 3)), np.ones((4, 2)),
                 match="einsum(): subscript j has size 4 for operand 1 which does not "
                       "broadcast with previously seen size 3"),
    error_sample("ij->k", np.ones((2, 3)),
                 match="einsum(): output subscript k does not appear in the equation "
                       "for any input operand"),
    error_sample("ij", np.ones(3),
                 match=r"einsum\(\): the number of subscripts in the equation \(2\) "
                       r"does not match the number of dimensions \(1\)"),
    error_sample("ij,jk", np.ones((2, 3)),
                 match="einsum(): fewer operands were provided than specified")]


@op_function("einsum", reference="torch.einsum", samples=_einsum_samples,
             dtypes=ALL_REAL, tolerances=ILL_CONDITIONED_SUMS,
             node_names=("ViewBackward0", "PermuteBackward0", "SumBackward1", "MulBackward0"),
             error_samples=_EINSUM_ERRORS)
def einsum(*args):
    """Sums of products of the operands' elements along dims named by an equation.

    `einsum("ij,jk->ik", a, b)` is `a @ b`; `"ii"` is the trace; `"...ij->...ji"` swaps the
    last two dims; without "->" the output has the ellipsis dims and the labels that appear
    once, in alphabetical order. Also `einsum(equation, [operands])` and the sublist form
    `einsum(a, [0, 1], b, [1, 2], [0, 2])`. Computed as torch does (Note [How einsum
    contracts]), so its graph and its node are torch's; the gradient is that of that graph.
    """
    equation, operands = _einsum_arguments(args)
    if not operands:
        raise RuntimeError("einsum(): must provide at least one operand")
    for operand in operands:
        if not isinstance(operand, Tensor):
            raise TypeError(f"einsum(): argument 'operands' must be tuple of Tensors, not "
                            f"{type(operand).__name__}")
    layout = _EinsumLayout(equation, operands)
    aligned, dim_counts = _einsum_align(layout, operands)
    result = _einsum_contract(aligned, dim_counts, layout)
    if layout.total > layout.out_ndim:   # drop the summed dims (size 1 by now), or sum them
        if len(operands) > 1:
            return result.view(tuple(result.shape[:layout.out_ndim]))
        return result.sum(list(range(layout.out_ndim, layout.total)))
    return result


class _EinsumLayout:
    """The labels of each operand and the position of every label in the aligned layout:
    the output's dims first (the ellipsis where the output has it), then those summed over.

    terms     each operand's labels ("..." for its ellipsis)
    position  label -> dim of the aligned operands
    ell_ndim  the dims the ellipsis covers (the most any operand gives it); ell_start, where
    out_ndim  the number of output dims; total, of aligned dims
    """

    def __init__(self, equation, operands):
        arrow = equation.find("->")
        lhs = equation if arrow < 0 else equation[:arrow]
        self.terms, offset = [], 0
        for text in lhs.split(","):
            self.terms.append(_parse_subscripts(text, offset, f"operand {len(self.terms)}"))
            offset += len(text) + 1
        if len(self.terms) != len(operands):
            raise RuntimeError(f"einsum(): {'fewer' if len(self.terms) > len(operands) else 'more'}"
                               f" operands were provided than specified in the equation")
        counts = self._count_labels(operands)
        self.position = {}
        self.ell_start, ell_in_output = 0, arrow < 0
        next_position = 0
        if arrow < 0:    # implicit output: the ellipsis dims, then the labels seen once
            next_position = self.ell_ndim
            for s in sorted(counts, key=_label_order):
                if counts[s] == 1:
                    self.position[s], next_position = next_position, next_position + 1
        else:
            for s in _parse_subscripts(equation[arrow + 2:], arrow + 2, "output"):
                if s == _ELLIPSIS:
                    self.ell_start, ell_in_output = next_position, True
                    next_position += self.ell_ndim
                    continue
                if s not in counts or s in self.position:
                    raise RuntimeError(f"einsum(): output subscript {s} " + (
                        "appears more than once in the output" if s in self.position else
                        "does not appear in the equation for any input operand"))
                self.position[s], next_position = next_position, next_position + 1
        self.out_ndim = next_position
        if not ell_in_output:
            self.ell_start, next_position = next_position, next_position + self.ell_ndim
        for s in sorted(counts, key=_label_order):
            if s not in self.position:
                self.position[s], next_position = next_position, next_position + 1
        self.total = next_position

    def _count_labels(self, operands):
        """How many operands name each label; sets ell_ndim. Checks the number of labels."""
        counts = {}
        self.ell_ndim = 0
        for i, (labels, operand) in enumerate(zip(self.terms, operands)):
            named = [s for s in labels if s != _ELLIPSIS]
            for s in named:
                counts[s] = counts.get(s, 0) + 1
            has_ellipsis = len(named) != len(labels)
            if has_ellipsis:
                self.ell_ndim = max(self.ell_ndim, operand.dim() - len(named))
            if (len(named) > operand.dim()) if has_ellipsis else (len(named) != operand.dim()):
                raise RuntimeError(
                    f"einsum(): the number of subscripts in the equation ({len(named)}) "
                    + ("is more than the number of dimensions (" if has_ellipsis else
                       "does not match the number of dimensions (")
                    + f"{operand.dim()}) for operand {i}"
                    + ("" if has_ellipsis else " and no ellipsis was given"))
        return counts


def _einsum_align(layout, operands):
    """Each operand brought to the aligned layout: a diagonal for a repeated label, size-1
    dims for missing labels, one permute. Also, per aligned dim, how many operands have it
    with a size other than 1 (the contraction sums a dim once only one operand has it)."""
    sizes, ell_sizes = {}, [1] * layout.ell_ndim
    dim_counts = [0] * layout.total
    aligned = []
    for i, (labels, operand) in enumerate(zip(layout.terms, operands)):
        op = operand
        permutation = [-1] * layout.total
        dim = 0
        for s in labels:
            if s == _ELLIPSIS:
                covered = operand.dim() - (len(labels) - 1)
                for j in range(layout.ell_ndim - covered, layout.ell_ndim):
                    if op.shape[dim] != 1:
                        if ell_sizes[j] not in (1, op.shape[dim]):
                            raise RuntimeError(
                                f"einsum(): dimension {dim} covered by ellipsis in operand {i}"
                                f"has size {op.shape[dim]} which does not broadcast with "
                                f"previously seen ellipsis with size {ell_sizes[j]} for the "
                                f"respective dimension")
                        ell_sizes[j] = op.shape[dim]
                        dim_counts[layout.ell_start + j] += 1
                    permutation[layout.ell_start + j] = dim
                    dim += 1
            elif permutation[layout.position[s]] == -1:
                if op.shape[dim] != 1:
                    if sizes.get(s, 1) not in (1, op.shape[dim]):
                        raise RuntimeError(
                            f"einsum(): subscript {s} has size {op.shape[dim]} for operand {i} "
                            f"which does not broadcast with previously seen size {sizes[s]}")
                    sizes[s] = op.shape[dim]
                    dim_counts[layout.position[s]] += 1
                permutation[layout.position[s]] = dim
                dim += 1
            else:            # a repeated label: take the diagonal
                previous = permutation[layout.position[s]]
                if op.shape[dim] != op.shape[previous]:
                    raise RuntimeError(
                        f"einsum(): subscript {s} is repeated for operand {i} but the sizes "
                        f"don't match, {op.shape[dim]} != {op.shape[previous]}")
                op = op.diagonal(0, previous, dim).movedim(-1, previous)
        for k in range(layout.total):
            if permutation[k] == -1:
                op = op.unsqueeze(dim)
                permutation[k] = dim
                dim += 1
        aligned.append(op.permute(permutation))
    return aligned, dim_counts


def _einsum_contract(aligned, dim_counts, layout):
    """Combine the aligned operands left to right: sum a dim at once when only one of the
    pair (and no later operand) has it, then multiply the pair, summing the dims no later
    operand has (_sumproduct_pair)."""
    aligned = list(aligned)
    while len(aligned) > 1:
        a, b = aligned.pop(0), aligned.pop(0)
        sum_dims, a_only, b_only = [], [], []
        for d in range(layout.out_ndim, layout.total):
            if a.shape[d] != 1 and b.shape[d] != 1:
                dim_counts[d] -= 1
                if dim_counts[d] == 1:
                    sum_dims.append(d)
                    dim_counts[d] = 0
            elif dim_counts[d] == 1:
                if a.shape[d] != 1:
                    a_only.append(d)
                    dim_counts[d] = 0
                elif b.shape[d] != 1:
                    b_only.append(d)
                    dim_counts[d] = 0
        if a_only:
            a = a.sum(a_only, keepdim=True)
        if b_only:
            b = b.sum(b_only, keepdim=True)
        aligned.insert(0, _sumproduct_pair(a, b, sum_dims))
    return aligned[0]


def _sumproduct_pair(left, right, sum_dims):
    """(left * right).sum(sum_dims, keepdim=True) by one bmm (torch's sumproduct_pair).

    The dims split into those both operands have (lro), only the left (lo), only the right
    (ro) and the summed ones; the left becomes (lro, lo, summed), the right (lro, summed, ro),
    and the bmm's (lro, lo, ro) result is viewed and permuted back into place.
    """
    if not sum_dims:
        return left * right
    lro, lo, ro = [], [], []
    lro_size = lo_size = ro_size = sum_size = 1
    for d in range(left.dim()):
        in_left, in_right = left.shape[d] != 1, right.shape[d] != 1
        if d in sum_dims:
            if in_left and in_right:
                if left.shape[d] != right.shape[d]:
                    raise RuntimeError("non-broadcast dimensions must match")
                sum_size *= left.shape[d]
            elif in_left:
                left = left.sum(d, keepdim=True)
            elif in_right:
                right = right.sum(d, keepdim=True)
        elif in_left and in_right:
            if left.shape[d] != right.shape[d]:
                raise RuntimeError("non-broadcast dimensions must match")
            lro.append(d)
            lro_size *= left.shape[d]
        elif in_left:
            lo.append(d)
            lo_size *= left.shape[d]
        else:
            ro.append(d)
            ro_size *= right.shape[d]
    out_shape = ([left.shape[d] for d in lro] + [left.shape[d] for d in lo]
                 + [1] * len(sum_dims) + [right.shape[d] for d in ro])
    left_order = lro + lo + list(sum_dims) + ro
    right_order = lro + list(sum_dims) + ro + lo
    back = [0] * left.dim()
    for i, d in enumerate(lro + lo + list(sum_dims) + ro):
        back[d] = i
    left = left.permute(left_order).reshape(lro_size, lo_size, sum_size)
    right = right.permute(right_order).reshape(lro_size, sum_size, ro_size)
    return left.bmm(right).view(out_shape).permute(back)


# ----------------------------------------------------------------------------------------------
# linalg.multi_dot, linalg.vecdot
# ----------------------------------------------------------------------------------------------
def _multi_dot_samples(g):
    """2 to 4 chained matrices; the first and last may be vectors."""
    count = g.integers(2, 4)
    sizes = [g.integers(1, 3) for _ in range(count + 1)]
    shapes = [(sizes[i], sizes[i + 1]) for i in range(count)]
    if g.booleans():
        shapes[0] = shapes[0][1:]
    if g.booleans():
        shapes[-1] = shapes[-1][:1]
    return Sample(([g.tensor(s) for s in shapes],))


def _chain_order(shapes):
    """The split points of the cheapest parenthesization of a matrix chain (dynamic
    programming, as torch's matrix_chain_order): split[i][j] = k means (i..k)(k+1..j)."""
    n = len(shapes)
    p = [s[0] for s in shapes] + [shapes[-1][1]]
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = math.inf
            for k in range(i, j):
                q = cost[i][k] + cost[k + 1][j] + p[i] * p[k + 1] * p[j + 1]
                if q < cost[i][j]:
                    cost[i][j], split[i][j] = q, k
    return split


def _chain_product(matrices, split, i, j):
    """The product of matrices i..j in the order `split` gives (recursion over the chain)."""
    if i == j:
        return matrices[i]
    k = split[i][j]
    return _chain_product(matrices, split, i, k).mm(_chain_product(matrices, split, k + 1, j))


@op_function("linalg.multi_dot", reference="torch.linalg.multi_dot",
             samples=_multi_dot_samples, dtypes=ALL_REAL, tolerances=ILL_CONDITIONED_SUMS,
             node_names=("ViewBackward0",),
             error_samples=[
                 ErrorSample(Sample(([SampleTensor(np.ones((2, 3))),
                                      SampleTensor(np.ones((2, 3)))],)), RuntimeError,
                             r"multi_dot\(\): tensors 0 and 1 with shapes \[2, 3\] and "
                             r"\[2, 3\] cannot be multiplied"),
                 ErrorSample(Sample(([SampleTensor(np.ones((2, 2)))],)), RuntimeError,
                             "multi_dot(): expected at least 2 tensors but got 1")])
def multi_dot(tensors, *, out=None):
    """The product of a chain of matrices, multiplied in the cheapest order.

    The first tensor may be a vector (a row), the last a vector (a column); the rest are
    matrices. As torch: two `mm`s in the cheaper of the two orders for three matrices, the
    classic dynamic programming for more, and a final `view` (ViewBackward0) to drop the
    vector dims.
    """
    if out is not None:
        raise TypeError("multi_dot(): HyperGrad has no out= tensors; use the returned tensor")
    tensors = list(tensors)
    n = len(tensors)
    if n < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {n}")
    out_shape = []
    matrices = list(tensors)
    if tensors[0].dim() == 1:
        matrices[0] = tensors[0].unsqueeze(0)
    elif tensors[0].dim() == 2:
        out_shape.append(tensors[0].shape[0])
    else:
        raise RuntimeError(f"multi_dot(): the first tensor must be 1D or 2D but got "
                           f"{tensors[0].dim()}D")
    if tensors[-1].dim() == 1:
        matrices[-1] = tensors[-1].unsqueeze(-1)
    elif tensors[-1].dim() == 2:
        out_shape.append(tensors[-1].shape[1])
    else:
        raise RuntimeError(f"multi_dot(): the last tensor must be 1D or 2D but got "
                           f"{tensors[-1].dim()}D")
    for i in range(1, n - 1):
        if tensors[i].dim() != 2:
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D but got {tensors[i].dim()}D")
    for i in range(1, n):
        if matrices[i].dtype != matrices[0].dtype:
            raise RuntimeError(
                f"multi_dot(): all tensors must have be the same dtype but tensor 0 is "
                f"{_C_TYPE_NAME[matrices[0].dtype.numpy.name]} and tensor {i} "
                f"{_C_TYPE_NAME[matrices[i].dtype.numpy.name]}")
        if matrices[i - 1].shape[-1] != matrices[i].shape[0]:
            raise RuntimeError(f"multi_dot(): tensors {i - 1} and {i} with shapes "
                               f"{list(tensors[i - 1].shape)} and {list(tensors[i].shape)} "
                               f"cannot be multiplied")
    if n == 2:
        return matrices[0].mm(matrices[1]).view(out_shape)
    if n == 3:
        a, b = matrices[0].shape
        c, d = matrices[2].shape
        if a * c * (b + d) > b * d * (a + c):
            return matrices[0].mm(matrices[1].mm(matrices[2])).view(out_shape)
        return matrices[0].mm(matrices[1]).mm(matrices[2]).view(out_shape)
    split = _chain_order([tuple(m.shape) for m in matrices])
    return _chain_product(matrices, split, 0, n - 1).view(out_shape)


def _vecdot_samples(g):
    shape_x, shape_y = g.shapes(2, min_dims=1, max_dims=3, max_side=3)
    sample = Sample((g.tensor(shape_x), g.tensor(shape_y)))
    ndim = max(len(shape_x), len(shape_y))
    if g.booleans():
        sample.kwargs["dim"] = g.dim(ndim)
    return sample


@op_function("linalg.vecdot", reference="torch.linalg.vecdot", samples=_vecdot_samples,
             dtypes=FLOATING, tolerances=ILL_CONDITIONED_SUMS,
             node_names=("SumBackward1", "VdotBackward0"),
             error_samples=[error_sample(np.ones(3, dtype=np.int64), np.ones(3, dtype=np.int64),
                                         match="linalg.vecdot: Expected a floating point")])
def vecdot(x, y, *, dim=-1):
    """Dot products of `x` and `y` (broadcast) along `dim`: sum(conj(x) * y, dim).

    As torch: `vdot` for two vectors (VdotBackward0), else `(x * y).sum(dim)` (SumBackward1).
    """
    _check_floating(x.detach().numpy(), "linalg.vecdot")
    if x.dtype != y.dtype:
        raise RuntimeError(f"linalg.vecdot: Expected x and y to have the same dtype, but found x "
                           f"of type {_TYPE_NAME[x.dtype.numpy.name]} and y of type "
                           f"{_TYPE_NAME[y.dtype.numpy.name]} instead")
    if x.dim() == 1 and y.dim() == 1:
        return Vdot.apply(x, y)
    return (x * y).sum(dim)


# ----------------------------------------------------------------------------------------------
# torch.linalg: shared checks, LAPACK errors, sample domains
# ----------------------------------------------------------------------------------------------
def _check_floating(a, fn):
    if a.dtype.kind not in "fc":
        raise RuntimeError(f"{fn}: Expected a floating point or complex tensor as input. Got "
                           f"{_TYPE_NAME[a.dtype.name]}")


def _check_matrices(a, fn, *, square=True, half=None, name="A"):
    """torch's checks of a matrix (or batch of matrices) argument, in torch's order.

    `half` is how the op treats float16: None refuses it with torch's "Low precision dtypes
    not supported", "allowed" accepts it, and a kernel name says it is "not implemented".
    """
    if a.ndim < 2:
        raise RuntimeError(f"{fn}: The input tensor {name} must have at least 2 dimensions.")
    if square and a.shape[-1] != a.shape[-2]:
        raise RuntimeError(f"{fn}: {name} must be batches of square matrices, but they are "
                           f"{a.shape[-2]} by {a.shape[-1]} matrices")
    _check_floating(a, fn)
    if a.dtype == np.float16 and half != "allowed":
        if half is None:
            raise RuntimeError(f"{fn}: Low precision dtypes not supported. Got Half")
        raise NotImplementedError(f"\"{half}\" not implemented for 'Half'")


def _lapack_error(fn, message, batch_index, batched):
    """torch's LinAlgError: "fn: (Batch element i): message" (Note [LAPACK errors])."""
    where = f"(Batch element {batch_index}): " if batched else ""
    return LinAlgError(f"{fn}: {where}{message}")


def _matrices_of(a):
    """The matrices of a batch, flattened in C order (as torch numbers batch elements)."""
    return a.reshape((-1,) + a.shape[-2:])


def _first_zero_pivot(matrix):
    """LAPACK getrf's `info` for one matrix: the 1-based position of the first zero on the
    diagonal of U in its LU factorization with partial pivoting (0 if there is none)."""
    u = np.array(matrix, dtype=np.float64)
    n = u.shape[0]
    for k in range(n):
        pivot = k + int(np.argmax(np.abs(u[k:, k])))
        if u[pivot, k] == 0:
            return k + 1
        u[[k, pivot]] = u[[pivot, k]]
        u[k + 1:, k:] -= np.outer(u[k + 1:, k] / u[k, k], u[k, k:])
    return 0


def _first_failing_minor(matrix):
    """LAPACK potrf's `info` for one matrix: the order of the first leading minor whose
    Cholesky pivot is not positive (NaN included), reading the lower triangle; 0 if none.
    MKL's single-precision potrf (torch's) also fails right after an infinite pivot."""
    float32 = matrix.dtype == np.float32
    a = np.array(matrix, dtype=np.float64)
    n = a.shape[0]
    lower = np.zeros_like(a)
    with np.errstate(all="ignore"):
        for j in range(n):
            pivot = a[j, j] - np.dot(lower[j, :j], lower[j, :j])
            if not pivot > 0:
                return j + 1
            if float32 and np.isinf(pivot) and j + 1 < n:
                return j + 2
            lower[j, j] = np.sqrt(pivot)
            lower[j + 1:, j] = (a[j + 1:, j] - lower[j + 1:, :j] @ lower[j, :j]) / lower[j, j]
    return 0


def _raise_singular(fn, a, message):
    """Raise torch's LinAlgError for the first singular matrix of `a` (message(info))."""
    for index, matrix in enumerate(_matrices_of(a)):
        info = _first_zero_pivot(matrix)
        if info:
            raise _lapack_error(fn, message(info), index, a.ndim > 2)
    # numpy found a zero pivot our elimination did not (rounding): report the last one
    raise _lapack_error(fn, message(a.shape[-1]), 0, a.ndim > 2)


def _check_finite_for_svd(a):
    """torch refuses to take the SVD of a matrix with a NaN (Note [Non-finite inputs])."""
    if a.size and np.isnan(a).any():
        matrices = _matrices_of(a)
        bad = np.isnan(matrices).reshape(len(matrices), -1).any(axis=1)
        raise _lapack_error("linalg.svd", "The algorithm failed to converge because the input "
                            "matrix contained non-finite values.", int(np.argmax(bad)),
                            a.ndim > 2)


def _eye(n, like):
    """The n x n identity as a constant tensor of `like`'s dtype."""
    return hypergrad.eye(n, dtype=like.dtype)


def _solve(a, b, left=True):
    """linalg.solve, used in backward formulas (a HyperGrad op, so it can be differentiated)."""
    return LinalgSolveEx.apply(a, b, left=left)


# --- sample domains -------------------------------------------------------------------------
# Each draws a tensor of uniform values and turns it into a matrix the op is well-behaved on,
# so that values and gradients are well-conditioned in float32 too. Sizes are small (up to
# 3 x 3, batches of 2 or 3), and in the `edge` mode 0 and 1 as well.

def _side(g):
    """One matrix size: 1 to 3 (and 0 or 1 when the suite probes edge shapes)."""
    return g.shape(min_dims=1, max_dims=1, max_side=3)[0]


def _batch(g):
    """Batch dims: a batch of 2 or 3 matrices, or (in the edge mode) none, one or an empty one.

    Always a batch outside the edge mode: the noncontiguous check expands a tensor along its
    first dim of size > 1, which for a lone matrix repeats a row. The matrix is then singular,
    and what singular matrices give is not comparable: their singular vectors and eigenvectors
    are not unique (LAPACK builds choose different ones) and torch's first-order gradients of
    them avoid raising where second-order ones (and HyperGrad's) solve and raise.
    """
    if getattr(g, "mode", "plain") != "edge":
        return (g.integers(2, 3),)
    return g.shape(min_dims=0, max_dims=1, max_side=2)


def _identity_like(array, rows, cols):
    return np.eye(rows, cols, dtype=array.dtype)


def _invertible(g):
    """A square matrix with entries in [-1, 1] plus (n + 1) on its diagonal: strictly
    diagonally dominant, so invertible, with a condition number below 2n + 1."""
    n = _side(g)
    t = g.tensor(_batch(g) + (n, n), -1, 1)
    t.array = t.array + (n + 1) * _identity_like(t.array, n, n)
    return t


def _full_rank(g, rows, cols):
    """A rows x cols matrix of full rank: entries in [-1, 1] plus (min + 1) on the diagonal."""
    t = g.tensor(_batch(g) + (rows, cols), -1, 1)
    t.array = t.array + (min(rows, cols) + 1) * _identity_like(t.array, rows, cols)
    return t


def _positive_definite(g):
    """X X^T + n I for X with entries in [-1, 1]: symmetric, eigenvalues at least n."""
    n = _side(g)
    t = g.tensor(_batch(g) + (n, n), -1, 1)
    x = t.array
    with np.errstate(all="ignore"):   # the special values overflow
        t.array = x @ np.swapaxes(x, -1, -2) + n * _identity_like(x, n, n)
    return t


def _orthogonal(array):
    """The orthogonal factor of a QR factorization of each matrix of `array`."""
    with np.errstate(all="ignore"):
        return np.linalg.qr(array)[0] if array.size else array


def _spread_values(g, batch, k, dtype, largest_first=False):
    """k values at least 1 apart and at least 1 in size (offsets drawn in [0, 0.5])."""
    offsets = g.tensor(batch + (k,), 0, 0.5, special=False).array.astype(dtype)
    values = np.arange(1, k + 1, dtype=dtype) * 1.5 + offsets
    return values[..., ::-1].copy() if largest_first else values


def _symmetric(g):
    """Q diag(w) Q^T with Q orthogonal and eigenvalues w of alternating signs, at least 1 in
    size and 1 apart, so that eigenvector gradients (which divide by eigenvalue gaps) and
    inverses stay small."""
    n = _side(g)
    batch = _batch(g)
    t = g.tensor(batch + (n, n), -1, 1)
    q = _orthogonal(t.array + 2 * _identity_like(t.array, n, n))
    w = _spread_values(g, batch, n, t.array.dtype) * (-1) ** np.arange(n)
    with np.errstate(all="ignore"):   # the special values overflow
        m = (q * w[..., None, :]) @ np.swapaxes(q, -1, -2)
    t.array = ((m + np.swapaxes(m, -1, -2)) / 2).astype(t.array.dtype)
    return t


def _with_singular_values(g, rows, cols):
    """U diag(s) V^T with U, V orthogonal and the singular values s at least 1 apart and at
    least 1: singular-vector gradients divide by s_i^2 - s_j^2 and by s."""
    batch = _batch(g)
    k = min(rows, cols)
    t = g.tensor(batch + (rows, cols), -1, 1)
    u = _orthogonal(g.tensor(batch + (rows, rows), -1, 1).array
                    + 2 * np.eye(rows, dtype=t.array.dtype))
    v = _orthogonal(g.tensor(batch + (cols, cols), -1, 1).array
                    + 2 * np.eye(cols, dtype=t.array.dtype))
    s = _spread_values(g, batch, k, t.array.dtype, largest_first=True)
    with np.errstate(all="ignore"):   # the special values overflow
        product = (u[..., :, :k] * s[..., None, :]) @ np.swapaxes(v[..., :, :k], -1, -2)
    t.array = product.astype(t.array.dtype)
    return t


def _square_samples(g):
    return Sample((_invertible(g),))


_INT_MATRIX = np.ones((2, 2), dtype=np.int64)
_SINGULAR = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])


def _matrix_errors(fn, *, square=True):
    """Error samples every matrix op shares: a vector, an integer matrix (and non-square)."""
    samples = [error_sample(np.ones(3), match=f"{fn}: The input tensor A must have at least 2 "
                                              f"dimensions."),
               error_sample(_INT_MATRIX, match=f"{fn}: Expected a floating point or complex "
                                               f"tensor as input. Got Long")]
    if square:
        samples.append(error_sample(np.ones((2, 3)), match=f"{fn}: A must be batches of square "
                                                           f"matrices, but they are 2 by 3"))
    return tuple(samples)


# ----------------------------------------------------------------------------------------------
# linalg.inv, linalg.det, linalg.slogdet
# ----------------------------------------------------------------------------------------------
def _singular_inverse(info):
    return (f"The diagonal element {info} is zero, the inversion could not be completed because "
            f"the input matrix is singular.")


class LinalgInvEx(Op):
    """The inverse of a square matrix (of each matrix of a batch).

    out = A^-1;  d/dA = -out^T @ grad @ out^T
    A singular matrix raises hypergrad.linalg.LinAlgError, as in torch.
    """

    name = "linalg.inv"
    aliases = ("inverse",)
    methods = ("inverse",)
    reference = "torch.linalg.inv"
    samples = _square_samples
    dtypes = FLOATING
    divergences = {"special": on_some_inputs(
        "torch's MKL and numpy's OpenBLAS differ on matrices with inf (MKL's inverse is "
        "sometimes all NaN where OpenBLAS's is finite); see Note [Non-finite inputs]")}
    error_samples = _matrix_errors("linalg.inv") + (
        error_sample(_SINGULAR, match="linalg.inv: The diagonal element 3 is zero, the "
                     "inversion could not be completed because the input matrix is singular."),)

    def forward(ctx, a):
        _check_matrices(a, "linalg.inv")
        try:
            out = np.linalg.inv(a)
        except np.linalg.LinAlgError:
            _raise_singular("linalg.inv", a, _singular_inverse)
        # MKL's inverse of a matrix with a NaN is all NaN (Note [Non-finite inputs])
        bad = np.isnan(a).any(axis=(-2, -1)) | np.isnan(out).any(axis=(-2, -1))
        if bad.any():
            out[bad] = np.nan
        ctx.save_for_backward(out)
        return out

    def backward(ctx, grad):
        inverse, = ctx.saved_tensors
        return -(inverse.mT @ (grad @ inverse.mT))


def _prod_of_others(s):
    """prod_{j != i} s_j for each i along the last dim, exact with zeros (no division)."""
    n = s.shape[-1]
    others = s.unsqueeze(-2).expand(*s.shape[:-1], n, n)
    return hypergrad.where(_eye(n, s) == 1, 1.0, others).prod(-1)


def _det_backward_singular(a, grad):
    """The gradient of det at any matrix, singular ones too: the adjugate of A^T, from the
    SVD A = U diag(S) Vh as det(U) det(Vh) U diag(prod_{j != i} S_j) Vh (torch's formula)."""
    u, s, vh = LinalgSvd.apply(a, True)
    alpha = LinalgDet.apply(u) * LinalgDet.apply(vh) * grad
    return (u * (alpha.unsqueeze(-1) * _prod_of_others(s)).unsqueeze(-2)) @ vh


def _det_backward_invertible(a, grad_times_det):
    """G solving A^T G = grad * det * I, i.e. grad * det * A^-T."""
    n = a.shape[-1]
    return _solve(a.mT, grad_times_det.unsqueeze(-1).unsqueeze(-1) * _eye(n, a))


def _per_matrix(mask, if_true, if_false, *tensors):
    """torch's masked_fmap: `if_true` on the matrices where `mask` holds, `if_false` on the
    others. Each formula is batched; a mixed batch is split into single matrices and joined."""
    flags = np.asarray(mask)
    if flags.all():
        return if_true(*tensors)
    if not flags.any():
        return if_false(*tensors)
    batch = flags.shape
    flat = [t.reshape((-1,) + tuple(t.shape[len(batch):])) for t in tensors]
    pieces = [(if_true if flag else if_false)(*(t.narrow(0, i, 1) for t in flat))
              for i, flag in enumerate(flags.reshape(-1))]
    joined = hypergrad.cat(pieces, 0)
    return joined.reshape(batch + tuple(joined.shape[1:]))


def _det_backward(grad, det, a):
    """torch's linalg_det_backward (see the module's Note [Decompositions]).

    With grad mode on (a second derivative may follow), matrices with |det| < 100 eps use
    the SVD formula, correct at singular matrices, and the others solve A^T G = grad det I.
    With grad mode off torch solves with the LU factors, which makes the gradient of an
    exactly singular matrix (det == 0) zero; so does HyperGrad.
    """
    if a.numel() == 0:
        return hypergrad.zeros_like(a)
    if a.shape[-1] == 1:     # det is the one element: torch passes the gradient through
        return grad.unsqueeze(-1).unsqueeze(-1).expand(a.shape)
    det_values = det.detach().numpy()
    if not hypergrad.is_grad_enabled():
        return _per_matrix(det_values == 0, lambda a, gd: hypergrad.zeros_like(a),
                           _det_backward_invertible, a, grad * det)
    small = np.abs(det_values) < 100 * np.finfo(det_values.dtype).eps
    return _per_matrix(small, lambda a, g, d: _det_backward_singular(a, g),
                       lambda a, g, d: _det_backward_invertible(a, g * d), a, grad, det)


class LinalgDet(Op):
    """The determinant of a square matrix (of each matrix of a batch).

    out = det(A);  d/dA = grad * out * A^-T   (the adjugate for singular A: _det_backward)
    """

    name = "linalg.det"
    aliases = ("det",)
    methods = ("det",)
    reference = "torch.linalg.det"
    samples = _square_samples
    dtypes = FLOATING
    divergences = {"special": on_some_inputs(
        "torch's MKL and numpy's OpenBLAS differ on matrices with inf (an inf - inf in the LU "
        "gives NaN in one and +-inf in the other); see Note [Non-finite inputs]")}
    error_samples = _matrix_errors("linalg.det")

    def forward(ctx, a):
        _check_matrices(a, "linalg.det", half="lu_cpu")
        with np.errstate(all="ignore"):
            out = np.asarray(np.linalg.det(a))
        ctx.save_for_backward(a, out)
        return out

    def backward(ctx, grad):
        a, det = ctx.saved_tensors
        return _det_backward(grad, det, a)


SlogdetResult = namedtuple("linalg_slogdet", ["sign", "logabsdet"])
SlogdetResult.__doc__ = "(sign, logabsdet) of a determinant, as torch.return_types.linalg_slogdet"


class LinalgSlogdet(Op):
    """The sign and log |det| of a square matrix: det(A) = sign * exp(logabsdet).

    logabsdet = log|det(A)|;  d/dA = grad_logabsdet * A^-T   (sign has no gradient)
    """

    materialize_grads = False   # None for unused outputs, as torch

    def forward(ctx, a):
        _check_matrices(a, "linalg.slogdet")
        with np.errstate(all="ignore"):
            sign, logabsdet = np.linalg.slogdet(a)
        sign, logabsdet = np.asarray(sign), np.asarray(logabsdet)
        sign = np.where(np.isnan(logabsdet), 0, sign).astype(a.dtype)  # as MKL's LU gives it
        ctx.save_for_backward(a)
        return sign, logabsdet

    def backward(ctx, grad_sign, grad_logabsdet):
        a, = ctx.saved_tensors
        if grad_logabsdet is None:   # the sign has no gradient
            return None
        n = a.shape[-1]
        return _solve(a.mT, grad_logabsdet.unsqueeze(-1).unsqueeze(-1) * _eye(n, a))


@op_function("linalg.slogdet", aliases=("slogdet",), methods=("slogdet",),
             reference="torch.linalg.slogdet", samples=_square_samples, dtypes=FLOATING,
             node_names=("LinalgSlogdetBackward0",),
             divergences={"special": on_some_inputs(
                 "torch's MKL and numpy's OpenBLAS differ on matrices with inf (an inf - inf "
                 "in the LU gives NaN in one and not the other); see Note [Non-finite inputs]")},
             error_samples=_matrix_errors("linalg.slogdet"))
def slogdet(A):
    """The sign and the log of the absolute value of the determinant, (sign, logabsdet).

    logabsdet = log|det(A)|;  d/dA = grad_logabsdet * A^-T;  sign has no gradient
    A singular matrix gives sign 0 and logabsdet -inf. Returns a named tuple, as torch.
    """
    return SlogdetResult(*LinalgSlogdet.apply(A))


# ----------------------------------------------------------------------------------------------
# linalg.solve, linalg.cholesky
# ----------------------------------------------------------------------------------------------
def _is_vector_rhs(a, b):
    """torch's linalg_solve_is_vector_rhs: B is a vector (or a batch of vectors, B.shape ==
    A.shape[:-1]), not a matrix of right-hand sides."""
    return b.ndim == 1 or (b.ndim == a.ndim - 1 and b.shape == a.shape[:-1])


def _solve_samples(g):
    a = _invertible(g)
    n = a.array.shape[-1]
    batch = a.array.shape[:-2]
    left = g.booleans() or not (g.booleans() and n)
    kwargs = {} if left else {"left": False}
    case = g.sampled_from(["vector", "matrix", "batched vector", "broadcast"])
    if case == "vector" and left:
        shape = (n,)
    elif case == "batched vector" and left:
        shape = batch + (n,)
    elif left:
        shape = (batch if case == "matrix" else batch[1:]) + (n, g.integers(1, 2))
    else:
        shape = batch + (g.integers(1, 2), n)
    return Sample((a, g.tensor(shape)), kwargs)


class LinalgSolveEx(Op):
    """The solution X of A X = B (or X A = B with left=False); batch dims broadcast, and B may
    be a vector (or a batch of vectors).

    X = A^-1 B;  d/dB = A^-T grad;  d/dA = -(A^-T grad) X^T   (left=False: X = B A^-1,
    d/dB = grad A^-T, d/dA = -X^T (grad A^-T))
    """

    name = "linalg.solve"
    inputs = 2
    reference = "torch.linalg.solve"
    samples = _solve_samples
    dtypes = FLOATING
    divergences = {"special": on_some_inputs(
        "torch's MKL and numpy's OpenBLAS differ on matrices with inf or NaN; see Note "
        "[Non-finite inputs]")}
    error_samples = (
        error_sample(np.eye(3), np.ones(2), match=r"linalg.solve: Incompatible shapes of A and "
                                                  r"B for the equation AX = B \(3x3 and 2x1\)"),
        error_sample(np.eye(3, dtype=np.float32), np.ones(3),
                     match="linalg.solve: Expected A and B to have the same dtype, but found A "
                           "of type Float and B of type Double instead"),
        error_sample(_SINGULAR, np.ones(3),
                     match="torch.linalg.solve: The solver failed because the input matrix is "
                           "singular."),
    )

    def forward(ctx, a, b, *, left=True):
        _check_matrices(a, "linalg.solve", half="lu_cpu")
        if a.dtype != b.dtype:
            raise RuntimeError(f"linalg.solve: Expected A and B to have the same dtype, but found "
                               f"A of type {_TYPE_NAME[a.dtype.name]} and B of type "
                               f"{_TYPE_NAME[b.dtype.name]} instead")
        vector = _is_vector_rhs(a, b)
        if not left and vector:
            raise RuntimeError("linalg.solve: Vector broadcasting of the left hand side is not "
                               "supported for left=False. In this case linalg.solve is "
                               "equivalent to B / A.squeeze(-1)")
        b_matrix = b[..., None] if vector else b
        _check_matrices(b_matrix, "linalg.solve", square=False, name="B")
        if (a.shape[-2] != b_matrix.shape[-2]) if left else (a.shape[-1] != b_matrix.shape[-1]):
            raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation "
                               f"{'AX = B' if left else 'XA = B'} ({_shape_text(a.shape[-2:])} "
                               f"and {_shape_text(b_matrix.shape[-2:])})")
        batch = _broadcast_batch(b_matrix.shape[:-2], a.shape[:-2])
        a_full = np.broadcast_to(a, batch + a.shape[-2:])
        b_full = np.broadcast_to(b_matrix, batch + b_matrix.shape[-2:])
        try:
            with np.errstate(all="ignore"):
                if left:
                    x = np.linalg.solve(a_full, b_full)
                else:
                    x = np.swapaxes(np.linalg.solve(np.swapaxes(a_full, -1, -2),
                                                    np.swapaxes(b_full, -1, -2)), -1, -2)
        except np.linalg.LinAlgError:
            _raise_singular("torch.linalg.solve", a_full, lambda info: (
                "The solver failed because the input matrix is singular."))
        x = np.ascontiguousarray(x[..., 0] if vector else x)
        ctx.save_for_backward(a, x)
        ctx.left, ctx.vector = left, vector
        return x

    def backward(ctx, grad):
        a, x = ctx.saved_tensors
        if ctx.vector:
            grad, x = grad.unsqueeze(-1), x.unsqueeze(-1)
        grad_b = _solve(a.mT, grad, left=ctx.left)
        grad_a = None
        if ctx.needs_input_grad[0]:
            grad_a = -(grad_b @ x.mT) if ctx.left else -(x.mT @ grad_b)
        return grad_a, grad_b.squeeze(-1) if ctx.vector else grad_b


def _cholesky_samples(g):
    return Sample((_positive_definite(g),), {"upper": True} if g.booleans() else {})


def _not_positive_definite(info):
    return (f"The factorization could not be completed because the input is not "
            f"positive-definite (the leading minor of order {info} is not positive-definite).")


def _cholesky_lower(a):
    """The lower Cholesky factor of each matrix of `a` (reading its lower triangle), raising
    torch's LinAlgError where LAPACK's potrf fails (Note [LAPACK errors])."""
    try:
        with np.errstate(all="ignore"):
            lower = np.linalg.cholesky(a)
    except np.linalg.LinAlgError:
        lower = None
    if lower is None or not np.isfinite(a).all():  # MKL also stops at a NaN pivot
        for index, matrix in enumerate(_matrices_of(a)):
            info = _first_failing_minor(matrix)
            if info:
                raise _lapack_error("linalg.cholesky", _not_positive_definite(info), index,
                                    a.ndim > 2)
    return lower


def _cholesky_backward(grad, factor, upper):
    """torch's cholesky_backward: with L the lower factor and gL its gradient,
    gA = L^-T phi(L^T gL) L^-1, where phi(X) = (tril(X) + tril(X, -1)^T) / 2; the two
    solves are triangular (L^T is upper, L lower), as in torch."""
    lower = factor.mT if upper else factor
    grad_lower = grad.mT if upper else grad
    ga = (lower.mT @ grad_lower).tril()
    ga = 0.5 * (ga + ga.tril(-1).mT)
    ga = LinalgSolveTriangular.apply(lower.mT, ga, upper=True)
    return LinalgSolveTriangular.apply(lower, ga, upper=False, left=False)


class LinalgCholeskyEx(Op):
    """The Cholesky factor of a symmetric positive-definite matrix: A = L L^T (lower, read
    from A's lower triangle), or A = U^T U with upper=True (read from the upper triangle).

    out = L;  d/dA = L^-T phi(L^T grad) L^-1,  phi(X) = (tril(X) + tril(X, -1)^T) / 2
    A matrix that is not positive-definite raises hypergrad.linalg.LinAlgError, as in torch.
    """

    name = "linalg.cholesky"
    reference = "torch.linalg.cholesky"
    samples = _cholesky_samples
    dtypes = FLOATING
    divergences = {"special": on_some_inputs(
        "on matrices with inf and huge values, whether the factorization fails (and at which "
        "minor) can differ: MKL's potrf (torch's) fuses some multiply-adds and orders its "
        "sums its own way, so a pivot such as inf - (1e200)^2 is inf (no failure) in torch "
        "and inf - inf = NaN (a failure) in HyperGrad's check, or the other way round; see "
        "Note [LAPACK errors]")}
    error_samples = _matrix_errors("linalg.cholesky") + (
        error_sample(np.array([[1.0, 2.0], [2.0, 1.0]]),
                     match=r"linalg.cholesky: The factorization could not be completed because "
                           r"the input is not positive-definite \(the leading minor of order 2 "
                           r"is not positive-definite\)."),
        error_sample(np.array([[np.nan, 1.0], [1.0, 2.0]]),
                     match="the leading minor of order 1"))

    def forward(ctx, a, *, upper=False):
        _check_matrices(a, "linalg.cholesky", half="cholesky_cpu")
        if upper:   # U^T U = A reads A's upper triangle: the lower factor of A^T, transposed
            out = np.ascontiguousarray(np.swapaxes(_cholesky_lower(np.swapaxes(a, -1, -2)),
                                                   -1, -2))
        else:
            out = _cholesky_lower(a)
        ctx.save_for_backward(out)
        ctx.upper = upper
        return out

    def backward(ctx, grad):
        factor, = ctx.saved_tensors
        return _cholesky_backward(grad, factor, ctx.upper)


# ----------------------------------------------------------------------------------------------
# linalg.solve_triangular
# ----------------------------------------------------------------------------------------------
def _substitute(a, x, upper, unitriangular):
    """Overwrite `x`, which holds B, with the solution X of A X = B for a triangular A: forward
    substitution down a lower A, back substitution up an upper one (Note [Triangular solves
    by substitution]). Reads only A's triangle, and not its diagonal if `unitriangular`.
    Batched: a is (..., n, n) and x (..., n, k), with the same batch dims."""
    n = a.shape[-1]
    for k in (range(n - 1, -1, -1) if upper else range(n)):
        if not unitriangular:
            x[..., k, :] /= a[..., k, k, None]
        rest = slice(0, k) if upper else slice(k + 1, n)   # the rows not solved yet
        x[..., rest, :] -= a[..., rest, k, None] * x[..., k, None, :]


def _solve_triangular_backward(grad, a, x, upper, left, unitriangular, need_a):
    """torch's linalg_solve_triangular_backward: gB = A^-T grad (grad A^-T with left=False),
    a triangular solve with A^T, which is triangular the other way; gA = -gB X^T (-X^T gB),
    kept on the triangle the forward read (without the diagonal if unitriangular): A's other
    elements were never used, so their gradient is zero."""
    grad_b = LinalgSolveTriangular.apply(a.mT, grad, upper=not upper, left=left,
                                         unitriangular=unitriangular)
    if not need_a:
        return None, grad_b
    grad_a = -(grad_b @ x.mT) if left else -(x.mT @ grad_b)
    grad_a = grad_a.triu(int(unitriangular)) if upper else grad_a.tril(-int(unitriangular))
    return grad_a, grad_b


class LinalgSolveTriangular(Op):
    """The solution X of A X = B (X A = B with left=False) for a triangular A.

    X = A^-1 B;  d/dB = A^-T grad;  d/dA = -(d/dB) X^T on A's triangle   (left=False:
    X = B A^-1, d/dB = grad A^-T, d/dA = -X^T (d/dB))
    """

    inputs = 2

    def forward(ctx, a, b, *, upper, left=True, unitriangular=False):
        fn = "linalg.solve_triangular"   # torch's checks, in torch's order
        if a.ndim < 2:
            raise RuntimeError(f"{fn}: The input tensor A must have at least 2 dimensions.")
        if a.shape[-1] != a.shape[-2]:
            raise RuntimeError(f"{fn}: A must be batches of square matrices, but they are "
                               f"{a.shape[-2]} by {a.shape[-1]} matrices")
        if b.ndim < 2:
            raise RuntimeError(f"{fn}: The input tensor B must have at least 2 dimensions.")
        if (a.shape[-2] != b.shape[-2]) if left else (a.shape[-1] != b.shape[-1]):
            raise RuntimeError(f"{fn}: Incompatible shapes of A and B for the equation "
                               f"{'AX = B' if left else 'XA = B'} ({_shape_text(a.shape[-2:])} "
                               f"and {_shape_text(b.shape[-2:])})")
        batch = _broadcast_batch(b.shape[:-2], a.shape[:-2])
        if a.dtype not in (np.float32, np.float64):
            raise NotImplementedError(f"\"triangular_solve_cpu\" not implemented for "
                                      f"'{_TYPE_NAME[a.dtype.name]}'")
        a_full = np.broadcast_to(a, batch + a.shape[-2:])
        x = np.array(np.broadcast_to(b, batch + b.shape[-2:]), dtype=a.dtype)  # B, A's dtype
        with np.errstate(all="ignore"):
            if left:
                _substitute(a_full, x, upper, unitriangular)
            else:   # X A = B is A^T X^T = B^T, and A^T is triangular the other way
                _substitute(np.swapaxes(a_full, -1, -2), np.swapaxes(x, -1, -2), not upper,
                            unitriangular)
        ctx.save_for_backward(a, x)
        ctx.upper, ctx.left, ctx.unitriangular = upper, left, unitriangular
        return x

    def backward(ctx, grad):
        a, x = ctx.saved_tensors
        return _solve_triangular_backward(grad, a, x, ctx.upper, ctx.left, ctx.unitriangular,
                                          ctx.needs_input_grad[0])


def _solve_triangular_samples(g):
    """A well-conditioned A (its triangles are diagonally dominant: see _invertible), whose
    other triangle holds values the solve must ignore; B with the same, fewer, size-1 or more
    batch dims; upper, left and unitriangular drawn."""
    a = _invertible(g)
    n = a.array.shape[-1]
    batch = a.array.shape[:-2]
    b_batch = g.sampled_from([batch, batch[1:], (1,) * len(batch), (2,) + batch])
    left = g.booleans()
    k = g.integers(1, 2)
    kwargs = {"upper": g.booleans()}
    if not left:
        kwargs["left"] = False
    if g.booleans():
        kwargs["unitriangular"] = True
    return Sample((a, g.tensor(b_batch + ((n, k) if left else (k, n)))), kwargs)


class _Required:
    """The default of an argument torch requires by keyword (solve_triangular's `upper`), so
    that leaving it out raises torch's TypeError."""

    def __repr__(self):
        return "<required>"


_REQUIRED = _Required()

_SOLVE_TRIANGULAR_ERRORS = (
    error_sample(np.ones((2, 3)), np.ones((2, 1)), upper=True,
                 match="linalg.solve_triangular: A must be batches of square matrices, but "
                       "they are 2 by 3 matrices"),
    error_sample(np.ones(3), np.ones((3, 1)), upper=True,
                 match="linalg.solve_triangular: The input tensor A must have at least 2 "
                       "dimensions."),
    error_sample(np.eye(3), np.ones(3), upper=True,
                 match="linalg.solve_triangular: The input tensor B must have at least 2 "
                       "dimensions."),
    error_sample(np.eye(3), np.ones((2, 1)), upper=False,
                 match=r"linalg.solve_triangular: Incompatible shapes of A and B for the "
                       r"equation AX = B \(3x3 and 2x1\)"),
    error_sample(np.eye(3), np.ones((3, 2)), upper=False, left=False,
                 match=r"linalg.solve_triangular: Incompatible shapes of A and B for the "
                       r"equation XA = B \(3x3 and 3x2\)"),
    error_sample(np.ones((2, 3, 3)), np.ones((4, 3, 1)), upper=True,
                 match=r"The size of tensor a \(4\) must match the size of tensor b \(2\) at "
                       r"non-singleton dimension 0"),
    error_sample(_INT_MATRIX, _INT_MATRIX, upper=True, error_type=NotImplementedError,
                 match="\"triangular_solve_cpu\" not implemented for 'Long'"),
    error_sample(np.eye(2, dtype=np.float16), np.ones((2, 1)), upper=True,
                 error_type=NotImplementedError,
                 match="\"triangular_solve_cpu\" not implemented for 'Half'"),
    error_sample(np.eye(2), np.ones((2, 1)), error_type=TypeError,
                 match="linalg_solve_triangular() missing 1 required positional arguments: "
                       "\"upper\""),
    error_sample(np.eye(2), np.ones((2, 1)), upper=1, error_type=TypeError,
                 match="linalg_solve_triangular(): argument 'upper' must be bool, not int"),
    error_sample(np.eye(2), 1.0, upper=True, error_type=TypeError,
                 match="linalg_solve_triangular(): argument 'B' (position 2) must be Tensor, "
                       "not float"),
)


@op_function("linalg.solve_triangular", reference="torch.linalg.solve_triangular",
             samples=_solve_triangular_samples, dtypes=FLOATING,
             tolerances=ILL_CONDITIONED_SUMS, node_names=("LinalgSolveTriangularBackward0",),
             divergences={"special": on_some_inputs(
                 "with huge and tiny values, an inf in one library can be a NaN in the other: "
                 "torch's MKL trsm kernels fuse some multiply-adds and sum in an order that "
                 "depends on the size and layout, so an overflowing product may or may not "
                 "meet an inf (inf - inf = NaN), and a tiny value that rounds to 0 in one "
                 "library (0 * inf = NaN) does not in the other; see Note [Triangular solves "
                 "by substitution]")},
             error_samples=_SOLVE_TRIANGULAR_ERRORS)
def solve_triangular(input, B, *, upper=_REQUIRED, left=True, unitriangular=False):
    """The solution X of A X = B (or X A = B with left=False) for a triangular A = `input`
    (torch names the argument `input`, as here, and documents it as A).

    A is upper triangular if `upper` (a required keyword), else lower: only that triangle is
    read, and with `unitriangular` its diagonal is taken as ones (and not read either). Batch
    dims broadcast; B is cast to A's dtype, float32 or float64. Solved by substitution, as
    BLAS trsm does (Note [Triangular solves by substitution]); a zero on the diagonal gives
    inf or NaN, not an error.

    X = A^-1 B;  d/dB = A^-T grad;  d/dA = -(d/dB) X^T, on A's triangle (torch's
    linalg_solve_triangular_backward)
    """
    for position, (name, value) in enumerate((("input", input), ("B", B)), 1):
        if not isinstance(value, Tensor):
            raise TypeError(f"linalg_solve_triangular(): argument '{name}' (position "
                            f"{position}) must be Tensor, not {type(value).__name__}")
    if upper is _REQUIRED:
        raise TypeError("linalg_solve_triangular() missing 1 required positional arguments: "
                        "\"upper\"")
    for name, value in (("upper", upper), ("left", left), ("unitriangular", unitriangular)):
        if not isinstance(value, bool):
            raise TypeError(f"linalg_solve_triangular(): argument '{name}' must be bool, not "
                            f"{type(value).__name__}")
    return LinalgSolveTriangular.apply(input, B, upper=upper, left=left,
                                       unitriangular=unitriangular)


# ----------------------------------------------------------------------------------------------
QRResult = namedtuple("linalg_qr", ["Q", "R"])
QRResult.__doc__ = "(Q, R) of a QR factorization, as torch.return_types.linalg_qr"


def _qr_samples(g):
    rows, cols = _side(g), _side(g)
    mode = g.sampled_from(["reduced", "complete", "r"])
    if mode == "complete" and rows > cols and g.booleans():
        mode = "reduced"  # complete with more rows than columns has no gradient (torch raises)
    return Sample((_full_rank(g, rows, cols),), {} if mode == "reduced" else {"mode": mode})


def _qr_backward(grad_q, grad_r, q, r, mode):
    """torch's linalg_qr_backward (FunctionsManual.cpp), for real matrices.

    With M = gR R^T - Q^T gQ: if m >= n, gA = (gQ + Q copyltu(M)) R^-T, where copyltu(M) =
    triu(M) + triu(M)^T - diag(M); if m < n, gA = [Q tril(X - X^T) R1^-T, 0] + Q gR, with
    X = -M and R1 the leading m x m block of R. R^T is lower triangular: the solves with it
    are triangular, as in torch (a singular R gives inf or NaN, not an error).
    """
    if mode == "r":
        raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed when "
                           "mode='r'. Please use linalg.qr(A, mode='reduced') if you are going "
                           "to differentiate through linalg.qr.")
    m, n = q.shape[-2], r.shape[-1]
    if mode == "complete" and m > n:
        raise RuntimeError("The QR decomposition is not differentiable when mode='complete' and "
                           "nrows > ncols.")
    no_q, no_r = grad_q is None, grad_r is None
    if no_q and no_r:
        return None
    if no_q:
        ga = grad_r @ r.mT
    elif no_r:
        ga = -(q.mT @ grad_q)
    else:
        ga = grad_r @ r.mT - q.mT @ grad_q
    if m >= n:
        upper = ga.triu()
        ga = q @ (upper + upper.mT - upper.diagonal(0, -2, -1).diag_embed())
        if not no_q:
            ga = ga + grad_q
        return LinalgSolveTriangular.apply(r.mT, ga, upper=False, left=False)
    x = -ga
    ga = q @ (x - x.mT).tril()
    ga = LinalgSolveTriangular.apply(r.narrow(-1, 0, m).mT, ga, upper=False, left=False)
    ga = hypergrad.cat([ga, ga.new_zeros(tuple(r.shape[:-1]) + (n - m,))], -1)
    return ga if no_r else ga + q @ grad_r


class LinalgQr(Op):
    """The QR factorization A = Q R: Q with orthonormal columns, R upper triangular.

    mode "reduced": Q (m, k), R (k, n) with k = min(m, n); "complete": Q (m, m), R (m, n);
    "r": R only (Q is empty). d/dA: torch's linalg_qr_backward (see _qr_backward).
    """

    materialize_grads = False   # None for unused outputs, as torch

    def forward(ctx, a, mode="reduced"):
        _check_matrices(a, "linalg.qr", square=False, half="geqrf_cpu")
        if mode not in ("reduced", "complete", "r"):
            raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of "
                               f"'reduced' (default), 'r', or 'complete'")
        with np.errstate(all="ignore"):
            q, r = np.linalg.qr(a, mode="complete" if mode == "complete" else "reduced")
        if mode == "r":
            q = np.empty((0,), a.dtype)
        q, r = np.ascontiguousarray(q), np.ascontiguousarray(r)
        ctx.save_for_backward(q, r)
        ctx.mode = mode
        return q, r

    def backward(ctx, grad_q, grad_r):
        q, r = ctx.saved_tensors
        return _qr_backward(grad_q, grad_r, q, r, ctx.mode)


@op_function("linalg.qr", reference="torch.linalg.qr", samples=_qr_samples, dtypes=FLOATING,
             node_names=("LinalgQrBackward0",),
             divergences={"special": on_some_inputs(
                 "torch's MKL and numpy's OpenBLAS differ on matrices with inf or NaN (which "
                 "elements of Q and R become NaN); see Note [Non-finite inputs]")},
             error_samples=_matrix_errors("linalg.qr", square=False) + (
                 error_sample(np.ones((2, 3)), mode="foo", match="qr received unrecognized mode "
                              "'foo' but expected one of 'reduced' (default), 'r', or "
                              "'complete'"),))
def qr(A, mode="reduced"):
    """The QR factorization of a matrix (of each matrix of a batch), as a named tuple (Q, R).

    A = Q R with Q's columns orthonormal and R upper triangular (LAPACK's signs, the same in
    numpy and torch). mode: "reduced" (default), "complete", or "r" (R only; not
    differentiable). d/dA: torch's linalg_qr_backward.
    """
    return QRResult(*LinalgQr.apply(A, mode))


# ----------------------------------------------------------------------------------------------
# linalg.eigh, linalg.eigvalsh
# ----------------------------------------------------------------------------------------------
EighResult = namedtuple("linalg_eigh", ["eigenvalues", "eigenvectors"])
EighResult.__doc__ = "(eigenvalues, eigenvectors), as torch.return_types.linalg_eigh"


def _eigh_samples(g):
    return Sample((_symmetric(g),), {"UPLO": "U"} if g.booleans() and g.booleans() else {})


def _eigh_backward(grad_values, grad_vectors, values, vectors):
    """torch's linalg_eig_backward for symmetric matrices (FunctionsManual.cpp).

    gA = V (skew(V^T gV) / E + diag(gL)) V^T, with skew(X) = (X - X^T) / 2 and
    E_ij = L_j - L_i off the diagonal (1 on it); for eigenvalues only, V diag(gL) V^T.
    """
    if grad_vectors is None:
        if grad_values is None:
            return None
        return (vectors * grad_values.unsqueeze(-2)) @ vectors.mT
    vhgv = vectors.mT @ grad_vectors
    vhgv = 0.5 * (vhgv - vhgv.mT)
    n = values.shape[-1]
    gaps = values.unsqueeze(-2) - values.unsqueeze(-1) + _eye(n, values)
    ga = vhgv / gaps
    if grad_values is not None:
        ga = ga + grad_values.diag_embed()
    return vectors @ (ga @ vectors.mT)


class LinalgEigh(Op):
    """Eigenvalues (ascending) and orthonormal eigenvectors of a symmetric matrix, read from
    its lower (UPLO="L") or upper ("U") triangle: A = V diag(L) V^T.

    d/dA = V (skew(V^T gV) / E + diag(gL)) V^T,  E_ij = L_j - L_i  (see _eigh_backward)
    """

    materialize_grads = False   # None for unused outputs, as torch

    def forward(ctx, a, UPLO="L"):
        _check_matrices(a, "linalg.eigh", half="linalg_eigh_cpu")
        if UPLO not in ("L", "U"):
            raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
        values, vectors = _numpy_eigh(a, UPLO)
        ctx.save_for_backward(values, vectors)
        return values, vectors

    def backward(ctx, grad_values, grad_vectors):
        values, vectors = ctx.saved_tensors
        return _eigh_backward(grad_values, grad_vectors, values, vectors)


def _numpy_eigh(a, UPLO):
    """numpy's eigh, raising torch's LinAlgError when LAPACK does not converge."""
    try:
        with np.errstate(all="ignore"):
            return np.linalg.eigh(a, UPLO=UPLO)
    except np.linalg.LinAlgError:
        for index, matrix in enumerate(_matrices_of(a)):
            try:
                with np.errstate(all="ignore"):
                    np.linalg.eigvalsh(matrix, UPLO=UPLO)
            except np.linalg.LinAlgError:
                raise _lapack_error("linalg.eigh", "The algorithm failed to converge because the "
                                    "input matrix is ill-conditioned or has too many repeated "
                                    "eigenvalues.", index, a.ndim > 2) from None
        raise


def _check_eigh_dtype(A):
    if A.dim() >= 2 and A.shape[-1] == A.shape[-2] and not A.is_floating_point():
        raise NotImplementedError(f"\"linalg_eigh_cpu\" not implemented for "
                                  f"'{_TYPE_NAME[A.dtype.numpy.name]}'")


def _torch_signs_from_numpy(torch_vectors, numpy_vectors, count):
    """Flip the signs of the first `count` columns of torch's vectors to numpy's, in place on
    the storage (Note [Signs of eigenvectors and singular vectors]); return the flips."""
    import torch

    ours = np.asarray(numpy_vectors)[..., :count]
    theirs = torch_vectors.detach().numpy()[..., :count]
    flips = np.where(np.sum(ours * theirs, axis=-2, keepdims=True) < 0, -1.0, 1.0)
    torch_vectors.data[..., :count].mul_(torch.from_numpy(flips).to(torch_vectors.dtype))
    return flips


def _torch_eigh(A, UPLO="L"):
    """torch.linalg.eigh with each eigenvector's sign set to numpy's (the conformance
    reference; Note [Signs of eigenvectors and singular vectors])."""
    import torch

    result = torch.linalg.eigh(A, UPLO=UPLO)
    if A.numel():
        with np.errstate(all="ignore"):
            _, vectors = np.linalg.eigh(A.detach().numpy(), UPLO=UPLO)
        _torch_signs_from_numpy(result.eigenvectors, vectors, vectors.shape[-1])
    return result


@op_function("linalg.eigh", reference=_torch_eigh, samples=_eigh_samples, dtypes=FLOATING,
             node_names=("LinalgEighBackward0",),
             tolerances={"float32": (1e-4, 1e-4)},
             error_samples=_matrix_errors("linalg.eigh")[:1] + (
                 error_sample(_INT_MATRIX, error_type=NotImplementedError,
                              match="\"linalg_eigh_cpu\" not implemented for 'Long'"),
                 error_sample(np.eye(2), UPLO="X",
                              match="Expected UPLO argument to be 'L' or 'U', but got X")))
def eigh(A, UPLO="L"):
    """Eigenvalues (ascending) and eigenvectors of a symmetric matrix (of each matrix of a
    batch), as a named tuple (eigenvalues, eigenvectors); only the UPLO triangle is read.

    Each eigenvector's sign is LAPACK's (Note [Signs of eigenvectors and singular vectors]).
    d/dA = V (skew(V^T gV) / E + diag(gL)) V^T with E_ij = L_j - L_i: finite when the
    eigenvalues are distinct, or when only the eigenvalues are used.
    """
    _check_eigh_dtype(A)
    return EighResult(*LinalgEigh.apply(A, UPLO))


@op_function("linalg.eigvalsh", reference="torch.linalg.eigvalsh", samples=_eigh_samples,
             dtypes=FLOATING, node_names=("LinalgEighBackward0",),
             tolerances={"float32": (1e-4, 1e-4)},
             error_samples=[error_sample(_INT_MATRIX, error_type=NotImplementedError,
                                         match="\"linalg_eigh_cpu\" not implemented for 'Long'")])
def eigvalsh(A, UPLO="L"):
    """The eigenvalues (ascending) of a symmetric matrix, from its UPLO triangle.

    As torch, the eigenvalues of `linalg.eigh` (node LinalgEighBackward0):
    d/dA = V diag(grad) V^T.
    """
    _check_eigh_dtype(A)
    return LinalgEigh.apply(A, UPLO)[0]


# ----------------------------------------------------------------------------------------------
# linalg.svd, linalg.svdvals, linalg.pinv
# ----------------------------------------------------------------------------------------------
SVDResult = namedtuple("linalg_svd", ["U", "S", "Vh"])
SVDResult.__doc__ = "(U, S, Vh) of a singular value decomposition, as torch.return_types.linalg_svd"


def _svd_samples(g):
    rows, cols = _side(g), _side(g)
    kwargs = {"full_matrices": False} if g.booleans() else {}
    return Sample((_with_singular_values(g, rows, cols),), kwargs)


def _svd_backward(grad_u, grad_s, grad_vh, u, s, vh):
    """torch's svd_backward for real matrices (FunctionsManual.cpp); U, Vh reduced.

    With skew(X) = X - X^T, J = skew(U^T gU), K = skew(Vh gVh^T) and E_jk = S_k^2 - S_j^2
    (1 on the diagonal): gA = U [(J S + S K) / E + diag(gS)] Vh, plus (I - U U^T) gU S^-1 Vh
    when m > n, or U S^-1 gVh (I - Vh^T Vh) when m < n. With only gS: U diag(gS) Vh.
    """
    m, n = u.shape[-2], vh.shape[-1]
    no_u, no_vh = grad_u is None, grad_vh is None
    if no_u and no_vh:
        if grad_s is None:
            return None
        return u @ (grad_s.unsqueeze(-1) * vh) if m >= n else (u * grad_s.unsqueeze(-2)) @ vh
    k = s.shape[-1]
    squares = s * s
    gaps = squares.unsqueeze(-2) - squares.unsqueeze(-1) + _eye(k, s)
    uhgu = None if no_u else u.mT @ grad_u
    vhgv = None if no_vh else vh @ grad_vh.mT
    uhgu = None if no_u else uhgu - uhgu.mT
    vhgv = None if no_vh else vhgv - vhgv.mT
    if no_vh:
        inner = (uhgu / gaps) * s.unsqueeze(-2)
    elif no_u:
        inner = s.unsqueeze(-1) * (vhgv / gaps)
    else:
        inner = (uhgu * s.unsqueeze(-2) + s.unsqueeze(-1) * vhgv) / gaps
    if grad_s is not None:
        inner = inner + grad_s.diag_embed()
    if m > n and not no_u:
        ga = u @ inner
        gu_sinv = grad_u / s.unsqueeze(-2)
        ga = ga + gu_sinv - u @ (u.mT @ gu_sinv)
        return ga @ vh
    if m < n and not no_vh:
        ga = inner @ vh
        sinv_gvh = grad_vh / s.unsqueeze(-1)
        ga = ga + sinv_gvh - (sinv_gvh @ vh.mT) @ vh
        return u @ ga
    return u @ (inner @ vh) if m >= n else (u @ inner) @ vh


class LinalgSvd(Op):
    """The singular value decomposition A = U diag(S) Vh (S descending, non-negative).

    full_matrices=True gives square U and Vh; their extra columns/rows have no gradient.
    d/dA: torch's svd_backward (see _svd_backward).
    """

    materialize_grads = False   # None for unused outputs, as torch

    def forward(ctx, a, full_matrices=True):
        _check_matrices(a, "linalg.svd", square=False, half="linalg_svd_cpu")
        _check_finite_for_svd(a)
        with np.errstate(all="ignore"):
            u, s, vh = _numpy_svd(a, full_matrices)
        ctx.save_for_backward(u, s, vh)
        ctx.full_matrices = full_matrices
        return u, s, vh

    def backward(ctx, grad_u, grad_s, grad_vh):
        u, s, vh = ctx.saved_tensors
        if ctx.full_matrices:
            k = s.shape[-1]
            u, vh = u.narrow(-1, 0, k), vh.narrow(-2, 0, k)
            grad_u = None if grad_u is None else grad_u.narrow(-1, 0, k)
            grad_vh = None if grad_vh is None else grad_vh.narrow(-2, 0, k)
        return _svd_backward(grad_u, grad_s, grad_vh, u, s, vh)


def _numpy_svd(a, full_matrices):
    """numpy's SVD, also of empty matrices (which numpy refuses: no singular values, and
    identity matrices for the square U and Vh of full_matrices, as torch returns) and of
    matrices with inf (all NaN: LAPACK's SVD can loop forever on them; Note [Non-finite
    inputs])."""
    m, n = a.shape[-2:]
    if m and n:
        infinite = np.isinf(a).any(axis=(-2, -1))
        if not infinite.any():
            return np.linalg.svd(a, full_matrices=full_matrices)
        u, s, vh = np.linalg.svd(np.where(infinite[..., None, None], 0, a), full_matrices)
        for value in (u, s, vh):
            value[infinite] = np.nan
        return u, s, vh
    batch = a.shape[:-2]
    u_cols, vh_rows = (m, n) if full_matrices else (0, 0)
    u = np.broadcast_to(np.eye(m, u_cols, dtype=a.dtype), batch + (m, u_cols)).copy()
    vh = np.broadcast_to(np.eye(vh_rows, n, dtype=a.dtype), batch + (vh_rows, n)).copy()
    return u, np.zeros(batch + (0,), a.dtype), vh


def _torch_svd(A, full_matrices=True):
    """torch.linalg.svd with the singular vectors' signs (and, for full_matrices, the extra
    basis vectors) set to numpy's: the conformance reference (Note [Signs of eigenvectors and
    singular vectors])."""
    import torch

    result = torch.linalg.svd(A, full_matrices=full_matrices)
    a = A.detach().numpy()
    if a.size and not np.isnan(a).any():
        with np.errstate(all="ignore"):
            u, _, vh = _numpy_svd(a, full_matrices)
        k = min(a.shape[-2:])
        flips = _torch_signs_from_numpy(result.U, u, k)
        result.Vh.data[..., :k, :].mul_(torch.from_numpy(np.swapaxes(flips, -1, -2)).to(A.dtype))
        result.U.data[..., k:] = torch.from_numpy(np.ascontiguousarray(u[..., k:]))
        result.Vh.data[..., k:, :] = torch.from_numpy(np.ascontiguousarray(vh[..., k:, :]))
    return result


_SVD_OF_INF = ("torch's MKL and numpy's OpenBLAS differ on the SVD of matrices with inf or huge "
               "values (MKL often returns NaN singular values, and which of the vectors are "
               "NaN varies); see Note [Non-finite inputs]")

_SVD_ERRORS = _matrix_errors("linalg.svd", square=False) + (
    error_sample(np.array([[np.nan, 1.0], [1.0, 2.0]]),
                 match="linalg.svd: The algorithm failed to converge because the input matrix "
                       "contained non-finite values."),)


@op_function("linalg.svd", reference=_torch_svd, samples=_svd_samples, dtypes=FLOATING,
             node_names=("LinalgSvdBackward0",), tolerances={"float32": (1e-4, 1e-4)},
             error_samples=_SVD_ERRORS)
def svd(A, full_matrices=True):
    """The singular value decomposition A = U diag(S) Vh of a matrix (of each matrix of a
    batch), as a named tuple (U, S, Vh); S descending.

    Signs of the singular vectors are LAPACK's (Note [Signs of eigenvectors and singular
    vectors]). d/dA: torch's svd_backward, finite when the singular values are distinct (and,
    for a rectangular A with U or Vh used, nonzero). Non-finite input raises LinAlgError.
    """
    return SVDResult(*LinalgSvd.apply(A, full_matrices))


def _svdvals_samples(g):
    return Sample((_with_singular_values(g, _side(g), _side(g)),))


@op_function("linalg.svdvals", reference="torch.linalg.svdvals", samples=_svdvals_samples,
             dtypes=FLOATING, node_names=("LinalgSvdBackward0",), error_samples=_SVD_ERRORS)
def svdvals(A):
    """The singular values of a matrix (of each matrix of a batch), descending.

    As torch, the S of `linalg.svd(A, full_matrices=False)` (node LinalgSvdBackward0):
    d/dA = U diag(grad) Vh.
    """
    return LinalgSvd.apply(A, False)[1]


def _pinv_samples(g):
    kwargs = {}
    if g.booleans():
        a = _symmetric(g)
        kwargs["hermitian"] = True
    else:
        a = _full_rank(g, _side(g), _side(g))
    if g.booleans():
        kwargs[g.sampled_from(["atol", "rtol"])] = g.sampled_from([0.0, 1e-3])
    return Sample((a,), kwargs)


def _pinv_backward(grad, pinv, a):
    """torch's pinv_backward (FunctionsManual.cpp), arranged to multiply the smallest
    matrices: for m <= n, with K = grad^T P,
    gA = -(P K)^T + K P^T - A P K P^T + P^T P (grad^T - K A); for m > n, transposed."""
    m, n = a.shape[-2], a.shape[-1]
    pinv_t, grad_t = pinv.mT, grad.mT
    if m <= n:
        k = grad_t @ pinv
        k_pinv_t = k @ pinv_t
        return -(pinv @ k).mT + k_pinv_t - (a @ pinv) @ k_pinv_t + (pinv_t @ pinv) @ (
            grad_t - k @ a)
    k = pinv @ grad_t
    pinv_t_k = pinv_t @ k
    return -(k @ pinv).mT + ((grad_t - a @ k) @ pinv) @ pinv_t + pinv_t_k - (pinv_t_k @ pinv) @ a


class LinalgPinv(Op):
    """The Moore-Penrose pseudo-inverse: V diag(1/S) U^T over the singular values above
    max(atol, rtol * S_max) (from eigh for hermitian=True).

    out = pinv(A);  d/dA: torch's pinv_backward (see _pinv_backward)
    """

    name = "linalg.pinv"
    reference = "torch.linalg.pinv"
    samples = _pinv_samples
    dtypes = FLOATING
    tolerances = {"float32": (1e-4, 1e-4)}
    divergences = {"special": on_some_inputs(_SVD_OF_INF)}
    error_samples = (
        error_sample(_INT_MATRIX, match=r"linalg.pinv\(Long\{\[2, 2\]\}\): expected a tensor "
                                        r"with 2 or more dimensions of float, double, cfloat or "
                                        r"cdouble types"),
        _SVD_ERRORS[-1])

    def forward(ctx, a, rcond=None, hermitian=False, *, atol=None, rtol=None):
        if a.ndim < 2 or a.dtype not in (np.float32, np.float64):
            raise RuntimeError(f"linalg.pinv({_TYPE_NAME[a.dtype.name]}{{{list(a.shape)}}}): "
                               f"expected a tensor with 2 or more dimensions of float, double, "
                               f"cfloat or cdouble types")
        if rcond is not None:     # the legacy spelling linalg.pinv(A, rcond)
            atol, rtol = 0.0, rcond
        if rtol is None:
            default = np.finfo(a.dtype).eps * max(a.shape[-2:])
            rtol = 0.0 if atol is not None and atol > 0 else default
        atol = 0.0 if atol is None else atol
        out = _pinv_values(a, float(atol), float(rtol), hermitian)
        ctx.save_for_backward(a, out)
        return out

    def backward(ctx, grad):
        a, pinv = ctx.saved_tensors
        return _pinv_backward(grad, pinv, a)


def _pinv_values(a, atol, rtol, hermitian):
    """V diag(1/S) U^T over the S above max(atol, rtol * S_max), as torch computes it."""
    m, n = a.shape[-2:]
    if a.size == 0:
        return np.zeros(a.shape[:-2] + (n, m), a.dtype)
    if hermitian:
        values, u = _numpy_eigh(a, "L")
        magnitudes = np.abs(values)
        kept = magnitudes > np.maximum(atol, rtol * magnitudes.max(axis=-1, keepdims=True))
        with np.errstate(divide="ignore"):
            inverse = np.where(kept, 1 / values, 0).astype(a.dtype)
        u = np.where(kept[..., None, :], u, 0)
        return (u * inverse[..., None, :]) @ np.swapaxes(u, -1, -2)
    _check_finite_for_svd(a)
    with np.errstate(all="ignore"):
        u, s, vh = _numpy_svd(a, False)
    kept = s > np.maximum(atol, rtol * s[..., :1])
    with np.errstate(divide="ignore"):
        inverse = np.where(kept, 1 / s, 0).astype(a.dtype)
    # only the kept singular vectors enter (so a matrix with inf, whose S is NaN, gives 0)
    v = np.where(kept[..., None, :], np.swapaxes(vh, -1, -2), 0)
    u = np.where(kept[..., None, :], u, 0)
    return (v * inverse[..., None, :]) @ np.swapaxes(u, -1, -2)


def _pinverse_samples(g):
    return Sample((_full_rank(g, _side(g), _side(g)),))


@op_function("pinverse", methods=("pinverse",), reference="torch.pinverse",
             samples=_pinverse_samples, dtypes=FLOATING, node_names=("LinalgPinvBackward0",),
             divergences={"special": on_some_inputs(_SVD_OF_INF)})
def pinverse(input, rcond=1e-15):
    """The pseudo-inverse, torch's older spelling: `linalg.pinv(input, rtol=rcond)`."""
    return LinalgPinv.apply(input, rcond)


# ----------------------------------------------------------------------------------------------
# linalg.matrix_norm, linalg.norm
# ----------------------------------------------------------------------------------------------
_MATRIX_ORDS = ("fro", "nuc", 2, -2, 1, -1, math.inf, -math.inf)


def _matrix_norm_samples(g):
    ord = g.sampled_from(_MATRIX_ORDS)
    a = _with_singular_values(g, _side(g), _side(g))
    kwargs = {} if ord == "fro" and g.booleans() else {"ord": ord}
    if a.array.ndim > 2 and g.booleans():   # dim 0 stays a batch dim (see _batch)
        kwargs["dim"] = g.sampled_from([(-1, 1), (2, 1), (1, -1)])
    if g.booleans():
        kwargs["keepdim"] = True
    return Sample((a,), kwargs)


def _backshift(dims, ndim):
    """The permutation moving `dims` (two of them) to the end, and its inverse."""
    order = [d for d in range(ndim) if d not in dims] + list(dims)
    inverse = [0] * ndim
    for i, d in enumerate(order):
        inverse[d] = i
    return order, inverse


def _wrap_dims(dim, ndim, fn):
    dims = [dim] if isinstance(dim, int) else list(dim)
    if len(dims) != 2:
        raise RuntimeError(f"{fn}: dim must be a 2-tuple. Got " + " ".join(map(str, dims)))
    wrapped = []
    for d in dims:
        if not -ndim <= d < ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-ndim}, "
                             f"{ndim - 1}], but got {d})")
        wrapped.append(d % ndim)
    if wrapped[0] == wrapped[1]:
        raise RuntimeError(f"{fn}: dims must be different. Got ({wrapped[0]}, {wrapped[1]})")
    return wrapped


def _max_or_min(x, dim, keepdim, largest):
    """amax (largest) or amin over `dim`; an empty amax is 0 in torch's matrix_norm."""
    if largest and x.shape[dim] == 0:
        shape = list(x.shape)
        if keepdim:
            shape[dim] = 1
        else:
            del shape[dim]
        return hypergrad.zeros(shape, dtype=x.dtype)
    return x.amax(dim, keepdim) if largest else x.amin(dim, keepdim)


@op_function("linalg.matrix_norm", reference="torch.linalg.matrix_norm",
             samples=_matrix_norm_samples, dtypes=FLOATING,
             node_names=("LinalgVectorNormBackward0", "SumBackward1", "AmaxBackward0",
                         "AminBackward0", "PermuteBackward0"),
             error_samples=[
                 error_sample(np.ones((2, 2)), 3,
                              match="linalg.matrix_norm: Order 3 not supported."),
                 error_sample(np.ones(2),
                              match="linalg.matrix_norm: The input tensor A must have at least 2 "
                                    "dimensions."),
                 error_sample(np.ones((2, 2)), dim=(0, -2),
                              match=r"linalg.matrix_norm: dims must be different. Got \(0, 0\)")])
def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    """A matrix norm of A over the two dims `dim` (of each matrix of a batch).

    ord: "fro" (sqrt of the sum of squares), "nuc" (sum of singular values), 2 / -2 (largest
    / smallest singular value), 1 / -1 (largest / smallest column sum of |A|), inf / -inf
    (largest / smallest row sum). Computed as torch does, from linalg.vector_norm, svdvals,
    sum, amax and amin, so the gradient is theirs.
    """
    fn = "linalg.matrix_norm"
    if isinstance(ord, str):
        if ord not in ("fro", "nuc"):
            raise RuntimeError(f"{fn}: Order {ord} not supported.")
    elif abs(ord) not in (1, 2, math.inf):
        raise RuntimeError(f"{fn}: Order {float(ord):g} not supported.")
    _check_matrices(A.detach().numpy(), fn, square=False,
                    half=None if ord in ("nuc", 2, -2) else "allowed")
    dims = _wrap_dims(dim, A.dim(), fn)
    if dtype is not None and not hypergrad.dtypes.to_dtype(dtype).is_floating_point:
        raise RuntimeError(f"{fn}: dtype should be floating point or complex, but got "
                           f"{_TYPE_NAME[hypergrad.dtypes.to_dtype(dtype).numpy.name]}")
    if ord == "fro":
        return hypergrad.linalg.vector_norm(A, 2, dims, keepdim, dtype=dtype)
    if ord in ("nuc", 2, -2):
        order, inverse = _backshift(dims, A.dim())
        values = svdvals((A if dtype is None else A.to(dtype)).permute(order))
        if ord == "nuc":
            result = values.sum(-1, keepdim=keepdim)
        else:
            result = _max_or_min(values, -1, keepdim, ord > 0)
        return result.unsqueeze(-1).permute(inverse) if keepdim else result
    if abs(ord) == math.inf:   # the inf norm is the 1 norm of the transpose
        dims = dims[::-1]
    if not keepdim and dims[0] < dims[1]:
        dims[1] -= 1
    column_sums = hypergrad.linalg.vector_norm(A, 1, [dims[0]], keepdim, dtype=dtype)
    return _max_or_min(column_sums, dims[1], keepdim, ord > 0)


def _norm_samples(g):
    if g.booleans():
        shape = g.shape(min_dims=1, max_dims=3, max_side=3)
        kwargs = {}
        if g.booleans():
            kwargs["dim"] = g.dim(len(shape))
            kwargs["ord"] = g.sampled_from([2, 1, 3, math.inf, -math.inf, 0.5])
        elif len(shape) == 1:
            kwargs["ord"] = g.sampled_from([2, 1, 3, math.inf, -math.inf, 0.5])
        return Sample((g.tensor(shape),), kwargs)
    sample = _matrix_norm_samples(g)
    if sample.args[0].array.ndim > 2 and "dim" not in sample.kwargs:
        sample.kwargs["dim"] = (-2, -1)
    return sample


@op_function("linalg.norm", reference="torch.linalg.norm", samples=_norm_samples,
             dtypes=FLOATING,
             node_names=("LinalgVectorNormBackward0", "SumBackward1", "AmaxBackward0",
                         "AminBackward0", "PermuteBackward0"),
             error_samples=[
                 error_sample(np.ones((2, 2, 2)), 2,
                              match="linalg.norm: If dim is not specified but ord is, the input "
                                    "must be 1D or 2D. Got 3D."),
                 error_sample(np.ones((2, 2, 2)), dim=(0, 1, 2),
                              match=r"linalg.norm: If dim is specified, it must be of length 1 "
                                    r"or 2. Got \[0, 1, 2\]")])
def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    """A vector or matrix norm, as torch.linalg.norm chooses: a matrix norm (matrix_norm) when
    `ord` is given and there are two dims (`dim` of length 2, or a 2-D A without `dim`);
    otherwise the vector norm over `dim` (all elements by default), the 2-norm for ord=None.
    """
    dims = [dim] if isinstance(dim, int) else (None if dim is None else list(dim))
    if dims is not None:
        if len(dims) not in (1, 2):
            raise RuntimeError(f"linalg.norm: If dim is specified, it must be of length 1 or 2. "
                               f"Got {dims}")
    elif ord is not None and A.dim() not in (1, 2):
        raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be "
                           f"1D or 2D. Got {A.dim()}D.")
    if isinstance(ord, str) or (ord is not None and (
            (dims is not None and len(dims) == 2) or (dims is None and A.dim() == 2))):
        return matrix_norm(A, ord, dims if dims is not None else (0, 1), keepdim, dtype=dtype)
    return hypergrad.linalg.vector_norm(A, 2 if ord is None else ord, dims, keepdim,
                                        dtype=dtype)


# ----------------------------------------------------------------------------------------------
# linalg.lstsq
# ----------------------------------------------------------------------------------------------
LstsqResult = namedtuple("linalg_lstsq", ["solution", "residuals", "rank", "singular_values"])
LstsqResult.__doc__ = ("(solution, residuals, rank, singular_values), as "
                       "torch.return_types.linalg_lstsq")

_LSTSQ_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


def _lstsq_samples(g):
    rows, cols = _side(g), _side(g)
    a = _full_rank(g, rows, cols)
    batch = a.array.shape[:-2]
    b_shape = (rows,) if g.booleans() and not batch else batch + (rows, g.integers(1, 2))
    kwargs = {"driver": g.sampled_from(_LSTSQ_DRIVERS)} if g.booleans() else {}
    return Sample((a, g.tensor(b_shape)), kwargs)


def _lstsq_backward(grad_x, grad_residuals, a, b, x):
    """torch's linalg_lstsq_backward: the solution is pinv(A) B, so gA comes from
    pinv_backward(gX B^T) and gB = pinv(A)^T gX; the residuals ||A X - B||^2 add
    2 (gL r) X^T to gA and -2 gL r to gB, with r = A X - B."""
    vector = b.dim() == 1 or (b.dim() == a.dim() - 1 and tuple(b.shape) == tuple(a.shape[:-1]))
    if vector:
        b, x = b.unsqueeze(-1), x.unsqueeze(-1)
        grad_x = None if grad_x is None else grad_x.unsqueeze(-1)
    residuals_used = grad_residuals is not None and grad_residuals.numel() > 0
    if grad_x is None and not residuals_used:
        return None, None
    grad_a, grad_b = hypergrad.zeros_like(a), hypergrad.zeros_like(b)
    if grad_x is not None:
        pinv = LinalgPinv.apply(a)
        grad_a = _pinv_backward(grad_x @ b.mT, pinv, a)
        grad_b = pinv.mT @ grad_x
    if residuals_used:
        r = a @ x - b
        weighted = grad_residuals.unsqueeze(-2) * r
        grad_a = grad_a + 2 * weighted @ x.mT
        grad_b = grad_b - 2 * weighted
    return grad_a, grad_b.squeeze(-1) if vector else grad_b


class LinalgLstsq(Op):
    """The least-squares solution of A X = B: X minimizing ||A X - B|| (the one of least norm
    when that is not unique), with the residuals, rank and singular values torch returns for
    `driver` (CPU default "gelsy": no residuals, no singular values).

    X = pinv(A) B;  d/dA, d/dB: torch's linalg_lstsq_backward (through pinv)
    """

    inputs = 2
    materialize_grads = False   # None for unused outputs, as torch

    def forward(ctx, a, b, rcond=None, *, driver=None):
        driver = "gelsy" if driver is None else driver
        if a.ndim < 2:
            raise RuntimeError("torch.linalg.lstsq: input must have at least 2 dimensions.")
        if a.dtype != b.dtype:
            raise RuntimeError(f"torch.linalg.lstsq: Expected input and other to have the same "
                               f"dtype, but got input's dtype {_TYPE_NAME[a.dtype.name]} and "
                               f"other's dtype {_TYPE_NAME[b.dtype.name]}")
        if a.dtype not in (np.float32, np.float64):
            raise RuntimeError("This function doesn't handle types other than float and double")
        if driver not in _LSTSQ_DRIVERS:
            raise RuntimeError("torch.linalg.lstsq: parameter `driver` should be one of (gels, "
                               "gelsy, gelsd, gelss)")
        vector = _is_vector_rhs(a, b)
        b_matrix = b[..., None] if vector else b
        if b_matrix.ndim < 2:
            raise RuntimeError("torch.linalg.lstsq: other must have at least 1 dimension.")
        if a.shape[-2] != b_matrix.shape[-2]:
            raise RuntimeError("torch.linalg.lstsq: input.size(-2) should match other.size(-2)")
        m, n = a.shape[-2:]
        batch = _broadcast_batch(a.shape[:-2], b_matrix.shape[:-2])
        a_full = np.broadcast_to(a, batch + a.shape[-2:])
        b_full = np.broadcast_to(b_matrix, batch + b_matrix.shape[-2:])
        rcond = np.finfo(a.dtype).eps * max(m, n) if rcond is None else rcond
        x, s, rank = _least_squares(a_full, b_full, rcond)
        residuals = np.zeros((0,), a.dtype)
        full_rank = driver in ("gelsy", "gels") or bool((rank == n).all())
        if m > n and driver != "gelsy" and full_rank:
            # with an empty A, gels leaves its residuals 0; gelsd and gelss give ||B||^2
            residuals = np.sum((a_full @ x - b_full) ** 2, axis=-2).astype(a.dtype) \
                if a.size or driver != "gels" else np.zeros(batch + (b_matrix.shape[-1],), a.dtype)
        if driver == "gels":
            rank = np.zeros((0,), np.int64)
        singular_values = s if driver in ("gelsd", "gelss") else np.zeros((0,), a.dtype)
        solution = np.ascontiguousarray(x[..., 0] if vector else x)
        ctx.mark_non_differentiable(singular_values)
        ctx.save_for_backward(a, b, solution)
        return solution, residuals, rank, singular_values

    def backward(ctx, grad_x, grad_residuals, grad_rank, grad_singular_values):
        a, b, x = ctx.saved_tensors
        return _lstsq_backward(grad_x, grad_residuals, a, b, x)


def _least_squares(a, b, rcond):
    """The minimum-norm least-squares solutions, the singular values and the ranks (singular
    values above rcond * the largest), from the SVD of each matrix of `a`."""
    m, n = a.shape[-2:]
    if a.size == 0:
        batch = a.shape[:-2]
        return (np.zeros(batch + (n, b.shape[-1]), a.dtype),
                np.zeros(batch + (min(m, n),), a.dtype), np.zeros(batch, np.int64))
    u, s, vh = _numpy_svd(a, False)
    kept = s > rcond * s[..., :1]
    with np.errstate(divide="ignore"):
        inverse = np.where(kept, 1 / s, 0).astype(a.dtype)
    x = np.swapaxes(vh, -1, -2) @ (inverse[..., :, None] * (np.swapaxes(u, -1, -2) @ b))
    return x, s, kept.sum(axis=-1).astype(np.int64)


@op_function("linalg.lstsq", reference="torch.linalg.lstsq", samples=_lstsq_samples,
             dtypes=FLOATING, node_names=("LinalgLstsqBackward0",),
             tolerances={"float32": (1e-4, 1e-4)},
             divergences={"special": on_some_inputs(
                 "torch's gelsy (pivoted QR) and HyperGrad's SVD-based solution differ on "
                 "matrices with inf or huge values (NaN in one, inf in the other)")},
             error_samples=[
                 error_sample(np.ones((3, 3), np.float32), np.ones((3, 1)),
                              match="torch.linalg.lstsq: Expected input and other to have the "
                                    "same dtype, but got input's dtype Float and other's dtype "
                                    "Double"),
                 error_sample(np.ones((3, 3)), np.ones((2, 1)),
                              match=r"torch.linalg.lstsq: input.size\(-2\) should match "
                                    r"other.size\(-2\)"),
                 error_sample(np.ones((3, 3)), np.ones((3, 1)), driver="foo",
                              match="torch.linalg.lstsq: parameter `driver` should be one of")])
def lstsq(A, B, rcond=None, *, driver=None):
    """The least-squares solution of A X = B, as a named tuple (solution, residuals, rank,
    singular_values) with torch's CPU conventions: "gelsy" (default) gives the rank only,
    "gelsd"/"gelss" the singular values and, for a tall full-rank A, the squared residuals,
    "gels" the residuals only. The solution (and the residuals) are differentiable.

    Solutions are SVD-based (gelsd's); for a rank-deficient A with a large rcond, gelsy's
    pivoted-QR truncation gives a different solution than torch's.
    """
    return LstsqResult(*LinalgLstsq.apply(A, B, rcond, driver=driver))


# ----------------------------------------------------------------------------------------------
# linalg.matrix_power
# ----------------------------------------------------------------------------------------------
def _matrix_power_samples(g):
    """A power from -3 to 6 of an invertible matrix scaled to entries of at most 1, so that
    its powers stay of order 1 (float32 rounding then stays within tolerance)."""
    n = g.sampled_from([0, 1, 2, 3, 4, 5, 6, -1, -2, -3])
    a = _invertible(g)
    size = a.array.shape[-1]
    if g.dtype.is_floating_point:
        a.array = (a.array / (size + 2)).astype(a.array.dtype)
    else:
        n = abs(n)
        a.array = np.round(a.array / (size + 2)).astype(a.array.dtype)
    return Sample((a, n))


@op_function("linalg.matrix_power", aliases=("matrix_power",), methods=("matrix_power",),
             reference="torch.linalg.matrix_power", samples=_matrix_power_samples,
             dtypes=ALL_REAL, tolerances=ILL_CONDITIONED_SUMS,
             divergences={"special": _BLAS_INF_ORDER},
             node_names=("CopyBackwards", "CloneBackward0", "LinalgInvExBackward0",
                         "MmBackward0", "UnsafeViewBackward0", "BmmBackward0"),
             error_samples=[
                 error_sample(np.ones((2, 3)), 2, match="linalg.matrix_power: A must be "
                              "batches of square matrices, but they are 2 by 3 matrices"),
                 error_sample(np.ones(2), 2, match="linalg.matrix_power: The input tensor A "
                              "must have at least 2 dimensions.")])
def matrix_power(A, n):
    """A to the integer power n (of each matrix of a batch): repeated matmuls by binary
    powering, as torch; a negative n inverts A first; n = 0 gives identity matrices.
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"linalg_matrix_power(): argument 'n' (position 2) must be int, not "
                        f"{type(n).__name__}")
    if A.dim() < 2:
        raise RuntimeError("linalg.matrix_power: The input tensor A must have at least 2 "
                           "dimensions.")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.matrix_power: A must be batches of square matrices, but "
                           f"they are {A.shape[-2]} by {A.shape[-1]} matrices")
    if n == 0:   # torch: a contiguous clone, overwritten with identities (CopyBackwards)
        identity = hypergrad.eye(A.shape[-1], dtype=A.dtype).expand_as(A)
        return A.clone().copy_(identity)
    if n < 0:
        A = LinalgInvEx.apply(A)
        if n == -1:
            return A
        n = -n
    if n == 1:
        return A.clone()
    if n == 2:
        return A @ A
    if n == 3:
        return (A @ A) @ A
    result, power = None, None
    while n > 0:    # binary powering: A^n = prod of A^(2^i) over the set bits of n
        bit, n = n % 2, n // 2
        power = A if power is None else power @ power
        if bit:
            result = power if result is None else result @ power
    return result
