"""SGD: stochastic gradient descent, with momentum and Nesterov momentum (torch/optim/sgd.py).

    g = grad                      (-grad with maximize)
    g = g + weight_decay * p      (L2 penalty, if weight_decay != 0)
    b = g                         (first step)
    b = momentum * b + (1 - dampening) * g
    g = g + momentum * b          (nesterov)   or   g = b
    p = p - lr * g
"""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer, _finish_update, _no_grad_step

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum (`torch.optim.SGD`).

    Args: `params`, `lr` (1e-3), `momentum` (0), `dampening` (0), `weight_decay` (0, an L2
    penalty added to the gradient), `nesterov` (False), `maximize` (False: ascend instead).

    State per parameter: "momentum_buffer", only when momentum != 0.
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, *, maximize=False):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    @_no_grad_step
    def step(self, closure=None):
        """Update each parameter that has a gradient; returns `closure()`'s loss if given."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p] if group["momentum"] != 0 else None
                sgd_update(p, p.grad, state, lr=float(group["lr"]),
                           momentum=group["momentum"], dampening=group["dampening"],
                           weight_decay=group["weight_decay"], nesterov=group["nesterov"],
                           maximize=group["maximize"])
        return loss


def sgd_update(param, grad, state, *, lr, momentum, dampening, weight_decay, nesterov,
               maximize):
    """One SGD update of one parameter, in place (torch's `_single_tensor_sgd`)."""
    p = param._data
    g = -grad._data if maximize else grad._data
    if weight_decay != 0:
        g = g + weight_decay * p
    if momentum != 0:
        buffer = state.get("momentum_buffer")
        if buffer is None:
            buffer = state["momentum_buffer"] = Tensor._make(np.array(g))  # a copy
        else:
            b = buffer._data
            b *= momentum
            b += (1 - dampening) * g
        g = g + momentum * buffer._data if nesterov else buffer._data
    p += -lr * g
    _finish_update(param)
