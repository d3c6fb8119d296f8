"""Adagrad (torch/optim/adagrad.py): per-coordinate steps shrinking with the gradient history.

    t = t + 1
    g = grad                                   (-grad with maximize)
    g = g + weight_decay * p                   (if weight_decay != 0)
    clr = lr / (1 + (t - 1) * lr_decay)
    s = s + g * g                              (the sum of all squared gradients so far)
    p = p - clr * g / (sqrt(s) + eps)
"""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer, _as_real, _finish_update, _new_step_count, _no_grad_step

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad (`torch.optim.Adagrad`).

    Args: `params`, `lr` (1e-2), `lr_decay` (0), `weight_decay` (0),
    `initial_accumulator_value` (0, the starting value of the sum of squares), `eps` (1e-10),
    `maximize` (False).

    State per parameter: "step" and "sum". Unlike the other optimizers, the state is created
    in the constructor, for every parameter (as torch does).
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, *, maximize=False):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(f"Invalid initial_accumulator_value value: "
                             f"{initial_accumulator_value}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, maximize=maximize)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, group)

    def _init_state(self, p, group):
        value = group["initial_accumulator_value"]
        if p.is_complex():
            value = complex(value, value)
        state = self.state[p]
        state["step"] = _new_step_count()
        state["sum"] = Tensor._make(np.full_like(p._data, value))

    @_no_grad_step
    def step(self, closure=None):
        """Update each parameter that has a gradient; returns `closure()`'s loss if given."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if len(self.state[p]) == 0:  # added by add_param_group after construction
                    self._init_state(p, group)
                adagrad_update(p, p.grad, self.state[p], lr=float(group["lr"]),
                               lr_decay=group["lr_decay"], weight_decay=group["weight_decay"],
                               eps=group["eps"], maximize=group["maximize"])
        return loss


def adagrad_update(param, grad, state, *, lr, lr_decay, weight_decay, eps, maximize):
    """One Adagrad update of one parameter, in place (torch's `_single_tensor_adagrad`)."""
    p = param._data
    g = -grad._data if maximize else grad._data
    step_count = state["step"]._data
    step_count += 1
    step = float(step_count)
    if weight_decay != 0:
        g = g + weight_decay * p
    clr = lr / (1 + (step - 1) * lr_decay)

    p, g = _as_real(p), _as_real(g)
    state_sum = _as_real(state["sum"]._data)
    state_sum += g * g
    std = np.sqrt(state_sum) + eps
    p += -clr * g / std
    _finish_update(param)
