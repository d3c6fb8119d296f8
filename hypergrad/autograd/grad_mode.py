"""Grad mode: whether operations record the graph, per thread.

PyTorch keeps one flag per thread (c10/core/GradMode.h, torch/autograd/grad_mode.py): an op run
while it is off creates no Node, and its outputs do not require grad. The backward pass itself
turns it on or off according to `create_graph`, which is why a backward formula written in
ordinary ops builds a graph exactly when a second derivative is wanted.

`no_grad`, `enable_grad`, `set_grad_enabled` and `inference_mode` are context managers and
decorators, as in torch. Every one restores the previous state in a `finally`, so an exception
never leaves the thread in the wrong mode.
"""

from __future__ import annotations

import functools
import inspect
import threading
import warnings

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
           "is_inference_mode_enabled"]


class _GradModeState(threading.local):
    """Thread-local flags; each new thread starts with grad mode on, as in torch."""

    def __init__(self):
        self.enabled = True
        self.inference = False


_state = _GradModeState()


def is_grad_enabled():
    """True if operations in this thread currently record the graph."""
    return _state.enabled


def is_inference_mode_enabled():
    """True inside an `inference_mode()` block in this thread."""
    return _state.inference


def _set_enabled(mode):
    _state.enabled = mode


class _DecoratorContextManager:
    """Lets a grad-mode context manager also decorate functions and generators."""

    def __call__(self, func):
        if inspect.isclass(func):
            warnings.warn("Decorating classes is deprecated and will be disabled in future "
                          "versions. You should only decorate functions or methods. To preserve "
                          "the current behavior of class decoration, you can directly decorate "
                          "the `__init__` method and nothing else.", FutureWarning, stacklevel=2)
            cls = func

            def func(*args, **kwargs):
                return cls(*args, **kwargs)
        if inspect.isgeneratorfunction(func):
            return self._wrap_generator(func)

        @functools.wraps(func)
        def decorate_context(*args, **kwargs):
            with self.clone():
                return func(*args, **kwargs)

        return decorate_context

    def _wrap_generator(self, func):
        @functools.wraps(func)
        def generator_context(*args, **kwargs):
            gen = func(*args, **kwargs)
            with self.clone():
                response = gen.send(None)
            while True:
                try:
                    request = yield response
                except GeneratorExit:
                    with self.clone():
                        gen.close()
                    raise
                except BaseException as error:  # forward throw() into the generator
                    with self.clone():
                        response = gen.throw(error)
                else:
                    try:
                        with self.clone():
                            response = gen.send(request)
                    except StopIteration as stop:
                        return stop.value

        return generator_context

    def clone(self):
        return type(self)()


class _NoParamDecoratorContextManager(_DecoratorContextManager):
    """Also allows the bare decorator form, `@no_grad` without parentheses."""

    def __new__(cls, orig_func=None):
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)


class no_grad(_NoParamDecoratorContextManager):
    """Disable graph recording in this thread (`torch.no_grad`).

    Example::

        >>> x = hg.tensor([1.0], requires_grad=True)
        >>> with hg.no_grad():
        ...     y = x * 2
        >>> y.requires_grad
        False
    """

    def __enter__(self):
        self.prev = _state.enabled
        _state.enabled = False

    def __exit__(self, *exc):
        _state.enabled = self.prev


class enable_grad(_NoParamDecoratorContextManager):
    """Enable graph recording inside a `no_grad` block (`torch.enable_grad`)."""

    def __enter__(self):
        self.prev = _state.enabled
        _state.enabled = True

    def __exit__(self, *exc):
        _state.enabled = self.prev


class set_grad_enabled(_DecoratorContextManager):
    """Set grad mode to `mode`; usable as a function, a context manager or a decorator.

    As in torch, calling it sets the mode at once (`hg.set_grad_enabled(False)` turns grad
    mode off until changed back); used in a `with`, it restores the previous mode on exit.
    """

    def __init__(self, mode):
        self.prev = _state.enabled
        self.mode = bool(mode)
        _state.enabled = self.mode

    def __call__(self, func):
        _state.enabled = self.prev  # as a decorator, the mode applies inside `func` only
        return super().__call__(func)

    def __enter__(self):
        _state.enabled = self.mode

    def __exit__(self, *exc):
        _state.enabled = self.prev

    def clone(self):
        return type(self)(self.mode)


class inference_mode(_DecoratorContextManager):
    """Like `no_grad`, and marks the block as inference (`torch.inference_mode`).

    HyperGrad has no separate inference tensors: inside the block grad mode is off, which is
    the part of torch's inference mode that changes results. See docs/divergences.
    """

    def __new__(cls, mode=True):
        if isinstance(mode, bool):
            return super().__new__(cls)
        return cls()(mode)  # the bare decorator form, `@inference_mode`

    def __init__(self, mode=True):
        self.mode = bool(mode)

    def __enter__(self):
        self.prev = (_state.enabled, _state.inference)
        if self.mode:
            _state.enabled = False
            _state.inference = True

    def __exit__(self, *exc):
        _state.enabled, _state.inference = self.prev

    def clone(self):
        return type(self)(self.mode)
