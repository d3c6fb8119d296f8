"""RMSprop (torch/optim/rmsprop.py): divide the gradient by a running root mean square.

    g = grad                                   (-grad with maximize)
    g = g + weight_decay * p                   (if weight_decay != 0)
    v = alpha * v + (1 - alpha) * g * g        (running mean of g^2)
    m = m + (1 - alpha) * (g - m)              (centered: running mean of g)
    avg = sqrt(v - m * m) + eps                (centered: estimate of the variance)
    avg = sqrt(v) + eps                        (otherwise)
    b = momentum * b + g / avg;  p = p - lr * b          (momentum > 0)
    p = p - lr * g / avg                                 (otherwise)
"""

from __future__ import annotations

import numpy as np

from .optimizer import (Optimizer, _as_real, _finish_update, _lerp_, _new_step_count,
                        _no_grad_step, _zeros_like)

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop (`torch.optim.RMSprop`).

    Args: `params`, `lr` (1e-2), `alpha` (0.99, the smoothing constant), `eps` (1e-8),
    `weight_decay` (0), `momentum` (0), `centered` (False: normalize by the estimated
    variance instead of the raw second moment), `maximize` (False).

    State per parameter: "step", "square_avg", "momentum_buffer" (momentum > 0) and
    "grad_avg" (centered).
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, *, maximize=False):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    @_no_grad_step
    def step(self, closure=None):
        """Update each parameter that has a gradient; returns `closure()`'s loss if given."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _new_step_count()
                    state["square_avg"] = _zeros_like(p)
                    if group["momentum"] > 0:
                        state["momentum_buffer"] = _zeros_like(p)
                    if group["centered"]:
                        state["grad_avg"] = _zeros_like(p)
                rmsprop_update(p, p.grad, state, lr=float(group["lr"]), alpha=group["alpha"],
                               eps=group["eps"], weight_decay=group["weight_decay"],
                               momentum=group["momentum"], centered=group["centered"],
                               maximize=group["maximize"])
        return loss


def rmsprop_update(param, grad, state, *, lr, alpha, eps, weight_decay, momentum, centered,
                   maximize):
    """One RMSprop update of one parameter, in place (torch's `_single_tensor_rmsprop`)."""
    p = param._data
    g = -grad._data if maximize else grad._data
    step_count = state["step"]._data
    step_count += 1
    if weight_decay != 0:
        g = g + weight_decay * p

    p, g = _as_real(p), _as_real(g)
    square_avg = _as_real(state["square_avg"]._data)
    square_avg *= alpha
    square_avg += (1 - alpha) * g * g

    if centered:
        grad_avg = _as_real(state["grad_avg"]._data)
        _lerp_(grad_avg, g, 1 - alpha)
        avg = np.sqrt(square_avg + -1 * grad_avg * grad_avg)
    else:
        avg = np.sqrt(square_avg)
    avg += eps

    if momentum > 0:
        buffer = _as_real(state["momentum_buffer"]._data)
        buffer *= momentum
        buffer += g / avg
        p += -lr * buffer
    else:
        p += -lr * g / avg
    _finish_update(param)
