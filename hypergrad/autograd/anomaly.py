"""Anomaly detection: remember where each node was created, and stop at the first NaN.

Mirrors torch/csrc/autograd/anomaly_mode.{h,cpp} and torch/autograd/anomaly_mode.py. Unlike
grad mode, anomaly mode is global (all threads), as in torch.

When it is on:
- every node created stores the Python stack of the forward call that created it in
  `node.metadata["traceback_"]`;
- if a node's backward raises, a warning prints that forward stack first, so the error points
  at the line of *your* code whose backward failed;
- with `check_nan=True`, a node that returns a NaN gradient raises
  "Function 'MulBackward0' returned nan values in its 0th output."
"""

from __future__ import annotations

import traceback
import warnings

__all__ = ["detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled",
           "is_anomaly_check_nan_enabled"]

_anomaly = {"enabled": False, "check_nan": True}


def is_anomaly_enabled():
    """True while anomaly detection is on (`torch.is_anomaly_enabled`); global, not per thread."""
    return _anomaly["enabled"]


def is_anomaly_check_nan_enabled():
    """True if anomaly mode also checks gradients for NaN (`torch.is_anomaly_check_nan_enabled`)."""
    return _anomaly["check_nan"]


_OWN_DIRECTORIES = None


def _own_directories():
    """Where HyperGrad's code lives: the package and the built-in ops (mapped from ops/)."""
    global _OWN_DIRECTORIES
    if _OWN_DIRECTORIES is None:
        import os

        from .. import ops

        _OWN_DIRECTORIES = (os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                            os.path.dirname(os.path.abspath(ops.__file__)))
    return _OWN_DIRECTORIES


def record_forward_trace(node):
    """Store the current Python stack on `node`, ending at the user's line (HyperGrad's own
    frames at the top of the stack are left out, as torch's trace ends in user code)."""
    frames = traceback.extract_stack()
    own = _own_directories()
    while frames and frames[-1].filename.startswith(own):
        frames.pop()
    node.metadata["traceback_"] = traceback.format_list(frames)


def warn_forward_trace(node):
    """Print where `node` was created, as torch does before re-raising a backward error."""
    stack = node._metadata.get("traceback_") if node._metadata else None
    if stack:
        warnings.warn(
            f"Error detected in {node.name()}. Traceback of forward call that caused the error:\n"
            + "".join(stack), UserWarning, stacklevel=2)
    else:
        warnings.warn(
            f"Error detected in {node.name()}. No forward pass information available. Enable "
            "detect anomaly during forward pass for more information.", UserWarning,
            stacklevel=2)


class detect_anomaly:
    """Context manager (and decorator) that turns anomaly detection on for its block.

    Example::

        >>> with hg.autograd.detect_anomaly():
        ...     y = (x / x).sum()   # 0/0 at x == 0
        ...     y.backward()        # raises, naming DivBackward0, after printing the forward line
    """

    def __init__(self, check_nan=True):
        self.check_nan = check_nan
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime "
                      "and should only be enabled for debugging.", UserWarning, stacklevel=2)

    def __enter__(self):
        self.prev = dict(_anomaly)
        _anomaly.update(enabled=True, check_nan=self.check_nan)

    def __exit__(self, *exc):
        _anomaly.update(self.prev)

    def __call__(self, func):
        import functools

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self:
                return func(*args, **kwargs)

        return wrapper


class set_detect_anomaly:
    """Turn anomaly detection on or off; a function call, or a context manager that restores."""

    def __init__(self, mode, check_nan=True):
        self.prev = dict(_anomaly)
        _anomaly.update(enabled=bool(mode), check_nan=check_nan)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _anomaly.update(self.prev)
