"""The backward pass, step by step: `explain_backward(output, path="backward.html")`.

It runs a real `output.backward()` with an observer on the engine's observer list
(`get_default_engine().observers`; see the Engine class in hypergrad/autograd/engine.py), turns
each thing the engine reports into a step, and writes one self-contained HTML page (every
script and style inline, nothing loaded from the network) that plays the steps back in the
engine's order over a picture of the graph.

The steps, one per engine event (a node's `release` only when it saved tensors):

    start       compute_dependencies has counted the edges into each node
    call        a node leaves the ready queue; the gradients in its InputBuffer arrive
    release     without retain_graph, the node's saved tensors are freed right after it ran
    return      the gradients the node computed, one per input of its forward operation
    accumulate  (AccumulateGrad's return) the leaf's .grad is written
    send        one gradient goes along one edge into the next node's InputBuffer, where it
                is added to what another path already put there; the next node's count of
                missing gradients drops, and at zero it joins the ready queue
    finish      the ready queue is empty; the leaves' .grad hold the result

Each step also carries `changes`, the node states it changes ("running", "done", "waiting":
has some of its gradients, "ready": in the ready queue, "freed": saved tensors released),
and `queue`, the ready queue after the step in the order the engine will pop it.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np

from ..autograd.engine import get_default_engine
from ..autograd.node import AccumulateGrad, GraphRoot
from ..tensor import Tensor
from . import _page
from .describe import MAX_VALUES, node_formula, saved_entries, summarize
from .graph import GraphvizNotFoundError, _names_by_id, build_graph, graphviz_available, to_graphviz
from .layout import graph_to_svg

__all__ = ["BackwardRecorder", "BackwardTrace", "explain_backward", "page_html"]


class BackwardTrace:
    """What `explain_backward` recorded: the graph, the steps, and the page it wrote.

    `nodes`: one dict per box of the picture (`id`, `name`, `kind`, `summary`, `formula`,
    `saved`, `dependencies`, ...). `steps`: one dict per step (see the module doc), with the
    `title`, `text` and `sections` the page shows. `arrays[i]`: the raw numpy gradients of
    step i, in the order its sections list them (not written to the page). `layout`:
    "graphviz" or "builtin", whichever drew the picture. `path`: the page, or None.
    """

    def __init__(self, nodes, steps, arrays, svg, layout, path=None):
        self.nodes = nodes
        self.steps = steps
        self.arrays = arrays
        self.svg = svg
        self.layout = layout
        self.path = path

    def to_json(self):
        """The data the page embeds: nodes and steps (JSON text)."""
        return json.dumps({"nodes": self.nodes, "steps": self.steps}, separators=(",", ":"))

    def __len__(self):
        return len(self.steps)

    def __repr__(self):
        return f"<BackwardTrace: {len(self.steps)} steps, {len(self.nodes)} boxes>"


# ----------------------------------------------------------------------------------------------
# Recording: an engine observer
# ----------------------------------------------------------------------------------------------
class BackwardRecorder:
    """An engine observer that records one backward pass as steps (see the module doc).

    Only the first backward it sees is recorded; a backward started inside it (from a hook,
    say) is not, since its events would interleave with the outer ones.
    """

    def __init__(self, params=None, modules=None, max_values=MAX_VALUES):
        self.params = params
        self.names = _names_by_id(params)
        self.modules = modules
        self.max_values = max_values
        self.graph = None
        self.graph_task = None
        self.nodes = []
        self.steps = []
        self.arrays = []
        self._depth = 0           # backward runs in progress (one inside another: > 1)
        self._active = False      # True while the recorded backward runs
        self._info = {}           # Node -> its dict in self.nodes
        self._buffers = {}        # (Node, slot) -> summary of what its InputBuffer slot holds
        self._queue = []          # (-sequence_nr, arrival, box id): the engine's ready queue
        self._arrivals = 0
        self._cursor = {}         # Node -> index of its next edge to send along
        self._grad_before = None

    # --- helpers ----------------------------------------------------------------------------
    def _recording(self):
        return self._active and self._depth == 1

    def _name(self, fn):
        info = self._info.get(fn)
        return info["label"] if info is not None else fn.name()

    def _summary(self, value):
        return summarize(value, self.max_values)

    def _add(self, kind, fn, title, text, sections=(), arrays=(), changes=(), **extra):
        step = {"kind": kind, "node": self.graph.ids.get(fn) if fn is not None else None,
                "title": title, "text": text, "sections": list(sections),
                "changes": [list(change) for change in changes],
                "queue": [item[2] for item in sorted(self._queue)]}
        step.update(extra)
        self.steps.append(step)
        self.arrays.append([None if a is None else np.array(a._data if isinstance(a, Tensor)
                                                             else a, copy=True)
                            for a in arrays])
        return step

    # --- the observer interface (see Engine in hypergrad/autograd/engine.py) ------------------
    def on_start(self, graph_root, graph_task):
        self._depth += 1
        if self._depth > 1 or self.graph is not None:
            return
        self._active = True
        self.graph_task = graph_task
        self.graph = build_graph(None, params=self.params, modules=self.modules,
                                 graph_root=graph_root, show_sequence_nr=True)
        self.names = self.graph.names             # with leaf0, leaf1, ... for unnamed leaves
        dependencies = graph_task.dependencies
        name_counts = {}
        for box in self.graph.nodes:
            name_counts[box.node.name()] = name_counts.get(box.node.name(), 0) + 1
        for box in self.graph.nodes:
            fn = box.node
            summary, formula = node_formula(fn)
            info = {"id": box.id, "name": fn.name(), "kind": box.kind,
                    "label": _label(fn, box, name_counts),
                    "lines": box.lines, "summary": summary, "formula": formula,
                    "sequence_nr": None if isinstance(fn, (GraphRoot, AccumulateGrad))
                    else fn.sequence_nr(),
                    "dependencies": dependencies.get(fn, 0),
                    "saved": saved_entries(fn, self.names)}
            if isinstance(fn, AccumulateGrad):
                info["leaf"] = box.lines[1]       # its name, or leaf0, leaf1, ...
                info["label"] = f"AccumulateGrad of {info['leaf']}"
            self.nodes.append(info)
            self._info[fn] = info
        self._queue = [(-graph_root.sequence_nr(), 0, self.graph.ids[graph_root])]
        counts = [{"label": info["label"], "text": str(info["dependencies"])}
                  for info in self.nodes if info["kind"] != "root"]
        self._add("start", None, "backward() starts: GraphRoot and compute_dependencies",
                  "backward() hangs the output's grad_fn under a GraphRoot node, then "
                  "compute_dependencies walks the graph once and counts, for every node, the "
                  "edges that point into it. A node may run only when that many gradients "
                  "have arrived in its InputBuffer. The ready queue starts with GraphRoot.",
                  sections=[{"heading": "Dependencies (edges into each node)",
                             "items": counts}],
                  changes=[(self.graph.ids[graph_root], "ready")])

    def on_call(self, fn, inputs):
        if not self._recording():
            return
        box = self.graph.ids[fn]
        self._queue = [item for item in self._queue if item[2] != box]
        self._cursor[fn] = 0
        info = self._info[fn]
        name = info["label"]
        if isinstance(fn, GraphRoot):
            self._add("call", fn, "The engine pops GraphRoot from the ready queue",
                      "GraphRoot has the largest sequence_nr, so it runs first. It holds "
                      "the root gradient(s) backward() was given: for loss.backward() "
                      "that is 1, the derivative of the loss with respect to itself.",
                      changes=[(box, "running")])
            return
        arriving = [{"label": f"slot {i}" + (" (the gradient of its forward output)"
                                             if len(inputs) == 1 else f" (output {i})"),
                     "summary": self._summary(grad)} for i, grad in enumerate(inputs)]
        sections = [{"heading": "Gradients arriving (its InputBuffer)", "items": arriving}]
        if isinstance(fn, AccumulateGrad):
            grad = fn.variable._grad
            self._grad_before = None if grad is None else np.array(grad._data, copy=True)
            text = (f"{name} has the largest possible sequence_nr, so it runs as soon as it is "
                    "ready: its leaf's gradient is complete.")
        else:
            text = (f"The ready queue hands {name} to the engine: it has the highest "
                    f"sequence_nr ({info['sequence_nr']}) among the ready nodes. "
                    "evaluate_function calls its backward with the gradients in its "
                    "InputBuffer, one per output of its forward operation.")
        sections.append({"heading": "What it computes", "text": info["summary"],
                         "code": info["formula"]})
        if info["saved"]:
            sections.append({"heading": "What it saved for backward",
                             "items": [_saved_item(entry) for entry in info["saved"]]})
        self._add("call", fn, f"{name} runs", text, sections=sections, arrays=inputs,
                  changes=[(box, "running")])

    def on_release(self, fn):
        if not self._recording() or not _saved_tensors(self._info[fn]):
            return
        info = self._info[fn]
        freed = [_saved_item(entry) for entry in info["saved"]
                 if entry["kind"] in ("input", "output")]
        self._add("release", fn, f"{info['label']} frees its saved tensors",
                  "The node has run and backward() was called without retain_graph, so "
                  "release_variables() drops what it saved, giving the memory back at once "
                  "(Note [Releasing saved tensors] in hypergrad/autograd/saved.py). A second "
                  "backward through this node would now raise \"Trying to backward through "
                  "the graph a second time\".",
                  sections=[{"heading": "Freed", "items": freed}],
                  changes=[(self.graph.ids[fn], "freed")])

    def on_return(self, fn, outputs):
        if not self._recording():
            return
        info = self._info[fn]
        box = self.graph.ids[fn]
        if isinstance(fn, AccumulateGrad):
            self._accumulate(fn, info, box)
            return
        items = []
        for index, ((next_fn, input_nr), grad) in enumerate(zip(fn.next_edges, outputs)):
            if next_fn is None:
                where = "needs no gradient: dropped"
            else:
                where = f"to {self._name(next_fn)}, slot {input_nr}"
            label = (f"root {index} {where}" if isinstance(fn, GraphRoot)
                     else f"input {index} {where}")
            items.append({"label": label, "summary": self._summary(grad)})
        count = len(outputs)
        if isinstance(fn, GraphRoot):
            title = f"GraphRoot returns the root gradient{'s' if count != 1 else ''}"
            text = "Its outputs go along its edges to the grad_fn of each output."
        else:
            title = f"{info['label']} returns {count} gradient{'s' if count != 1 else ''}"
            text = ("One gradient per input of the forward operation, in the order of "
                    "next_functions. validate_outputs has checked each against its input: "
                    "a broadcast gradient is summed back to the input's shape and cast to "
                    "its dtype.")
        self._add("return", fn, title, text,
                  sections=[{"heading": "Gradients it sends on", "items": items}],
                  arrays=outputs, changes=[(box, "done")])

    def _accumulate(self, fn, info, box):
        leaf = info["leaf"]
        after = fn.variable._grad
        before = self._grad_before
        items = [{"label": f"{leaf}.grad before", "summary": self._summary(before)},
                 {"label": f"{leaf}.grad now", "summary": self._summary(after)}]
        if before is None:
            text = (f"{leaf}.grad was None, so it becomes a copy of the arriving gradient "
                    "(a copy, so .grad never shares memory with a tensor someone else holds).")
        else:
            text = (f"{leaf}.grad already held a gradient (from an earlier backward), so the "
                    "arriving one is added to it: gradients accumulate until you zero them.")
        self._add("accumulate", fn, f"AccumulateGrad writes {leaf}.grad", text,
                  sections=[{"heading": ".grad", "items": items}],
                  arrays=[before, after], changes=[(box, "done")])

    def on_send(self, fn, next_fn, input_nr, grad, buffer):
        if not self._recording():
            return
        edges = fn.next_edges
        index = self._cursor.get(fn, 0)
        while index < len(edges) and tuple(edges[index]) != (next_fn, input_nr):
            index += 1
        self._cursor[fn] = index + 1
        remaining = self.graph_task.dependencies[next_fn]
        key = (next_fn, input_nr)
        before = self._buffers.get(key)
        after = self._summary(buffer[input_nr])
        self._buffers[key] = after
        sender, receiver = self._info[fn]["label"], self._name(next_fn)
        if grad is None:
            how = (f"{sender} has no gradient for this input (None): nothing is added to "
                   f"{receiver}'s InputBuffer, but the edge still counts as arrived.")
        elif before is None or before.get("none"):
            how = f"It is moved into slot {input_nr} of {receiver}'s InputBuffer."
        else:
            how = (f"Slot {input_nr} of {receiver}'s InputBuffer already holds a gradient "
                   "that came by another path, so the two are added (Note [InputBuffer]): "
                   "where paths meet, gradients sum.")
        target = self.graph.ids[next_fn]
        if remaining == 0:
            self._queue.append((-next_fn.sequence_nr(), self._arrivals, target))
            self._arrivals += 1
            state = (f"That was the last edge into {receiver}: all its gradients are here, so "
                     "it joins the ready queue.")
            change = "ready"
        else:
            state = (f"{receiver} still waits for {remaining} more "
                     f"gradient{'s' if remaining != 1 else ''}.")
            change = "waiting"
        items = [{"label": "gradient sent", "summary": self._summary(grad)},
                 {"label": f"slot {input_nr} before", "summary": before or {"empty": True}},
                 {"label": f"slot {input_nr} now", "summary": after}]
        self._add("send", fn, f"{sender} \u2192 {receiver}", f"{how} {state}",
                  sections=[{"heading": f"InputBuffer of {receiver}", "items": items}],
                  arrays=[grad, buffer[input_nr]], changes=[(target, change)],
                  edge=self.graph.edge_ids.get((fn, index)), target=target,
                  slot=input_nr, remaining=remaining)

    def on_finish(self, graph_task):
        self._depth -= 1
        if not self._active or self._depth != 0:
            return
        self._active = False
        leaves = [(info, fn) for fn, info in self._info.items() if isinstance(fn, AccumulateGrad)]
        items = [{"label": f"{info['leaf']}.grad", "summary": self._summary(fn.variable._grad)}
                 for info, fn in leaves]
        self._add("finish", None, "Backward is done",
                  "The ready queue is empty: every node that could run has run. The leaves' "
                  ".grad now hold the gradients, and the graph's saved tensors are freed "
                  "(unless retain_graph=True).",
                  sections=[{"heading": "Gradients of the leaves", "items": items}],
                  arrays=[fn.variable._grad for _, fn in leaves])


def _label(fn, box, name_counts):
    """How steps name a node: its class name, made unique by what it makes or its sequence_nr."""
    name = fn.name()
    made = [line for line in box.lines if line.startswith("makes ")]
    if made:
        return f"{name} ({made[0]})"
    if name_counts[name] > 1 and not isinstance(fn, AccumulateGrad):
        return f"{name} (sequence_nr {fn.sequence_nr()})"
    return name


def _saved_tensors(info):
    """True if the node saved tensors (not just numbers): then releasing them is a step."""
    return any(entry["kind"] in ("input", "output") for entry in info["saved"])


def _saved_item(entry):
    label = f"saved[{entry['index']}]: {entry['name'] or entry['kind']}"
    if entry["freed"]:
        return {"label": label, "text": "(already freed)"}
    return {"label": label, "summary": entry["summary"]}


# ----------------------------------------------------------------------------------------------
# explain_backward
# ----------------------------------------------------------------------------------------------
def explain_backward(output, path="backward.html", gradient=None, params=None, modules=None,
                     retain_graph=None, layout="auto", max_values=MAX_VALUES, title=None):
    """Run `output.backward(gradient)` while recording the engine, and write a page to `path`.

    The page steps through the backward pass in the engine's order (Next, Previous, Play;
    the arrow keys; Space to play): the graph with the current node highlighted, the
    gradients arriving at it, what it computes, the gradients it sends on, the InputBuffer
    sums where paths meet, AccumulateGrad writing `.grad`, and saved tensors being freed.
    Tensors with at most `max_values` elements are shown value by value, larger ones by shape
    and summary statistics.

    This is a real backward: afterwards the leaves' `.grad` hold the gradients, and (unless
    `retain_graph=True`) the graph's saved tensors are freed.

    Args:
        output: the tensor to differentiate (a scalar, or pass `gradient`).
        path: where to write the HTML page; None to write nothing.
        gradient, retain_graph: as for `Tensor.backward`.
        params: names for tensors, `{name: tensor}` (e.g. `dict(model.named_parameters())`).
        modules: a recording from `record_modules(model)`, to frame nodes by module (drawn
            when Graphviz draws the picture).
        layout: "graphviz" (needs the Graphviz program), "builtin" (the small layout in
            layout.py), or "auto": Graphviz when it is installed, else the built-in one.
        title: the page's title.

    Returns a BackwardTrace (its `steps` are what the page shows).
    """
    if not isinstance(output, Tensor):
        raise TypeError(f"explain_backward: expected a Tensor, got {type(output).__name__}")
    if layout not in ("auto", "graphviz", "builtin"):
        raise ValueError(f"layout must be 'auto', 'graphviz' or 'builtin', not {layout!r}")
    if layout == "graphviz" and not graphviz_available():
        from .graph import GRAPHVIZ_INSTALL_HINT

        raise GraphvizNotFoundError("layout='graphviz' needs the Graphviz program `dot`, "
                                    f"which is not on PATH. {GRAPHVIZ_INSTALL_HINT}")
    recorder = BackwardRecorder(params=params, modules=modules, max_values=max_values)
    engine = get_default_engine()
    engine.observers.append(recorder)
    try:
        output.backward(gradient, retain_graph=retain_graph)
    finally:
        engine.observers.remove(recorder)
    if recorder.graph is None:
        raise RuntimeError("explain_backward: the engine reported no backward pass")
    use_graphviz = layout == "graphviz" or (layout == "auto" and graphviz_available())
    if use_graphviz:
        svg = _clean_svg(to_graphviz(recorder.graph).pipe(format="svg").decode("utf-8"))
    else:
        svg = graph_to_svg(recorder.graph)
    trace = BackwardTrace(recorder.nodes, recorder.steps, recorder.arrays, svg,
                          "graphviz" if use_graphviz else "builtin")
    if path is not None:
        trace.path = Path(path)
        trace.path.write_text(page_html(trace, title), encoding="utf-8")
    return trace


def _clean_svg(svg):
    """Graphviz's SVG without the XML prolog, doctype and comments, to put inside HTML."""
    start = svg.find("<svg")
    svg = svg[start:]
    while "<!--" in svg:
        begin = svg.index("<!--")
        end = svg.index("-->", begin) + 3
        svg = svg[:begin] + svg[end:]
    return svg


def page_html(trace, title=None):
    """The self-contained HTML page of a trace."""
    title = title or "HyperGrad: the backward pass, step by step"
    data = trace.to_json().replace("</", "<\\/")
    return (_page.TEMPLATE
            .replace("%%TITLE%%", html.escape(title))
            .replace("%%STYLE%%", _page.STYLE)
            .replace("%%SCRIPT%%", _page.SCRIPT)
            .replace("%%LAYOUT%%", trace.layout)
            .replace("%%SVG%%", trace.svg)
            .replace("%%DATA%%", data))

