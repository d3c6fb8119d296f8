"""Which `nn.Module` made which Node: so a model's graph can be drawn in readable groups.

    with hypergrad.viz.record_modules(model) as modules:
        loss = loss_fn(model(x), y)
    hypergrad.viz.draw_graph(loss, params=dict(model.named_parameters()), modules=modules)

Note [Grouping nodes by sequence_nr ranges]
    Every Node takes the next number of one counter when it is created (Note [sequence_nr] in
    hypergrad/autograd/node.py). So a module's forward pre-hook that draws a number `start`
    from that counter, and its forward hook that draws `end` after the forward returns, bracket
    exactly the nodes that forward created: those with `start < sequence_nr < end`. Calls nest
    the way the forwards nest, so a node belongs to the innermost call whose range holds it.
    Drawing a number leaves a gap in the numbering; only the order of sequence numbers matters
    to the engine, so the gap changes nothing.
"""

from __future__ import annotations

from ..autograd.node import next_sequence_nr

__all__ = ["ModuleCall", "ModuleRecording", "record_modules"]


class ModuleCall:
    """One call of a module's forward: its path in the model, its class, its sequence_nr range."""

    __slots__ = ("depth", "end", "module", "parent", "path", "start")

    def __init__(self, path, module, start, parent):
        self.path = path
        self.module = module
        self.start = start
        self.end = None            # set when the forward returns
        self.parent = parent       # the enclosing ModuleCall, or None
        self.depth = 0 if parent is None else parent.depth + 1

    @property
    def label(self):
        """`fc1: Linear`, or just the class name for the outermost module."""
        kind = type(self.module).__name__
        return f"{self.path}: {kind}" if self.path else kind

    def holds(self, sequence_nr):
        end = self.end if self.end is not None else float("inf")
        return self.start < sequence_nr < end

    def __repr__(self):
        return f"ModuleCall({self.label!r}, start={self.start}, end={self.end})"


class ModuleRecording:
    """The module calls seen while recording, in the order their forwards started."""

    def __init__(self):
        self.calls = []
        self._open = []            # the calls whose forward is running, innermost last

    def call_of(self, sequence_nr):
        """The innermost call whose forward created the node numbered `sequence_nr`, or None."""
        found = None
        for call in self.calls:
            if call.holds(sequence_nr) and (found is None or call.depth > found.depth):
                found = call
        return found

    def owner_of(self, tensor):
        """The first call of the module that holds `tensor` as its own parameter, or None."""
        for call in self.calls:
            for parameter in call.module.parameters(recurse=False):
                if parameter is tensor:
                    return call
        return None

    # --- the hooks ------------------------------------------------------------------------
    def _pre_hook(self, path):
        def pre_hook(module, args):
            parent = self._open[-1] if self._open else None
            call = ModuleCall(path, module, next_sequence_nr(), parent)
            self.calls.append(call)
            self._open.append(call)

        return pre_hook

    def _post_hook(self, module, args, output):
        # Close the innermost open call of this module (forwards nest, so it is the last one).
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index].module is module:
                self._open.pop(index).end = next_sequence_nr()
                break


class record_modules:
    """Context manager: record which module's forward created which nodes.

    `record_modules(*modules)` hooks every module inside each given module (its
    `named_modules()`); paths are relative to the module given (`"0"`, `"encoder.fc1"`). The
    hooks are removed when the block ends, even if it raises. Pass the recording to
    `draw_graph(..., modules=recording)` or `explain_backward(..., modules=recording)`.
    """

    def __init__(self, *modules):
        if not modules:
            raise TypeError("record_modules() needs at least one nn.Module")
        self.modules = modules
        self.recording = ModuleRecording()
        self._handles = []

    def __enter__(self):
        try:
            for root in self.modules:
                for path, module in root.named_modules():
                    self._handles.append(
                        module.register_forward_pre_hook(self.recording._pre_hook(path)))
                    self._handles.append(module.register_forward_hook(
                        self.recording._post_hook, always_call=True))
        except BaseException:
            self._remove()
            raise
        return self.recording

    def __exit__(self, *exc):
        self._remove()

    def _remove(self):
        for handle in self._handles:
            handle.remove()
        self._handles = []
