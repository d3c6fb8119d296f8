"""gradcheck and gradgradcheck: compare backward with finite differences.

Mirrors torch/autograd/gradcheck.py (the "slow mode", which builds full Jacobians).

For a function f and inputs x, the *numerical* Jacobian comes from central differences,
    J[:, k] = (f(x + eps e_k) - f(x - eps e_k)) / (2 eps),
and the *analytical* one from backward: row m of J is the gradient of output element m, a
vector-Jacobian product with the one-hot vector e_m. The check passes when the two agree to
`|analytical - numerical| <= atol + rtol * |numerical|` everywhere.

`gradgradcheck` applies the same test to the function x, v -> (grad of <f(x), v> w.r.t. x),
computed with `create_graph=True`: that checks second derivatives.

Use float64 inputs: in float32, eps = 1e-6 is lost in rounding.
"""

from __future__ import annotations

import warnings

import numpy as np

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError", "get_numerical_jacobian",
           "get_analytical_jacobian"]


class GradcheckError(RuntimeError):
    """Raised by gradcheck/gradgradcheck when the gradients do not match."""


def _as_tuple(value):
    return value if isinstance(value, tuple) else (value,)


def _differentiable_outputs(outputs):
    return tuple(o for o in outputs if o.requires_grad)


def get_numerical_jacobian(func, inputs, eps=1e-3):
    """`[[J(out j, input i) for i] for j]`, each an array of shape (input numel, output numel)."""
    from ..tensor import Tensor

    inputs = _as_tuple(inputs)
    # No no_grad here: for gradgradcheck, `func` itself calls autograd.grad. The perturbation
    # writes the raw data directly, so autograd never sees it.
    outputs = _as_tuple(func(*inputs))
    jacobians = [[None] * len(inputs) for _ in outputs]
    for i, x in enumerate(inputs):
        if not (isinstance(x, Tensor) and x.requires_grad):
            continue
        flat = x._data.reshape(-1) if x._data.flags.c_contiguous else None
        if flat is None:
            raise ValueError("gradcheck needs contiguous inputs; call .contiguous() first")
        columns = [np.zeros((flat.size, o._data.size), dtype=np.float64) for o in outputs]
        for k in range(flat.size):
            original = flat[k].copy()
            try:
                flat[k] = original + eps
                plus = [o._data.astype(np.float64).reshape(-1).copy()
                        for o in _as_tuple(func(*inputs))]
                flat[k] = original - eps
                minus = [o._data.astype(np.float64).reshape(-1).copy()
                         for o in _as_tuple(func(*inputs))]
            finally:
                flat[k] = original
            for j in range(len(outputs)):
                columns[j][k] = (plus[j] - minus[j]) / (2 * eps)
        for j in range(len(outputs)):
            jacobians[j][i] = columns[j]
    return jacobians


def get_analytical_jacobian(func, inputs):
    """Same layout as `get_numerical_jacobian`, row by row from backward."""
    from ..tensor import Tensor
    from . import grad as autograd_grad

    inputs = _as_tuple(inputs)
    diff_inputs = [x for x in inputs if isinstance(x, Tensor) and x.requires_grad]
    outputs = _as_tuple(func(*inputs))
    jacobians = [[None] * len(inputs) for _ in outputs]
    for j, out in enumerate(outputs):
        rows = {i: np.zeros((x._data.size, out._data.size)) for i, x in enumerate(inputs)
                if isinstance(x, Tensor) and x.requires_grad}
        if out.requires_grad:
            for m in range(out._data.size):
                onehot = np.zeros(out._data.size, dtype=out._data.dtype)
                onehot[m] = 1
                grads = autograd_grad(out, diff_inputs,
                                      Tensor._make(onehot.reshape(out._data.shape)),
                                      retain_graph=True, allow_unused=True)
                position = 0
                for i in rows:
                    g = grads[position]
                    position += 1
                    if g is not None:
                        rows[i][:, m] = g._data.astype(np.float64).reshape(-1)
        for i, rows_i in rows.items():
            jacobians[j][i] = rows_i
    return jacobians


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
              nondet_tol=0.0, check_undefined_grad=True, check_grad_dtypes=False,
              check_batched_grad=False, check_backward_ad=True, fast_mode=False, masked=None):
    """True if backward's Jacobian matches finite differences (`torch.autograd.gradcheck`)."""
    from ..tensor import Tensor

    inputs = _as_tuple(inputs)
    if not any(isinstance(x, Tensor) and x.requires_grad for x in inputs):
        raise ValueError("gradcheck expects at least one input tensor to require gradient, but "
                         "none of them have requires_grad=True.")
    for index, x in enumerate(inputs):
        if isinstance(x, Tensor) and x.requires_grad and x._data.dtype != np.float64:
            warnings.warn(f"Input #{index} requires gradient and is not a double precision "
                          "floating point or complex. This check will likely fail if all the "
                          "inputs are not of double precision floating point or complex. ",
                          UserWarning, stacklevel=2)
    numerical = get_numerical_jacobian(func, inputs, eps)
    analytical = get_analytical_jacobian(func, inputs)
    for j, (num_row, an_row) in enumerate(zip(numerical, analytical)):
        for i, (num, an) in enumerate(zip(num_row, an_row)):
            if num is None or an is None:
                continue
            if not np.allclose(an, num, rtol=rtol, atol=atol, equal_nan=True):
                if not raise_exception:
                    return False
                raise GradcheckError(
                    f"Jacobian mismatch for output {j} with respect to input {i},\n"
                    f"numerical:{Tensor._make(num)!r}\nanalytical:{Tensor._make(an)!r}\n")
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  gen_non_contig_grad_outputs=False, raise_exception=True, nondet_tol=0.0,
                  check_undefined_grad=True, check_grad_dtypes=False, check_batched_grad=False,
                  check_fwd_over_rev=False, check_rev_over_rev=True, fast_mode=False,
                  masked=False):
    """gradcheck of the gradient: checks second derivatives (`torch.autograd.gradgradcheck`).

    `grad_outputs` default to random normal tensors (float64, requiring grad), as in torch.
    """
    from ..tensor import Tensor
    from . import grad as autograd_grad

    inputs = _as_tuple(inputs)
    diff_positions = [k for k, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if grad_outputs is None:
        outputs = _differentiable_outputs(_as_tuple(func(*inputs)))
        rng = np.random.default_rng(0)
        grad_outputs = tuple(
            Tensor._make(rng.standard_normal(o._data.shape).astype(o._data.dtype), True)
            for o in outputs)
    grad_outputs = _as_tuple(grad_outputs)
    n_inputs = len(inputs)

    def new_func(*all_inputs):
        xs, vs = all_inputs[:n_inputs], all_inputs[n_inputs:]
        outputs = _differentiable_outputs(_as_tuple(func(*xs)))
        grads = autograd_grad(outputs, [xs[k] for k in diff_positions], vs, create_graph=True,
                              allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(new_func, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
