"""The autograd engine: runs the backward graph from the roots to the leaves.

Mirrors torch/csrc/autograd/engine.cpp (single-threaded, CPU). Read this file next to it: the
function names are the same.

`Engine.execute(roots, grads, keep_graph, create_graph, accumulate_grad, outputs)`:

1. **GraphRoot.** The roots' gradient edges hang under one GraphRoot node, whose output is the
   root gradients.
2. **compute_dependencies.** Walk the graph once from the root (an explicit stack, no
   recursion) and count, for every node, how many edges point into it.
3. **init_to_execute** (only for `autograd.grad` and `backward(inputs=...)`). Mark which nodes
   must run: those from which a requested input can be reached. `grad()` *captures* the
   gradient arriving at each requested input instead of writing `.grad`.
4. **The loop.** Take the ready node with the highest `sequence_nr` from the ready queue (a
   heap), `evaluate_function` it: `call_function` runs its hooks and its backward,
   `validate_outputs` fixes shapes and dtypes, then each gradient is added into the
   InputBuffer of the node its edge points to; a node whose dependency count reaches zero has
   all its gradients and becomes ready.

Note [Why count dependencies instead of sorting the graph]
    A node may run only when every gradient for it has arrived, that is, when every node that
    sends to it has run. Counting incoming edges once and decrementing as gradients arrive
    gives exactly that, in one pass, without building a topological order in advance; the
    ready queue then chooses among the runnable nodes (highest sequence_nr first, which is the
    reverse of creation order, so memory is freed in the order it was allocated).

Note [InputBuffer]
    Where two paths meet (`y = x * x`, `z = a + a`) a node receives several gradients for the
    same slot. The InputBuffer adds them: the first is moved in; a later one is added into the
    buffer's gradient in place when nothing but the buffer holds that gradient (the same
    reference-count test as node.py's Note [Stealing the gradient]; torch's
    `InputBuffer::accumulate` asks the same of its tensors), and out of place otherwise, so
    never into a tensor some other node, hook or the caller still holds.

Note [Grad mode inside backward]
    The whole backward runs with grad mode set to `create_graph`. Backward formulas are
    written in HyperGrad ops, so with `create_graph=True` they record a graph of their own:
    that graph is what a second `backward` differentiates.
"""

from __future__ import annotations

import heapq

import numpy as np

from .anomaly import _anomaly, warn_forward_trace
from .grad_mode import _state
from .node import AccumulateGrad, GraphRoot, _sole_owner

__all__ = ["Engine", "GraphTask", "get_default_engine"]

Tensor = None  # hypergrad/tensor.py sets this once the class exists (it imports us first)


class GraphTask:
    """The state of one backward run (torch's GraphTask): counts, buffers, captures."""

    __slots__ = ("keep_graph", "create_graph", "dependencies", "not_ready", "exec_info",
                 "captured_vars", "callbacks")

    def __init__(self, keep_graph, create_graph):
        self.keep_graph = keep_graph
        self.create_graph = create_graph
        self.dependencies = {}
        self.not_ready = {}          # node -> InputBuffer (a list, one slot per gradient input)
        self.exec_info = None        # node -> _ExecInfo when only part of the graph must run
        self.captured_vars = []
        self.callbacks = []


class _ExecInfo:
    """Whether a node must run (`needed`) and which of its input gradients to capture."""

    __slots__ = ("needed", "captures")

    def __init__(self):
        self.needed = False
        self.captures = None         # list of (input_nr, output_index)

    def should_execute(self):
        return self.needed or self.captures is not None


class Engine:
    """Executes backward graphs. One instance serves the process (`get_default_engine()`).

    `observers` is a list of objects notified of each step (used by `hypergrad.viz` to record
    a backward pass); empty by default, so the loop pays one falsy check per node.
    """

    def __init__(self):
        self.observers = []

    # ------------------------------------------------------------------------------------------
    def execute(self, roots, grads, keep_graph, create_graph, accumulate_grad, outputs=None):
        """Run backward from `roots` (Edges) seeded with `grads`; return captured gradients.

        `outputs` (Edges) are the inputs of `autograd.grad` / `backward(inputs=...)`: with
        `accumulate_grad=False` their gradients are captured and returned; with True, only the
        nodes needed to reach them run.
        """
        graph_task = GraphTask(keep_graph, create_graph)
        graph_root = GraphRoot(roots, grads)
        compute_dependencies(graph_root, graph_task)
        if outputs is not None:
            init_to_execute(graph_root, graph_task, outputs, accumulate_grad)
        previous_mode = _state.enabled
        _state.enabled = create_graph
        try:
            for observer in self.observers:
                observer.on_start(graph_root, graph_task)
            self._run(graph_root, graph_task)
            for callback in graph_task.callbacks:
                callback()
        finally:
            _state.enabled = previous_mode
            for observer in self.observers:
                observer.on_finish(graph_task)
        return graph_task.captured_vars

    def _run(self, graph_root, graph_task):
        """The ready-queue loop (torch's `thread_main` and the tail of `evaluate_function`)."""
        ready_queue = []
        # A node that became ready while the queue was empty, and alone: it is the one the
        # queue would give next, so it runs without a trip through the heap (in a chain of
        # ops that is every node). Any other node that becomes ready pushes it first.
        held = (graph_root, [])
        tie_breaker = 0
        not_ready = graph_task.not_ready
        dependencies = graph_task.dependencies
        exec_info = graph_task.exec_info
        observers = self.observers
        keep_graph = graph_task.keep_graph
        # The common case: the whole graph runs, nobody observes, anomaly mode is off (as it
        # was when backward began: it is read once here). A node without hooks then
        # needs exactly what evaluate_function would do for it, written out here: apply,
        # release_variables, and validate_outputs, which checks each gradient as it is sent
        # below (`checked` is False) rather than in a loop of its own (this runs once per node).
        whole_graph = exec_info is None and not observers and not _anomaly["enabled"]
        heappush, heappop = heapq.heappush, heapq.heappop
        while True:
            if held is not None:
                fn, inputs = held
                held = None
            elif ready_queue:
                _, _, fn, inputs = heappop(ready_queue)
            else:
                break
            if whole_graph and not fn._has_hooks:
                outputs = fn.apply(inputs)
                if len(outputs) != len(fn.next_edges):
                    validate_outputs(fn, outputs)   # raises torch's error for the count
                checked = False
            else:
                outputs = self.evaluate_function(graph_task, fn, inputs)
                if outputs is None:
                    continue
                checked = True
            for (next_fn, input_nr), grad in zip(fn.next_edges, outputs):
                if next_fn is None:
                    continue
                if not checked and grad is not None:   # validate_outputs, one gradient
                    shape, dtype = next_fn._input_metadata[input_nr]
                    data = grad._data
                    if data.shape != shape or (data.dtype is not dtype and data.dtype != dtype):
                        grad = _fixed_gradient(fn, outputs, next_fn, input_nr, grad)
                # Is the next node ready? It is when this was the last edge into it.
                remaining = dependencies[next_fn] - 1
                dependencies[next_fn] = remaining
                if exec_info is not None:
                    info = exec_info.get(next_fn)
                    if info is None or not info.should_execute():
                        continue
                # Its InputBuffer: kept in `not_ready` until every gradient has arrived.
                if remaining == 0:
                    buffer = not_ready.pop(next_fn, None)
                else:
                    buffer = not_ready.get(next_fn)
                if buffer is None:
                    # one slot per gradient the node receives: its num_inputs()
                    buffer = [None] * len(next_fn._input_metadata)
                    if remaining:
                        not_ready[next_fn] = buffer
                if grad is not None:
                    if buffer[input_nr] is None:
                        buffer[input_nr] = grad      # the first gradient is moved in
                    else:
                        input_buffer_add(buffer, input_nr, grad)
                if observers:
                    for observer in observers:
                        observer.on_send(fn, next_fn, input_nr, grad, buffer)
                if remaining == 0:
                    if held is None and not ready_queue:
                        held = (next_fn, buffer)
                        continue
                    if held is not None:
                        heappush(ready_queue, (-held[0]._sequence_nr, tie_breaker, *held))
                        tie_breaker += 1
                        held = None
                    heappush(ready_queue, (-next_fn._sequence_nr, tie_breaker, next_fn, buffer))
                    tie_breaker += 1
            if not checked and not keep_graph:   # after validation, as torch frees
                fn.release_variables()
            # Hold no gradient past its hand-off: the buffers are then their only owners,
            # which lets AccumulateGrad take a gradient without copying it (node.py's
            # Note [Stealing the gradient]).
            outputs = grad = data = None

    def evaluate_function(self, graph_task, fn, inputs):
        """Capture what `grad()` asked for, run the node, release its saved tensors."""
        exec_info = graph_task.exec_info
        if exec_info is not None:
            info = exec_info[fn] if fn in exec_info else None
            if info is not None and info.captures is not None:
                if not info.needed:
                    inputs = call_tensor_pre_hooks(fn, inputs)
                for input_nr, output_index in info.captures:
                    graph_task.captured_vars[output_index] = inputs[input_nr]
            if info is None or not info.needed:
                return None
        observers = self.observers
        if observers:
            for observer in observers:
                observer.on_call(fn, inputs)
        try:
            outputs = call_function(graph_task, fn, inputs)
        except BaseException:
            if _anomaly["enabled"]:
                warn_forward_trace(fn)
            raise
        if not graph_task.keep_graph:
            fn.release_variables()
            if observers:
                for observer in observers:
                    observer.on_release(fn)
        if _anomaly["enabled"] and _anomaly["check_nan"]:
            try:
                check_nan(fn, outputs)
            except RuntimeError:
                warn_forward_trace(fn)
                raise
        if observers:
            for observer in observers:
                observer.on_return(fn, outputs)
        return outputs


def compute_dependencies(graph_root, graph_task):
    """Count the edges into every node reachable from the root (an explicit stack, no recursion)."""
    dependencies = graph_task.dependencies
    stack = [graph_root]
    while stack:
        fn = stack.pop()
        for next_fn, _ in fn.next_edges:
            if next_fn is None:
                continue
            if next_fn in dependencies:
                dependencies[next_fn] += 1
            else:
                dependencies[next_fn] = 1
                stack.append(next_fn)


def init_to_execute(graph_root, graph_task, outputs, accumulate_grad):
    """Mark the nodes that lead to a requested input (torch's `GraphTask::init_to_execute`).

    A node must run if any node it sends gradients to must run. This is a post-order walk done
    with an explicit stack of (node, index of the next child to visit) frames.
    """
    exec_info = graph_task.exec_info = {}
    for output_index, (fn, input_nr) in enumerate(outputs):
        info = exec_info.get(fn)
        if info is None:
            info = exec_info[fn] = _ExecInfo()
        if accumulate_grad:
            info.needed = True
        else:
            if info.captures is None:
                info.captures = []
            info.captures.append((input_nr, output_index))
    graph_task.captured_vars = [None] * (0 if accumulate_grad else len(outputs))

    stack = [(graph_root, 0)]
    visited = {graph_root}
    while stack:
        fn, child = stack[-1]
        edges = fn.next_edges
        while child < len(edges):
            next_fn = edges[child][0]
            child += 1
            if next_fn is not None and next_fn not in visited:
                visited.add(next_fn)
                stack[-1] = (fn, child)
                stack.append((next_fn, 0))
                break
        else:
            stack.pop()
            for next_fn, _ in edges:
                info = exec_info.get(next_fn)
                if info is not None and info.should_execute():
                    own = exec_info.get(fn)
                    if own is None:
                        own = exec_info[fn] = _ExecInfo()
                    own.needed = True
                    break


def call_tensor_pre_hooks(fn, inputs):
    """Run hooks registered with `tensor.register_hook`, then the retains-grad hooks."""
    hooks = fn._tensor_hooks()
    if hooks:
        for output_nr, by_id in hooks.items():
            for hook in tuple(by_id.values()):
                result = hook(inputs[output_nr])
                if result is not None:
                    _check_hook_value(hook, inputs[output_nr], result)
                    inputs[output_nr] = result
    retains = fn._retains_grad_hooks
    if retains:
        for output_nr, hook in tuple(retains.items()):
            hook(inputs[output_nr])
    return inputs


def call_function(graph_task, fn, inputs):
    """Hooks, the node's backward, validation (torch's `call_function`).

    `fn._has_hooks` is set when any hook is registered on the node (AccumulateGrad also
    looks at its leaf, where that leaf's tensor hooks live), so a node without hooks goes
    straight to `apply`.
    """
    has_hooks = fn._has_hooks
    if has_hooks:
        inputs = call_tensor_pre_hooks(fn, inputs)
        inputs = call_pre_hooks(fn, inputs)
    outputs = fn.apply(inputs)
    validate_outputs(fn, outputs)
    if has_hooks:
        outputs = call_post_hooks(fn, outputs, inputs)
    return outputs


def call_pre_hooks(fn, inputs):
    """`hook(grad_outputs)` for each pre-hook; a hook may return replacements."""
    if fn._pre_hooks:
        for hook in tuple(fn._pre_hooks.values()):
            result = hook(tuple(inputs))
            if result is not None:
                _check_hook_values(hook, inputs, result)
                inputs = list(result)
    return inputs


def call_post_hooks(fn, outputs, inputs):
    """`hook(grad_inputs, grad_outputs)` for each post-hook; it may return replacements."""
    if fn._post_hooks:
        for hook in tuple(fn._post_hooks.values()):
            result = hook(tuple(outputs), tuple(inputs))
            if result is not None:
                _check_hook_values(hook, outputs, result)
                outputs = list(result)
    return outputs


def _check_hook_values(hook, originals, results):
    """A node hook must return one gradient (or None) per gradient it was given."""
    if not isinstance(results, (tuple, list)):
        raise TypeError(f"expected tuple, but hook returned '{type(results).__name__}'")
    if len(results) != len(originals):
        raise RuntimeError(f"hook '{_hook_name(hook)}' has returned an incorrect number of "
                           f"values (got {len(results)}, but expected {len(originals)})")
    for original, result in zip(originals, results):
        if result is not None:
            _check_hook_value(hook, original, result)


def _check_hook_value(hook, original, result):
    """A hook may replace a gradient, but not by one of another shape or dtype (torch's
    `check_single_result`)."""
    if not isinstance(result, Tensor):
        raise TypeError(f"expected Variable, but hook returned '{type(result).__name__}'")
    if original is None:
        return
    if result._data.shape != original._data.shape:
        raise RuntimeError(f"hook '{_hook_name(hook)}' has changed the size of value")
    if result._data.dtype != original._data.dtype:
        raise RuntimeError(
            f"hook '{_hook_name(hook)}' has changed the type of value (was "
            f"hypergrad.{_dtype_of(original._data.dtype)._tensor_type} got "
            f"hypergrad.{_dtype_of(result._data.dtype)._tensor_type})")


def _hook_name(hook):
    return getattr(hook, "__name__", repr(hook))


def validate_outputs(fn, grads):
    """Check each gradient against the input it is for: count, shape (summing a broadcast
    gradient down to the input's shape) and dtype. Fixes are made in the list itself."""
    edges = fn.next_edges
    if len(grads) != len(edges):
        raise RuntimeError(f"Function {fn.name()} returned an invalid number of gradients - "
                           f"expected {len(edges)}, but got {len(grads)}")
    for i, grad in enumerate(grads):
        next_fn, input_nr = edges[i]
        if next_fn is None or grad is None:
            continue
        grads[i] = _conformed(fn, i, grad, *next_fn._input_metadata[input_nr])


def _fixed_gradient(fn, grads, next_fn, input_nr, grad):
    """validate_outputs for the one gradient `grad`, sent along edge (next_fn, input_nr), whose
    shape or dtype differs from its input's: the summed or cast gradient, or torch's error.

    Its index (for the error message) is the first at which this edge carries this gradient:
    an earlier identical pair would have failed first.
    """
    shape, dtype = next_fn._input_metadata[input_nr]
    data = grad._data
    if data.dtype == dtype and _is_expandable_to(shape, data.shape):
        return sum_to(grad, shape)   # a broadcast gradient (a bias's): summed, no error to word
    for index, (edge, other) in enumerate(zip(fn.next_edges, grads)):
        if other is grad and edge[0] is next_fn and edge[1] == input_nr:
            break
    return _conformed(fn, index, grad, shape, dtype)


def _conformed(fn, index, grad, shape, dtype):
    """Gradient `index` of `fn` in its input's shape (summed down) and dtype, or torch's error."""
    data = grad._data
    if data.shape != shape:
        if not _is_expandable_to(shape, data.shape):
            raise RuntimeError(
                f"Function {fn.name()} returned an invalid gradient at index {index} - got "
                f"{list(data.shape)} but expected shape compatible with {list(shape)}")
        grad = sum_to(grad, shape)
    if grad._data.dtype != dtype:
        grad = grad.to(_dtype_of(dtype))
    return grad


def _is_expandable_to(shape, desired):
    """True if a tensor of `shape` broadcasts to `desired` (torch's `is_expandable_to`)."""
    if len(shape) > len(desired):
        return False
    for size, target in zip(reversed(shape), reversed(desired)):
        if size != target and size != 1:
            return False
    return True


def sum_to(grad, shape):
    """Sum `grad` over the dimensions that broadcasting added to reach it from `shape`."""
    if _state.enabled:
        return grad.sum_to_size(shape)
    data = grad._data
    lead = data.ndim - len(shape)
    kept = tuple(lead + i for i, size in enumerate(shape)
                 if size == 1 and data.shape[lead + i] != 1)
    if not kept:   # only leading dims to remove (a bias): the sum has the shape, and owns its
        return Tensor._make(np.asarray(np.add.reduce(data, axis=tuple(range(lead))), order="C"))
    data = np.add.reduce(data, axis=tuple(range(lead)) + kept, keepdims=True)
    return Tensor._make(np.ascontiguousarray(data).reshape(shape))


def input_buffer_add(buffer, index, grad):
    """Add `grad` into slot `index` of an InputBuffer (see Note [InputBuffer])."""
    old = buffer[index]
    if old is None:
        buffer[index] = grad
    elif _state.enabled:
        buffer[index] = old + grad
    else:
        old = None   # the ownership test must count the buffer's reference alone
        if _sole_owner(buffer, index):
            total = buffer[index]._data
            np.add(total, grad._data, out=total)
        else:
            # np.asarray: the sum of two 0-dim arrays is a numpy scalar, not an array
            buffer[index] = Tensor._make(np.asarray(buffer[index]._data + grad._data))


def check_nan(fn, outputs):
    """Anomaly mode: a NaN gradient is an error naming the node that produced it.

    torch runs no GraphRoot for a single root (the root gradient goes straight to the root's
    node), so a NaN the caller passed in is only reported when there are several roots.
    """
    if type(fn) is GraphRoot and len(fn.next_edges) == 1:
        return
    for i, grad in enumerate(outputs):
        if grad is not None and np.isnan(grad._data).any():
            raise RuntimeError(f"Function '{fn.name()}' returned nan values in its {i}th output.")


def _dtype_of(np_dtype):
    from ..dtypes import from_numpy_dtype

    return from_numpy_dtype(np_dtype)


_default_engine = Engine()


def get_default_engine():
    """The engine `backward()` and `autograd.grad()` use."""
    return _default_engine
