"""Optimizer: the base class of every optimizer (torch/optim/optimizer.py).

An optimizer holds two things:

- `param_groups`, a list of dicts. Each has "params" (a list of tensors) and the
  hyperparameters used for them ("lr", "momentum", ...); a group that leaves one out gets the
  optimizer's `defaults`. Groups let one model train its parts with different settings.
- `state`, a dict from each parameter (the tensor itself is the key) to its own buffers:
  momentum, running averages, a step count. Buffers are made on the first `step()` that sees
  a gradient for the parameter.

A training step is `zero_grad()`, `loss.backward()`, `step()`: `step()` reads every
parameter's `.grad` and changes the parameter in place.

Note [An optimizer step is an in-place update that autograd does not record]
    torch runs `step()` under `no_grad()`: the update is not part of any model, so it builds
    no graph, and each parameter stays a leaf. The update still changes the parameter's data
    in place, so it bumps the parameter's version counter like any in-place op does. A graph
    that saved the parameter before the step and is backwarded after it therefore fails with
    the "modified by an inplace operation" error, in HyperGrad as in torch.

    The update rules (sgd.py, adam.py, ...) compute on the numpy arrays behind the tensors,
    the way torch's compute on its ATen kernels, in the same order of operations as torch's
    single-tensor implementations (`_single_tensor_adam`, ...), so the two libraries agree to
    the last few bits. `_finish_update` bumps the version.

`state_dict()` describes the optimizer with parameter *indices* instead of tensors, so that it
can be saved (`hypergrad.save`) and loaded into a new optimizer built over new tensors of the
same shapes:

    {"state": {0: {"momentum_buffer": tensor([...])}, 1: {...}},
     "param_groups": [{"lr": 0.1, "momentum": 0.9, ..., "params": [0, 1]}]}
"""

from __future__ import annotations

import copy
import functools
import itertools
import warnings
from collections import defaultdict

import numpy as np

from .. import dtypes as _dtypes
from ..autograd.grad_mode import enable_grad, no_grad
from ..tensor import Tensor

__all__ = ["Optimizer", "required"]


class _RequiredParameter:
    """The default of a hyperparameter every param group must set itself."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


def _no_grad_step(step):
    """Run an optimizer's `step` with gradient recording off (torch's
    `_use_grad_for_differentiable`); see Note [An optimizer step is an in-place update ...]."""

    @functools.wraps(step)
    def step_without_grad(self, *args, **kwargs):
        with no_grad():
            return step(self, *args, **kwargs)

    return step_without_grad


class Optimizer:
    """Base class for optimizers (`torch.optim.Optimizer`).

    `params` is an iterable of tensors, or of dicts (param groups) each with a "params" entry
    and any hyperparameters that should differ from `defaults` for those tensors. Subclasses
    implement `step()`.
    """

    def __init__(self, params, defaults):
        self.defaults = defaults
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            f"Tensors or dicts, but got {_typename(params)}")
        self.state = defaultdict(dict)
        self.param_groups = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for param_group in param_groups:
            self.add_param_group(param_group)

    def __getstate__(self):
        """What pickling and copy.deepcopy keep: not the `step` wrapper a scheduler may have
        put on this instance (it points at this optimizer, not at the copy), as in torch."""
        return {"defaults": self.defaults, "state": self.state,
                "param_groups": self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {key}: {group[key]}" for key in sorted(group) if key != "params")
        return "\n".join(lines) + "\n)"

    # ------------------------------------------------------------------------------------------
    # Parameter groups
    # ------------------------------------------------------------------------------------------
    def add_param_group(self, param_group):
        """Add a group of parameters, with its own hyperparameters, to `param_groups`.

        Useful when fine-tuning: layers that were frozen can join training later. Missing
        hyperparameters are taken from `defaults`; a tensor may belong to one group only.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            param_group["params"] = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        else:
            param_group["params"] = list(params)
        _split_param_names(param_group)

        for param in param_group["params"]:
            if not isinstance(param, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                + _typename(param))
            if not (param.is_leaf or param.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")

        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            param_group.setdefault(name, default)

        params = param_group["params"]
        if len(params) != len(set(params)):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in "
                          "future, this will cause an error; see "
                          "github.com/pytorch/pytorch/issues/40967 for more information",
                          stacklevel=3)
        seen = set()
        for group in self.param_groups:
            seen.update(group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {which} to the optimizer")
        if not seen.isdisjoint(params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # ------------------------------------------------------------------------------------------
    # A training step
    # ------------------------------------------------------------------------------------------
    def zero_grad(self, set_to_none=True):
        """Reset the gradients of all parameters before the next backward.

        With `set_to_none=True` (the default) `.grad` becomes None: backward then stores the
        new gradient instead of adding to zeros, and `step()` skips a parameter that got no
        gradient. With `set_to_none=False` each `.grad` is detached and filled with zeros.
        """
        for group in self.param_groups:
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                    continue
                if grad.grad_fn is not None:
                    grad.detach_()
                else:
                    grad.requires_grad_(False)
                grad.zero_()

    def step(self, closure=None):
        """Update every parameter that has a `.grad`; subclasses implement it.

        `closure`, if given, re-evaluates the model and returns the loss (some algorithms call
        it several times); `step` then returns that loss.
        """
        raise NotImplementedError

    @staticmethod
    def _evaluate(closure):
        """Call `closure` with grad mode on (step itself runs under no_grad), as torch does."""
        if closure is None:
            return None
        with enable_grad():
            return closure()

    # ------------------------------------------------------------------------------------------
    # Saving and loading
    # ------------------------------------------------------------------------------------------
    def state_dict(self):
        """The optimizer's state, with parameters replaced by their index in `param_groups`.

        {"state": {index: {buffer name: tensor or number}}, "param_groups": [{..., "params":
        [indices]}]}. As in torch, the buffers are the optimizer's own tensors (not copies):
        `copy.deepcopy` the result, or `hypergrad.save` it, to keep a snapshot.
        """
        index_of = {}
        start = 0

        def pack_group(group):
            nonlocal start
            packed = {key: value for key, value in group.items() if key != "params"}
            for i, p in enumerate(group["params"], start):
                index_of.setdefault(id(p), i)
            packed["params"] = [index_of[id(p)] for p in group["params"]]
            start += len(packed["params"])
            return packed

        param_groups = [pack_group(group) for group in self.param_groups]
        packed_state = {(index_of[id(key)] if isinstance(key, Tensor) else key): value
                        for key, value in self.state.items()}
        return {"state": packed_state, "param_groups": param_groups}

    def load_state_dict(self, state_dict):
        """Load a `state_dict()` from an optimizer of the same type over parameters of the
        same shapes, in the same groups.

        Parameters are matched by position, as in torch. Floating-point buffers are cast to
        their parameter's dtype (the step count keeps its own). Unlike torch, the buffers are
        always copied, so this optimizer never shares a tensor with `state_dict`.
        """
        groups = self.param_groups
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match "
                             "the size of optimizer's group")

        param_of = dict(zip(itertools.chain.from_iterable(s["params"] for s in saved_groups),
                            itertools.chain.from_iterable(g["params"] for g in groups)))
        state = defaultdict(dict)
        for key, value in state_dict["state"].items():
            if key in param_of:
                param = param_of[key]
                state[param] = _copy_state(param, value)
            else:
                state[key] = value

        for group, saved in zip(groups, saved_groups):
            saved["params"] = group["params"]
            if "param_names" in group and "param_names" not in saved:
                saved["param_names"] = group["param_names"]
            for name, default in self.defaults.items():
                saved.setdefault(name, default)
        self.state = state
        self.param_groups = saved_groups


def _split_param_names(param_group):
    """Accept `named_parameters()` too: (name, tensor) pairs become "params" + "param_names"."""
    names, tensors = [], []
    for item in param_group["params"]:
        if isinstance(item, tuple):
            names.append(item[0])
            tensors.append(item[1])
        else:
            tensors.append(item)
    param_group["params"] = tensors
    if names:
        if len(names) != len(tensors):
            raise ValueError("all optimizer params should be with/without names. Some param "
                             "names are missing")
        param_group["param_names"] = names


def _copy_state(param, value, key=None):
    """A copy of one parameter's saved state, its floating buffers in the parameter's dtype
    (torch's `_process_value_according_to_param_policy`); "step" keeps its dtype."""
    if isinstance(value, Tensor):
        dtype = value._data.dtype
        if key != "step" and param.is_floating_point() and value.is_floating_point():
            dtype = param._data.dtype
        return Tensor._make(np.array(value._data, dtype=dtype))
    if isinstance(value, dict):
        return {k: _copy_state(param, v, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_copy_state(param, v) for v in value)
    return value


def _typename(obj):
    """torch.typename: "hypergrad.FloatTensor" for a tensor, else the qualified class name."""
    if isinstance(obj, Tensor):
        return "hypergrad." + obj.dtype._tensor_type
    cls = type(obj)
    return cls.__qualname__ if cls.__module__ == "builtins" else \
        f"{cls.__module__}.{cls.__qualname__}"


# ----------------------------------------------------------------------------------------------
# Helpers shared by the update rules
# ----------------------------------------------------------------------------------------------
def _scalar_dtype():
    """The dtype of the "step" counters: float64 if that is the default dtype, else float32."""
    return _dtypes.float64 if _dtypes.get_default_dtype() is _dtypes.float64 else _dtypes.float32


def _new_step_count():
    return Tensor._make(np.zeros((), _scalar_dtype().numpy))


def _zeros_like(param):
    return Tensor._make(np.zeros_like(param._data))


def _as_real(array):
    """A real view of a complex array, (..., 2) with real and imaginary parts
    (`torch.view_as_real`); a real array is returned as it is.

    Adam, RMSprop and Adagrad treat a complex parameter as a pair of real ones, as torch does:
    the running averages of squares are kept per part, not for |z|^2.

    (numpy turns the result of arithmetic on 0-dim arrays into scalars; `asarray` turns
    such a gradient back into an array. Buffers updated in place are always arrays.)
    """
    array = np.asarray(array)
    if array.dtype.kind != "c":
        return array
    return array[..., np.newaxis].view(array.real.dtype)


def _lerp_(start, end, weight):
    """start += weight * (end - start), in place, computed as torch's lerp kernel does (the
    form chosen by the size of the weight keeps the rounding error small)."""
    if abs(weight) < 0.5:
        start += weight * (end - start)
    else:
        start[...] = end - (end - start) * (1 - weight)


def _finish_update(param):
    """Record that `param` was changed in place (see the Note at the top of this module)."""
    param._version_counter.bump()
