"""Drawing the backward graph: `draw_graph(output)` returns a graphviz picture of it.

What the picture shows, read top to bottom (the direction gradients flow):

- a green box per output you passed, with its shape and dtype;
- one grey box per Node, labelled with its class name (`MulBackward0`), in the order
  `grad_fn.next_functions` walks them; an arrow per edge, labelled with the number of the
  forward input that gradient is for (the edge's index in `next_functions`), and, when the
  receiving node takes several gradients, `-> slot` with the slot it lands in (`input_nr`);
- one blue box per leaf that requires grad: its AccumulateGrad node, named from `params`,
  with the leaf's shape and dtype;
- on request, an orange box per saved tensor (`show_saved`) and the ctx attributes of each
  node (`show_attrs`);
- with `modules=` (from `record_modules`), a frame around the nodes each module's forward
  created (see Note [Grouping nodes by sequence_nr ranges] in modules.py).

The picture is built in two steps, so `explain_backward` can reuse the first:
`build_graph` collects a `BackwardGraph` (plain boxes and arrows, with ids), and `to_graphviz`
turns it into a `graphviz.Digraph`. The DOT text (`graph.source`) needs only the `graphviz`
Python package; rendering SVG or PNG runs the Graphviz program `dot`.
"""

from __future__ import annotations

import html
import shutil
from collections import deque
from pathlib import Path

from ..autograd.node import AccumulateGrad, GraphRoot
from ..tensor import Tensor
from .describe import dtype_text, node_attributes, saved_entries, shape_text

__all__ = [
    "GRAPHVIZ_INSTALL_HINT",
    "BackwardGraph",
    "GraphvizNotFoundError",
    "build_graph",
    "draw_graph",
    "graphviz_available",
    "render_graph",
    "to_graphviz",
]

GRAPHVIZ_INSTALL_HINT = (
    "Install the Graphviz program: `apt-get install graphviz` (Debian, Ubuntu), "
    "`dnf install graphviz` (Fedora), `brew install graphviz` (macOS), "
    "`conda install -c conda-forge graphviz`, or see https://graphviz.org/download/. "
    "The DOT text (`graph.source`) needs nothing installed.")

# Colours, shared with the built-in layout (layout.py) so both pictures read the same.
STYLES = {
    "function": {"fillcolor": "#e8e8e8", "color": "#555555"},
    "leaf": {"fillcolor": "#cfe4ff", "color": "#2f6db5"},
    "output": {"fillcolor": "#c9efc4", "color": "#3f8f3a"},
    "root": {"fillcolor": "#ffffff", "color": "#555555", "style": "rounded,dashed"},
    "saved": {"fillcolor": "#ffe2bf", "color": "#c77a1a"},
}
CLUSTER_COLORS = ("#f4f1ff", "#eef7ee", "#fff6e6", "#eef5fb")


class GraphvizNotFoundError(RuntimeError):
    """Rendering needs the Graphviz program `dot`, and it is not on PATH."""


def graphviz_available():
    """True if the Graphviz program `dot` (needed for SVG and PNG, not for DOT text) is on PATH."""
    return shutil.which("dot") is not None


# ----------------------------------------------------------------------------------------------
# The graph as plain boxes and arrows
# ----------------------------------------------------------------------------------------------
class GraphNode:
    """A box: `kind` is "function", "leaf", "output", "root" or "saved"."""

    __slots__ = ("cluster", "id", "kind", "lines", "node")

    def __init__(self, id, kind, lines, node=None, cluster=None):
        self.id = id
        self.kind = kind
        self.lines = lines          # the label, line by line (the first is the title)
        self.node = node            # the autograd Node, for function, leaf and root boxes
        self.cluster = cluster      # index into BackwardGraph.clusters, or None


class GraphEdge:
    """An arrow from box `tail` to box `head`; `kind` is "grad", "output" or "saved"."""

    __slots__ = ("head", "id", "kind", "label", "tail")

    def __init__(self, id, tail, head, label, kind):
        self.id = id
        self.tail = tail
        self.head = head
        self.label = label
        self.kind = kind


class GraphCluster:
    """A frame around the nodes one module call created."""

    __slots__ = ("depth", "id", "label", "parent")

    def __init__(self, id, label, parent, depth):
        self.id = id
        self.label = label
        self.parent = parent        # index of the enclosing cluster, or None
        self.depth = depth


class BackwardGraph:
    """The boxes, arrows and frames of one picture, and where each autograd Node went.

    `ids[node]` is the box id of an autograd Node; `edge_ids[(node, i)]` the arrow id of its
    i-th next edge; `names` maps `id(tensor)` to the name the picture gives it.
    """

    def __init__(self):
        self.nodes = []
        self.edges = []
        self.clusters = []
        self.ids = {}
        self.edge_ids = {}
        self.names = {}

    def add_node(self, kind, lines, node=None):
        box = GraphNode(f"n{len(self.nodes)}", kind, lines, node)
        self.nodes.append(box)
        if node is not None:
            self.ids[node] = box.id
        return box

    def add_edge(self, tail, head, label, kind):
        edge = GraphEdge(f"e{len(self.edges)}", tail, head, label, kind)
        self.edges.append(edge)
        return edge


def _as_named_outputs(output):
    """`[(name or None, tensor)]` from a tensor, a sequence of tensors or a {name: tensor} dict."""
    if isinstance(output, Tensor):
        return [(None, output)]
    if isinstance(output, dict):
        items = list(output.items())
    elif isinstance(output, (list, tuple)):
        items = [(None, value) for value in output]
    else:
        raise TypeError(f"draw_graph: expected a Tensor, a sequence of Tensors or a dict of "
                        f"Tensors, got {type(output).__name__}")
    for name, value in items:
        if not isinstance(value, Tensor):
            raise TypeError(f"draw_graph: expected Tensors, got {type(value).__name__}"
                            + (f" for {name!r}" if name is not None else ""))
    if not items:
        raise ValueError("draw_graph: no output tensors given")
    return items


def _names_by_id(params):
    """`{id(tensor): name}` from `params`, a {name: tensor} dict (e.g. named_parameters())."""
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise TypeError("params must be a dict {name: tensor}, for example "
                        "dict(model.named_parameters()) or dict(x=x, w=w)")
    names = {}
    for name, tensor in params.items():
        if not isinstance(tensor, Tensor):
            raise TypeError(f"params[{name!r}] is a {type(tensor).__name__}, not a Tensor")
        names.setdefault(id(tensor), str(name))
    return names


def _gradient_edge(tensor):
    """Where a gradient for `tensor` goes: `(grad_fn, output_nr)`, its AccumulateGrad, or None."""
    if tensor.grad_fn is not None:
        return (tensor.grad_fn, tensor.output_nr)
    if tensor.requires_grad:
        return (tensor._grad_accumulator_node(), 0)
    return None


def build_graph(output, params=None, show_saved=False, show_attrs=False, modules=None,
                graph_root=None, show_sequence_nr=False):
    """Collect the boxes and arrows of the backward graph of `output` (see the module doc).

    With `graph_root` (the engine's GraphRoot, as `explain_backward` has it), the picture
    starts at that node instead of at output boxes. `show_sequence_nr` adds each node's
    sequence_nr to its box (the number the engine's ready queue orders by).
    """
    names = _names_by_id(params)
    unnamed = []    # leaves not in params, named leaf0, leaf1, ... in the order they are reached
    produced = {}   # (grad_fn, output_nr) -> name, for named tensors that are not leaves
    for name, tensor in (params or {}).items():
        if tensor.grad_fn is not None:
            produced.setdefault((tensor.grad_fn, tensor.output_nr), str(name))
    graph = BackwardGraph()
    graph.names = names
    pending = deque()

    def box_for(fn):
        if fn not in graph.ids:
            graph.add_node(*_describe_node(fn, names, unnamed, produced, show_attrs,
                                           show_sequence_nr), node=fn)
            pending.append(fn)
        return graph.ids[fn]

    def slot_label(fn, input_nr):
        return f"-> {input_nr}" if fn.num_inputs() > 1 else ""

    if graph_root is not None:
        box_for(graph_root)
    else:
        for name, tensor in _as_named_outputs(output):
            edge = _gradient_edge(tensor)
            lines = [name or "output", f"{shape_text(tensor.shape)} {dtype_text(tensor._data.dtype)}"]
            if edge is None:
                lines.append("(needs no gradient: no graph)")
            box = graph.add_node("output", lines)
            if edge is not None:
                graph.add_edge(box.id, box_for(edge[0]), slot_label(*edge), "output")

    # Walk the graph breadth first (an explicit queue, no recursion): boxes are numbered in
    # the order next_functions reaches them.
    while pending:
        fn = pending.popleft()
        tail = graph.ids[fn]
        for index, (next_fn, input_nr) in enumerate(fn.next_edges):
            if next_fn is None:
                continue
            head = box_for(next_fn)
            label = str(index) + (" " + slot_label(next_fn, input_nr)
                                  if next_fn.num_inputs() > 1 else "")
            graph.edge_ids[(fn, index)] = graph.add_edge(tail, head, label, "grad").id
    if modules is not None:
        _assign_clusters(graph, modules)
    if show_saved:
        _add_saved_boxes(graph, names)
    return graph


def _describe_node(fn, names, unnamed, produced, show_attrs, show_sequence_nr):
    """`(kind, label lines)` of a Node's box."""
    if isinstance(fn, GraphRoot):
        return "root", ["GraphRoot"]
    if isinstance(fn, AccumulateGrad):
        leaf = fn.variable
        name = names.get(id(leaf))
        if name is None:                  # unnamed leaves are leaf0, leaf1, ... in graph order
            name = names[id(leaf)] = f"leaf{len(unnamed)}"
            unnamed.append(leaf)
        return "leaf", ["AccumulateGrad", name,
                        f"{shape_text(leaf.shape)} {dtype_text(leaf._data.dtype)}"]
    lines = [fn.name()]
    for output_nr in range(max(fn.num_inputs(), 1)):
        name = produced.get((fn, output_nr))
        if name is not None:
            lines.append(f"makes {name}")
    if show_sequence_nr and not show_attrs:
        lines.append(f"sequence_nr {fn.sequence_nr()}")
    if show_attrs:
        lines.extend(f"{key} = {value}" for key, value in node_attributes(fn))
    return "function", lines


def _add_saved_boxes(graph, names):
    for box in list(graph.nodes):
        if box.kind != "function":
            continue
        for entry in saved_entries(box.node, names):
            what = entry["name"] or f"{entry['kind']}"
            lines = [f"saved[{entry['index']}]: {what}"]
            summary = entry["summary"]
            if entry["freed"]:
                lines.append("(freed after backward)")
            elif entry["kind"] == "value":
                lines.append(f"{summary['values']} ({summary['dtype']})")
            else:
                lines.append(f"{summary['shape']} {summary['dtype']}")
            saved = graph.add_node("saved", lines)
            saved.cluster = box.cluster
            graph.add_edge(box.id, saved.id, "", "saved")


def _assign_clusters(graph, recording):
    """Put each box in the frame of the module call that created its node."""
    index_of = {}

    def cluster_index(call):
        # Make frames for `call` and its enclosing calls (outermost first), once each.
        chain = []
        while call is not None and call not in index_of:
            chain.append(call)
            call = call.parent
        for item in reversed(chain):
            parent = index_of.get(item.parent) if item.parent is not None else None
            index_of[item] = len(graph.clusters)
            graph.clusters.append(GraphCluster(f"cluster_{len(graph.clusters)}", item.label,
                                               parent, item.depth))
        return index_of[chain[0]] if chain else index_of[call]

    for box in graph.nodes:
        if box.kind == "function":
            call = recording.call_of(box.node.sequence_nr())
        elif box.kind == "leaf":
            call = recording.owner_of(box.node.variable)
        else:
            call = None
        if call is not None:
            box.cluster = cluster_index(call)


# ----------------------------------------------------------------------------------------------
# The graph as a graphviz Digraph
# ----------------------------------------------------------------------------------------------
def _graphviz():
    try:
        import graphviz
    except ImportError:
        raise ImportError("drawing graphs needs the `graphviz` Python package: "
                          "pip install 'hypergrad[viz]' (or pip install graphviz)") from None
    return graphviz


_digraph_class = []


def _digraph():
    """`graphviz.Digraph`, with rendering errors that say how to install Graphviz."""
    if not _digraph_class:
        graphviz = _graphviz()

        class BackwardDigraph(graphviz.Digraph):
            """A graphviz.Digraph whose rendering explains a missing Graphviz program."""

            def pipe(self, *args, **kwargs):
                try:
                    return super().pipe(*args, **kwargs)
                except graphviz.ExecutableNotFound as error:
                    raise GraphvizNotFoundError(f"{error}. {GRAPHVIZ_INSTALL_HINT}") from None

            def render(self, *args, **kwargs):
                try:
                    return super().render(*args, **kwargs)
                except graphviz.ExecutableNotFound as error:
                    raise GraphvizNotFoundError(f"{error}. {GRAPHVIZ_INSTALL_HINT}") from None

        _digraph_class.append(BackwardDigraph)
    return _digraph_class[0]


def _escape(text):
    """Text for a DOT label: backslashes are DOT escapes, so double them."""
    return str(text).replace("\\", "\\\\")


def _html_label(lines, name_line=False):
    """A Graphviz HTML-like label: the first line in bold, the others smaller (but the second
    a little larger when it is a leaf's name)."""
    rest = []
    for index, line in enumerate(lines[1:], 1):
        size, colour = ("10", "#111111") if name_line and index == 1 else ("9", "#333333")
        rest.append(f'<BR/><FONT POINT-SIZE="{size}" COLOR="{colour}">{html.escape(line)}</FONT>')
    return f"<<B>{html.escape(lines[0])}</B>{''.join(rest)}>"


def to_graphviz(graph, title=None):
    """A `graphviz.Digraph` of a BackwardGraph (boxes keep their ids as SVG element ids)."""
    digraph = _digraph()(
        name="backward_graph",
        graph_attr={"rankdir": "TB", "fontname": "Helvetica", "fontsize": "11",
                    "nodesep": "0.3", "ranksep": "0.35", "bgcolor": "white",
                    **({"label": _escape(title), "labelloc": "t"} if title else {})},
        node_attr={"shape": "box", "style": "rounded,filled", "fontname": "Helvetica",
                   "fontsize": "11", "margin": "0.16,0.05", "height": "0.3", "penwidth": "1.2"},
        edge_attr={"fontname": "Helvetica", "fontsize": "9", "arrowsize": "0.7",
                   "color": "#555555", "fontcolor": "#333333"})
    subgraphs = [_digraph()(name=cluster.id, graph_attr={
        "label": _escape(cluster.label), "labeljust": "l", "style": "rounded,filled",
        "color": "#9a93c9", "fillcolor": CLUSTER_COLORS[cluster.depth % len(CLUSTER_COLORS)],
        "fontsize": "10", "fontcolor": "#3b3470", "margin": "10", "id": cluster.id})
        for cluster in graph.clusters]
    for box in graph.nodes:
        target = digraph if box.cluster is None else subgraphs[box.cluster]
        target.node(box.id, label=_html_label(box.lines, box.kind == "leaf"), id=box.id,
                    tooltip=_escape(box.lines[0]),
                    **{key: value for key, value in STYLES[box.kind].items()})
    for edge in graph.edges:
        attributes = {"id": edge.id}
        if edge.label:
            attributes["label"] = " " + _escape(edge.label)
        if edge.kind == "saved":
            attributes.update(style="dashed", arrowhead="none", color="#c77a1a")
        digraph.edge(edge.tail, edge.head, **attributes)
    # Nest frames innermost first, so each is complete when it goes into its parent.
    for index in sorted(range(len(graph.clusters)), key=lambda i: -graph.clusters[i].depth):
        parent = graph.clusters[index].parent
        (digraph if parent is None else subgraphs[parent]).subgraph(subgraphs[index])
    return digraph


def draw_graph(output, params=None, show_saved=False, show_attrs=False, modules=None,
               title=None):
    """A graphviz picture of the backward graph that computes the gradients of `output`.

    Args:
        output: a Tensor, a sequence of Tensors, or a {name: Tensor} dict (names label the
            output boxes).
        params: names for tensors, as a {name: Tensor} dict: `dict(model.named_parameters())`,
            or names you choose, `dict(x=x, w=w)`. Leaves are labelled with them; a named
            tensor that is not a leaf labels the node that made it ("makes h").
        show_saved: also draw what each node saved for backward (orange boxes; "freed" after
            a backward without retain_graph).
        show_attrs: also list each node's sequence_nr, needs_input_grad and ctx attributes.
        modules: a recording from `record_modules(model)`: frame the nodes by the module
            whose forward created them.
        title: a caption above the picture.

    Returns a `graphviz.Digraph`: `.source` is the DOT text (nothing to install);
    `render_graph(graph, "graph.svg")`, `.pipe(format="svg")` or `.render()` need the Graphviz
    program and raise GraphvizNotFoundError, saying how to install it, when it is missing.
    In a notebook the graph shows itself.

    >>> import hypergrad as hg
    >>> x = hg.tensor([1.0, 2.0], requires_grad=True)
    >>> graph = draw_graph((x * x).sum(), params={"x": x})
    >>> "MulBackward0" in graph.source
    True
    """
    graph = build_graph(output, params=params, show_saved=show_saved, show_attrs=show_attrs,
                        modules=modules)
    return to_graphviz(graph, title=title)


def render_graph(graph, path, format=None):
    """Write `graph` to `path`: DOT text for `.dot`/`.gv` (needs nothing), else the format the
    extension names (`.svg`, `.png`, `.pdf`), rendered by the Graphviz program. Returns the path.
    """
    path = Path(path)
    format = (format or path.suffix.lstrip(".") or "svg").lower()
    if format in ("dot", "gv"):
        path.write_text(graph.source, encoding="utf-8")
        return path
    if not graphviz_available():
        raise GraphvizNotFoundError(f"writing {path.name} needs the Graphviz program `dot`, "
                                    f"which is not on PATH. {GRAPHVIZ_INSTALL_HINT}")
    path.write_bytes(graph.pipe(format=format))
    return path
