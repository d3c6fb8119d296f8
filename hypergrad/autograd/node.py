"""The backward graph: Node, Edge, AccumulateGrad and GraphRoot.

Mirrors torch/csrc/autograd/function.h, edge.h, functions/accumulate_grad.h and
functions/basic_ops.h.

Every differentiable operation creates one `Node` (`MulBackward0` for `mul`). A node is the
*backward* of that operation: it takes the gradients of the operation's outputs and returns the
gradients of its inputs. Its `next_edges` say where those input gradients go: one `Edge` per
forward input, pointing at the node that produced that input (`input.grad_fn`), at the input's
`AccumulateGrad` when the input is a leaf that requires grad, or nowhere (an invalid edge,
`Edge(None, 0)`) when the input needs no gradient.

Note [Names: inputs and outputs of a Node]
    PyTorch names a node's arguments from the node's point of view: a node's *inputs* are the
    gradients it receives (one per forward output) and its *outputs* are the gradients it sends
    (one per forward input). So `input_nr` in an Edge is the index of the gradient slot on the
    receiving node, which is the `output_nr` of the forward tensor. We keep those names so the
    code reads like PyTorch's.

Note [sequence_nr]
    Each node gets a number from a counter when it is created. The engine runs ready nodes with
    the highest number first, which makes backward visit nodes in roughly the reverse order of
    the forward pass; AccumulateGrad gets the largest possible number so a leaf's gradient is
    written as soon as it is complete.

Note [Stealing the gradient]
    The first gradient to reach a leaf becomes its `.grad`. Copying it costs a pass over memory
    as large as the parameter; torch avoids that when the gradient tensor is referenced only by
    the engine (`use_count() <= num_expected_refs` in accumulate_grad.h) and takes the tensor
    itself. HyperGrad asks Python the same question: `sys.getrefcount` of the gradient tensor
    and of its array must be what they are for a gradient held by the InputBuffer alone
    (measured once at import, `_calibrate_sole_owner`): then no other tensor wraps the array
    and no view of it exists (a view holds its base). The array must also own its memory
    (`base is None`: it is not itself a view) and have the leaf's strides.
    A gradient the caller passed to `backward(gradient)`, or one a hook kept, or one also bound
    for another leaf (`AddBackward0` sends the same tensor to both inputs), has more references
    and is copied.
"""

from __future__ import annotations

import itertools
import sys
from typing import NamedTuple

import numpy as np

from .grad_mode import _state

__all__ = ["Node", "Edge", "AccumulateGrad", "GraphRoot", "RemovableHandle", "next_sequence_nr"]

Tensor = None  # hypergrad/tensor.py sets this once the class exists (it imports us first)

_sequence_counter = itertools.count()
next_sequence_nr = _sequence_counter.__next__

MAX_SEQUENCE_NR = sys.maxsize  # AccumulateGrad: run as soon as ready (Note [sequence_nr])


class Edge(NamedTuple):
    """Where a gradient goes: `function`'s gradient slot number `input_nr` (torch/csrc/autograd/edge.h).

    Inside the engine an edge is the plain pair `(function, input_nr)` (what torch's Python
    `next_functions` shows too); this named tuple is the same pair with field names, for code
    that builds edges by hand.
    """

    function: "Node | None"
    input_nr: int

    def is_valid(self):
        return self.function is not None

    def __repr__(self):  # prints as torch's next_functions entries do: (node, input_nr)
        return tuple.__repr__(self)


INVALID_EDGE = (None, 0)


class RemovableHandle:
    """Returned by every `register_*hook`; `handle.remove()` takes the hook out again."""

    _ids = itertools.count()
    __slots__ = ("_hooks", "id")

    def __init__(self, hooks):
        self._hooks = hooks
        self.id = next(self._ids)

    def remove(self):
        self._hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


class Node:
    """A backward function in the graph (torch/csrc/autograd/function.h).

    Subclasses implement `apply(grad_outputs) -> grad_inputs`: a list with one gradient (a
    Tensor, or None for "zero") per `next_edges` entry. Hooks, in the order the engine calls
    them: tensor pre-hooks, retains-grad hooks, pre-hooks, then `apply`, then post-hooks.
    """

    __slots__ = ("next_edges", "_sequence_nr", "_input_metadata", "__dict__", "__weakref__")

    # Rarely used state lives in the instance dict only once set; until then these class
    # defaults answer (a node is created per operation, so its creation must be cheap).
    _has_hooks = False       # set by every register_* below; lets the engine skip hook work
    _pre_hooks = None
    _post_hooks = None
    _tensor_pre_hooks = None
    _retains_grad_hooks = None
    _metadata = None

    def __init__(self, next_edges=(), sequence_nr=None):
        self.next_edges = tuple(tuple(edge) for edge in next_edges)
        self._sequence_nr = next_sequence_nr() if sequence_nr is None else sequence_nr
        self._input_metadata = ()

    # --- identity -----------------------------------------------------------------------------
    def name(self):
        """The node's class name, e.g. "MulBackward0" (what `repr(grad_fn)` shows)."""
        return type(self).__name__

    def __repr__(self):
        return f"<{self.name()} object at {id(self):#x}>"

    def sequence_nr(self):
        return self._sequence_nr

    @property
    def next_functions(self):
        """`((node_or_None, input_nr), ...)`, one pair per forward input, as in torch."""
        return self.next_edges

    @property
    def metadata(self):
        """A dict for your own notes about this node; anomaly mode stores the forward trace here."""
        if self._metadata is None:
            self._metadata = {}
        return self._metadata

    def num_inputs(self):
        """How many gradients this node receives: one per output of its forward operation."""
        return len(self._input_metadata)

    def num_outputs(self):
        """How many gradients this node returns: one per input of its forward operation."""
        return len(self.next_edges)

    def input_metadata(self, index):
        """`(shape, dtype)` of the forward output whose gradient arrives in slot `index`."""
        return self._input_metadata[index]

    # --- the computation ------------------------------------------------------------------------
    def apply(self, grad_outputs):
        raise NotImplementedError(f"{self.name()} does not implement apply")

    def __call__(self, *grad_outputs):
        """Run the backward by hand: `y.grad_fn(grad)` -> one gradient, or a tuple of them."""
        result = self.apply(list(grad_outputs))
        return result[0] if len(result) == 1 else tuple(result)

    def release_variables(self):
        """Free what this node saved for backward (called after backward unless retain_graph)."""

    # --- hooks --------------------------------------------------------------------------------
    def register_hook(self, fn):
        """`fn(grad_inputs, grad_outputs)` runs after the node; it may return new grad_inputs."""
        self._has_hooks = True
        if self._post_hooks is None:
            self._post_hooks = {}
        handle = RemovableHandle(self._post_hooks)
        self._post_hooks[handle.id] = fn
        return handle

    def register_prehook(self, fn):
        """`fn(grad_outputs)` runs before the node; it may return new grad_outputs."""
        self._has_hooks = True
        if self._pre_hooks is None:
            self._pre_hooks = {}
        handle = RemovableHandle(self._pre_hooks)
        self._pre_hooks[handle.id] = fn
        return handle

    def _register_tensor_pre_hook(self, output_nr, fn):
        """A hook from `tensor.register_hook` on this node's forward output `output_nr`."""
        self._has_hooks = True
        if self._tensor_pre_hooks is None:
            self._tensor_pre_hooks = {}
        hooks = self._tensor_pre_hooks.setdefault(output_nr, {})
        handle = RemovableHandle(hooks)
        hooks[handle.id] = fn
        return handle

    def _tensor_hooks(self):
        """`{output_nr: {id: hook}}` of tensor pre-hooks, or None."""
        return self._tensor_pre_hooks


class GraphRoot(Node):
    """The node the engine starts from: it hands the root gradients to the roots' edges.

    torch/csrc/autograd/functions/basic_ops.h. `backward(y)` with several roots is one
    GraphRoot whose next_edges are the roots' gradient edges.
    """

    __slots__ = ("outputs",)

    def __init__(self, roots, grads):
        super().__init__(roots, sequence_nr=MAX_SEQUENCE_NR)
        self.outputs = list(grads)

    def apply(self, grad_outputs):
        return self.outputs


class AccumulateGrad(Node):
    """The sink of a leaf tensor that requires grad: writes the arriving gradient into `.grad`.

    torch/csrc/autograd/functions/accumulate_grad.h. The node holds its leaf strongly and the
    leaf holds the node weakly (`tensor._grad_accumulator`), so the graph keeps the leaf alive
    and not the other way round. Rules (accumulate_grad.h, `accumulateGrad`):

    - no `.grad` yet: `.grad` takes the gradient's memory when nothing else can see it (see
      Note [Stealing the gradient]), and is a copy of it otherwise, so that `.grad` never
      shares memory with a gradient some other tensor or the caller also holds;
    - `.grad` exists and grad mode is off: it is added in place;
    - `.grad` exists and grad mode is on (`create_graph=True`): `.grad = .grad + new`, out of
      place, so the new `.grad` has a `grad_fn` and can itself be differentiated.

    Then the leaf's post-accumulate-grad hooks run.
    """

    __slots__ = ("variable",)
    _node_hooks = False   # set when a hook is registered on the node itself

    @property
    def _has_hooks(self):
        """The engine's "any hook to run?": the node's own, or its leaf's `register_hook`
        hooks, which live on the leaf and may be added at any time, so are looked up here."""
        return self._node_hooks or bool(self.variable._hooks)

    @_has_hooks.setter
    def _has_hooks(self, value):
        self._node_hooks = value

    def __init__(self, variable):
        # Node.__init__'s work, written out: one is made per leaf and backward
        self.next_edges = ()
        self._sequence_nr = MAX_SEQUENCE_NR
        self.variable = variable
        data = variable._data
        self._input_metadata = ((data.shape, data.dtype),)

    def refresh_metadata(self):
        """Record the leaf's shape and dtype (again after its `.data` was replaced)."""
        data = self.variable._data
        self._input_metadata = ((data.shape, data.dtype),)

    def num_inputs(self):
        return 1

    def _tensor_hooks(self):
        hooks = self.variable._hooks
        return {0: hooks} if hooks else None

    def apply(self, grad_outputs):
        if grad_outputs[0] is None:
            return []
        variable = self.variable
        old = variable._grad
        if old is None and not _state.enabled and _can_steal(grad_outputs, variable):
            variable._grad = Tensor._make(grad_outputs[0]._data)
        else:
            new_grad = grad_outputs[0]
            if old is None:
                if _state.enabled:  # torch's clone_obey_contract: an empty tensor copy_'d into
                    variable._grad = Tensor._make(np.empty_like(new_grad._data)).copy_(new_grad)
                else:
                    variable._grad = Tensor._make(new_grad._data.copy())
            elif not _state.enabled:
                old._data += new_grad._data  # in place, even if `.grad` has a grad_fn of its own
                old._version_counter.bump()
            else:
                variable._grad = old + new_grad
        hooks = variable._post_acc_hooks
        if hooks:
            for hook in tuple(hooks.values()):
                hook(variable)
        return []

    def name(self):
        return "AccumulateGrad"


def _reference_counts(buffer, index=0):
    """References to the gradient in `buffer[index]` and to its array, as counted from here."""
    gradient = buffer[index]
    return sys.getrefcount(gradient), sys.getrefcount(gradient._data)


def _sole_owner(buffer, index=0):
    """Is `buffer` all that holds the gradient in slot `index`, and that gradient all that
    holds its memory? (Note [Stealing the gradient])"""
    tensor_refs, array_refs = _reference_counts(buffer, index)
    data = buffer[index]._data
    return (tensor_refs <= _SOLE_OWNER[0] and array_refs <= _SOLE_OWNER[1]
            and data.base is None and data.flags.writeable)


def _can_steal(buffer, variable):
    """May `.grad` take this gradient's array instead of a copy? (Note [Stealing the gradient])"""
    return _sole_owner(buffer) and buffer[0]._data.strides == variable._data.strides


def _calibrate_sole_owner():
    """What `_reference_counts` reports for a gradient held by nothing but its buffer.

    Measured rather than assumed, so that the check stays right on Python versions that count
    references on the interpreter's stack differently.
    """
    tracer = sys.gettrace()   # a tracer reading frame locals would add references
    sys.settrace(None)
    try:
        return _reference_counts([Tensor._make(np.empty(1))])
    finally:
        sys.settrace(tracer)


_SOLE_OWNER = None   # set by hypergrad/tensor.py once Tensor exists (see tensor.py's tail)
