"""Neural-network ops: the "nn" plugin, which provides `hypergrad.nn.functional`.

Every public function here is bound into `hypergrad.nn.functional` (`F.conv2d`, `F.cross_entropy`,
...) when the plugin loads, with PyTorch's signature, and is checked against its torch
reference by the conformance suite. Where torch gives an operation a Node of its own
(`ConvolutionBackward0`, `NllLossBackward0`, `NativeBatchNormBackward0`) it is an `Op` class
here with that node name; where torch composes other ops (`l1_loss` is `(a - b).abs().mean()`,
cross entropy is `log_softmax` then `nll_loss`) the function composes them too, so `grad_fn`
reads the same in both libraries.

Sections: linear layers; activations; softmax; dropout; losses; convolution (im2col);
pooling; "separable" linear maps (padding, upsampling, average pooling); normalization;
embedding; attention and other composites.

Note [Backward in HyperGrad ops, masks as constants]
    Every backward is written in HyperGrad ops on saved *tensors*, so it is itself recorded
    and can be differentiated (double backward). A piecewise-linear op (leaky_relu, hardtanh,
    max pooling, nll_loss) is linear in the incoming gradient, with a coefficient that does not
    depend smoothly on the input: forward computes that coefficient once as a numpy array and
    saves it as a constant, and backward is `grad * coefficient`. Its derivative with respect
    to the input is zero, which is exactly torch's double backward for these ops.

Note [Convolution as im2col]
    A convolution is a matrix product once every receptive field is laid out as a column:
    `unfold` (im2col) turns x of shape (N, C, H, W) into (N, C*kh*kw, L), one column per output
    position, and the weight (O, C, kh, kw) is a matrix (O, C*kh*kw). The backward needs the two
    transposed products: the weight's gradient is grad @ columns^T, and the input's gradient is
    `fold` (col2im, the adjoint of unfold: it sums overlapping columns back into the image) of
    weight^T @ grad. `unfold` and `fold` are ops of their own, each the other's backward.

Note [Separable linear maps]
    Padding (every mode), nearest and bilinear upsampling, average pooling and adaptive average
    pooling are all linear maps that act on each spatial axis separately: out = A_h x A_w^T for
    small matrices A. Forward contracts each axis with its matrix; backward contracts the
    gradient with the transposed matrices, and that backward is the same kind of op again, so
    every order of derivative comes for free.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from hypergrad.conformance.domains import (
    FLOATING,
    ILL_CONDITIONED_SUMS,
    Sample,
    SampleTensor,
    error_sample,
    on_some_inputs,
    unary,
)

import hypergrad
from hypergrad import dtypes as _dtypes
from hypergrad.plugins import Op, op_function
from hypergrad.plugins.op import _scalar_type_name
from hypergrad.tensor import Tensor

_F = "nn.functional."
_SPECIAL_SUMS = ("inf and huge inputs: HyperGrad sums its matrix products in another order "
                 "than the torch kernels, so inf - inf (NaN) and overflow land elsewhere")


def _finite_unary(kwargs=None):
    """One tensor of ordinary values: the `special` check (inf, NaN) is left out for ops
    whose torch kernels disagree with themselves there (vectorized and scalar paths)."""

    def samples(g):
        x = g.tensor(g.shape(), -5.0, 5.0, special=False)
        return Sample((x,), kwargs(g) if kwargs else {})

    return samples


def _tuple(value, n):
    """`3` -> (3, 3); a sequence is checked and returned as a tuple (torch's _pair/_single)."""
    if isinstance(value, (tuple, list)):
        if len(value) == 1:
            return tuple(value) * n
        return tuple(int(v) for v in value)
    return (int(value),) * n


def _size_str(shape):
    return "torch.Size(" + str(list(shape)) + ")"


def _type_name(array):
    return {"float32": "float", "float64": "double", "float16": "c10::Half"}.get(
        array.dtype.name, array.dtype.name)


# ----------------------------------------------------------------------------------------------
# Linear layers
# ----------------------------------------------------------------------------------------------
class Addmm(Op):
    """`bias + mat1 @ mat2`, what `linear` computes for a batch of vectors.

    out = b + m1 @ m2;  d/db = grad;  d/dm1 = grad @ m2^T;  d/dm2 = m1^T @ grad
    """

    inputs = 3

    def forward(ctx, b, m1, m2):
        if m1.dtype != m2.dtype:
            raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: "
                               f"{_type_name(m1)} != {_type_name(m2)}")
        if m1.shape[1] != m2.shape[0]:
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({m1.shape[0]}x"
                               f"{m1.shape[1]} and {m2.shape[0]}x{m2.shape[1]})")
        ctx.save_for_backward(m1, m2)
        return b + m1 @ m2

    def backward(ctx, grad):
        # torch's mm_mat1/mat2_backward: the gradients keep their inputs' layouts, so W.t()'s
        # is column-major and W's, through the transpose, row-major (a plugin imports another
        # lazily)
        from hypergrad.ops.linalg import _mm_mat1_backward, _mm_mat2_backward

        m1, m2 = ctx.saved_tensors
        _, need_m1, need_m2 = ctx.needs_input_grad
        return (grad,
                _mm_mat1_backward(grad, m1, m2) if need_m1 else None,
                _mm_mat2_backward(grad, m1, m2) if need_m2 else None)


def _linear_samples(g):
    batch = g.sampled_from([(3,), (2, 3)])
    n_in, n_out = g.integers(1, 4), g.integers(1, 4)
    bias = g.tensor((n_out,), special=False) if g.booleans() else None
    return Sample((g.tensor(batch + (n_in,), special=False),
                   g.tensor((n_out, n_in), special=False), bias))


@op_function(_F + "linear", reference="torch.nn.functional.linear", samples=_linear_samples,
             dtypes=FLOATING, node_names=("AddmmBackward0",))
def linear(input, weight, bias=None):
    """`input @ weight^T + bias`, over the last dimension of input.

    Like torch, a batch of vectors goes through `addmm` (grad_fn AddmmBackward0); other
    contiguous shapes are flattened to that case and viewed back (ViewBackward0); with a
    non-contiguous input or bias, torch 2.13 uses matmul and then adds the bias (AddBackward0).
    """
    for other in (weight, bias):
        if other is not None and other.dtype != input.dtype:
            raise RuntimeError(f"self and mat2 must have the same dtype, but got "
                               f"{_scalar_name(input._data.dtype)} and "
                               f"{_scalar_name(other._data.dtype)}")
    if input.dim() == 1:  # as torch: a batch of one, squeezed back
        return linear(input.unsqueeze(0), weight, bias).squeeze(0)
    if input.dim() == 2:
        if bias is None:
            return input.mm(weight.t())
        return Addmm.apply(bias, input, weight.t())
    if bias is None:  # torch: matmul (grad_fn UnsafeViewBackward0)
        return input.matmul(weight.t())
    if not (input.is_contiguous() and bias.is_contiguous()):  # torch: matmul, then add_
        return input.matmul(weight.t()) + bias                 # the bias (AddBackward0)
    lead = tuple(input.shape[:-1])
    out = linear(input.reshape(-1, input.shape[-1]), weight, bias)
    return out.reshape(*lead, weight.shape[0])


def _bilinear_samples(g):
    n, i, j, o = g.integers(1, 3), g.integers(1, 3), g.integers(1, 3), g.integers(1, 3)
    bias = g.tensor((o,), special=False) if g.booleans() else None
    return Sample((g.tensor((n, i), special=False), g.tensor((n, j), special=False),
                   g.tensor((o, i, j), special=False), bias))


@op_function(_F + "bilinear", reference="torch.nn.functional.bilinear",
             samples=_bilinear_samples, dtypes=FLOATING)
def bilinear(input1, input2, weight, bias=None):
    """`out[..., o] = sum_ij input1[..., i] * weight[o, i, j] * input2[..., j] + bias[o]`."""
    tensors = {"input1": input1, "input2": input2, "weight": weight}
    if bias is not None:
        tensors["bias"] = bias
    if len({t.dtype for t in tensors.values()}) > 1:
        names = ", ".join(f"{key}: " + {"float32": "float", "float64": "double"}.get(
            t._data.dtype.name, t._data.dtype.name) for key, t in tensors.items())
        raise RuntimeError(f"All tensors must have the same dtype, got {names}")
    n_out, n_in1, n_in2 = weight.shape
    lead = tuple(input1.shape[:-1])
    x1 = input1.reshape(-1, n_in1)
    x2 = input2.reshape(-1, n_in2)
    # x1 @ W viewed as (in1, out * in2): each row of the result holds x1^T W_o for every o
    left = x1.mm(weight.permute(1, 0, 2).reshape(n_in1, n_out * n_in2))
    out = (left.reshape(-1, n_out, n_in2) * x2.unsqueeze(1)).sum(-1).reshape(*lead, n_out)
    return out if bias is None else out + bias


# ----------------------------------------------------------------------------------------------
# Activations
# ----------------------------------------------------------------------------------------------
def _inplace(input, result):
    """Write an activation's result into `input` (`inplace=True`) and return it."""
    from hypergrad.plugins.op import write_inplace

    if hypergrad.is_grad_enabled() and input.requires_grad and input.is_leaf:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                           "operation.")
    write_inplace(input, result)
    return input


class LeakyRelu(Op):
    """max(0, x) + slope * min(0, x).

    out = x > 0 ? x : slope * x;  d/dx = grad * (x > 0 ? 1 : slope)   (the slope at 0)
    """

    node_name = "LeakyReluBackward0"

    def forward(ctx, x, negative_slope):
        ctx.save_for_backward(np.where(x > 0, 1.0, negative_slope).astype(x.dtype))
        return np.where(x > 0, x, x * negative_slope)

    def backward(ctx, grad):
        (slope,) = ctx.saved_tensors
        return grad * slope


@op_function(_F + "leaky_relu", reference="torch.nn.functional.leaky_relu",
             samples=unary(kwargs=lambda g: {"negative_slope": g.floats(0.0, 0.5)}),
             dtypes=FLOATING, node_names=("LeakyReluBackward0",))
def leaky_relu(input, negative_slope=0.01, inplace=False):
    """Leaky ReLU: `x` where positive, `negative_slope * x` elsewhere."""
    out = LeakyRelu.apply(input, negative_slope)
    return _inplace(input, out) if inplace else out


@op_function(_F + "relu", reference="torch.nn.functional.relu", samples=unary(),
             dtypes=FLOATING, node_names=("ReluBackward0",))
def relu(input, inplace=False):
    """max(input, 0) (the core `relu` op; `inplace=True` is `input.relu_()`)."""
    return input.relu_() if inplace else input.relu()


class Hardtanh(Op):
    """Clamp to [min_val, max_val].

    out = clamp(x, lo, hi);  d/dx = grad where lo < x < hi, else 0   (0 at the bounds)
    """

    node_name = "HardtanhBackward0"

    def forward(ctx, x, min_val, max_val):
        # torch's hardtanh_backward zeroes the gradient where x <= min or x >= max, so a NaN
        # input (neither) passes its gradient through. (That is torch's scalar loop; its
        # vectorized loop zeroes NaN, so in torch it depends on the size: see relu6.)
        ctx.save_for_backward((~((x <= min_val) | (x >= max_val))).astype(x.dtype))
        return np.clip(x, min_val, max_val)

    def backward(ctx, grad):
        (inside,) = ctx.saved_tensors
        return grad * inside


@op_function(_F + "hardtanh", reference="torch.nn.functional.hardtanh", samples=_finite_unary(),
             dtypes=FLOATING, node_names=("HardtanhBackward0",))
def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """Clamp to [min_val, max_val], with gradient 0 at and beyond the bounds."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    out = Hardtanh.apply(input, min_val, max_val)
    return _inplace(input, out) if inplace else out


@op_function(_F + "relu6", reference="torch.nn.functional.relu6", samples=unary(low=-3, high=9),
             dtypes=FLOATING, node_names=("HardtanhBackward0",),
             divergences={"special": on_some_inputs(
                 "the gradient at a NaN input: torch's hardtanh_backward passes it in its scalar "
                 "loop and zeroes it in its vectorized loop (whole chunks of 8 float64 or 16 "
                 "float32 elements with AVX-512), so torch's answer depends on the tensor's size "
                 "and the machine; HyperGrad always passes it, as the scalar loop")})
def relu6(input, inplace=False):
    """min(max(0, x), 6): hardtanh on [0, 6], as torch computes it."""
    return hardtanh(input, 0.0, 6.0, inplace)


def _elu_grad(grad, x, alpha, scale, input_scale):
    """x > 0 ? grad * scale : grad * scale * alpha * input_scale * exp(x * input_scale).

    The exponential is taken of `x` only where x < 0 (0 elsewhere), so the branch `where`
    discards cannot overflow, and the second derivative at 0 is torch's (0: its double
    backward treats only x < 0 as the exponential branch).
    """
    negative_x = hypergrad.where(x < 0, x, 0.0)
    negative = grad * (scale * alpha * input_scale) * (negative_x * input_scale).exp()
    return hypergrad.where(x <= 0, negative, grad * scale)


class Elu(Op):
    """ELU, and SELU through its `scale` (torch's elu(x, alpha, scale, input_scale)).

    out = x > 0 ? scale * x : scale * alpha * (exp(x * input_scale) - 1)
    d/dx = grad * (x > 0 ? scale : scale * alpha * input_scale * exp(x * input_scale))
    """

    node_name = "EluBackward0"

    def forward(ctx, x, alpha, scale, input_scale):
        ctx.save_for_backward(x)
        ctx.params = (alpha, scale, input_scale)
        with np.errstate(over="ignore"):
            negative = scale * alpha * np.expm1(np.minimum(x, 0) * input_scale)
        return np.where(x > 0, scale * x, negative).astype(x.dtype)

    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return _elu_grad(grad, x, *ctx.params)


class Celu(Op):
    """CELU: ELU with input_scale = 1 / alpha, so its slope at 0 is 1.

    out = max(0, x) + min(0, alpha * (exp(x / alpha) - 1));  d/dx as ELU's
    """

    node_name = "CeluBackward0"

    def forward(ctx, x, alpha):
        return Elu.forward(ctx, x, alpha, 1.0, 1.0 / alpha)

    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return _elu_grad(grad, x, *ctx.params)


@op_function(_F + "elu", reference="torch.nn.functional.elu", samples=_finite_unary(),
             dtypes=FLOATING, node_names=("EluBackward0",))
def elu(input, alpha=1.0, inplace=False):
    """x where positive, alpha * (exp(x) - 1) elsewhere."""
    out = Elu.apply(input, alpha, 1.0, 1.0)
    return _inplace(input, out) if inplace else out


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


@op_function(_F + "selu", aliases=("selu",), reference="torch.nn.functional.selu",
             samples=_finite_unary(), dtypes=FLOATING, node_names=("EluBackward0",))
def selu(input, inplace=False):
    """scale * elu(x, alpha) with the self-normalizing constants (grad_fn EluBackward0)."""
    out = Elu.apply(input, _SELU_ALPHA, _SELU_SCALE, 1.0)
    return _inplace(input, out) if inplace else out


@op_function(_F + "celu", aliases=("celu",), reference="torch.nn.functional.celu",
             samples=_finite_unary(), dtypes=FLOATING, node_names=("CeluBackward0",))
def celu(input, alpha=1.0, inplace=False):
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1))."""
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError")
    out = Celu.apply(input, alpha)
    return _inplace(input, out) if inplace else out


_SQRT_HALF = math.sqrt(0.5)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_GELU_CUBIC = 0.044715
_erf = np.vectorize(math.erf, otypes=[np.float64])


def _gelu_tanh_inner(x):
    return _SQRT_2_OVER_PI * (x + _GELU_CUBIC * x * x * x)


def _gelu_grad(grad, x, approximate):
    """d gelu / dx: Phi(x) + x * phi(x) exactly, or the derivative of the tanh form."""
    if approximate == "tanh":
        t = _gelu_tanh_inner(x).tanh()
        inner_grad = _SQRT_2_OVER_PI * (1 + 3 * _GELU_CUBIC * x * x)
        return grad * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * inner_grad)
    cdf = 0.5 * (1 + (x * _SQRT_HALF).erf())
    pdf = (x * x * -0.5).exp() * _INV_SQRT_2PI
    return grad * (cdf + x * pdf)


class Gelu(Op):
    """GELU, x * Phi(x), exactly (with erf) or with torch's tanh approximation.

    out = 0.5 * x * (1 + erf(x / sqrt 2));  d/dx = grad * (Phi(x) + x * phi(x))
    tanh form: out = 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))
    """

    node_name = "GeluBackward0"

    def forward(ctx, x, approximate):
        ctx.save_for_backward(x)
        ctx.approximate = approximate
        if approximate == "tanh":
            return 0.5 * x * (1 + np.tanh(_gelu_tanh_inner(x)))
        return (0.5 * x * (1 + _erf(x * _SQRT_HALF))).astype(x.dtype)

    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return _gelu_grad(grad, x, ctx.approximate)


@op_function(_F + "gelu", reference="torch.nn.functional.gelu",
             samples=_finite_unary(lambda g: {"approximate": g.sampled_from(["none", "tanh"])}),
             dtypes=FLOATING, node_names=("GeluBackward0",))
def gelu(input, approximate="none"):
    """Gaussian error linear unit; `approximate="tanh"` uses the tanh formula."""
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    return Gelu.apply(input, approximate)


def _sigmoid_array(x):
    with np.errstate(over="ignore"):
        return np.where(x >= 0, 1 / (1 + np.exp(-np.abs(x))),
                        np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x)))).astype(x.dtype)


class Silu(Op):
    """SiLU (swish): x * sigmoid(x).

    out = x * s, s = sigmoid(x);  d/dx = grad * s * (1 + x * (1 - s))
    """

    node_name = "SiluBackward0"

    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * _sigmoid_array(x)

    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        s = x.sigmoid()
        return grad * s * (1 + x * (1 - s))


@op_function(_F + "silu", reference="torch.nn.functional.silu", samples=unary(),
             dtypes=FLOATING, node_names=("SiluBackward0",))
def silu(input, inplace=False):
    """x * sigmoid(x)."""
    out = Silu.apply(input)
    return _inplace(input, out) if inplace else out


def _softplus_array(x, beta, threshold):
    z = x * beta
    with np.errstate(over="ignore"):
        return np.where(z > threshold, x, np.log1p(np.exp(np.minimum(z, threshold))) / beta)


def _softplus_tensor(x):
    """log(1 + exp(x)) in HyperGrad ops, linear above 20 as torch's is."""
    return hypergrad.where(x > 20, x, x.clamp(max=20).exp().log1p())


class Mish(Op):
    """Mish: x * tanh(softplus(x)).

    out = x * t, t = tanh(softplus(x));  d/dx = grad * (t + x * sigmoid(x) * (1 - t^2))
    """

    node_name = "MishBackward0"

    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * np.tanh(_softplus_array(x, 1.0, 20.0))

    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        t = _softplus_tensor(x).tanh()
        return grad * (t + x * x.sigmoid() * (1 - t * t))


@op_function(_F + "mish", reference="torch.nn.functional.mish", samples=unary(),
             dtypes=FLOATING, node_names=("MishBackward0",))
def mish(input, inplace=False):
    """x * tanh(softplus(x))."""
    out = Mish.apply(input)
    return _inplace(input, out) if inplace else out


class Softplus(Op):
    """log(1 + exp(beta * x)) / beta, linear where beta * x > threshold.

    out = softplus(x);  d/dx = grad * (beta * x > threshold ? 1 : sigmoid(beta * x))
    """

    node_name = "SoftplusBackward0"

    def forward(ctx, x, beta, threshold):
        ctx.save_for_backward(x)
        ctx.beta, ctx.threshold = beta, threshold
        return _softplus_array(x, beta, threshold).astype(x.dtype)

    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        z = x * ctx.beta
        return hypergrad.where(z > ctx.threshold, grad, grad * z.sigmoid())


@op_function(_F + "softplus", reference="torch.nn.functional.softplus", samples=unary(),
             dtypes=FLOATING, node_names=("SoftplusBackward0",))
def softplus(input, beta=1.0, threshold=20.0):
    """A smooth relu: log(1 + exp(beta * x)) / beta."""
    return Softplus.apply(input, beta, threshold)


@op_function(_F + "sigmoid", reference="torch.nn.functional.sigmoid", samples=unary(),
             dtypes=FLOATING, node_names=("SigmoidBackward0",))
def sigmoid(input):
    """1 / (1 + exp(-x)) (the core `sigmoid` op)."""
    return input.sigmoid()


@op_function(_F + "tanh", reference="torch.nn.functional.tanh", samples=unary(),
             dtypes=FLOATING, node_names=("TanhBackward0",))
def tanh(input):
    """The hyperbolic tangent (the core `tanh` op)."""
    return input.tanh()


class LogSigmoid(Op):
    """log(sigmoid(x)) = -softplus(-x), computed without overflow.

    out = -log(1 + exp(-x));  d/dx = grad * sigmoid(-x)
    """

    node_name = "LogSigmoidBackward0"

    def forward(ctx, x):
        ctx.save_for_backward(x)
        return -(np.log1p(np.exp(-np.abs(x))) + np.maximum(-x, 0))

    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (-x).sigmoid()


@op_function(_F + "logsigmoid", reference="torch.nn.functional.logsigmoid", samples=unary(),
             dtypes=FLOATING, node_names=("LogSigmoidBackward0",))
def logsigmoid(input):
    """log(sigmoid(x)), computed without overflow."""
    return LogSigmoid.apply(input)


@op_function(_F + "softsign", reference="torch.nn.functional.softsign", samples=unary(),
             dtypes=FLOATING, node_names=("DivBackward0",))
def softsign(input):
    """x / (1 + |x|)."""
    return input / (input.abs() + 1)


@op_function(_F + "tanhshrink", reference="torch.nn.functional.tanhshrink", samples=unary(),
             dtypes=FLOATING)
def tanhshrink(input):
    """x - tanh(x)."""
    return input - input.tanh()


# ----------------------------------------------------------------------------------------------
# Softmax
# ----------------------------------------------------------------------------------------------
def _softmax_dim(ndim, dim, name):
    """torch's legacy implicit dim, with its deprecation warning, when dim is None."""
    if dim is not None:
        return dim
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call "
                  "to include dim=X as an argument.", UserWarning, stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


def _wrap(dim, ndim):
    bound = max(ndim, 1)
    if not -bound <= dim < bound:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-bound}, "
                         f"{bound - 1}], but got {dim})")
    return dim % bound


class Softmax(Op):
    """exp(x) / sum(exp(x)) along `dim`, computed as exp(x - max) / sum(exp(x - max)).

    out = softmax(x);  d/dx = out * (grad - sum(grad * out, dim))
    """

    node_name = "SoftmaxBackward0"

    def forward(ctx, x, dim):
        axis = _wrap(dim, x.ndim) if x.ndim else None
        ctx.dim = dim
        if x.size == 0:
            out = x.copy()
            ctx.save_for_backward(out)
            return out
        shifted = np.exp(x - np.max(x, axis=axis, keepdims=True))
        out = np.asarray(shifted / np.sum(shifted, axis=axis, keepdims=True))
        ctx.save_for_backward(out)
        return out

    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return out * (grad - (grad * out).sum(ctx.dim, keepdim=True))


class LogSoftmax(Op):
    """x - logsumexp(x) along `dim`, shifted by the max so exp cannot overflow.

    out = log_softmax(x);  d/dx = grad - exp(out) * sum(grad, dim)
    """

    node_name = "LogSoftmaxBackward0"

    def forward(ctx, x, dim):
        axis = _wrap(dim, x.ndim) if x.ndim else None
        ctx.dim = dim
        if x.size == 0:
            out = x.copy()
            ctx.save_for_backward(out)
            return out
        shifted = x - np.max(x, axis=axis, keepdims=True)
        with np.errstate(divide="ignore"):
            out = np.asarray(shifted - np.log(np.sum(np.exp(shifted), axis=axis,
                                                     keepdims=True)))
        ctx.save_for_backward(out)
        return out

    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad - out.exp() * grad.sum(ctx.dim, keepdim=True)


def _softmax_samples(g):
    shape = g.shape(min_dims=1)
    return Sample((g.tensor(shape),), {"dim": g.dim(len(shape))})


def _cast(input, dtype):
    return input if dtype is None else input.to(dtype)


@op_function(_F + "softmax", aliases=("softmax",), methods=("softmax",),
             reference="torch.nn.functional.softmax", samples=_softmax_samples,
             dtypes=FLOATING, node_names=("SoftmaxBackward0",))
def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """exp(x) / sum(exp(x)) along `dim`: probabilities that sum to 1."""
    return Softmax.apply(_cast(input, dtype), _softmax_dim(input.dim(), dim, "softmax"))


@op_function(_F + "log_softmax", aliases=("log_softmax",), methods=("log_softmax",),
             reference="torch.nn.functional.log_softmax", samples=_softmax_samples,
             dtypes=FLOATING, node_names=("LogSoftmaxBackward0",))
def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """log(softmax(x)) along `dim`, computed stably."""
    return LogSoftmax.apply(_cast(input, dtype), _softmax_dim(input.dim(), dim, "log_softmax"))


@op_function(_F + "softmin", reference="torch.nn.functional.softmin", samples=_softmax_samples,
             dtypes=FLOATING)
def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """softmax(-x) along `dim`."""
    return Softmax.apply(-_cast(input, dtype), _softmax_dim(input.dim(), dim, "softmin"))


# ----------------------------------------------------------------------------------------------
# Dropout
# ----------------------------------------------------------------------------------------------
def _check_p(p):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _dropout(input, p, training, inplace, feature):
    """ATen's _dropout: zero with probability p and scale the rest by 1 / (1 - p).

    In eval mode, with p == 0 or an empty input it returns `input` itself; with p == 1 it
    multiplies by zero (so inf and NaN become NaN, as in torch). `feature` draws one number
    per (sample, channel), shape (N, C, 1, ...), instead of one per element.
    """
    if not training or p == 0 or input.numel() == 0:
        return input
    dtype = input._data.dtype
    if p == 1:
        mask = np.zeros((), dtype)
    else:
        if feature and input.dim() < 2:
            raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
        if dtype.kind not in "fc":
            raise RuntimeError(f"result type Float can't be cast to the desired output type "
                               f"{_scalar_type_name(dtype)}")
        shape = tuple(input.shape[:2]) + (1,) * (input.dim() - 2) if feature else \
            tuple(input.shape)
        keep = hypergrad.default_generator._rng.random(shape) >= p
        mask = (keep / (1.0 - p)).astype(dtype)
    out = input * Tensor._make(mask)
    return _inplace(input, out) if inplace else out


def _dropout_samples(dims):
    """The draws that are deterministic in both libraries: eval mode (any p), p == 0 and
    p == 1 (random masks cannot be compared with torch's generator: the masks themselves are
    tested in tests/test_nn_functional_extra.py)."""

    def samples(g):   # positional, as torch.dropout (the alias) requires
        x = g.tensor(g.shape(min_dims=dims[0], max_dims=dims[1]))
        if g.booleans():
            return Sample((x, g.sampled_from([0.0, 0.25, 0.5, 1.0]), False))
        return Sample((x, g.sampled_from([0.0, 1.0]), True))

    return samples


def _dropout_error(shape, p, training=True, dtype=np.float32, error_type=RuntimeError,
                   match=None):
    return error_sample(np.ones(shape, dtype), p, training, error_type=error_type, match=match)


@op_function(_F + "dropout", aliases=("dropout",), reference="torch.nn.functional.dropout",
             samples=_dropout_samples((0, 3)), dtypes=FLOATING, node_names=("MulBackward0",),
             error_samples=(
                 _dropout_error((2, 3), 1.5, error_type=ValueError,
                                match="dropout probability has to be between 0 and 1, but got "
                                      "1.5"),
                 _dropout_error((2, 3), -0.1, error_type=ValueError, match="but got -0.1"),
                 _dropout_error((2, 3), 0.5, dtype=np.int64,
                                match="result type Float can't be cast to the desired output "
                                      "type Long")))
def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability p and scale the rest by 1 / (1 - p).

    In eval mode (`training=False`) or with p == 0 it returns `input` itself, as torch does.
    The random mask comes from HyperGrad's generator (`hypergrad.manual_seed`).
    """
    _check_p(p)
    return _dropout(input, p, training, inplace, feature=False)


@op_function(_F + "dropout1d", reference="torch.nn.functional.dropout1d",
             samples=_dropout_samples((2, 3)), dtypes=FLOATING,
             node_names=("MulBackward0", "SqueezeBackward1"),
             error_samples=(
                 _dropout_error((2, 3, 4), 1.5, error_type=ValueError,
                                match="dropout probability has to be between 0 and 1"),
                 _dropout_error((4,), 0.5, False, match="dropout1d: Expected 2D or 3D input, but "
                                                        "received a 1D input."),
                 _dropout_error((1, 2, 3, 4), 0.5, match="received a 4D input")))
def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, L) (or (C, L)) input with probability p, scaling the
    rest by 1 / (1 - p)."""
    _check_p(p)
    if input.dim() not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {input.dim()}D "
                           f"input. Note that dropout1d exists to provide channel-wise dropout "
                           f"on inputs with 1 spatial dimension, a channel dimension, and an "
                           f"optional batch dimension (i.e. 2D or 3D inputs).")
    if input.dim() == 3:
        return _dropout(input, p, training, inplace, feature=True)
    if inplace:   # torch unsqueezes the input in place and squeezes it back
        return _inplace(input, _dropout(input.unsqueeze(0), p, training, False, True)[0]) \
            if training and p != 0 else input
    return _dropout(input.unsqueeze(0), p, training, False, feature=True).squeeze(0)


@op_function(_F + "dropout2d", reference="torch.nn.functional.dropout2d",
             samples=_dropout_samples((3, 4)), dtypes=FLOATING, node_names=("MulBackward0",),
             error_samples=(
                 _dropout_error((2, 3, 4, 5), 1.5, error_type=ValueError,
                                match="dropout probability has to be between 0 and 1"),
                 _dropout_error((4,), 0.5, match="Feature dropout requires at least 2 "
                                                 "dimensions in the input")))
def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, H, W) input with probability p, scaling the rest by
    1 / (1 - p).

    As in torch, a 3-d input is read as (N, C, L) (with a warning), and inputs of other
    ranks are deprecated (a warning) but dropped per (N, C) all the same.
    """
    _check_p(p)
    if input.dim() not in (3, 4):
        warnings.warn(f"dropout2d: Received a {input.dim()}-D input to dropout2d, which is "
                      f"deprecated and will result in an error in a future release. To retain "
                      f"the behavior and silence this warning, please use dropout instead. Note "
                      f"that dropout2d exists to provide channel-wise dropout on inputs with 2 "
                      f"spatial dimensions, a channel dimension, and an optional batch "
                      f"dimension (i.e. 3D or 4D inputs).", stacklevel=2)
    if input.dim() == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that "
                      "channel-wise 1D dropout behavior is desired - input is interpreted as "
                      "shape (N, C, L), where C is the channel dim. This behavior will change in "
                      "a future release to interpret the input as one without a batch "
                      "dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise dropout "
                      "behavior, please switch to using dropout1d instead.", stacklevel=2)
    return _dropout(input, p, training, inplace, feature=True)


# ----------------------------------------------------------------------------------------------
# Losses
# ----------------------------------------------------------------------------------------------
_REDUCTIONS = ("none", "mean", "sum")


def _reduction(reduction, size_average=None, reduce=None):
    """The reduction string, from the legacy `size_average`/`reduce` flags if either is given."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "none" if not reduce else "mean" if size_average else "sum"
        warnings.warn(f"size_average and reduce args will be deprecated, please use "
                      f"reduction='{reduction}' instead.", UserWarning, stacklevel=3)
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _warn_size(input, target):
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(f"Using a target size ({_size_str(target.shape)}) that is different to "
                      f"the input size ({_size_str(input.shape)}). This will likely lead to "
                      "incorrect results due to broadcasting. Please ensure they have the "
                      "same size.", UserWarning, stacklevel=3)


def _reduce_array(loss, reduction):
    if reduction == "mean":
        return np.asarray(loss.mean())
    if reduction == "sum":
        return np.asarray(loss.sum())
    return loss


def _pointwise_grad(grad, local, reduction, numel):
    """grad * local, where grad is a scalar (mean/sum) or has local's shape (none)."""
    if reduction == "mean":
        return grad * local / numel
    return grad * local


def _nll_coefficients(x, target, weight, ignore_index, reduction):
    """The loss and d loss / d x of nll_loss, as arrays (see Note [... masks as constants]).

    x is (N, C, *d) with the class along axis 1; target is (N, *d).
    """
    n_classes = x.shape[1]
    ignored = target == ignore_index
    bad = (~ignored) & ((target < 0) | (target >= n_classes))
    if bad.any():
        raise IndexError(f"Target {int(target[bad].flat[0])} is out of bounds.")
    safe = np.where(ignored, 0, target)
    w = np.ones(n_classes, x.dtype) if weight is None else weight
    w_t = np.where(ignored, 0, w[safe]).astype(x.dtype)
    picked = np.take_along_axis(x, safe[:, None], axis=1)[:, 0]
    losses = -w_t * picked
    coefficient = np.zeros_like(x)
    np.put_along_axis(coefficient, safe[:, None], (-w_t)[:, None], axis=1)
    if reduction == "none":
        return losses, coefficient
    if reduction == "sum":
        return np.asarray(losses.sum()), coefficient
    total = w_t.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(losses.sum() / total), coefficient / total


class NllLoss(Op):
    """Negative log likelihood: -weight[t] * x[n, t] per sample, for log-probabilities x.

    out = -w[t] x[t] (summed, or divided by sum w[t] for "mean");  d/dx = grad * coefficient,
    a constant with -w[t] (/ sum w[t]) at each target class;  target, weight: not differentiable
    """

    node_name = "NllLossBackward0"
    inputs = 3
    differentiable_inputs = (0,)  # torch: no edge for the target or the class weights

    def forward(ctx, x, target, weight, ignore_index, reduction):
        ctx.reduction = reduction
        ctx.class_shape = (x.shape[0], 1) + x.shape[2:]
        out, coefficient = _nll_coefficients(x, target, weight, ignore_index, reduction)
        ctx.save_for_backward(coefficient)
        return out

    def backward(ctx, grad):
        (coefficient,) = ctx.saved_tensors
        if ctx.reduction == "none":
            grad = grad.reshape(ctx.class_shape)
        return grad * coefficient, None, None


class NllLoss2d(NllLoss):
    """nll_loss over images: (N, C, H, W) log-probabilities, (N, H, W) targets."""

    node_name = "NllLoss2DBackward0"

    def forward(ctx, x, target, weight, ignore_index, reduction):
        return NllLoss.forward(ctx, x, target, weight, ignore_index, reduction)


def _check_nll_shapes(input, target):
    if input.dim() < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {input.dim()})")
    if target.dtype not in (_dtypes.int64, _dtypes.uint8):
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got "
                           f"{target.dtype._tensor_type[:-len('Tensor')]}")
    if input.dim() > 1 and input.shape[0] != (target.shape[0] if target.dim() else 1):
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target "
                         f"batch_size ({target.shape[0] if target.dim() else 1}).")


def _nll_samples(g):
    n, c = g.integers(1, 4), g.integers(2, 4)
    x = g.tensor((n, c))
    target = SampleTensor(np.array([g.integers(0, c - 1) for _ in range(n)]), False)
    return Sample((x, target), {"reduction": g.sampled_from(list(_REDUCTIONS))})


@op_function(_F + "nll_loss", reference="torch.nn.functional.nll_loss", samples=_nll_samples,
             dtypes=FLOATING, node_names=("NllLossBackward0", "NllLoss2DBackward0"))
def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """Negative log likelihood of the target classes, for log-probabilities `input`.

    input (N, C) or (N, C, d1, ...) or (C,); target (N,) or (N, d1, ...) or () of class
    indices; `weight` rescales each class; targets equal to `ignore_index` count for nothing.
    """
    reduction = _reduction(reduction, size_average, reduce)
    _check_nll_shapes(input, target)
    if input.dim() == 1:
        out = nll_loss(input.unsqueeze(0), target.unsqueeze(0), weight, None, ignore_index,
                       None, reduction)
        return out.squeeze(0) if reduction == "none" else out
    if tuple(target.shape[1:]) != tuple(input.shape[2:]):
        raise RuntimeError(f"size mismatch (got input: {list(input.shape)}, target: "
                           f"{list(target.shape)})")
    op = NllLoss if input.dim() == 2 else NllLoss2d
    return op.apply(input, target, weight, ignore_index, reduction)


def _cross_entropy_samples(g):
    sample = _nll_samples(g)
    if g.booleans():
        sample.kwargs["label_smoothing"] = g.sampled_from([0.0, 0.1, 0.5])
    return sample


@op_function(_F + "cross_entropy", reference="torch.nn.functional.cross_entropy",
             samples=_cross_entropy_samples, dtypes=FLOATING, node_names=("NllLossBackward0",))
def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100,
                  reduce=None, reduction="mean", label_smoothing=0.0):
    """Cross entropy between logits `input` and class indices or class probabilities.

    With class indices it is `nll_loss(log_softmax(input, 1), target)`. A floating `target`
    holds probabilities over the classes (same shape as input). `label_smoothing` mixes the
    target with the uniform distribution, as torch does.
    """
    reduction = _reduction(reduction, size_average, reduce)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: "
                           f"{label_smoothing}")
    class_dim = 0 if input.dim() == 1 else 1
    log_probs = log_softmax(input, class_dim)
    n_classes = input.shape[class_dim]
    if target.is_floating_point():
        return _cross_entropy_probabilities(log_probs, target, weight, reduction,
                                            label_smoothing, class_dim, n_classes)
    loss = nll_loss(log_probs, target, weight, None, ignore_index, None, reduction)
    if label_smoothing == 0.0:
        return loss
    return _label_smoothing(loss, log_probs, target, weight, ignore_index, reduction,
                            label_smoothing, class_dim, n_classes)


def _class_view(weight, ndim, class_dim):
    """weight (C,) shaped to broadcast along `class_dim` of an ndim tensor."""
    shape = [1] * ndim
    shape[class_dim] = -1
    return weight.reshape(shape)


def _cross_entropy_probabilities(log_probs, target, weight, reduction, smoothing, class_dim,
                                 n_classes):
    if tuple(target.shape) != tuple(log_probs.shape):
        raise RuntimeError(f"Expected target size {list(log_probs.shape)}, got "
                           f"{list(target.shape)}")
    if smoothing > 0:
        target = target * (1 - smoothing) + smoothing / n_classes
    terms = log_probs * target
    if weight is not None:
        terms = terms * _class_view(weight, log_probs.dim(), class_dim)
    if reduction == "none":
        return -terms.sum(class_dim)
    if reduction == "sum":
        return -terms.sum()
    return -terms.sum() / (log_probs.numel() // n_classes)


def _label_smoothing(nll, log_probs, target, weight, ignore_index, reduction, smoothing,
                     class_dim, n_classes):
    """(1 - eps) * nll + eps / C * (the loss against the uniform distribution)."""
    ignored = Tensor._make(target._data == ignore_index)
    if weight is not None:
        smooth = -(log_probs * _class_view(weight, log_probs.dim(), class_dim)).sum(class_dim)
    else:
        smooth = -log_probs.sum(class_dim)
    smooth = smooth.masked_fill(ignored, 0.0)
    if reduction == "sum":
        smooth = smooth.sum()
    elif reduction == "mean":
        kept = ~ignored._data
        if weight is not None:
            smooth = smooth.sum() / float(weight._data[target._data[kept]].sum())
        else:
            smooth = smooth.sum() / float(kept.sum())
    return (1 - smoothing) * nll + smooth * (smoothing / n_classes)


class MseLoss(Op):
    """Mean squared error.

    out = (a - b)^2 (reduced);  d/da = grad * 2 (a - b) (/ n);  d/db = -d/da
    """

    node_name = "MseLossBackward0"
    inputs = 2

    def forward(ctx, a, b, reduction):
        ctx.save_for_backward(a, b)
        ctx.reduction = reduction
        diff = a - b
        ctx.numel = diff.size
        return _reduce_array(diff * diff, reduction)

    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        grad_a = _pointwise_grad(grad, 2 * (a - b), ctx.reduction, ctx.numel)
        return grad_a, -grad_a


def _regression_samples(g):
    shape = g.shape()
    return Sample((g.tensor(shape), g.tensor(shape)),
                  {"reduction": g.sampled_from(list(_REDUCTIONS))})


@op_function(_F + "mse_loss", reference="torch.nn.functional.mse_loss",
             samples=_regression_samples, dtypes=FLOATING, node_names=("MseLossBackward0",))
def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean squared error (or its sum, or elementwise with reduction="none")."""
    reduction = _reduction(reduction, size_average, reduce)
    _warn_size(input, target)
    if weight is not None:
        return _reduce(weight * (input - target) ** 2, reduction)
    return MseLoss.apply(input, target, reduction)


@op_function(_F + "l1_loss", reference="torch.nn.functional.l1_loss",
             samples=_regression_samples, dtypes=FLOATING, node_names=("MeanBackward0",))
def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean absolute error: `(input - target).abs()` reduced, as torch composes it."""
    reduction = _reduction(reduction, size_average, reduce)
    _warn_size(input, target)
    loss = (input - target).abs()
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


class SmoothL1Loss(Op):
    """Squared below `beta`, absolute above: 0.5 d^2 / beta if |d| < beta else |d| - beta / 2.

    out = smooth_l1(a - b);  d/da = grad * (|d| < beta ? d / beta : sign(d));  d/db = -d/da
    """

    node_name = "SmoothL1LossBackward0"
    inputs = 2

    def forward(ctx, a, b, reduction, beta):
        ctx.save_for_backward(a, b)
        ctx.reduction, ctx.beta = reduction, beta
        d = a - b
        ctx.numel = d.size
        loss = np.where(np.abs(d) < beta, 0.5 * d * d / beta, np.abs(d) - 0.5 * beta)
        return _reduce_array(loss.astype(d.dtype), reduction)

    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        d = a - b
        local = hypergrad.where(d.abs() >= ctx.beta, d.sign(), d / ctx.beta)
        grad_a = _pointwise_grad(grad, local, ctx.reduction, ctx.numel)
        return grad_a, -grad_a


@op_function(_F + "smooth_l1_loss", reference="torch.nn.functional.smooth_l1_loss",
             samples=_regression_samples, dtypes=FLOATING,
             node_names=("SmoothL1LossBackward0",))
def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """Huber-like loss, quadratic for |input - target| < beta (l1 when beta is 0)."""
    reduction = _reduction(reduction, size_average, reduce)
    _warn_size(input, target)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    if beta == 0:
        return l1_loss(input, target, reduction=reduction)
    return SmoothL1Loss.apply(input, target, reduction, beta)


class HuberLoss(Op):
    """0.5 d^2 if |d| < delta else delta * (|d| - delta / 2).

    out = huber(a - b);  d/da = grad * clamp(d, -delta, delta);  d/db = -d/da
    """

    node_name = "HuberLossBackward0"
    inputs = 2

    def forward(ctx, a, b, reduction, delta):
        ctx.save_for_backward(a, b)
        ctx.reduction, ctx.delta = reduction, delta
        d = a - b
        ctx.numel = d.size
        loss = np.where(np.abs(d) < delta, 0.5 * d * d, delta * (np.abs(d) - 0.5 * delta))
        return _reduce_array(loss.astype(a.dtype), reduction)

    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        d = a - b
        local = hypergrad.where(d.abs() >= ctx.delta, ctx.delta * d.sign(), d)
        grad_a = _pointwise_grad(grad, local, ctx.reduction, ctx.numel)
        return grad_a, -grad_a


@op_function(_F + "huber_loss", reference="torch.nn.functional.huber_loss",
             samples=_regression_samples, dtypes=FLOATING, node_names=("HuberLossBackward0",),
             divergences={"dtypes": on_some_inputs("float32 input with a float64 target: "
                                                   "the torch backward raises, HyperGrad "
                                                   "differentiates")})
def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """Quadratic for |input - target| < delta, linear (slope delta) beyond."""
    reduction = _reduction(reduction)
    _warn_size(input, target)
    if weight is not None:
        return _reduce(HuberLoss.apply(input, target, "none", delta) * weight, reduction)
    return HuberLoss.apply(input, target, reduction, delta)


_EPSILON = 1e-12


class BinaryCrossEntropy(Op):
    """-w (t log x + (1 - t) log(1 - x)), each log clamped at -100 as in torch.

    d/dx = grad * w * (x - t) / max(x (1 - x), 1e-12);  d/dt = grad * w * (log(1 - x) - log x)
    weight: not differentiable
    """

    node_name = "BinaryCrossEntropyBackward0"
    inputs = 3

    def forward(ctx, x, t, weight, reduction):
        if t.dtype != x.dtype:
            raise RuntimeError(f"Found dtype {_scalar_name(t.dtype)} but expected "
                               f"{_scalar_name(x.dtype)}")
        if ((x < 0) | (x > 1)).any():
            raise RuntimeError("all elements of input should be between 0 and 1")
        if ((t < 0) | (t > 1)).any():
            raise RuntimeError("all elements of target should be between 0 and 1")
        ctx.save_for_backward(x, t, weight)
        ctx.reduction = reduction
        ctx.numel = x.size
        with np.errstate(divide="ignore"):
            log_x = np.maximum(np.log(x), -100)
            log_1mx = np.maximum(np.log1p(-x), -100)
        loss = -(t * log_x + (1 - t) * log_1mx)
        if weight is not None:
            loss = loss * weight
        return _reduce_array(loss.astype(x.dtype), reduction)

    def backward(ctx, grad):
        x, t, weight = ctx.saved_tensors
        grad_x = grad_t = None
        if ctx.needs_input_grad[0]:
            local = (x - t) / (x * (1 - x)).clamp(min=_EPSILON)
            grad_x = _pointwise_grad(grad, local if weight is None else local * weight,
                                     ctx.reduction, ctx.numel)
        if ctx.needs_input_grad[1]:
            local = (1 - x).log().clamp(min=-100) - x.log().clamp(min=-100)
            grad_t = _pointwise_grad(grad, local if weight is None else local * weight,
                                     ctx.reduction, ctx.numel)
        return grad_x, grad_t, None


def _bce_samples(g):
    shape = g.shape()
    return Sample((g.tensor(shape, 0.05, 0.95, special=False),
                   g.tensor(shape, 0.0, 1.0, special=False)),
                  {"reduction": g.sampled_from(list(_REDUCTIONS))})


@op_function(_F + "binary_cross_entropy", reference="torch.nn.functional.binary_cross_entropy",
             samples=_bce_samples, dtypes=FLOATING,
             node_names=("BinaryCrossEntropyBackward0",))
def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    """Binary cross entropy between probabilities `input` and targets in [0, 1]."""
    reduction = _reduction(reduction, size_average, reduce)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Using a target size ({_size_str(target.shape)}) that is different "
                         f"to the input size ({_size_str(input.shape)}) is deprecated. Please "
                         "ensure they have the same size.")
    if weight is not None:
        weight = weight.expand(tuple(input.shape))
    return BinaryCrossEntropy.apply(input, target, weight, reduction)


def _bce_logits_grad_input(x, t, pos_weight):
    """d/dx: sigmoid(x) - t, or (pw t + 1 - t) sigmoid(x) - pw t with a pos_weight."""
    if pos_weight is None:
        return x.sigmoid() - t
    scaled = pos_weight * t
    return (scaled + 1 - t) * x.sigmoid() - scaled


def _bce_logits_grad_target(x, pos_weight):
    """d/dt: -x, or log(1 - sigmoid(x)) - pw log(sigmoid(x)) with a pos_weight."""
    if pos_weight is None:
        return -x
    return -_softplus_tensor(x) + pos_weight * _softplus_tensor(-x)


class BinaryCrossEntropyWithLogits(Op):
    """Binary cross entropy of sigmoid(x), computed from the logits x without overflow.

    out = (1 - t) x + (1 + (pw - 1) t) (log(1 + exp(-|x|)) + max(-x, 0))
    d/dx = grad * w * ((pw t + 1 - t) sigmoid(x) - pw t)
    d/dt = grad * w * (log(1 - sigmoid(x)) - pw log(sigmoid(x)));  weight, pos_weight: none
    """

    node_name = "BinaryCrossEntropyWithLogitsBackward0"
    inputs = 4

    def forward(ctx, x, t, weight, pos_weight, reduction):
        ctx.save_for_backward(x, t, weight, pos_weight)
        ctx.reduction = reduction
        ctx.numel = np.broadcast(x, t).size
        softplus_neg = np.log1p(np.exp(-np.abs(x))) + np.maximum(-x, 0)
        log_weight = 1 if pos_weight is None else (pos_weight - 1) * t + 1
        loss = (1 - t) * x + log_weight * softplus_neg
        if weight is not None:
            loss = loss * weight
        return _reduce_array(np.asarray(loss).astype(np.result_type(x, t)), reduction)

    def backward(ctx, grad):
        x, t, weight, pos_weight = ctx.saved_tensors
        grad_x = grad_t = None
        if ctx.needs_input_grad[0]:
            local = _bce_logits_grad_input(x, t, pos_weight)
            grad_x = _pointwise_grad(grad, local if weight is None else local * weight,
                                     ctx.reduction, ctx.numel)
        if ctx.needs_input_grad[1]:
            local = _bce_logits_grad_target(x, pos_weight)
            grad_t = _pointwise_grad(grad, local if weight is None else local * weight,
                                     ctx.reduction, ctx.numel)
        return grad_x, grad_t, None, None


def _bce_logits_samples(g):
    shape = g.shape(min_dims=1)
    kwargs = {"reduction": g.sampled_from(list(_REDUCTIONS))}
    if g.booleans():
        kwargs["pos_weight"] = SampleTensor(np.abs(g.tensor(shape[-1:]).array) + 0.1, False)
    return Sample((g.tensor(shape), g.tensor(shape, 0.0, 1.0)), kwargs)


@op_function(_F + "binary_cross_entropy_with_logits",
             reference="torch.nn.functional.binary_cross_entropy_with_logits",
             samples=_bce_logits_samples, dtypes=FLOATING,
             node_names=("BinaryCrossEntropyWithLogitsBackward0",),
             divergences={"dtypes": on_some_inputs("mixed float32/float64 input and target: "
                                                   "HyperGrad returns the promoted dtype, the "
                                                   "torch kernel the input dtype in some "
                                                   "layouts")})
def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None,
                                     reduce=None, reduction="mean", pos_weight=None):
    """Binary cross entropy on logits: sigmoid and BCE in one numerically stable op.

    `pos_weight` (broadcast along the last dimension) weighs the positive examples.
    """
    reduction = _reduction(reduction, size_average, reduce)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Target size ({_size_str(target.shape)}) must be the same as input "
                         f"size ({_size_str(input.shape)})")
    return BinaryCrossEntropyWithLogits.apply(input, target, weight, pos_weight, reduction)


def _kl_samples(g):
    shape = g.shape(min_dims=1)
    return Sample((g.tensor(shape, -3, 0), g.tensor(shape, 0.0, 1.0)),
                  {"reduction": g.sampled_from(["none", "sum", "batchmean"])})


@op_function(_F + "kl_div", reference="torch.nn.functional.kl_div", samples=_kl_samples,
             dtypes=FLOATING)
def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """KL divergence with `input` as log-probabilities: target * (log target - input).

    "batchmean" divides the sum by the batch size (the mathematical KL); "mean" divides by
    the number of elements and warns, as torch does.
    """
    if size_average is not None or reduce is not None:
        reduction = _reduction(reduction, size_average, reduce)
    elif reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                      "support size.'batchmean' divides only by the batch size, and aligns with "
                      "the KL div math definition.'mean' will be changed to behave the same as "
                      "'batchmean' in the next major release.", UserWarning, stacklevel=3)
    elif reduction not in ("none", "sum", "batchmean"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if log_target:
        loss = target.exp() * (target - input)
    else:
        loss = hypergrad.xlogy(target, target) - target * input   # 0 at target == 0
    if reduction == "batchmean":
        return loss.sum() / input.shape[0] if input.dim() else loss.sum()
    return _reduce(loss, reduction)


def _pair_loss_samples(g):
    n = g.integers(1, 4)
    target = SampleTensor(np.array([g.sampled_from([-1, 1]) for _ in range(n)]), False)
    return Sample((g.tensor((n,)), g.tensor((n,)), target),
                  {"margin": g.floats(0.0, 1.0), "reduction": g.sampled_from(list(_REDUCTIONS))})


@op_function(_F + "margin_ranking_loss", reference="torch.nn.functional.margin_ranking_loss",
             samples=_pair_loss_samples, dtypes=FLOATING)
def margin_ranking_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                        reduction="mean"):
    """max(0, -target * (input1 - input2) + margin): input1 should rank above input2 when
    target is 1, below when it is -1."""
    reduction = _reduction(reduction, size_average, reduce)
    if not (input1.dim() == input2.dim() == target.dim()):
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension "
                           f"but got sizes: input1: {_size_str(input1.shape)}, input2: "
                           f"{_size_str(input2.shape)}, target: {_size_str(target.shape)} ")
    return _reduce((-target * (input1 - input2) + margin).clamp_min(0), reduction)


def _cosine_embedding_samples(g):
    n, d = g.integers(1, 4), g.integers(1, 4)
    target = SampleTensor(np.array([g.sampled_from([-1, 1]) for _ in range(n)]), False)
    return Sample((g.tensor((n, d)), g.tensor((n, d)), target),
                  {"margin": g.floats(-0.5, 0.5), "reduction": g.sampled_from(list(_REDUCTIONS))})


@op_function(_F + "cosine_embedding_loss",
             reference="torch.nn.functional.cosine_embedding_loss",
             samples=_cosine_embedding_samples, dtypes=FLOATING)
def cosine_embedding_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                          reduction="mean"):
    """1 - cos(x1, x2) where target is 1, max(0, cos(x1, x2) - margin) where it is -1."""
    reduction = _reduction(reduction, size_average, reduce)
    dim = input1.dim() - 1
    dot = (input1 * input2).sum(dim)
    norms = ((input1 * input1).sum(dim) + _EPSILON) * ((input2 * input2).sum(dim) + _EPSILON)
    cos = dot / norms.sqrt()
    positive = hypergrad.where(target == 1, 1 - cos, 0.0)
    negative = hypergrad.where(target == -1, (cos - margin).clamp(min=0), 0.0)
    return _reduce(positive + negative, reduction)


# ----------------------------------------------------------------------------------------------
# Convolution (see Note [Convolution as im2col])
# ----------------------------------------------------------------------------------------------
def _blocks(size, kernel, dilation, pad_before, pad_after, stride):
    """How many windows fit along one axis."""
    return (size + pad_before + pad_after - dilation * (kernel - 1) - 1) // stride + 1


def _im2col_array(x, kernel, dilation, pads, stride, pad_value=0):
    """x (N, C, H, W) -> columns (N, C*kh*kw, out_h*out_w), and (out_h, out_w).

    `pads` is (top, bottom, left, right). One strided slice per kernel position.
    """
    n, c, h, w = x.shape
    (kh, kw), (dh, dw), (sh, sw) = kernel, dilation, stride
    top, bottom, left, right = pads
    out_h = _blocks(h, kh, dh, top, bottom, sh)
    out_w = _blocks(w, kw, dw, left, right, sw)
    padded = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)),
                    constant_values=pad_value)
    cols = np.empty((n, c, kh, kw, out_h, out_w), x.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = padded[:, :, i * dh:i * dh + sh * (out_h - 1) + 1:sh,
                                      j * dw:j * dw + sw * (out_w - 1) + 1:sw]
    return cols.reshape(n, c * kh * kw, out_h * out_w), (out_h, out_w)


def _col2im_array(cols, size, kernel, dilation, padding, stride, blocks=None):
    """The adjoint of `_im2col_array`: sum columns (N, C*kh*kw, L) back into (N, C, H, W).

    `blocks` (out_h, out_w) says how many windows the columns hold, if not as many as fit
    (a transposed convolution's output padding leaves room for more).
    """
    (h, w), (kh, kw), (dh, dw), (ph, pw), (sh, sw) = size, kernel, dilation, padding, stride
    n = cols.shape[0]
    c = cols.shape[1] // (kh * kw)
    out_h, out_w = blocks or (_blocks(h, kh, dh, ph, ph, sh), _blocks(w, kw, dw, pw, pw, sw))
    cols = cols.reshape(n, c, kh, kw, out_h, out_w)
    padded = np.zeros((n, c, h + 2 * ph, w + 2 * pw), cols.dtype)
    for i in range(kh):
        for j in range(kw):
            padded[:, :, i * dh:i * dh + sh * (out_h - 1) + 1:sh,
                   j * dw:j * dw + sw * (out_w - 1) + 1:sw] += cols[:, :, i, j]
    return padded[:, :, ph:ph + h, pw:pw + w]


def _same_dtype(message, *arrays):
    """torch's kernels take one floating dtype: mixed inputs raise RuntimeError(message)."""
    dtypes = {a.dtype for a in arrays if isinstance(a, np.ndarray)}
    if len(dtypes) > 1:
        first = arrays[0].dtype
        other = next(a.dtype for a in arrays if isinstance(a, np.ndarray) and a.dtype != first)
        raise RuntimeError(message.format(_scalar_name(first), _scalar_name(other)))


def _scalar_name(dtype):
    return {"float32": "Float", "float64": "Double", "float16": "Half"}.get(dtype.name,
                                                                           dtype.name)


def _batched(x, ndim):
    """Add a batch axis to an unbatched array; returns (array, whether it was added)."""
    return (x[None], True) if x.ndim == ndim - 1 else (x, False)


def _pair_argument(value, name):
    """An int or a pair of ints as a pair (torch's `_pair`; other lengths are refused)."""
    if not isinstance(value, (tuple, list)):
        return (int(value),) * 2
    if len(value) != 2:
        raise RuntimeError(f"It is expected {name} equals to 2, but got size {len(value)}")
    return tuple(int(v) for v in value)


def _check_window(kernel, dilation, padding, stride, order):
    """im2col/col2im's argument checks (im2col_shape_check.h), in the kernel's `order`."""
    values = {"kernel": kernel, "dilation": dilation, "padding": padding, "stride": stride}
    for name in order:
        height, width = values[name]
        if name == "padding":
            if min(height, width) < 0:
                raise RuntimeError(f"padding should be non-negative, but got pad_height: "
                                   f"{height} pad_width: {width}")
        elif min(height, width) <= 0:
            label = "kernel size" if name == "kernel" else name
            raise RuntimeError(f"{label} should be greater than zero, but got {name}_height: "
                               f"{height} {name}_width: {width}")


def _check_floating(kernel, array):
    if array.dtype.kind not in "f":
        raise NotImplementedError(f'"{kernel}" not implemented for '
                                  f"'{_scalar_type_name(array.dtype)}'")


def _window_samples(g):
    """Window geometry for unfold/fold: kernel, dilation, padding, stride (ints or pairs),
    and a spatial size each window fits in at least once."""
    square = g.booleans()       # one int for both axes, or a pair

    def pair(low, high):
        first = g.integers(low, high)
        return (first, first) if square else (first, g.integers(low, high))

    kernel, dilation, padding, stride = pair(1, 3), pair(1, 2), pair(0, 1), pair(1, 2)
    smallest = [max(1, d * (k - 1) + 1 - 2 * p) for k, d, p in zip(kernel, dilation, padding)]
    size = tuple(g.integers(s, s + 3) for s in smallest)
    kw = {name: value[0] if square else value for name, value in
          (("kernel_size", kernel), ("dilation", dilation), ("padding", padding),
           ("stride", stride))}
    return size, kernel, dilation, padding, stride, kw


def _unfold_samples(g):
    size, _, _, _, _, kw = _window_samples(g)
    batch = g.shape(min_dims=0, max_dims=1, max_side=2)   # () is an unbatched input
    return Sample((g.tensor(batch + (g.integers(1, 2),) + size),), kw)


def _fold_samples(g):
    size, kernel, dilation, padding, stride, kw = _window_samples(g)
    blocks = [_blocks(s, k, d, p, p, st) for s, k, d, p, st in zip(size, kernel, dilation,
                                                                   padding, stride)]
    batch = g.shape(min_dims=0, max_dims=1, max_side=2)
    columns = g.integers(1, 2) * kernel[0] * kernel[1]
    return Sample((g.tensor(batch + (columns, blocks[0] * blocks[1])),
                   size if g.booleans() else list(size)), kw)


def _fold_error(shape, *args, match, **kwargs):
    return error_sample(np.ones(shape, np.float32), *args, match=match, **kwargs)


_UNFOLD_ERRORS = (
    _fold_error((3, 4), 2, error_type=IndexError, match="Dimension out of range"),
    _fold_error((1, 2, 3, 4, 5), 2, match="Expected 3D or 4D (batch mode) tensor with possibly "
                                          "0 batch size and other non-zero dimensions for "
                                          "input, but got: [1, 2, 3, 4, 5]"),
    _fold_error((2, 0, 4, 5), 2, match="other non-zero dimensions for input, but got: "
                                       "[2, 0, 4, 5]"),
    _fold_error((2, 3, 4, 5), 5, match="Given input with spatial size (4, 5), kernel_size=(5, "
                                       "5), dilation=(1, 1), padding=(0, 0), calculated shape "
                                       "of the array of sliding blocks as (0, 1), but its "
                                       "components must be at least one."),
    _fold_error((2, 3, 4, 5), (2, 0), match="kernel size should be greater than zero, but got "
                                            "kernel_height: 2 kernel_width: 0"),
    _fold_error((2, 3, 4, 5), 2, stride=0, match="stride should be greater than zero"),
    _fold_error((2, 3, 4, 5), 2, dilation=0, match="dilation should be greater than zero"),
    _fold_error((2, 3, 4, 5), 2, padding=(1, -1), match="padding should be non-negative, but "
                                                        "got pad_height: 1 pad_width: -1"),
    _fold_error((2, 3, 4, 5), (2, 2, 2), match="It is expected kernel_size equals to 2, but "
                                               "got size 3"),
    _fold_error((2, 3, 4, 5), 2, padding=[1], match="It is expected padding equals to 2, but "
                                                    "got size 1"),
    error_sample(np.ones((2, 3, 4, 5), np.int64), 2, error_type=NotImplementedError,
                 match="\"im2col_out_cpu\" not implemented for 'Long'"),
)

_FOLD_ERRORS = (
    _fold_error((2, 3, 4, 4), (3, 3), 2, match="Expected 2D or 3D (batch mode) tensor for "
                                               "input with possibly 0 batch size and non-zero "
                                               "dimensions for input, but got: [2, 3, 4, 4]"),
    _fold_error((0, 4), (3, 3), 2, match="non-zero dimensions for input, but got: [0, 4]"),
    _fold_error((2, 3, 4), (3, 3), 2, match="Expected size of input's dimension 1 to be "
                                            "divisible by the product of kernel_size, but got "
                                            "input.size(1)=3 and kernel_size=(2, 2)."),
    _fold_error((2, 12, 5), (3, 3), 2, match="Given output_size=(3, 3), kernel_size=(2, 2), "
                                             "dilation=(1, 1), padding=(0, 0), stride=(1, 1), "
                                             "expected size of input's dimension 2 to match "
                                             "the calculated number of sliding blocks 2 * 2 = "
                                             "4, but got input.size(2)=5."),
    _fold_error((2, 12, 4), (1, 1), 2, match="calculated number of sliding blocks 0 * 0 = 0"),
    _fold_error((2, 12, 4), (3, 3), 2, stride=0, match="stride should be greater than zero"),
    _fold_error((2, 12, 4), (3, 3), 2, padding=-1, match="padding should be non-negative"),
    _fold_error((2, 12, 4), (3, 3, 3), 2, match="It is expected output_size equals to 2, but "
                                                "got size 3"),
    error_sample(np.ones((2, 12, 4), np.int64), (3, 3), 2, error_type=NotImplementedError,
                 match="\"col2im_out_cpu\" not implemented for 'Long'"),
)


class Unfold(Op):
    """im2col: every kernel_size block of (N, C, H, W) input as a column of (N, C*kh*kw, L).

    out = im2col(x);  d/dx = fold(grad)
    """

    name = _F + "unfold"
    node_name = "Im2ColBackward0"
    reference = "torch.nn.functional.unfold"
    samples = _unfold_samples
    dtypes = FLOATING
    error_samples = _UNFOLD_ERRORS

    def forward(ctx, input, kernel_size, dilation=1, padding=0, stride=1):
        kernel, dilation, padding, stride = (_pair_argument(value, name) for value, name in (
            (kernel_size, "kernel_size"), (dilation, "dilation"), (padding, "padding"),
            (stride, "stride")))
        _check_im2col(input, kernel, dilation, padding, stride)
        x, added = _batched(input, 4)
        ctx.args = (tuple(x.shape[2:]), kernel, dilation, padding, stride)
        cols, _ = _im2col_array(x, kernel, dilation, (padding[0], padding[0], padding[1],
                                                     padding[1]), stride)
        return cols[0] if added else cols

    def backward(ctx, grad):
        return Fold.apply(grad, *ctx.args)


def _dim_size(shape, dim):
    """shape[dim], or torch's IndexError for a dim the tensor does not have."""
    if not shape:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    if dim >= len(shape):
        raise IndexError(f"Dimension out of range (expected to be in range of "
                         f"[{-len(shape)}, {len(shape) - 1}], but got {dim})")
    return shape[dim]


def _check_im2col(x, kernel, dilation, padding, stride):
    """torch's im2col_shape_check: the arguments, then a 3-d or 4-d input, then room for
    at least one window."""
    _check_window(kernel, dilation, padding, stride, ("kernel", "dilation", "padding",
                                                      "stride"))
    shape = x.shape
    valid = _dim_size(shape, 1) != 0 and _dim_size(shape, 2) != 0
    if not ((x.ndim == 3 and shape[0] and valid) or (x.ndim == 4 and valid and shape[3])):
        raise RuntimeError(f"Expected 3D or 4D (batch mode) tensor with possibly 0 batch size "
                           f"and other non-zero dimensions for input, but got: {list(shape)}")
    size = shape[-2:]
    blocks = [_blocks(s, k, d, p, p, st) for s, k, d, p, st in zip(size, kernel, dilation,
                                                                   padding, stride)]
    if min(blocks) < 1:
        raise RuntimeError(f"Given input with spatial size ({size[0]}, {size[1]}), kernel_size="
                           f"({kernel[0]}, {kernel[1]}), dilation=({dilation[0]}, "
                           f"{dilation[1]}), padding=({padding[0]}, {padding[1]}), calculated "
                           f"shape of the array of sliding blocks as ({blocks[0]}, "
                           f"{blocks[1]}), but its components must be at least one.")
    _check_floating("im2col_out_cpu", x)


def _check_col2im(cols, size, kernel, dilation, padding, stride):
    """torch's col2im_shape_check: the arguments, a 2-d or 3-d input, whole kernels in the
    rows, and one column per sliding block."""
    _check_window(kernel, dilation, padding, stride, ("kernel", "stride", "dilation",
                                                      "padding"))
    shape = cols.shape
    if not ((cols.ndim == 2 and shape[0] and shape[1]) or (cols.ndim == 3 and shape[1] and
                                                            shape[2])):
        raise RuntimeError(f"Expected 2D or 3D (batch mode) tensor for input with possibly 0 "
                           f"batch size and non-zero dimensions for input, but got: "
                           f"{list(shape)}")
    planes, length = shape[-2:]
    if planes % (kernel[0] * kernel[1]):
        raise RuntimeError(f"Expected size of input's dimension 1 to be divisible by the "
                           f"product of kernel_size, but got input.size(1)={planes} and "
                           f"kernel_size=({kernel[0]}, {kernel[1]}).")
    blocks = [_blocks(s, k, d, p, p, st) for s, k, d, p, st in zip(size, kernel, dilation,
                                                                   padding, stride)]
    where = (f"Given output_size=({size[0]}, {size[1]}), kernel_size=({kernel[0]}, "
             f"{kernel[1]}), dilation=({dilation[0]}, {dilation[1]}), padding=({padding[0]}, "
             f"{padding[1]}), stride=({stride[0]}, {stride[1]}), ")
    if length != blocks[0] * blocks[1]:
        raise RuntimeError(f"{where}expected size of input's dimension 2 to match the "
                           f"calculated number of sliding blocks {blocks[0]} * {blocks[1]} = "
                           f"{blocks[0] * blocks[1]}, but got input.size(2)={length}.")
    if min(blocks) < 1:
        raise RuntimeError(f"{where}calculated shape of the array of sliding blocks as "
                           f"({blocks[0]}, {blocks[1]}), which is too small (non-positive)")
    if min(size) < 1:
        raise RuntimeError(f"Expected output spatial size to be positive, but got: "
                           f"output_size=({size[0]}, {size[1]}).")
    _check_floating("col2im_out_cpu", cols)


class Fold(Op):
    """col2im: sum columns (N, C*kh*kw, L) into an (N, C, H, W) image (unfold's adjoint).

    out = col2im(cols);  d/dcols = unfold(grad)
    """

    name = _F + "fold"
    node_name = "Col2ImBackward0"
    reference = "torch.nn.functional.fold"
    samples = _fold_samples
    dtypes = FLOATING
    error_samples = _FOLD_ERRORS

    def forward(ctx, input, output_size, kernel_size, dilation=1, padding=0, stride=1):
        args = tuple(_pair_argument(value, name) for value, name in (
            (output_size, "output_size"), (kernel_size, "kernel_size"), (dilation, "dilation"),
            (padding, "padding"), (stride, "stride")))
        _check_col2im(input, *args)
        cols, added = _batched(input, 3)
        ctx.args = args[1:]
        out = _col2im_array(cols, *args)
        return out[0] if added else out

    def backward(ctx, grad):
        return Unfold.apply(grad, *ctx.args)


def _conv_geometry(spatial, stride, padding, dilation):
    """Stride, padding and dilation as 2-d tuples; a 1-d convolution is a 2-d one of height 1."""
    if spatial == 1:
        return (1, _tuple(stride, 1)[0]), (0, _tuple(padding, 1)[0]), (1, _tuple(dilation, 1)[0])
    return _tuple(stride, 2), _tuple(padding, 2), _tuple(dilation, 2)


def _as_4d(array, spatial):
    return array[:, :, None, :] if spatial == 1 else array


class Convolution(Op):
    """Convolution (1-d or 2-d, strided, padded, dilated, grouped) by im2col and matmul.

    out = W @ unfold(x) + b;  d/dx = fold(W^T @ grad);  d/dW = grad @ unfold(x)^T;
    d/db = grad summed over batch and positions
    """

    node_name = "ConvolutionBackward0"
    inputs = 3

    def forward(ctx, x, weight, bias, stride, padding, dilation, groups):
        _same_dtype("expected scalar type {} but found {}", x, weight, bias)
        spatial = x.ndim - 2
        stride, padding, dilation = _conv_geometry(spatial, stride, padding, dilation)
        x4, w4 = _as_4d(x, spatial), _as_4d(weight, spatial)
        n, out_channels = x.shape[0], weight.shape[0]
        ctx.save_for_backward(x, weight)
        ctx.geometry = (tuple(x4.shape[2:]), tuple(w4.shape[2:]), dilation, padding, stride,
                        groups)
        cols, (out_h, out_w) = _im2col_array(x4, w4.shape[2:], dilation,
                                             (padding[0], padding[0], padding[1], padding[1]),
                                             stride)
        cols = cols.reshape(n, groups, cols.shape[1] // groups, out_h * out_w)
        kernels = w4.reshape(groups, out_channels // groups, -1)
        out = np.matmul(kernels[None], cols).reshape(n, out_channels, out_h, out_w)
        if bias is not None:
            out = out + bias.reshape(1, -1, 1, 1)
        return out[:, :, 0, :] if spatial == 1 else out

    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        size, kernel, dilation, padding, stride, groups = ctx.geometry
        n, channels = x.shape[0], x.shape[1]
        out_channels = weight.shape[0]
        positions = math.prod(grad.shape[2:])   # explicit sizes: a batch may be empty
        grouped = grad.reshape(n, groups, out_channels // groups, positions)
        grad_x = grad_w = grad_b = None
        if need_x:
            kernels = weight.reshape(groups, out_channels // groups, -1)
            cols = kernels.transpose(1, 2).matmul(grouped).reshape(n, channels * kernel[0] *
                                                                    kernel[1], positions)
            grad_x = Fold.apply(cols, size, kernel, dilation, padding, stride).reshape(x.shape)
        if need_w:
            cols = Unfold.apply(x.reshape(n, channels, *size), kernel, dilation, padding, stride)
            cols = cols.reshape(n, groups, channels // groups * kernel[0] * kernel[1],
                                positions)
            grad_w = grouped.matmul(cols.transpose(2, 3)).sum(0).reshape(weight.shape)
        if need_b:
            grad_b = grad.sum((0,) + tuple(range(2, grad.dim())))
        return grad_x, grad_w, grad_b


class ConvTranspose(Op):
    """Transposed convolution: the adjoint of Convolution's input map, plus a bias.

    out = fold(W^T @ x) + b;  d/dx = W @ unfold(grad);  d/dW = x @ unfold(grad)^T;
    d/db = grad summed over batch and positions
    (fold and unfold over exactly x's H x W windows: `output_padding` adds rows and columns
    at the bottom and right that windows may not reach)
    """

    node_name = "ConvolutionBackward0"
    inputs = 3

    def forward(ctx, x, weight, bias, stride, padding, output_padding, groups, dilation):
        spatial = x.ndim - 2
        stride, padding, dilation = _conv_geometry(spatial, stride, padding, dilation)
        output_padding = (0, _tuple(output_padding, 1)[0]) if spatial == 1 else \
            _tuple(output_padding, 2)
        x4, w4 = _as_4d(x, spatial), _as_4d(weight, spatial)
        n, in_channels, h, w = x4.shape
        kernel = tuple(w4.shape[2:])
        out_channels = w4.shape[1] * groups
        size = tuple((s - 1) * st - 2 * p + d * (k - 1) + op + 1 for s, st, p, d, k, op in zip(
            (h, w), stride, padding, dilation, kernel, output_padding))
        ctx.save_for_backward(x, weight)
        ctx.geometry = (kernel, dilation, padding, stride, output_padding, groups)
        kernels = w4.reshape(groups, in_channels // groups, -1)
        cols = np.matmul(kernels.transpose(0, 2, 1)[None],
                         x4.reshape(n, groups, in_channels // groups, h * w))
        out = _col2im_array(cols.reshape(n, out_channels * kernel[0] * kernel[1], h * w), size,
                            kernel, dilation, padding, stride, blocks=(h, w))
        if bias is not None:
            out = out + bias.reshape(1, -1, 1, 1).astype(out.dtype)
        return out[:, :, 0, :] if spatial == 1 else out

    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        kernel, dilation, padding, stride, output_padding, groups = ctx.geometry
        n, in_channels = x.shape[0], x.shape[1]
        positions = math.prod(x.shape[2:])
        grad4 = grad.unsqueeze(2) if grad.dim() == 3 else grad
        # pad by `padding` before, and after by padding - output_padding (a crop if negative):
        # then the windows of unfold are exactly the H x W ones forward folded
        framed = pad(grad4, [padding[1], padding[1] - output_padding[1], padding[0],
                             padding[0] - output_padding[0]])
        cols = Unfold.apply(framed, kernel, dilation, 0, stride)
        cols = cols.reshape(n, groups, cols.shape[1] // groups, positions)
        grouped_x = x.reshape(n, groups, in_channels // groups, positions)
        grad_x = grad_w = grad_b = None
        if need_x:
            kernels = weight.reshape(groups, in_channels // groups, -1)
            grad_x = kernels.matmul(cols).reshape(x.shape)
        if need_w:
            grad_w = grouped_x.matmul(cols.transpose(2, 3)).sum(0).reshape(weight.shape)
        if need_b:
            grad_b = grad.sum((0,) + tuple(range(2, grad.dim())))
        return grad_x, grad_w, grad_b


def _same_padding(input, weight, spatial, stride, dilation, transposed=False):
    """Resolve padding="same": symmetric padding, plus one extra on the right if odd."""
    if any(s != 1 for s in _tuple(stride, spatial)):
        raise ValueError("padding='same' is not supported for strided convolutions")
    dilation = _tuple(dilation, spatial)
    totals = [d * (k - 1) for d, k in zip(dilation, weight.shape[2:])]
    extra = []
    for total in reversed(totals):
        extra += [0, total % 2]
    if any(extra):
        input = pad(input, extra)
    return input, tuple(total // 2 for total in totals)


def _check_conv(input, weight, groups, spatial, padding, dilation):
    if input.dim() != spatial + 2:
        raise RuntimeError(f"Expected {spatial + 1}D (unbatched) or {spatial + 2}D (batched) "
                           f"input to conv{spatial}d, but got input of size: "
                           f"{list(input.shape)}")
    if weight.dim() != spatial + 2:
        raise RuntimeError("weight should have at least three dimensions")
    channels = input.shape[1]
    if weight.shape[1] * groups != channels:
        raise RuntimeError(f"Given groups={groups}, weight of size {list(weight.shape)}, "
                           f"expected input{list(input.shape)} to have "
                           f"{weight.shape[1] * groups} channels, but got {channels} channels "
                           f"instead")
    if weight.shape[0] % groups:
        raise RuntimeError("Given groups=%d, expected weight to be divisible by %d at dimension "
                           "0, but got weight of size %s instead" % (groups, groups,
                                                                    list(weight.shape)))
    padding, dilation = _tuple(padding, spatial), _tuple(dilation, spatial)
    padded = [s + 2 * p for s, p in zip(input.shape[2:], padding)]
    kernel = [d * (k - 1) + 1 for d, k in zip(dilation, weight.shape[2:])]
    if any(p < k for p, k in zip(padded, kernel)):
        raise RuntimeError("Calculated padded input size per channel: ({}). Kernel size: ({}). "
                           "Kernel size can't be greater than actual input size".format(
                               " x ".join(map(str, padded)), " x ".join(map(str, kernel))))


def _convolution(input, weight, bias, stride, padding, dilation, groups, spatial):
    unbatched = input.dim() == spatial + 1
    if unbatched:
        input = input.unsqueeze(0)
    if isinstance(padding, str):
        if padding == "valid":
            padding = 0
        elif padding == "same":
            input, padding = _same_padding(input, weight, spatial, stride, dilation)
        else:
            raise RuntimeError(f"Invalid padding string: '{padding}'")
    _check_conv(input, weight, groups, spatial, padding, dilation)
    out = Convolution.apply(input, weight, bias, stride, padding, dilation, groups)
    return out.squeeze(0) if unbatched else out


def _conv_samples(spatial):
    def samples(g):
        groups = g.sampled_from([1, 2])
        channels, out_channels = groups * g.integers(1, 2), groups * g.integers(1, 2)
        kernel = tuple(g.integers(1, 3) for _ in range(spatial))
        size = tuple(g.integers(k, k + 3) for k in kernel)
        bias = g.tensor((out_channels,), special=False) if g.booleans() else None
        return Sample((g.tensor((g.integers(1, 2), channels) + size, special=False),
                       g.tensor((out_channels, channels // groups) + kernel, special=False),
                       bias),
                      {"stride": g.integers(1, 2), "padding": g.integers(0, 1), "groups": groups})
    return samples


@op_function(_F + "conv1d", reference="torch.nn.functional.conv1d", samples=_conv_samples(1),
             dtypes=FLOATING, node_names=("ConvolutionBackward0",))
def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-d convolution (cross-correlation) of (N, C, L) input with (O, C/groups, k) weight.

    `padding` may be a number, a tuple, "valid" (none) or "same" (output as long as input).
    """
    return _convolution(input, weight, bias, stride, padding, dilation, groups, 1)


@op_function(_F + "conv2d", reference="torch.nn.functional.conv2d", samples=_conv_samples(2),
             dtypes=FLOATING, node_names=("ConvolutionBackward0",))
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-d convolution (cross-correlation) of (N, C, H, W) input with (O, C/groups, kh, kw)
    weight.

    `padding` may be a number, a pair, "valid" (none) or "same" (output as large as input).
    """
    return _convolution(input, weight, bias, stride, padding, dilation, groups, 2)


def _conv_parameter(value, name, dims, spatial):
    """stride, padding, ... as a tuple of `dims` ints (weight.dim() - 2): torch's
    expand_param_if_needed, after its binding made an int `spatial` copies of itself."""
    values = [int(v) for v in value] if isinstance(value, (tuple, list)) else [int(value)] * \
        spatial
    if len(values) == 1:
        values = values * dims
    if len(values) != dims:
        raise RuntimeError(f"expected {name} to be a single integer value or a list of {dims} "
                           f"values to match the convolution dimensions, but got "
                           f"{name}={values}")
    return tuple(values)


def _check_conv_transpose(input, weight, bias, stride, padding, output_padding, groups,
                          dilation):
    """torch's checks of a transposed convolution (check_shape_forward and the CPU kernel's),
    on a batched input and the expanded parameters."""
    if min(padding) < 0:
        raise RuntimeError("negative padding is not supported")
    if min(output_padding) < 0:
        raise RuntimeError("negative output_padding is not supported")
    if min(stride) <= 0:
        raise RuntimeError("non-positive stride is not supported")
    if min(dilation) < 0:
        raise RuntimeError("dilation should be greater than zero")
    if weight.dim() != input.dim():
        raise RuntimeError(f"Expected {weight.dim()}-dimensional input for {weight.dim()}-"
                           f"dimensional weight {list(weight.shape)}, but got {input.dim()}-"
                           f"dimensional input of size {list(input.shape)} instead")
    if weight.shape[0] < groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be at least {groups} at "
                           f"dimension 0, but got weight of size {list(weight.shape)} instead")
    if weight.shape[0] % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} "
                           f"at dimension 0, but got weight of size [{list(weight.shape)}] "
                           f"instead")
    if input.shape[1] != weight.shape[0]:
        raise RuntimeError(f"Given transposed=1, weight of size {list(weight.shape)}, expected "
                           f"input{list(input.shape)} to have {weight.shape[0]} channels, but "
                           f"got {input.shape[1]} channels instead")
    channels = weight.shape[1] * groups
    if bias is not None and (bias.dim() != 1 or bias.shape[0] != channels):
        raise RuntimeError(f"Given transposed=1, weight of size {list(weight.shape)}, expected "
                           f"bias to be 1-dimensional with {channels} elements, but got bias of "
                           f"size {list(bias.shape)} instead")
    if input.shape[0] and input.shape[1] and 0 in input.shape[2:]:
        raise RuntimeError(f"Only zero batch or zero channel inputs are supported, but got input "
                           f"shape: {list(input.shape)}")
    _check_conv_transpose_dtypes(input, weight, bias)
    # the CPU kernel works in 2-d: a 1-d convolution has height 1
    lead = (2 - len(stride)) * (1,)
    dilation2, stride2 = lead + tuple(dilation), lead + tuple(stride)
    if min(dilation) == 0:
        raise RuntimeError(f"dilation should be greater than zero, but got dilation_height: "
                           f"{dilation2[0]}, dilation_width: {dilation2[1]}")
    extra = (2 - len(stride)) * (0,) + tuple(output_padding)
    if any(e >= s and e >= d for e, s, d in zip(extra, stride2, dilation2)):
        raise RuntimeError(f"output padding must be smaller than either stride or dilation, but "
                           f"got output_padding_height: {extra[0]} output_padding_width: "
                           f"{extra[1]} stride_height: {stride2[0]} stride_width: {stride2[1]} "
                           f"dilation_height: {dilation2[0]} dilation_width: {dilation2[1]}")
    sizes = tuple(input.shape[2:])
    out = tuple((s - 1) * st - 2 * p + d * (k - 1) + e + 1 for s, st, p, d, k, e in zip(
        sizes, stride, padding, dilation, weight.shape[2:], output_padding))
    if min(out) < 1:
        pad_size = (1,) * (2 - len(sizes))
        raise RuntimeError("Given input size per channel: ({}). Calculated output size per "
                           "channel: ({}). Output size is too small".format(
                               " x ".join(map(str, pad_size + sizes)),
                               " x ".join(map(str, pad_size + out))))


def _check_conv_transpose_dtypes(input, weight, bias):
    """Input and weight must have one dtype. A bias of another dtype is refused for a float32
    input (torch's oneDNN kernel) and cast for a float64 one (its reference kernel)."""
    names = {"float32": "Float", "float64": "Double"}
    x, w = input._data.dtype, weight._data.dtype
    if x != w:
        if x == np.float32:
            raise RuntimeError(f"Input type (torch.{names.get(x.name, x.name)}Tensor) and weight "
                               f"type (torch.{names.get(w.name, w.name)}Tensor) should be the "
                               f"same or input should be a MKLDNN tensor and weight is a dense "
                               f"tensor")
        raise RuntimeError(f"expected scalar type {_scalar_type_name(x)} but found "
                           f"{_scalar_type_name(w)}")
    if bias is not None and bias._data.dtype != x and x == np.float32:
        b = bias._data.dtype
        raise RuntimeError(f"Input type (torch.FloatTensor) and bias type (torch."
                           f"{names.get(b.name, b.name)}Tensor) should be the same or input "
                           f"should be a MKLDNN tensor and bias is a dense tensor")


def _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation,
                    spatial):
    if input.dim() not in (spatial + 1, spatial + 2):
        raise RuntimeError(f"Expected {spatial + 1}D (unbatched) or {spatial + 2}D (batched) "
                           f"input to conv_transpose{spatial}d, but got input of size: "
                           f"{list(input.shape)}")
    unbatched = input.dim() == spatial + 1
    if unbatched:
        input = input.unsqueeze(0)
    dims = weight.dim() - 2
    if dims < 1:
        raise RuntimeError("weight should have at least three dimensions")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    stride, padding, dilation, output_padding = (
        _conv_parameter(value, name, dims, spatial) for value, name in (
            (stride, "stride"), (padding, "padding"), (dilation, "dilation"),
            (output_padding, "output_padding")))
    _check_conv_transpose(input, weight, bias, stride, padding, output_padding, groups,
                          dilation)
    out = ConvTranspose.apply(input, weight, bias, stride, padding, output_padding, groups,
                              dilation)
    return out.squeeze(0) if unbatched else out


def _conv_transpose_samples(spatial):
    """Grouped, strided, dilated and padded transposed convolutions, with the output padding
    that picks among the output sizes a strided convolution maps to the same input size."""

    def samples(g):
        groups = g.sampled_from([1, 2])
        channels, per_group = groups * g.integers(1, 2), g.integers(1, 2)
        kernel = tuple(g.integers(1, 3) for _ in range(spatial))
        size = tuple(g.integers(1, 3) for _ in range(spatial))
        stride = tuple(g.integers(1, 2) for _ in range(spatial))
        dilation = tuple(g.integers(1, 2) for _ in range(spatial))
        padding = tuple(
            g.integers(0, 1) if (s - 1) * st + d * (k - 1) >= 2 else 0
            for s, st, d, k in zip(size, stride, dilation, kernel))
        output_padding = tuple(g.integers(0, max(st, d) - 1) for st, d in zip(stride, dilation))
        batch = g.shape(min_dims=0, max_dims=1, max_side=2)   # () is an unbatched input
        x = g.tensor(batch + (channels,) + size, special=False)
        bias = g.tensor((groups * per_group,), dtype=x.array.dtype.name, special=False) \
            if g.booleans() else None
        kw = {"groups": groups}
        for name, value, default in (("stride", stride, 1), ("padding", padding, 0),
                                     ("dilation", dilation, 1),
                                     ("output_padding", output_padding, 0)):
            if set(value) != {default} or g.booleans():
                kw[name] = value if len(set(value)) > 1 or g.booleans() else value[0]
        return Sample((x, g.tensor((channels, per_group) + kernel, special=False), bias), kw)

    return samples


def _conv_transpose_errors(spatial):
    shape, kernel = (2, 4) + (3,) * spatial, (2,) * spatial

    def sample(x_shape=shape, w_shape=(4, 3) + kernel, bias=None, x_dtype=np.float32,
               w_dtype=np.float32, match=None, **kwargs):
        return error_sample(np.ones(x_shape, x_dtype), np.ones(w_shape, w_dtype), bias,
                            match=match, **kwargs)

    return (
        sample(x_shape=(3,) * spatial, match=f"Expected {spatial + 1}D (unbatched) or "
                                             f"{spatial + 2}D (batched) input to "
                                             f"conv_transpose{spatial}d, but got input of size: "
                                             f"{[3] * spatial}"),
        sample(x_shape=(2, 3) + (3,) * spatial, match="Given transposed=1, weight of size "
                                                      f"{[4, 3] + [2] * spatial}, expected "
                                                      "input"),
        sample(groups=3, match="expected weight to be divisible by 3 at dimension 0"),
        sample(groups=5, match="Given groups=5, expected weight to be at least 5 at dimension 0"),
        sample(groups=0, match="non-positive groups is not supported"),
        sample(bias=np.ones(5, np.float32), match="expected bias to be 1-dimensional with 3 "
                                                  "elements, but got bias of size [5] instead"),
        sample(stride=0, match="non-positive stride is not supported"),
        sample(padding=-1, match="negative padding is not supported"),
        sample(output_padding=-1, match="negative output_padding is not supported"),
        sample(stride=2, output_padding=2, match="output padding must be smaller than either "
                                                 "stride or dilation"),
        sample(dilation=-1, x_dtype=np.float64, w_dtype=np.float64,
               match="dilation should be greater than zero"),
        sample(padding=3, x_dtype=np.float64, w_dtype=np.float64,
               match="Output size is too small"),
        sample(stride=(1, 2, 3), match=f"expected stride to be a single integer value or a list "
                                       f"of {spatial} values to match the convolution "
                                       f"dimensions, but got stride=[1, 2, 3]"),
        sample(x_shape=(2, 4, 0) + (3,) * (spatial - 1),
               match="Only zero batch or zero channel inputs are supported"),
        sample(w_dtype=np.float64, match="Input type (torch.FloatTensor) and weight type "
                                         "(torch.DoubleTensor) should be the same"),
        sample(x_dtype=np.float64, match="expected scalar type Double but found Float"),
    )


@op_function(_F + "conv_transpose1d", reference="torch.nn.functional.conv_transpose1d",
             samples=_conv_transpose_samples(1), error_samples=_conv_transpose_errors(1),
             dtypes=FLOATING, node_names=("ConvolutionBackward0", "SqueezeBackward1"))
def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """1-d transposed convolution of (N, C_in, L) input; weight is (C_in, C_out/groups, k).

    A bias of another dtype than the input is refused for float32 input and cast for float64
    input, as torch's oneDNN and reference CPU kernels do for batched input.
    """
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups,
                           dilation, 1)


@op_function(_F + "conv_transpose2d", reference="torch.nn.functional.conv_transpose2d",
             samples=_conv_transpose_samples(2), error_samples=_conv_transpose_errors(2),
             dtypes=FLOATING, node_names=("ConvolutionBackward0", "SqueezeBackward1"))
def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """2-d transposed convolution (the gradient of conv2d w.r.t. its input, as a layer);
    weight is (C_in, C_out/groups, kh, kw).

    A bias of another dtype than the input is refused for float32 input and cast for float64
    input, as torch's oneDNN and reference CPU kernels do for batched input.
    """
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups,
                           dilation, 2)


# ----------------------------------------------------------------------------------------------
# Gather and scatter-add along a dim (max pooling and embedding route gradients with them)
# ----------------------------------------------------------------------------------------------
def _scatter_add_array(src, index, dim, size):
    """out (src's shape with `size` along dim) with out[..., index[..., i], ...] += src[..., i]."""
    src_last = np.moveaxis(src, dim, -1)
    index_last = np.moveaxis(index, dim, -1)
    rows = int(np.prod(src_last.shape[:-1]))
    flat = (np.arange(rows)[:, None] * size + index_last.reshape(rows, -1)).ravel()
    out = np.bincount(flat, weights=src_last.reshape(-1), minlength=rows * size)
    return np.moveaxis(out.reshape(src_last.shape[:-1] + (size,)), -1, dim).astype(src.dtype)


class Gather(Op):
    """out[..., i, ...] = x[..., index[..., i, ...], ...] along `dim` (index is a constant).

    d/dx = scatter_add(grad, index)
    """

    node_name = "GatherBackward0"

    def forward(ctx, x, index, dim):
        ctx.index, ctx.dim, ctx.size = index, dim, x.shape[dim]
        return np.take_along_axis(x, index, axis=dim)

    def backward(ctx, grad):
        return ScatterAdd.apply(grad, ctx.index, ctx.dim, ctx.size)


class ScatterAdd(Op):
    """Sum src into zeros of length `size` along `dim` at positions `index` (a constant).

    d/dsrc = gather(grad, index)
    """

    node_name = "ScatterAddBackward0"

    def forward(ctx, src, index, dim, size):
        ctx.index, ctx.dim = index, dim
        return _scatter_add_array(src, index, dim, size)

    def backward(ctx, grad):
        return Gather.apply(grad, ctx.index, ctx.dim)


# ----------------------------------------------------------------------------------------------
# Pooling
# ----------------------------------------------------------------------------------------------
def _pool_size(size, kernel, stride, pad, dilation, ceil_mode):
    """Output length of a pooling window along one axis (torch's pooling_output_shape)."""
    span = size + 2 * pad - dilation * (kernel - 1) - 1
    out = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def _check_pool(kernel, stride, padding, dilation=(1, 1)):
    for k, p, d in zip(kernel, padding, dilation):
        if p > (d * (k - 1) + 1) // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                               f"pad={p}, kernel_size={k} and dilation={d}")
    if any(s <= 0 for s in stride):
        raise RuntimeError("stride should be greater than zero")


class MaxPool2d(Op):
    """The maximum of each window; also returns where it was (flat index into H*W).

    out = max over the window;  d/dx = grad scattered to the argmax positions
    """

    node_name = "MaxPool2DWithIndicesBackward0"

    def forward(ctx, x, kernel, stride, padding, dilation, ceil_mode):
        n, c, h, w = x.shape
        out_h, out_w = (_pool_size(s, k, st, p, d, ceil_mode) for s, k, st, p, d in zip(
            (h, w), kernel, stride, padding, dilation))
        # extra padding on the bottom/right for the partial windows of ceil_mode
        extra = [max(0, (o - 1) * st + d * (k - 1) + 1 - s - 2 * p) for o, st, d, k, s, p in
                 zip((out_h, out_w), stride, dilation, kernel, (h, w), padding)]
        pads = (padding[0], padding[0] + extra[0], padding[1], padding[1] + extra[1])
        values, _ = _im2col_array(x, kernel, dilation, pads, stride, pad_value=-np.inf)
        values = values.reshape(n, c, kernel[0] * kernel[1], out_h * out_w)
        positions = np.arange(h * w).reshape(1, 1, h, w)
        where, _ = _im2col_array(positions, kernel, dilation, pads, stride, pad_value=-1)
        where = np.broadcast_to(where.reshape(1, 1, *values.shape[2:]), values.shape)
        best = np.argmax(values, axis=2)[:, :, None]
        # torch's kernel takes a NaN whenever it meets one, so the *last* NaN of a window wins
        nan = np.isnan(values)
        if nan.any():
            last_nan = nan.shape[2] - 1 - np.argmax(nan[:, :, ::-1], axis=2)[:, :, None]
            best = np.where(nan.any(axis=2, keepdims=True), last_nan, best)
        # a window of -inf: torch keeps its first in-bounds element, never the padding
        first_inside = np.argmax(where >= 0, axis=2)[:, :, None]
        best = np.where(np.take_along_axis(where, best, axis=2) < 0, first_inside, best)
        out = np.take_along_axis(values, best, axis=2)[:, :, 0]
        indices = np.take_along_axis(where, best, axis=2)[:, :, 0]
        ctx.indices, ctx.plane, ctx.input_shape = indices, h * w, x.shape
        ctx.mark_non_differentiable(indices)
        return out.reshape(n, c, out_h, out_w), indices.reshape(n, c, out_h, out_w)

    def backward(ctx, grad, grad_indices):
        flat = grad.reshape(grad.shape[0], grad.shape[1], -1)
        return ScatterAdd.apply(flat, ctx.indices, 2, ctx.plane).reshape(ctx.input_shape)


def _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
              spatial):
    kernel = _tuple(kernel_size, spatial)
    stride = kernel if stride is None or stride == [] or stride == () else _tuple(stride,
                                                                                   spatial)
    padding, dilation = _tuple(padding, spatial), _tuple(dilation, spatial)
    _check_pool(kernel, stride, padding, dilation)
    if spatial == 1:
        kernel, stride, padding, dilation = ((1,) + kernel, (1,) + stride, (0,) + padding,
                                             (1,) + dilation)
        input = input.unsqueeze(-2)
    unbatched = input.dim() == 3
    x = input.unsqueeze(0) if unbatched else input
    out, indices = MaxPool2d.apply(x, kernel, stride, padding, dilation, ceil_mode)
    if unbatched:
        out, indices = out.squeeze(0), indices.squeeze(0)
    if spatial == 1:
        out, indices = out.squeeze(-2), indices.squeeze(-2)
    return (out, indices) if return_indices else out


def _pool_samples(spatial, kwargs=None):
    def samples(g):
        kernel = g.integers(1, 3)
        size = tuple(g.integers(kernel, kernel + 3) for _ in range(spatial))
        kw = {"kernel_size": kernel, "stride": g.integers(1, 2),
              "padding": g.integers(0, kernel // 2), "ceil_mode": g.booleans()}
        if kwargs:
            kw.update(kwargs(g))
        return Sample((g.tensor((g.integers(1, 2), g.integers(1, 2)) + size),), kw)
    return samples


@op_function(_F + "max_pool1d", reference="torch.nn.functional.max_pool1d",
             samples=_pool_samples(1), dtypes=FLOATING, node_names=("SqueezeBackward1",))
def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max over sliding windows of (N, C, L) input (a 2-d max pool of height 1, as in torch)."""
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 1)


@op_function(_F + "max_pool2d", reference="torch.nn.functional.max_pool2d",
             samples=_pool_samples(2), dtypes=FLOATING,
             node_names=("MaxPool2DWithIndicesBackward0",))
def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max over sliding windows of (N, C, H, W) input; stride defaults to kernel_size.

    Padding counts as -inf. `return_indices=True` also returns the flat index (into H*W) of
    each maximum, as torch does.
    """
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 2)


# ----------------------------------------------------------------------------------------------
# Separable linear maps: padding, upsampling, average pooling (see Note [Separable linear maps])
# ----------------------------------------------------------------------------------------------
class _Rows:
    """A sparse matrix by rows: row o is sum_k weight[o, k] * x[index[o, k]] (index -1: none).

    Forward applies it by gathering, so an inf in x reaches only the outputs whose windows
    hold it (a dense product would turn 0 * inf into NaN everywhere); as in torch, a term
    with weight 0 that is listed (the far neighbour in linear interpolation) is still added.
    """

    def __init__(self, index, weight, size):
        self.index, self.weight, self.size = index, weight, size

    @classmethod
    def windows(cls, starts, ends, weights, size):
        """Row o covers input [starts[o], ends[o]) with weight weights[o]."""
        width = max(int((ends - starts).max()), 1) if len(starts) else 1
        index = starts[:, None] + np.arange(width)
        index = np.where(index < ends[:, None], index, -1)
        return cls(index, np.broadcast_to(weights[:, None], index.shape).astype(float), size)

    def dense(self):
        matrix = np.zeros((len(self.index), self.size))
        rows = np.broadcast_to(np.arange(len(self.index))[:, None], self.index.shape)
        valid = self.index >= 0
        np.add.at(matrix, (rows[valid], self.index[valid]), self.weight[valid])
        return matrix

    def scaled(self, factor):
        return _Rows(self.index, self.weight * factor, self.size)

    def apply(self, array, axis):
        moved = np.moveaxis(array, axis, -1)
        valid = self.index >= 0
        picked = moved[..., np.where(valid, self.index, 0)]
        with np.errstate(invalid="ignore"):
            terms = np.where(valid, picked * self.weight, 0)
        return np.moveaxis(terms.sum(-1), -1, axis)


def _contract(array, maps):
    """Apply each (axis, matrix) of `maps`: out[..., o, ...] = sum_i matrix[o, i] x[..., i, ...]."""
    for axis, matrix in maps:
        if isinstance(matrix, _Rows):
            array = matrix.apply(array, axis)
        else:
            array = np.moveaxis(np.tensordot(matrix, array, axes=([1], [axis])), 0, axis)
    return array


def _transposed(maps):
    return tuple((axis, (m.dense() if isinstance(m, _Rows) else m).T) for axis, m in maps)


def _selection(indices, size):
    """The map picking x[indices[o]] for each output o (nothing, so zero, where < 0)."""
    return _Rows(indices[:, None], np.ones((len(indices), 1)), size)


class _SeparableMap(Op):
    """Family base: forward contracts each axis with a matrix; backward with its transpose."""

    def backward(ctx, grad):
        return AxisMap.apply(grad, _transposed(ctx.maps))


def _map_forward(ctx, x, maps):
    """The forward of most of the family (each op names it: `forward = _map_forward`)."""
    ctx.maps = maps
    return _contract(x, maps).astype(x.dtype, copy=False)


class AxisMap(_SeparableMap):
    """A linear map applied along axes (the backward of the ops below, and its own backward).

    out = contract(x, A);  d/dx = contract(grad, A^T)
    """

    forward = _map_forward


class ConstantPadNd(_SeparableMap):
    """Pad with a constant (negative padding crops).  d/dx = the gradient's inner part."""

    node_name = "ConstantPadNdBackward0"

    def forward(ctx, x, maps, value):
        out = _map_forward(ctx, x, maps)
        if value != 0:
            covered = _contract(np.ones(x.shape), maps)
            out = out + (value * (1 - covered)).astype(x.dtype)
        return out


class ReflectionPad1d(_SeparableMap):
    """Pad the last axis with its reflection (the edge not repeated).  d/dx = folded back."""

    node_name = "ReflectionPad1DBackward0"

    forward = _map_forward


class ReflectionPad2d(_SeparableMap):
    """Pad the last two axes with their reflection.  d/dx = the gradient folded back."""

    node_name = "ReflectionPad2DBackward0"

    forward = _map_forward


class ReplicationPad1d(_SeparableMap):
    """Pad the last axis by repeating its edge values.  d/dx = the gradient folded back."""

    node_name = "ReplicationPad1DBackward0"

    forward = _map_forward


class ReplicationPad2d(_SeparableMap):
    """Pad the last two axes by repeating their edges.  d/dx = the gradient folded back."""

    node_name = "ReplicationPad2DBackward0"

    forward = _map_forward


class CircularPad(_SeparableMap):
    """Pad by wrapping around (torch builds this from slices; its grad_fn is CopySlices)."""

    node_name = "PadCircularBackward0"

    forward = _map_forward


def _pad_indices(size, before, after, mode):
    """Which input position each padded position copies (-1: the constant)."""
    positions = np.arange(-before, size + after)
    if mode == "constant":
        return np.where((positions >= 0) & (positions < size), positions, -1)
    if mode == "reflect":
        period = 2 * (size - 1)
        folded = np.abs(positions) % period if period else np.zeros_like(positions)
        return np.where(folded >= size, period - folded, folded)
    if mode == "replicate":
        return np.clip(positions, 0, size - 1)
    return positions % size


_PAD_OPS = {("reflect", 1): ReflectionPad1d, ("reflect", 2): ReflectionPad2d,
            ("replicate", 1): ReplicationPad1d, ("replicate", 2): ReplicationPad2d}


def _pad_samples(g):
    shape = g.shape(min_dims=3, max_dims=4, min_side=2)
    mode = g.sampled_from(["constant", "reflect", "replicate"])
    n_pads = 2 * g.integers(1, 2) if mode != "constant" else 2 * g.integers(1, len(shape))
    return Sample((g.tensor(shape), [g.integers(0, 1) for _ in range(n_pads)]), {"mode": mode})


@op_function(_F + "pad", reference="torch.nn.functional.pad", samples=_pad_samples,
             dtypes=FLOATING, node_names=("ConstantPadNdBackward0", "ReflectionPad1DBackward0",
                                          "ReflectionPad2DBackward0",
                                          "ReplicationPad1DBackward0",
                                          "ReplicationPad2DBackward0"))
def pad(input, pad, mode="constant", value=None):
    """Pad the last len(pad) // 2 dimensions: pad = (last_before, last_after, ...).

    Modes: "constant" (with `value`, any number of dims; negative pads crop), "reflect",
    "replicate" and "circular" (the last 1 or 2 dims of a batched or unbatched input).
    """
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    n_dims = len(pad) // 2
    if n_dims > input.dim():
        raise RuntimeError("Padding length should be less than or equal to two times the input "
                           "dimension but got padding length %d and input of dimension %d" % (
                               len(pad), input.dim()))
    if mode not in ("constant", "reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if mode != "constant":
        if value is not None and value != 0:
            raise RuntimeError(f"Padding mode \"{mode}\" doesn't take in value argument")
        if n_dims > 2 or input.dim() not in (n_dims + 1, n_dims + 2):
            raise NotImplementedError(
                f"Padding size {len(pad)} is not supported for {input.dim()}D input tensor.")
    maps = []
    for i in range(n_dims):
        axis = input.dim() - 1 - i
        size = input.shape[axis]
        before, after = pad[2 * i], pad[2 * i + 1]
        if mode == "reflect" and (before >= size or after >= size):
            raise RuntimeError(f"Argument #4: Padding size should be less than the "
                               f"corresponding input dimension, but got: padding ({before}, "
                               f"{after}) at dimension {axis} of input {list(input.shape)}")
        if mode == "circular" and (before > size or after > size):
            raise RuntimeError("Padding value causes wrapping around more than once.")
        maps.append((axis, _selection(_pad_indices(size, before, after, mode), size)))
    maps = tuple(maps)
    if mode == "constant":
        return ConstantPadNd.apply(input, maps, 0.0 if value is None else value)
    if mode == "circular":
        return CircularPad.apply(input, maps)
    return _PAD_OPS[mode, n_dims].apply(input, maps)


def _avg_pool_matrix(size, kernel, stride, pad, ceil_mode, count_include_pad, has_override):
    """Rows: one window each, 1 / divisor over its in-bounds positions (torch's divisor)."""
    out = _pool_size(size, kernel, stride, pad, 1, ceil_mode)
    starts = np.arange(out) * stride - pad
    ends = np.minimum(starts + kernel, size + pad)
    divisors = ends - starts
    starts, ends = np.maximum(starts, 0), np.minimum(ends, size)
    if not count_include_pad:
        divisors = ends - starts
    weights = np.ones(out) if has_override else 1.0 / divisors
    return _Rows.windows(starts, ends, weights, size)


class AvgPool2d(_SeparableMap):
    """The mean of each window (a separable linear map).  d/dx = the gradient spread back."""

    node_name = "AvgPool2DBackward0"

    forward = _map_forward


def _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override, spatial):
    kernel = _tuple(kernel_size, spatial)
    stride = kernel if stride is None or stride == [] or stride == () else _tuple(stride,
                                                                                   spatial)
    padding = _tuple(padding, spatial)
    _check_pool(kernel, stride, padding)
    if spatial == 1:
        input = input.unsqueeze(-2)
        kernel, stride, padding = (1,) + kernel, (1,) + stride, (0,) + padding
    maps = tuple((input.dim() - 2 + i, _avg_pool_matrix(input.shape[-2 + i], kernel[i],
                                                        stride[i], padding[i], ceil_mode,
                                                        count_include_pad,
                                                        bool(divisor_override)))
                 for i in range(2))
    if divisor_override:
        (axis, matrix), last = maps
        maps = ((axis, matrix.scaled(1.0 / divisor_override)), last)
    out = AvgPool2d.apply(input, maps)
    return out.squeeze(-2) if spatial == 1 else out


@op_function(_F + "avg_pool1d", reference="torch.nn.functional.avg_pool1d",
             samples=_pool_samples(1, lambda g: {"count_include_pad": g.booleans()}),
             dtypes=FLOATING, node_names=("SqueezeBackward1",))
def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    """Mean over sliding windows of (N, C, L) input."""
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, None, 1)


@op_function(_F + "avg_pool2d", reference="torch.nn.functional.avg_pool2d",
             tolerances=ILL_CONDITIONED_SUMS,
             samples=_pool_samples(2, lambda g: {"count_include_pad": g.booleans()}),
             dtypes=FLOATING, node_names=("AvgPool2DBackward0",))
def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """Mean over sliding windows of (N, C, H, W) input; stride defaults to kernel_size."""
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, 2)


def _adaptive_matrix(size, out):
    """Row o averages input [floor(o * size / out), ceil((o + 1) * size / out))."""
    o = np.arange(out)
    starts, ends = (o * size) // out, -(-((o + 1) * size) // out)
    return _Rows.windows(starts, ends, 1.0 / (ends - starts), size)


def _check_adaptive_grad(grad, kernel):
    """torch's adaptive pooling backward refuses an empty gradient in any but the first dim,
    even where the forward accepted it (an output size of 0, no channels)."""
    for dim in range(1, grad.dim()):
        if grad.shape[dim] == 0:
            raise RuntimeError(f"{kernel}_backward(): Expected grad_output to have non-zero size "
                               f"for non-batch dimensions, but grad_output has sizes "
                               f"{list(grad.shape)} with dimension {dim} being empty")


class AdaptiveAvgPool2d(_SeparableMap):
    """Average pooling to a fixed output size.  d/dx = the gradient spread back."""

    node_name = "AdaptiveAvgPool2DBackward0"

    forward = _map_forward

    def backward(ctx, grad):
        _check_adaptive_grad(grad, "adaptive_avg_pool2d")
        return AxisMap.apply(grad, _transposed(ctx.maps))


class AdaptiveAvgPool3d(_SeparableMap):
    """3-d average pooling to a fixed output size (interpolate's "area" mode on 5-d input).

    d/dx = the gradient spread back
    """

    node_name = "AdaptiveAvgPool3DBackward0"

    forward = _map_forward

    def backward(ctx, grad):
        _check_adaptive_grad(grad, "adaptive_avg_pool3d")
        return AxisMap.apply(grad, _transposed(ctx.maps))


def _adaptive_sizes(input, output_size):
    """The output size (torch's `_list_with_default`): an int stays one, None in a sequence
    keeps the input's size along that axis."""
    if not isinstance(output_size, (tuple, list)):
        return (int(output_size),) * 2
    if input.dim() <= len(output_size):
        raise ValueError(f"Input dimension should be at least {len(output_size) + 1}")
    sizes = tuple(input.shape[input.dim() - len(output_size):])
    return tuple(size if s is None else int(s) for s, size in zip(output_size, sizes))


def _adaptive_avg_pool(input, sizes, spatial):
    """ATen's adaptive_avg_pool2d/3d: a plain mean for an output of size 1, else the pooling
    op."""
    name = f"adaptive_avg_pool{spatial}d"
    if len(sizes) != spatial:
        raise RuntimeError(f"{name}: output_size must be {spatial}")
    if min(sizes) < 0:
        raise RuntimeError(f"{name}: elements of output_size must be greater than or equal to 0 "
                           f"but received {{{', '.join(map(str, sizes))}}}")
    if sizes == (1,) * spatial:
        return input.mean(tuple(range(-1, -spatial - 1, -1)), keepdim=True)
    if input.dim() not in (spatial + 1, spatial + 2):
        raise RuntimeError(f"{name}(): Expected {spatial + 1}D or {spatial + 2}D tensor, but got "
                           f"{list(input.shape)}")
    for axis in range(input.dim() - spatial, input.dim()):
        if input.shape[axis] == 0:
            raise RuntimeError(f"{name}(): Expected input to have non-zero size for non-batch "
                               f"dimensions, but input has sizes {list(input.shape)} with "
                               f"dimension {axis} being empty")
    _check_floating(name if spatial == 2 else name + "_cpu", input._data)
    first = input.dim() - spatial
    maps = tuple((first + i, _adaptive_matrix(input.shape[first + i], sizes[i]))
                 for i in range(spatial))
    return (AdaptiveAvgPool2d if spatial == 2 else AdaptiveAvgPool3d).apply(input, maps)


def _adaptive_samples(spatial):
    """(N, C, *spatial) or unbatched input, and output sizes that do and do not divide the
    input's (larger ones too; 1 is torch's plain-mean path), as ints, tuples or lists."""

    def samples(g):
        shape = g.shape(min_dims=spatial + 1, max_dims=spatial + 2, max_side=5)
        sizes = [g.integers(0, 6) if g.booleans() else g.integers(1, 2)
                 for _ in range(spatial)]
        if g.booleans():
            output_size = sizes[0]
        elif spatial == 2 and g.booleans():
            output_size = tuple(None if g.booleans() else s for s in sizes)
        else:
            output_size = sizes if g.booleans() else tuple(sizes)
        return Sample((g.tensor(shape), output_size))

    return samples


def _pool_error(shape, output_size, dtype=np.float32, error_type=RuntimeError, match=None):
    return error_sample(np.ones(shape, dtype), output_size, error_type=error_type, match=match)


@op_function(_F + "adaptive_avg_pool2d", reference="torch.nn.functional.adaptive_avg_pool2d",
             samples=_adaptive_samples(2), dtypes=FLOATING,
             tolerances=ILL_CONDITIONED_SUMS,
             node_names=("AdaptiveAvgPool2DBackward0", "MeanBackward1"),
             error_samples=(
                 _pool_error((2, 3), (3, 3), error_type=ValueError,
                             match="Input dimension should be at least 3"),
                 _pool_error((2, 3), 2, match="adaptive_avg_pool2d(): Expected 3D or 4D tensor, "
                                              "but got [2, 3]"),
                 _pool_error((1, 2, 3, 4, 5), (2, 2), match="Expected 3D or 4D tensor, but got "
                                                            "[1, 2, 3, 4, 5]"),
                 _pool_error((1, 2, 3, 4), (2, 2, 2), match="adaptive_avg_pool2d: output_size "
                                                            "must be 2"),
                 _pool_error((2, 3, 4), (2,), match="adaptive_avg_pool2d: output_size must be 2"),
                 _pool_error((2, 3, 4), (1, -1), match="elements of output_size must be greater "
                                                       "than or equal to 0 but received {1, -1}"),
                 _pool_error((2, 3, 0, 5), 2, match="Expected input to have non-zero size for "
                                                    "non-batch dimensions, but input has sizes "
                                                    "[2, 3, 0, 5] with dimension 2 being empty"),
                 _pool_error((2, 3, 4), 2, np.int64, NotImplementedError,
                             "\"adaptive_avg_pool2d\" not implemented for 'Long'")))
def adaptive_avg_pool2d(input, output_size):
    """Average pooling of (N, C, H, W) input to (N, C, *output_size); None keeps a size.

    An output of size 1 is a plain mean over H and W, as in torch (grad_fn MeanBackward1).
    """
    return _adaptive_avg_pool(input, _adaptive_sizes(input, output_size), 2)


@op_function(_F + "adaptive_avg_pool1d", reference="torch.nn.functional.adaptive_avg_pool1d",
             samples=_adaptive_samples(1), dtypes=FLOATING,
             tolerances=ILL_CONDITIONED_SUMS, node_names=("SqueezeBackward1",),
             error_samples=(
                 _pool_error((4,), 2, match="Expected 2 to 3 dimensions, but got 1-dimensional "
                                            "tensor for argument #1 'self' (while checking "
                                            "arguments for adaptive_avg_pool1d)"),
                 _pool_error((1, 2, 3, 4), 2, match="Expected 2 to 3 dimensions, but got "
                                                    "4-dimensional tensor"),
                 _pool_error((2, 3, 4), (3, 2), match="adaptive_avg_pool1d() argument "
                                                      "'output_size' should contain one int "
                                                      "(got 2)"),
                 _pool_error((2, 3, 4), -1, match="elements of output_size must be greater than "
                                                  "or equal to 0 but received {1, -1}"),
                 _pool_error((2, 3, 0), 2, match="with dimension 3 being empty"),
                 _pool_error((2, 3, 4), 2, np.int64, NotImplementedError,
                             "\"adaptive_avg_pool2d\" not implemented for 'Long'")))
def adaptive_avg_pool1d(input, output_size):
    """Average pooling of (N, C, L) input to (N, C, output_size)."""
    if not 2 <= input.dim() <= 3:
        raise RuntimeError(f"Expected 2 to 3 dimensions, but got {input.dim()}-dimensional "
                           f"tensor for argument #1 'self' (while checking arguments for "
                           f"adaptive_avg_pool1d)")
    sizes = tuple(output_size) if isinstance(output_size, (tuple, list)) else (output_size,)
    if len(sizes) != 1:
        raise RuntimeError(f"adaptive_avg_pool1d() argument 'output_size' should contain one int "
                           f"(got {len(sizes)})")
    return _adaptive_avg_pool(input.unsqueeze(-2), (1, int(sizes[0])), 2).squeeze(-2)


class UpsampleNearest1d(_SeparableMap):
    """Nearest-neighbour resizing of the last axis: output o copies input floor(o * scale)."""

    node_name = "UpsampleNearest1DBackward0"

    forward = _map_forward


class UpsampleNearest2d(_SeparableMap):
    """Nearest-neighbour resizing of the last two axes."""

    node_name = "UpsampleNearest2DBackward0"

    forward = _map_forward


class UpsampleNearest3d(_SeparableMap):
    """Nearest-neighbour resizing of the last three axes."""

    node_name = "UpsampleNearest3DBackward0"

    forward = _map_forward


class UpsampleNearestExact1d(_SeparableMap):
    """"nearest-exact" resizing of the last axis: output o copies floor((o + 0.5) * scale)."""

    node_name = "UpsampleNearestExact1DBackward0"

    forward = _map_forward


class UpsampleNearestExact2d(_SeparableMap):
    """"nearest-exact" resizing of the last two axes."""

    node_name = "UpsampleNearestExact2DBackward0"

    forward = _map_forward


class UpsampleNearestExact3d(_SeparableMap):
    """"nearest-exact" resizing of the last three axes."""

    node_name = "UpsampleNearestExact3DBackward0"

    forward = _map_forward


class UpsampleLinear1d(_SeparableMap):
    """Linear resizing of the last axis: each output mixes its two nearest inputs."""

    node_name = "UpsampleLinear1DBackward0"

    forward = _map_forward


class UpsampleBilinear2d(_SeparableMap):
    """Bilinear resizing: linear along each of the last two axes."""

    node_name = "UpsampleBilinear2DBackward0"

    forward = _map_forward


class UpsampleTrilinear3d(_SeparableMap):
    """Trilinear resizing: linear along each of the last three axes."""

    node_name = "UpsampleTrilinear3DBackward0"

    forward = _map_forward


class UpsampleBicubic2d(_SeparableMap):
    """Bicubic resizing: each output mixes 4 x 4 inputs with Keys' cubic weights (a = -0.75)."""

    node_name = "UpsampleBicubic2DBackward0"

    forward = _map_forward


def _scale(size, out, scale, compute_dtype):
    """Input positions per output position (area_pixel_compute_scale without align_corners):
    1 / scale_factor when one was given, else size / out, in the kernel's dtype."""
    dtype = compute_dtype.type
    return dtype(1.0 / scale) if scale else dtype(size) / dtype(out)


# Note [torch's resizing backward shortcuts]
#   Some of torch 2.13's resizing backward kernels take shortcuts their forward kernels do
#   not: the backward of "nearest" on 3-d and 5-d input copies an unchanged size and halves a
#   doubled one exactly, and that of "bicubic" copies when no size changes, while the forward
#   follows the scale factor (nearest by 1.2 on a size of 4 gives 4 outputs picking inputs
#   0, 0, 1, 2, whose gradient torch routes to 0, 1, 2, 3). There torch's gradient is not the
#   derivative of its output; HyperGrad's is.
def _nearest_matrix(size, out, scale, compute_dtype, exact=False, shortcuts=False):
    """torch's "nearest" (input index floor(o * s)) or "nearest-exact" (floor((o + 0.5) * s)).

    The kernels floor in float32 (`floorf`). torch's 2-d "nearest" kernel (`shortcuts`)
    computes in float32 throughout and copies an unchanged size and halves a doubled one
    exactly, whatever the scale factor said.
    """
    if shortcuts:
        if out in (size, 2 * size):
            return _selection(np.arange(out) // (out // size), size)
        compute_dtype = np.dtype(np.float32)
    s = _scale(size, out, scale, compute_dtype)
    positions = np.arange(out, dtype=compute_dtype) + compute_dtype.type(0.5 if exact else 0)
    source = (positions * s).astype(np.float32)
    indices = np.minimum(np.floor(source).astype(np.int64), size - 1)
    return _selection(indices, size)


def _source_positions(size, out, scale, align_corners, compute_dtype, cubic=False):
    """Where each output sits on the input axis (area_pixel_compute_source_index)."""
    dtype = compute_dtype.type
    o = np.arange(out, dtype=compute_dtype)
    if align_corners:
        s = dtype(size - 1) / dtype(out - 1) if out > 1 else dtype(0)
        return o * s
    # scale * (o + 0.5) - 0.5 with one rounding, as the fused multiply-add torch's compiled
    # kernel does (an input of size 1 resized to 3 must put output 1 just past input 0)
    exact = np.float64(_scale(size, out, scale, compute_dtype)) * (o.astype(np.float64) + 0.5)
    source = (exact - 0.5).astype(compute_dtype)
    return source if cubic else np.maximum(source, dtype(0))


def _floor_and_fraction(source, size):
    """torch's guard_index_and_lambda: the input index at or below, and how far past it."""
    low = np.minimum(np.floor(source).astype(np.int64), size - 1)
    return low, np.clip(source - low, 0, 1)


def _linear_matrix(size, out, scale, align_corners, compute_dtype):
    """torch's linear interpolation weights; an unchanged size copies (x * 1 + x * 0)."""
    if size == out:
        index = np.arange(out)
        return _Rows(np.stack([index, index], 1), np.tile([1.0, 0.0], (out, 1)), size)
    low, fraction = _floor_and_fraction(
        _source_positions(size, out, scale, align_corners, compute_dtype), size)
    high = low + (low < size - 1)
    return _Rows(np.stack([low, high], 1),
                 np.stack([1 - fraction, fraction], 1).astype(np.float64), size)


def _cubic_matrix(size, out, scale, align_corners, compute_dtype):
    """torch's bicubic weights: Keys' kernel (a = -0.75) on the 4 inputs around each output,
    indices clamped to the edge."""
    a = compute_dtype.type(-0.75)
    low, t = _floor_and_fraction(
        _source_positions(size, out, scale, align_corners, compute_dtype, cubic=True), size)

    def near(x):                     # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):                      # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    weights = np.stack([far(t + 1), near(t), near(1 - t), far(2 - t)], 1)
    index = np.clip(low[:, None] + np.arange(-1, 3), 0, size - 1)
    return _Rows(index, weights.astype(np.float64), size)


# mode -> {spatial dims: the Op}; "area" is adaptive average pooling
_UPSAMPLE_OPS = {
    "nearest": {1: UpsampleNearest1d, 2: UpsampleNearest2d, 3: UpsampleNearest3d},
    "nearest-exact": {1: UpsampleNearestExact1d, 2: UpsampleNearestExact2d,
                      3: UpsampleNearestExact3d},
    "linear": {1: UpsampleLinear1d}, "bilinear": {2: UpsampleBilinear2d},
    "trilinear": {3: UpsampleTrilinear3d}, "bicubic": {2: UpsampleBicubic2d},
}
# the dtype-dispatch name torch's kernel reports for an integer input
_UPSAMPLE_KERNELS = {"nearest": "compute_indices_weights_nearest",
                     "nearest-exact": "compute_indices_weights_nearest",
                     "linear": "compute_indices_weights_linear",
                     "bilinear": "compute_indices_weights_linear",
                     "trilinear": "compute_indices_weights_linear",
                     "bicubic": "compute_indices_weights_cubic"}
_MODE_DIMS = {"linear": 3, "bilinear": 4, "trilinear": 5}


def _interpolate_sizes(input, size, scale_factor, recompute_scale_factor, mode):
    """torch.nn.functional.interpolate's argument handling: (output sizes or None, scale
    factors or None), exactly one of them set."""
    dim = input.dim() - 2
    where = f"input with spatial dimensions of {list(input.shape[2:])}"
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        scales = None
        if isinstance(size, (list, tuple)):
            if len(size) != dim:
                raise ValueError(f"Input and output must have the same number of spatial "
                                 f"dimensions, but got {where} and output size of {size}. Please "
                                 f"provide input tensor in (N, C, d1, d2, ...,dK) format and "
                                 f"output size in (o1, o2, ...,oK) format.")
            if not all(isinstance(s, (int, np.integer)) for s in size):
                raise TypeError(f"expected size to be one of int or Tuple[int] or Tuple[int, int] "
                                f"or Tuple[int, int, int], but got size with types "
                                f"{[type(s) for s in size]}")
            sizes = tuple(int(s) for s in size)
        else:
            sizes = (int(size),) * dim
    elif scale_factor is not None:
        sizes = None
        if isinstance(scale_factor, (list, tuple)):
            if len(scale_factor) != dim:
                raise ValueError(f"Input and scale_factor must have the same number of spatial "
                                 f"dimensions, but got {where} and scale_factor of shape "
                                 f"{scale_factor}. Please provide input tensor in (N, C, d1, d2, "
                                 f"...,dK) format and scale_factor in (s1, s2, ...,sK) format.")
            scales = tuple(float(f) for f in scale_factor)
        else:
            scales = (float(scale_factor),) * dim
    else:
        raise ValueError("either size or scale_factor should be defined")
    if recompute_scale_factor and size is not None:
        raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
    if recompute_scale_factor or (mode == "area" and sizes is None):
        sizes = tuple(int(s * f) for s, f in zip(input.shape[2:], scales))
        scales = None
    return sizes, scales


def _check_upsample(input, sizes):
    """The resizing kernels' checks: positive sizes and some channels."""
    dim = input.dim() - 2
    names = ("D", "H", "W")[3 - dim:]
    if min(input.shape[2:]) <= 0 or min(sizes) <= 0:
        shown = [", ".join(f"{n}: {s}" for n, s in zip(names, shape))
                 for shape in (input.shape[2:], sizes)]
        joint = " and output" if dim == 1 else " output"
        raise RuntimeError(f"Input and output sizes should be greater than 0, but got input "
                           f"({shown[0]}){joint} ({shown[1]})")
    if input.numel() == 0 and math.prod(input.shape[1:]) == 0:
        raise RuntimeError(f"Non-empty {input.dim()}D data tensor expected but got a tensor "
                           f"with sizes {list(input.shape)}")


def _interpolation_samples(g, recompute=True):
    """Every mode on 3-d, 4-d and 5-d input, to a `size` (an int or one per axis) or by a
    `scale_factor` (with or without recompute_scale_factor), with and without align_corners.

    Left out: scale factors that meet a shortcut of torch's backward (Note [torch's resizing
    backward shortcuts]): "nearest" on 3-d or 5-d input keeping or doubling a size with a
    factor other than 1 or 2, "bicubic" keeping every size with a factor other than 1.
    """
    spatial = g.integers(1, 3)
    modes = {1: ("nearest", "nearest-exact", "linear", "area"),
             2: ("nearest", "nearest-exact", "bilinear", "bicubic", "area"),
             3: ("nearest", "nearest-exact", "trilinear", "area")}[spatial]
    mode = g.sampled_from(modes)
    shape = tuple(g.integers(1, 4 if spatial < 3 else 2) for _ in range(spatial))
    batch = g.shape(min_dims=1, max_dims=1, max_side=2)
    x = g.tensor(batch + (g.integers(1, 2),) + shape)
    kw = {} if mode == "nearest" and g.booleans() else {"mode": mode}
    if g.booleans():
        sizes = tuple(g.integers(1, 6 if spatial < 3 else 4) for _ in range(spatial))
        kw["size"] = sizes[0] if g.booleans() else sizes
    else:
        recomputed = False
        if recompute and g.booleans():
            recomputed = kw["recompute_scale_factor"] = g.booleans()
        nearest = mode == "nearest" and spatial != 2 and not recomputed
        factors = tuple(g.sampled_from([
            f for f in (0.5, 0.75, 1.0, 1.2, 1.5, 2.0, 2.5, 3.0) if int(s * f) >= 1 and not (
                nearest and int(s * f) in (s, 2 * s) and f not in (1.0, 2.0))]) for s in shape)
        if mode == "bicubic" and not recomputed and all(
                int(s * f) == s for s, f in zip(shape, factors)):
            factors = (1.0, 1.0)
        kw["scale_factor"] = factors[0] if len(set(factors)) == 1 and g.booleans() else factors
    if mode in ("linear", "bilinear", "trilinear", "bicubic") and g.booleans():
        kw["align_corners"] = g.booleans()
    return Sample((x,), kw)


def _interpolation_errors(upsample=False):
    def sample(shape=(1, 2, 3, 4), dtype=np.float32, error_type=RuntimeError, match=None,
               **kwargs):
        return error_sample(np.ones(shape, dtype), error_type=error_type, match=match, **kwargs)

    modes = "nearest | linear | bilinear | bicubic | trilinear | lanczos | area | nearest-exact"
    return (
        sample(size=3, mode="nearest", align_corners=True, error_type=ValueError,
               match="align_corners option can only be set with the interpolating modes: "
                     "linear | bilinear | bicubic | trilinear"),
        sample(error_type=ValueError, match="either size or scale_factor should be defined"),
        sample(size=3, scale_factor=2, error_type=ValueError,
               match="only one of size or scale_factor should be defined"),
        sample(size=(3, 4, 5), error_type=ValueError,
               match="Input and output must have the same number of spatial dimensions, but got "
                     "input with spatial dimensions of [3, 4] and output size of (3, 4, 5)."),
        sample(scale_factor=(2, 3, 4), error_type=ValueError,
               match="Input and scale_factor must have the same number of spatial dimensions"),
        sample(size=(3.5, 2), error_type=TypeError, match="expected size to be one of int"),
        sample(size=0, match="Input and output sizes should be greater than 0, but got input "
                             "(H: 3, W: 4) output (H: 0, W: 0)"),
        sample(shape=(1, 2, 3), scale_factor=0.2, mode="linear",
               match="but got input (W: 3) and output (W: 0)"),
        sample(shape=(1, 0, 3, 4), size=2, match="Non-empty 4D data tensor expected but got a "
                                                 "tensor with sizes [1, 0, 3, 4]"),
        sample(shape=(1, 2, 3), size=3, mode="bilinear", error_type=NotImplementedError,
               match="Got 3D input, but bilinear mode needs 4D input"),
        sample(size=3, mode="linear", error_type=NotImplementedError,
               match="Got 4D input, but linear mode needs 3D input"),
        sample(size=3, mode="cubic", error_type=NotImplementedError,
               match=f"Input Error: Only 3D, 4D and 5D input Tensors supported (got 4D) for the "
                     f"modes: {modes} (got cubic)"),
        sample(shape=(2, 3), size=3, error_type=NotImplementedError, match="(got 2D)"),
        sample(shape=(1, 2, 3), size=2, mode="linear", dtype=np.int64,
               error_type=NotImplementedError,
               match="\"compute_indices_weights_linear\" not implemented for 'Long'"),
    ) + (() if upsample else (   # arguments `upsample` does not take
        sample(size=3, recompute_scale_factor=True, error_type=ValueError,
               match="recompute_scale_factor is not meaningful with an explicit size."),
        sample(size=3, antialias=True, error_type=ValueError,
               match="Anti-alias option is restricted to bilinear, bicubic, and lanczos modes "
                     "and requires a 4-D tensor as input")))


# float32: torch's backward kernels add the gradients of the outputs an input feeds one by
# one in float32 (HyperGrad in float64, then rounds): up to 64 terms, hence rtol 1e-5
_RESIZE_TOLERANCES = dict(ILL_CONDITIONED_SUMS, float32=(1e-5, 1e-4))


@op_function(_F + "interpolate", reference="torch.nn.functional.interpolate",
             samples=_interpolation_samples, error_samples=_interpolation_errors(),
             dtypes=FLOATING, tolerances=_RESIZE_TOLERANCES,
             node_names=tuple(op.node_class.__name__ for ops in _UPSAMPLE_OPS.values()
                              for op in ops.values()) + (
                 "AdaptiveAvgPool2DBackward0", "AdaptiveAvgPool3DBackward0", "MeanBackward1",
                 "SqueezeBackward1"))
def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize the spatial dims of (N, C, L), (N, C, H, W) or (N, C, D, H, W) input.

    Modes: "nearest" and "nearest-exact" (1 to 3 spatial dims), "linear" (3-d input),
    "bilinear" and "bicubic" (4-d), "trilinear" (5-d), with torch's `align_corners`, and
    "area" (adaptive average pooling). Give either `size` or `scale_factor`; a scale factor
    sets the sampling positions unless `recompute_scale_factor=True`. Not implemented:
    `antialias=True` and "lanczos".

    Differs from torch 2.13 on purpose: with a scale factor that keeps or doubles a size
    without being 1 or 2 ("nearest" on 3-d or 5-d input) or keeps every size without being 1
    ("bicubic"), HyperGrad's gradient is the derivative of its output; torch's is not (Note
    [torch's resizing backward shortcuts] in ops/nn.py).
    """
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating "
                             "modes: linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    sizes, scales = _interpolate_sizes(input, size, scale_factor, recompute_scale_factor, mode)
    spatial = input.dim() - 2
    if antialias and not (mode in ("bilinear", "bicubic", "lanczos") and input.dim() == 4):
        raise ValueError("Anti-alias option is restricted to bilinear, bicubic, and lanczos "
                         "modes and requires a 4-D tensor as input")
    if mode == "area" and 1 <= spatial <= 3:
        if spatial == 1:
            return adaptive_avg_pool1d(input, sizes)
        return _adaptive_avg_pool(input, sizes, spatial)
    op = _UPSAMPLE_OPS.get(mode, {}).get(spatial)
    if op is None:
        if mode == "lanczos" and input.dim() == 4:
            if align_corners:
                raise ValueError("Lanczos mode does not support align_corners=True")
            if not antialias:
                raise ValueError("Lanczos mode requires antialias=True")
        elif _MODE_DIMS.get(mode) is not None and 3 <= input.dim() <= 5:
            raise NotImplementedError(f"Got {input.dim()}D input, but {mode} mode needs "
                                      f"{_MODE_DIMS[mode]}D input")
        else:
            raise NotImplementedError(
                f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.dim()}D) "
                f"for the modes: nearest | linear | bilinear | bicubic | trilinear | lanczos | "
                f"area | nearest-exact (got {mode})")
    if antialias:
        raise NotImplementedError("HyperGrad's interpolate does not implement antialias=True")
    if sizes is None:
        sizes = tuple(int(s * f) for s, f in zip(input.shape[2:], scales))
    _check_upsample(input, sizes)
    _check_floating(_UPSAMPLE_KERNELS[mode], input._data)
    compute_dtype = input._data.dtype
    maps = []
    for i in reversed(range(spatial)):  # the last axis first, as torch's kernels nest them
        size, out, scale = input.shape[2 + i], sizes[i], scales[i] if scales else None
        if mode in ("nearest", "nearest-exact"):
            matrix = _nearest_matrix(size, out, scale, compute_dtype, mode == "nearest-exact",
                                     shortcuts=mode == "nearest" and spatial == 2)
        elif mode == "bicubic":
            matrix = _cubic_matrix(size, out, scale, align_corners, compute_dtype)
        else:
            matrix = _linear_matrix(size, out, scale, align_corners, compute_dtype)
        maps.append((2 + i, matrix))
    return op.apply(input, tuple(maps))


@op_function(_F + "upsample", reference="torch.nn.functional.upsample",
             samples=lambda g: _interpolation_samples(g, recompute=False),
             error_samples=_interpolation_errors(upsample=True), dtypes=FLOATING,
             tolerances=_RESIZE_TOLERANCES,
             node_names=tuple(op.node_class.__name__ for ops in _UPSAMPLE_OPS.values()
                              for op in ops.values()))
def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """The old name of `interpolate` (deprecated, as in torch: it warns)."""
    warnings.warn("`nn.functional.upsample` is deprecated. Use `nn.functional.interpolate` "
                  "instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


# ----------------------------------------------------------------------------------------------
# Normalization
# ----------------------------------------------------------------------------------------------
def _normalized_grad(g, x, axes, eps):
    """The gradient through xhat = (x - mean) / sqrt(var + eps), statistics over `axes`.

    `g` is the gradient with respect to xhat (grad times the weight). Returns (d/dx, xhat);
    mean, var and xhat are recomputed here in HyperGrad ops from the saved input, so the
    result is differentiable again (double backward through a normalization layer):
        d/dx = invstd * (g - mean(g) - xhat * mean(g * xhat))
    """
    centered = x - x.mean(axes, keepdim=True)
    invstd = ((centered * centered).mean(axes, keepdim=True) + eps).rsqrt()
    xhat = centered * invstd
    grad_x = invstd * (g - g.mean(axes, keepdim=True) -
                       xhat * (g * xhat).mean(axes, keepdim=True))
    return grad_x, xhat


def _channel_shape(x):
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


class BatchNorm(Op):
    """Normalize each channel by its batch statistics (training) or running ones (eval).

    out = (x - mean) / sqrt(var + eps) * w + b;  d/dx: see `_normalized_grad` (training) or
    grad * w / sqrt(running_var + eps) (eval);  d/dw = sum(grad * xhat);  d/db = sum(grad)
    The running statistics are updated in place during a training forward.
    """

    node_name = "NativeBatchNormBackward0"
    inputs = 3

    def forward(ctx, x, weight, bias, running_mean, running_var, training, momentum, eps):
        _same_dtype("expected scalar type {} but found {}", x, weight, bias)
        axes = (0,) + tuple(range(2, x.ndim))
        shape = _channel_shape(x)
        if training:
            mean, var = x.mean(axis=axes), x.var(axis=axes)
            count = x.size // x.shape[1]
            if running_mean is not None:
                running_mean[...] = (1 - momentum) * running_mean + momentum * mean
            if running_var is not None:
                running_var[...] = (1 - momentum) * running_var + momentum * var * count / max(
                    count - 1, 1)
        else:
            mean, var = running_mean, running_var
        invstd = 1.0 / np.sqrt(var + eps)
        ctx.save_for_backward(x, weight, mean.astype(x.dtype), invstd.astype(x.dtype))
        ctx.axes, ctx.eps, ctx.training = axes, eps, training
        out = (x - mean.reshape(shape)) * invstd.reshape(shape)
        if weight is not None:
            out = out * weight.reshape(shape)
        if bias is not None:
            out = out + bias.reshape(shape)
        return out.astype(x.dtype, copy=False)

    def backward(ctx, grad):
        x, weight, mean, invstd = ctx.saved_tensors
        shape = _channel_shape(x)
        g = grad if weight is None else grad * weight.reshape(shape)
        if ctx.training:
            grad_x, xhat = _normalized_grad(g, x, ctx.axes, ctx.eps)
        else:
            xhat = (x - mean.reshape(shape)) * invstd.reshape(shape)
            grad_x = g * invstd.reshape(shape)
        _, need_w, need_b = ctx.needs_input_grad
        return (grad_x, (grad * xhat).sum(ctx.axes) if need_w else None,
                grad.sum(ctx.axes) if need_b else None)


def _batch_norm_samples(g):
    c = g.integers(1, 3)
    x = g.tensor((g.integers(2, 3), c) + tuple(g.integers(1, 3) for _ in range(g.integers(0, 2))),
                 special=False)
    return Sample((x, None, None, g.tensor((c,), special=False), g.tensor((c,), special=False)),
                  {"training": True})


@op_function(_F + "batch_norm", reference="torch.nn.functional.batch_norm",
             samples=_batch_norm_samples, dtypes=("float64",),
             node_names=("NativeBatchNormBackward0",),
             tolerances={"float32": (1e-4, 2e-4), "float64": (1e-6, 1e-6)},
             divergences={"noncontiguous": on_some_inputs(
                 "torch's CPU batch_norm backward in training mode reads a non-contiguous "
                 "weight as if it were contiguous, so the input's gradient is computed with "
                 "the wrong weights (a strided weight [0., 1.] is read as [0., 0.]); "
                 "HyperGrad's gradient is the derivative of its output")})
def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Batch normalization over every dim but the channel dim (1).

    With `training=True` the batch's mean and (biased) variance normalize, and the running
    statistics, when given, move toward them by `momentum` (the running variance toward the
    unbiased variance, as in torch); otherwise the running statistics normalize.
    """
    if training:
        count = input.numel() // input.shape[1]
        if count == 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input "
                             f"size {_size_str(input.shape)}")
    elif running_mean is None or running_var is None:
        raise RuntimeError("running_mean and running_var must be defined in evaluation mode")
    stats = [None if t is None else t._data for t in (running_mean, running_var)]
    out = BatchNorm.apply(input, weight, bias, *stats, training, momentum, eps)
    if training:
        for buffer in (running_mean, running_var):
            if buffer is not None:
                buffer._version_counter.bump()
    return out


class LayerNorm(Op):
    """Normalize over the last dims (`normalized_shape`) of each sample.

    out = (x - mean) / sqrt(var + eps) * w + b;  d/dx: see `_normalized_grad`;
    d/dw = sum(grad * xhat);  d/db = sum(grad)   (sums over the leading dims)
    """

    node_name = "NativeLayerNormBackward0"
    inputs = 3

    def forward(ctx, x, weight, bias, normalized_shape, eps):
        _same_dtype("expected scalar type {} but found {}", x, weight, bias)
        axes = tuple(range(x.ndim - len(normalized_shape), x.ndim))
        mean = x.mean(axis=axes, keepdims=True)
        xhat = (x - mean) / np.sqrt(x.var(axis=axes, keepdims=True) + eps)
        ctx.save_for_backward(x, weight)
        ctx.axes, ctx.eps = axes, eps
        out = xhat if weight is None else xhat * weight
        return (out if bias is None else out + bias).astype(x.dtype, copy=False)

    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        g = grad if weight is None else grad * weight
        grad_x, xhat = _normalized_grad(g, x, ctx.axes, ctx.eps)
        lead = tuple(range(x.dim() - len(ctx.axes)))
        _, need_w, need_b = ctx.needs_input_grad
        return (grad_x, _sum_leading(grad * xhat, lead) if need_w else None,
                _sum_leading(grad, lead) if need_b else None)


def _sum_leading(value, lead):
    """Sum over the leading dims (none: the value itself; `sum(())` would sum everything)."""
    return value.sum(lead) if lead else value


def _layer_norm_samples(g):
    shape = g.shape(min_dims=1)
    k = g.integers(1, len(shape))
    normalized = shape[len(shape) - k:]
    affine = g.booleans()
    return Sample((g.tensor(shape, special=False), normalized,
                   g.tensor(normalized, special=False) if affine else None,
                   g.tensor(normalized, special=False) if affine else None))


# float32: the gradient over a 1-element slice is 0 in exact arithmetic and ~2e-4 of rounding
# noise in torch (a 1/std of a tiny variance), hence atol 1e-3.
@op_function(_F + "layer_norm", reference="torch.nn.functional.layer_norm",
             samples=_layer_norm_samples, dtypes=FLOATING,
             node_names=("NativeLayerNormBackward0",), tolerances={"float32": (1e-4, 1e-3)})
def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Layer normalization over the trailing dims given by `normalized_shape`."""
    normalized_shape = _tuple(normalized_shape, 1) if not isinstance(
        normalized_shape, (tuple, list)) else tuple(normalized_shape)
    if tuple(input.shape[input.dim() - len(normalized_shape):]) != normalized_shape:
        raise RuntimeError(f"Given normalized_shape={list(normalized_shape)}, expected input "
                           f"with shape [*, {', '.join(map(str, normalized_shape))}], but got "
                           f"input of size{list(input.shape)}")
    return LayerNorm.apply(input, weight, bias, normalized_shape, eps)


def _check_norm_dtypes(x, weight, bias):
    """torch's CPU normalization kernels: the parameters must have the input's dtype.

    A first parameter of another dtype makes a "mixed dtype" call, which only reduced-precision
    inputs with float32 parameters may make; otherwise the kernel names the first mismatch.
    """
    params = [p for p in (weight, bias) if p is not None]
    if not params or all(p.dtype == x.dtype for p in params):
        return
    if params[0].dtype != x.dtype:
        if any(p.dtype != np.float32 for p in params):
            raise RuntimeError("mixed dtype (CPU): expect parameter to have scalar type of Float")
        raise RuntimeError("mixed dtype (CPU): all inputs must share same datatype.")
    other = next(p for p in params if p.dtype != x.dtype)
    raise RuntimeError(f"expected scalar type {_scalar_type_name(x.dtype)} but found "
                       f"{_scalar_type_name(other.dtype)}")


class GroupNorm(Op):
    """Normalize each group of channels of each sample, then scale and shift per channel.

    out = (x - mean_g) / sqrt(var_g + eps) * w + b;  d/dx: `_normalized_grad` per group;
    d/dw = sum(grad * xhat);  d/db = sum(grad)   (over batch and positions)
    """

    node_name = "NativeGroupNormBackward0"
    inputs = 3

    def forward(ctx, x, weight, bias, num_groups, eps):
        _check_norm_dtypes(x, weight, bias)
        _check_floating("GroupNormKernelImpl", x)
        grouped = x.reshape(x.shape[0], num_groups, x.size // max(x.shape[0] * num_groups, 1))
        with np.errstate(invalid="ignore", divide="ignore"):   # an empty group: no values
            mean = grouped.mean(axis=2, keepdims=True)
            xhat = ((grouped - mean) / np.sqrt(grouped.var(axis=2, keepdims=True) + eps))
        ctx.save_for_backward(x, weight)
        ctx.num_groups, ctx.eps = num_groups, eps
        shape = _channel_shape(x)
        out = xhat.reshape(x.shape)
        out = out if weight is None else out * weight.reshape(shape)
        return (out if bias is None else out + bias.reshape(shape)).astype(x.dtype, copy=False)

    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        grouped = (x.shape[0], ctx.num_groups, x.numel() // max(x.shape[0] * ctx.num_groups, 1))
        g = grad if weight is None else grad * weight.reshape(_channel_shape(x))
        grad_x, xhat = _normalized_grad(g.reshape(grouped), x.reshape(grouped), (2,), ctx.eps)
        axes = (0,) + tuple(range(2, x.dim()))
        _, need_w, need_b = ctx.needs_input_grad
        return (grad_x.reshape(x.shape),
                (grad * xhat.reshape(x.shape)).sum(axes) if need_w else None,
                grad.sum(axes) if need_b else None)


def _check_affine(input, weight, bias):
    """group_norm's parameter shapes (torch's message for bias shows weight's shape)."""
    channels = input.shape[1]
    for name, value in (("weight", weight), ("bias", bias)):
        if value is not None and (value.dim() != 1 or value.numel() != channels):
            shown = list(weight.shape) if weight is not None else [0]
            raise RuntimeError(f"Expected {name} to be a vector of size equal to the number of "
                               f"channels in input, but got {name} of shape {shown} and input "
                               f"of shape {list(input.shape)}")


def _affine_samples(g, channels):
    """No affine parameters, a weight, or a weight and a bias.

    A bias without a weight is left out: torch 2.13's CPU kernels fail to differentiate it
    (group_norm raises "tensor does not have a device" for the bias' gradient, the second
    derivative of instance_norm "Expected a proper Tensor but got None"), where HyperGrad
    returns the gradients of a weight of ones (tests/test_nn_functional_extra.py).
    """
    weight = g.tensor((channels,), special=False) if g.booleans() else None
    bias = g.tensor((channels,), special=False) if weight is not None and g.booleans() else None
    return weight, bias


def _spread_out(g, shape):
    """Input for a normalization, its values spread out within each sample: a ramp of step 3
    (mod 12) over each sample's elements plus drawn values in [-1, 1], so that any two
    neighbours differ by at least 1 and no group is nearly constant. Over nearly equal values
    the gradient goes through 1 / std of their rounding noise: there the float32 results of
    two correct implementations differ by more than any tolerance (torch's own from the
    exact values too). At least 2 samples, so an expanded (stride 0) layout repeats samples,
    not values within one.
    """
    x = g.tensor(shape, -1.0, 1.0, special=False)
    ramp = 3.0 * (np.arange(math.prod(shape[1:])) % 4).reshape(shape[1:])
    x.array = (x.array + ramp).astype(x.array.dtype)
    return x


def _group_norm_samples(g):
    """Groups of at least 2 values (torch's statistics of a single value carry rounding)."""
    groups = g.integers(1, 3)
    spatial = tuple(g.integers(1, 3) for _ in range(g.integers(0, 2)))
    per_group = g.integers(1, 2) if math.prod(spatial) > 1 else 2
    x = _spread_out(g, (g.integers(2, 3), groups * per_group) + spatial)
    weight, bias = _affine_samples(g, x.array.shape[1])
    kw = {"eps": g.sampled_from([1e-5, 1e-2])} if g.booleans() else {}
    return Sample((x, groups, weight, bias), kw)


def _norm_error(shape, *args, dtype=np.float32, error_type=RuntimeError, match=None, **kwargs):
    return error_sample(np.ones(shape, dtype), *args, error_type=error_type, match=match,
                        **kwargs)


# float32: torch sums a group's statistics in another order; through 1 / std the gradient
# carries that rounding (up to ~1e-5 on the spread-out samples), hence atol 5e-5
@op_function(_F + "group_norm", reference="torch.nn.functional.group_norm",
             samples=_group_norm_samples, dtypes=FLOATING,
             tolerances={"float32": (1e-5, 5e-5)}, node_names=("NativeGroupNormBackward0",),
             error_samples=(
                 _norm_error((2, 6, 3), 4, match="Expected number of channels in input to be "
                                                 "divisible by num_groups, but got input of "
                                                 "shape [2, 6, 3] and num_groups=4"),
                 _norm_error((2, 6, 3), -1, match="Expected num groups to be greater than 0, "
                                                  "got -1"),
                 _norm_error((2, 6, 3), 0, error_type=ZeroDivisionError),
                 _norm_error((6,), 3, match="Expected at least 2 dimensions for input tensor "
                                            "but received 1"),
                 _norm_error((1, 2), 2, error_type=ValueError,
                             match="Expected more than 1 value per channel when training, got "
                                   "input size [1, 2]"),
                 _norm_error((2, 6, 3), 3, np.ones(5, np.float32),
                             match="Expected weight to be a vector of size equal to the number "
                                   "of channels in input, but got weight of shape [5] and input "
                                   "of shape [2, 6, 3]"),
                 _norm_error((2, 6, 3), 3, None, np.ones(5, np.float32),
                             match="but got bias of shape [0] and input of shape [2, 6, 3]"),
                 _norm_error((2, 6, 3), 3, np.ones(6, np.float64),
                             match="mixed dtype (CPU): expect parameter to have scalar type of "
                                   "Float"),
                 _norm_error((2, 6, 3), 3, np.ones(6, np.float32), dtype=np.float64,
                             match="mixed dtype (CPU): all inputs must share same datatype."),
                 _norm_error((2, 6, 3), 3, np.ones(6, np.float32), np.ones(6, np.float64),
                             match="expected scalar type Float but found Double"),
                 _norm_error((2, 6, 3), 3, dtype=np.int64, error_type=NotImplementedError,
                             match="\"GroupNormKernelImpl\" not implemented for 'Long'")))
def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Group normalization: channels split into `num_groups` groups, each normalized.

    Differs from torch 2.13 on purpose for a bias without a weight, whose gradient torch's
    CPU kernel fails to compute: HyperGrad returns it.
    """
    if input.dim() < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received "
                           f"{input.dim()}")
    # torch.nn.functional refuses a normalization over a single value
    size = [input.shape[0] * input.shape[1] // num_groups, num_groups, *input.shape[2:]]
    if math.prod(size[:1] + size[2:]) == 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input "
                         f"size {size}")
    if num_groups <= 0:
        raise RuntimeError(f"Expected num groups to be greater than 0, got {num_groups}")
    if input.shape[1] % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by "
                           f"num_groups, but got input of shape {list(input.shape)} and "
                           f"num_groups={num_groups}")
    _check_affine(input, weight, bias)
    return GroupNorm.apply(input, weight, bias, num_groups, eps)


def _instance_norm_samples(g):
    """Input statistics with optional affine parameters, or, in eval mode
    (`use_input_stats=False`), given running statistics. (Running statistics in training
    mode are updated in place, which the suite's `inplace` check forbids: they are tested
    against torch in tests/test_nn_functional_extra.py.)"""
    channels = g.integers(1, 3)
    spatial = (g.integers(2, 3),) + tuple(g.integers(1, 3) for _ in range(g.integers(0, 1)))
    x = _spread_out(g, (g.integers(2, 3), channels) + spatial)
    weight, bias = _affine_samples(g, channels)
    kw = {"weight": weight, "bias": bias}
    if g.booleans():   # statistics of x's dtype: see instance_norm's docstring
        dtype = x.array.dtype.name
        kw.update(running_mean=g.tensor((channels,), special=False, requires_grad=False,
                                        dtype=dtype),
                  running_var=g.tensor((channels,), 0.1, 3.0, special=False,
                                       requires_grad=False, dtype=dtype),
                  use_input_stats=False)
    if g.booleans():
        kw["eps"] = g.sampled_from([1e-5, 1e-2])
    return Sample((x,), kw)


@op_function(_F + "instance_norm", reference="torch.nn.functional.instance_norm",
             samples=_instance_norm_samples, dtypes=FLOATING,
             tolerances={"float32": (1e-5, 5e-5)}, node_names=("ViewBackward0",),
             error_samples=(
                 _norm_error((2, 3, 4), use_input_stats=False,
                             match="Expected running_mean and running_var to be defined when "
                                   "use_input_stats is false"),
                 _norm_error((2, 3, 4), np.zeros(3, np.float32), error_type=ValueError,
                             match="running_mean and running_var must either both be None or "
                                   "neither be None"),
                 _norm_error((3, 4), error_type=ValueError,
                             match="Expected more than 1 spatial element when training, got "
                                   "input size torch.Size([3, 4])"),
                 _norm_error((2, 3, 1), error_type=ValueError,
                             match="Expected more than 1 spatial element when training"),
                 _norm_error((2, 3, 4), np.zeros(4, np.float32), np.ones(4, np.float32),
                             match="running_mean should contain 6 elements not 8"),
                 _norm_error((2, 3, 4), weight=np.ones(4, np.float32),
                             match="weight should contain 6 elements not 8"),
                 _norm_error((2, 3, 4), weight=np.ones(3, np.float32), dtype=np.float64,
                             match="mixed dtype (CPU): all inputs must share same datatype."),
                 _norm_error((2, 3, 4), dtype=np.int64, error_type=NotImplementedError,
                             match="\"batch_norm\" not implemented for 'Long'")))
def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Normalize each channel of each sample separately (N, C, *) by its own statistics.

    As in torch, this is batch_norm on the input viewed as one sample of N * C channels (the
    parameters and running statistics repeated N times); in training mode
    (`use_input_stats=True`) given running statistics move toward the average over the
    batch of each channel's statistics, in place.

    Running statistics of another dtype than the input are used as they are (torch accepts
    some such combinations and refuses others, depending on its kernel). With a bias but no
    weight, HyperGrad differentiates twice where torch 2.13 fails.
    """
    if use_input_stats:
        size = input.shape
        if math.prod(size[2:]) == 1:
            raise ValueError(f"Expected more than 1 spatial element when training, got input "
                             f"size torch.Size({list(size)})")
    elif running_mean is None or running_var is None:
        raise RuntimeError("Expected running_mean and running_var to be defined when "
                           "use_input_stats is false")
    batch, channels = input.shape[0], input.shape[1]
    folded = batch * channels
    for name, value in (("weight", weight), ("bias", bias), ("running_mean", running_mean),
                        ("running_var", running_var)):
        if value is not None and value.numel() * batch != folded:
            raise RuntimeError(f"{name} should contain {folded} elements not "
                               f"{value.numel() * batch}")
    if (running_mean is None) != (running_var is None):
        raise ValueError("running_mean and running_var must either both be None or neither be "
                         "None")
    _check_floating("batch_norm", input._data)
    _check_norm_dtypes(input._data, *(None if p is None else p._data for p in (weight, bias)))
    stats = [None if t is None else np.tile(t._data, batch) for t in (running_mean, running_var)]
    out = BatchNorm.apply(input.reshape(1, folded, *input.shape[2:]),
                          None if weight is None else weight.repeat(batch),
                          None if bias is None else bias.repeat(batch),
                          *stats, use_input_stats, momentum, eps)
    if use_input_stats and running_mean is not None:
        for buffer, repeated in zip((running_mean, running_var), stats):
            buffer._data[...] = repeated.reshape(batch, channels).mean(0)
            buffer._version_counter.bump()
    return out.view(input.shape)


# ----------------------------------------------------------------------------------------------
# Embedding
# ----------------------------------------------------------------------------------------------
class Embedding(Op):
    """Rows of `weight` picked by integer `indices`.

    out = weight[indices];  d/dweight = the gradient rows summed into the picked rows
    (except padding_idx's, and divided by each index's count with scale_grad_by_freq)
    """

    node_name = "EmbeddingBackward0"

    def forward(ctx, weight, indices, padding_idx, scale_grad_by_freq):
        flat = indices.reshape(-1)
        keep = np.ones(flat.shape, weight.dtype)
        if padding_idx is not None:
            keep[flat == padding_idx] = 0
        if scale_grad_by_freq:
            keep /= np.bincount(flat, minlength=weight.shape[0])[flat]
        ctx.rows, ctx.index = weight.shape[0], np.repeat(flat[:, None], weight.shape[1], 1)
        ctx.save_for_backward(keep[:, None])
        return weight[indices]

    def backward(ctx, grad):
        (keep,) = ctx.saved_tensors
        rows = grad.reshape(-1, grad.shape[-1]) * keep
        return ScatterAdd.apply(rows, ctx.index, 0, ctx.rows)


def _embedding_samples(g):
    rows, dim = g.integers(2, 5), g.integers(1, 3)
    indices = np.array([[g.integers(0, rows - 1) for _ in range(3)] for _ in range(2)])
    return Sample((SampleTensor(indices, False), g.tensor((rows, dim))),
                  {"padding_idx": g.sampled_from([None, 0])})


@op_function(_F + "embedding", reference="torch.nn.functional.embedding",
             samples=_embedding_samples, dtypes=FLOATING, node_names=("EmbeddingBackward0",))
def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """Look up rows of `weight` (num_embeddings, dim) for integer `input` of any shape.

    `padding_idx`'s row gets no gradient; `max_norm` renormalizes the looked-up rows in place
    (without gradient) so their norm is at most max_norm.
    """
    if input.dtype not in (_dtypes.int64, _dtypes.int32):
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got {input.type()} instead "
                           f"(while checking arguments for embedding)")
    if sparse:
        raise NotImplementedError("HyperGrad has no sparse gradients; use sparse=False")
    rows = weight.shape[0]
    indices = input._data
    if indices.size and (indices.min() < -rows or indices.max() >= rows):
        raise IndexError("index out of range in self")
    indices = indices % rows
    if padding_idx is not None:
        if not -rows <= padding_idx < rows:
            raise AssertionError("Padding_idx must be within num_embeddings")
        padding_idx %= rows
    if max_norm is not None:
        _embedding_renorm(weight, indices, max_norm, norm_type)
    return Embedding.apply(weight, indices, padding_idx, scale_grad_by_freq)


def _embedding_renorm(weight, indices, max_norm, norm_type):
    """Scale the used rows whose norm exceeds max_norm down to it, in place, untracked."""
    data = weight._data
    for row in np.unique(indices):
        norm = np.sum(np.abs(data[row]) ** norm_type) ** (1.0 / norm_type)
        if norm > max_norm:
            data[row] *= max_norm / (norm + 1e-7)
    weight._version_counter.bump()


def _one_hot_samples(g):
    x = g.tensor(g.shape(), 0, 3, dtype="int64", special=False)
    if g.booleans():
        return Sample((x,))
    return Sample((x, g.integers(int(x.array.max(initial=0)) + 1, 5)))


@op_function(_F + "one_hot", reference="torch.nn.functional.one_hot", samples=_one_hot_samples,
             dtypes=("int64",),
             error_samples=(
                 error_sample(np.array([0.0, 1.0]), match="one_hot is only applicable to index "
                                                          "tensor of type LongTensor."),
                 error_sample(np.array([0, 1], np.int32), match="of type LongTensor"),
                 error_sample(np.array([0, -1, 1]), 3,
                              match="Class values must be non-negative."),
                 error_sample(np.array([0, 2, 1]), 2,
                              match="Class values must be smaller than num_classes."),
                 error_sample(np.array([0, 1]), -2, match="smaller than num_classes"),
                 error_sample(np.zeros(0, np.int64), match="Can not infer total number of "
                                                           "classes from empty tensor."),
                 error_sample(np.zeros(0, np.int64), 0, match="Can not infer")))
def one_hot(tensor, num_classes=-1):
    """Integer class indices -> int64 one-hot vectors along a new last dim.

    `num_classes=-1` takes one more than the largest index. Not differentiable.
    """
    if tensor.dtype is not _dtypes.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    values = tensor._data
    if values.size == 0:
        if num_classes <= 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        return Tensor._make(np.zeros(values.shape + (num_classes,), np.int64))
    if values.min() < 0:
        raise RuntimeError("Class values must be non-negative.")
    if num_classes == -1:
        num_classes = int(values.max()) + 1
    elif values.max() >= num_classes:
        raise RuntimeError("Class values must be smaller than num_classes.")
    return Tensor._make((values[..., None] == np.arange(num_classes)).astype(np.int64))


# ----------------------------------------------------------------------------------------------
# Distances and attention (composites of other ops)
# ----------------------------------------------------------------------------------------------
def _vector_pair_samples(g):
    shape = g.shape(min_dims=1)
    return Sample((g.tensor(shape), g.tensor(shape)), {"dim": g.dim(len(shape))})


@op_function(_F + "normalize", reference="torch.nn.functional.normalize", samples=unary(
    min_dims=1, kwargs=lambda g: {"dim": -1}), dtypes=FLOATING, node_names=("DivBackward0",))
def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """input / max(||input||_p, eps) along `dim`."""
    norm = hypergrad.linalg.vector_norm(input, p, dim=dim, keepdim=True).clamp(min=eps)
    return input / norm.expand_as(input)


@op_function(_F + "cosine_similarity", reference="torch.nn.functional.cosine_similarity",
             samples=_vector_pair_samples, dtypes=FLOATING, node_names=("SumBackward1",))
def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """Cosine of the angle between x1 and x2 along `dim`, each norm clamped below by eps.

    As in torch, each input is divided by its own norm first (numerically stabler), and the
    clamp is applied without a gradient of its own.
    """
    shape = np.broadcast_shapes(tuple(x1.shape), tuple(x2.shape))
    x1, x2 = x1.expand(shape), x2.expand(shape)
    norms = []
    for x in (x1, x2):
        norm = hypergrad.linalg.vector_norm(x, 2, dim=dim, keepdim=True).clone()
        with hypergrad.no_grad():
            norm.clamp_(min=eps)
        norms.append(norm)
    return ((x1 / norms[0]) * (x2 / norms[1])).sum(dim)


class Norm(Op):
    """The p-norm over `dim`: ATen's `norm(input, p, dim, keepdim)`, which is
    `linalg.vector_norm` under the Node name torch gives it (NormBackward1).

    out = sum(|a|**p, dim)**(1/p);  d/da: as linalg.vector_norm
    """

    node_name = "NormBackward1"

    def forward(ctx, a, p, dim, keepdim):
        return hypergrad.linalg.vector_norm.op.forward(ctx, a, p, dim, keepdim)

    def backward(ctx, grad):
        return hypergrad.linalg.vector_norm.op.backward(ctx, grad)


def _pairwise_samples(g):
    """Broadcast pairs, p-norms of every kind but p = 0: its gradient is None in torch and
    zeros in HyperGrad, whose engine hands zeros (not "no gradient") on through the
    subtraction before the norm."""
    shape1, shape2 = g.shapes(2)
    kw = {}
    if g.booleans():
        kw["p"] = g.sampled_from([1.0, 3.0, 1.5, 0.5, math.inf, -math.inf, -1.0])
    if g.booleans():
        kw["eps"] = g.sampled_from([0.0, 1e-6, 0.1])
    if g.booleans():
        kw["keepdim"] = g.booleans()
    return Sample((g.tensor(shape1), g.tensor(shape2)), kw)


@op_function(_F + "pairwise_distance", reference="torch.nn.functional.pairwise_distance",
             samples=_pairwise_samples, dtypes=("float32", "float64", "int64"),
             node_names=("NormBackward1",),
             error_samples=(
                 error_sample(np.ones((3, 4)), np.ones(3), match="The size of tensor a (4) must "
                                                                 "match the size of tensor b (3) "
                                                                 "at non-singleton dimension 1"),
                 error_sample(np.ones((3, 4)), np.ones(4), p="fro", error_type=TypeError)))
def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """||x1 - x2 + eps||_p along the last dim (of the broadcast inputs)."""
    if isinstance(p, str):
        raise TypeError(f"pairwise_distance(): argument 'p' must be float, not "
                        f"{type(p).__name__}")
    return Norm.apply(x1 - x2 + eps, p, max(x1.dim(), x2.dim()) - 1, keepdim)


def _attention_samples(g):
    batch, length, source, dim = g.integers(1, 2), g.integers(1, 3), g.integers(1, 3), \
        g.integers(1, 3)
    return Sample((g.tensor((batch, length, dim), special=False),
                   g.tensor((batch, source, dim), special=False),
                   g.tensor((batch, source, dim), special=False)), {"is_causal": g.booleans()})


@op_function(_F + "scaled_dot_product_attention",
             reference="torch.nn.functional.scaled_dot_product_attention",
             samples=_attention_samples, dtypes=FLOATING)
def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    """softmax(query @ key^T * scale + mask) @ value, over the last two dims.

    `attn_mask` is a bool mask (True = may attend) or an additive float mask; `is_causal`
    masks out the future. `scale` defaults to 1 / sqrt(query.size(-1)).
    """
    length, source = query.shape[-2], key.shape[-2]
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = query.matmul(key.transpose(-2, -1)) * scale
    if is_causal:
        if attn_mask is not None:
            raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be "
                               "set when is_causal=True")
        attn_mask = Tensor._make(np.tril(np.ones((length, source), bool)))
    if attn_mask is not None:
        if attn_mask.dtype is _dtypes.bool:
            scores = scores.masked_fill(Tensor._make(~attn_mask._data), float("-inf"))
        else:
            scores = scores + attn_mask
    weights = softmax(scores, -1)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p)
    return weights.matmul(value)
