"""Adam and AdamW (torch/optim/adam.py, torch/optim/adamw.py).

    t = t + 1
    g = grad                                   (-grad with maximize)
    p = p * (1 - lr * weight_decay)            (AdamW: decoupled weight decay)
    g = g + weight_decay * p                   (Adam: L2 penalty added to the gradient)
    m = m + (1 - beta1) * (g - m)              (running mean of g: lerp towards g)
    v = beta2 * v + (1 - beta2) * g * g        (running mean of g^2)
    v_max = max(v_max, v)                      (amsgrad; then v_max replaces v below)
    p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

The two `1 - beta^t` factors are the bias corrections: m and v start at zero, so early on
they underestimate the true averages by exactly that factor.
"""

from __future__ import annotations

import numpy as np

from .optimizer import (Optimizer, _as_real, _finish_update, _lerp_, _new_step_count,
                        _no_grad_step, _zeros_like)

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam (`torch.optim.Adam`): steps scaled by running averages of the gradient and of
    its square.

    Args: `params`, `lr` (1e-3), `betas` ((0.9, 0.999)), `eps` (1e-8), `weight_decay` (0),
    `amsgrad` (False: use the largest second moment seen so far), `maximize` (False),
    `decoupled_weight_decay` (False; True makes it AdamW).

    State per parameter: "step" (a 0-dim tensor), "exp_avg", "exp_avg_sq", and
    "max_exp_avg_sq" with amsgrad.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, maximize=False, decoupled_weight_decay=False):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not (isinstance(betas[0], float) and isinstance(betas[1], float)):
            raise ValueError("betas must be either both floats or both Tensors")
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    @_no_grad_step
    def step(self, closure=None):
        """Update each parameter that has a gradient; returns `closure()`'s loss if given."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _new_step_count()
                    state["exp_avg"] = _zeros_like(p)
                    state["exp_avg_sq"] = _zeros_like(p)
                    if group["amsgrad"]:
                        state["max_exp_avg_sq"] = _zeros_like(p)
                adam_update(p, p.grad, state, lr=float(group["lr"]), beta1=beta1, beta2=beta2,
                            eps=group["eps"], weight_decay=group["weight_decay"],
                            amsgrad=group["amsgrad"], maximize=group["maximize"],
                            decoupled_weight_decay=group["decoupled_weight_decay"])
        return loss


class AdamW(Adam):
    """AdamW (`torch.optim.AdamW`): Adam whose weight decay shrinks the parameter directly
    instead of entering the gradient averages. Same arguments as Adam; `weight_decay` 1e-2.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)


def adam_update(param, grad, state, *, lr, beta1, beta2, eps, weight_decay, amsgrad, maximize,
                decoupled_weight_decay):
    """One Adam update of one parameter, in place (torch's `_single_tensor_adam`)."""
    p = param._data
    g = -grad._data if maximize else grad._data
    step_count = state["step"]._data
    step_count += 1

    if weight_decay != 0:
        if decoupled_weight_decay:
            p *= 1 - lr * weight_decay
        else:
            g = g + weight_decay * p

    p, g = _as_real(p), _as_real(g)
    exp_avg, exp_avg_sq = _as_real(state["exp_avg"]._data), _as_real(state["exp_avg_sq"]._data)

    _lerp_(exp_avg, g, 1 - beta1)
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * g * g

    step = float(step_count)
    bias_correction1 = 1 - beta1 ** step
    bias_correction2 = 1 - beta2 ** step
    step_size = lr / bias_correction1
    bias_correction2_sqrt = bias_correction2 ** 0.5

    if amsgrad:
        max_exp_avg_sq = _as_real(state["max_exp_avg_sq"]._data)
        np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        denom = np.sqrt(max_exp_avg_sq) / bias_correction2_sqrt + eps
    else:
        denom = np.sqrt(exp_avg_sq) / bias_correction2_sqrt + eps
    p += -step_size * exp_avg / denom
    _finish_update(param)
