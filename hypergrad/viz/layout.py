"""A small built-in layout, so `explain_backward` can draw its graph without Graphviz.

It draws a `BackwardGraph` (graph.py) as SVG in the same colours, with the same element ids
(`n3` for a box, `e5` for an arrow) and classes (`node`, `edge`) as Graphviz's SVG, so the page
highlights either picture the same way. It is a plain layered ("Sugiyama") layout:

1. **Layers.** A box sits one layer below the lowest box that points to it (longest path from
   the top, computed in topological order, so no recursion).
2. **Order within a layer.** A few sweeps of the barycenter heuristic: sort each layer by the
   mean position of the boxes it is connected to in the layers already placed, which untangles
   most crossings.
3. **Coordinates.** Pack each layer left to right, then pull each box toward the mean x of its
   parents, keeping boxes apart.

Module frames are not drawn here (Graphviz draws them).
"""

from __future__ import annotations

from collections import deque
from html import escape

from .graph import STYLES

__all__ = ["graph_to_svg"]

FONT_SIZE = 12            # the first line (bold); the others are a size smaller
BOLD_WIDTH = 7.6          # average width of a character of the first line, in px
CHAR_WIDTH = 6.4          # ... and of the other lines
LINE_HEIGHT = 15
PAD_X, PAD_Y = 10, 6      # inside a box
GAP_X, GAP_Y = 26, 46     # between boxes, between layers
MARGIN = 16
SWEEPS = 4


def _layers(graph):
    """The layer of every box: longest path from a box nothing points to."""
    indegree = {box.id: 0 for box in graph.nodes}
    children = {box.id: [] for box in graph.nodes}
    for edge in graph.edges:
        indegree[edge.head] += 1
        children[edge.tail].append(edge.head)
    layer = {box.id: 0 for box in graph.nodes}
    ready = deque(box.id for box in graph.nodes if indegree[box.id] == 0)
    while ready:
        box = ready.popleft()
        for child in children[box]:
            layer[child] = max(layer[child], layer[box] + 1)
            indegree[child] -= 1
            if indegree[child] == 0:
                ready.append(child)
    return layer


def _order(graph, layer):
    """Boxes of each layer, ordered by barycenter sweeps (down, then up, repeated)."""
    count = max(layer.values(), default=-1) + 1
    rows = [[] for _ in range(count)]
    for box in graph.nodes:
        rows[layer[box.id]].append(box.id)
    parents = {box.id: [] for box in graph.nodes}
    children = {box.id: [] for box in graph.nodes}
    for edge in graph.edges:
        parents[edge.head].append(edge.tail)
        children[edge.tail].append(edge.head)

    def sweep(indices, neighbours):
        position = {box: i for row in rows for i, box in enumerate(row)}
        for index in indices:
            row = rows[index]

            def key(box, row=row):
                linked = [position[other] for other in neighbours[box]]
                return sum(linked) / len(linked) if linked else position[box]

            row.sort(key=key)
            for i, box in enumerate(row):
                position[box] = i

    for _ in range(SWEEPS):
        sweep(range(1, count), parents)
        sweep(range(count - 2, -1, -1), children)
    return rows, parents


def _box_size(box):
    width = max([len(box.lines[0]) * BOLD_WIDTH]
                + [len(line) * CHAR_WIDTH for line in box.lines[1:]]) + 2 * PAD_X
    height = len(box.lines) * LINE_HEIGHT + 2 * PAD_Y
    return width, height


def _coordinates(graph, rows, parents):
    """Centre x and top y of every box, and the picture's size."""
    size = {box.id: _box_size(box) for box in graph.nodes}
    x = {}
    for row in rows:
        left = 0.0
        for box in row:
            width = size[box][0]
            x[box] = left + width / 2
            left += width + GAP_X
    for _ in range(SWEEPS):
        for row in rows[1:]:
            wanted = [sum(x[p] for p in parents[box]) / len(parents[box]) if parents[box]
                      else x[box] for box in row]
            _place_row(row, wanted, size, x)
    y, top = {}, 0.0
    for row in rows:
        for box in row:
            y[box] = top
        top += max(size[box][1] for box in row) + GAP_Y
    left = min(x[box] - size[box][0] / 2 for box in x)
    right = max(x[box] + size[box][0] / 2 for box in x)
    for box in x:
        x[box] += MARGIN - left
    return x, y, size, right - left + 2 * MARGIN, top - GAP_Y + 2 * MARGIN


def _place_row(row, wanted, size, x):
    """Put the boxes of a row as near their wanted x as they can go without overlapping."""
    placed = []
    for box, target in zip(row, wanted):
        half = size[box][0] / 2
        if placed:
            previous = placed[-1]
            target = max(target, x[previous] + size[previous][0] / 2 + GAP_X + half)
        x[box] = target
        placed.append(box)
    # Shift the row back so it sits, on average, where the boxes wanted to be.
    shift = sum(wanted) / len(wanted) - sum(x[box] for box in row) / len(row)
    for box in row:
        x[box] += shift


def graph_to_svg(graph):
    """The SVG text of a BackwardGraph, laid out by this module."""
    if not graph.nodes:
        return '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>'
    layer = _layers(graph)
    rows, parents = _order(graph, layer)
    x, y, size, width, height = _coordinates(graph, rows, parents)
    top = {box: y[box] + MARGIN for box in y}
    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}pt" '
              f'height="{height:.0f}pt" viewBox="0 0 {width:.0f} {height:.0f}">'),
             '<g id="graph0" class="graph">']
    for edge in graph.edges:
        parts.append(_edge_svg(edge, x, top, size))
    for box in graph.nodes:
        parts.append(_node_svg(box, x[box.id], top[box.id], size[box.id]))
    parts.append("</g></svg>")
    return "\n".join(parts)


def _node_svg(box, cx, top, size):
    width, height = size
    style = STYLES[box.kind]
    dash = ' stroke-dasharray="5,3"' if "dashed" in style.get("style", "") else ""
    rect = (f'<rect x="{cx - width / 2:.1f}" y="{top:.1f}" width="{width:.1f}" '
            f'height="{height:.1f}" rx="5" fill="{style["fillcolor"]}" '
            f'stroke="{style["color"]}" stroke-width="1.2"{dash}/>')
    lines = [f'<g id="{box.id}" class="node"><title>{escape(box.lines[0])}</title>', rect]
    for i, line in enumerate(box.lines):
        baseline = top + PAD_Y + (i + 1) * LINE_HEIGHT - 4
        font = f'font-size="{FONT_SIZE}" font-weight="bold"' if i == 0 else \
            f'font-size="{FONT_SIZE - 1}" fill="#333333"'
        lines.append(f'<text text-anchor="middle" x="{cx:.1f}" y="{baseline:.1f}" '
                     f'font-family="Helvetica,Arial,sans-serif" {font}>{escape(line)}</text>')
    lines.append("</g>")
    return "".join(lines)


def _edge_svg(edge, x, top, size):
    x1, y1 = x[edge.tail], top[edge.tail] + size[edge.tail][1]
    x2, y2 = x[edge.head], top[edge.head] - 6       # leave room for the arrowhead
    bend = max((y2 - y1) / 2, 12)
    path = (f"M{x1:.1f},{y1:.1f} C{x1:.1f},{y1 + bend:.1f} {x2:.1f},{y2 - bend:.1f} "
            f"{x2:.1f},{y2:.1f}")
    saved = edge.kind == "saved"
    colour = "#c77a1a" if saved else "#555555"
    dash = ' stroke-dasharray="5,3"' if saved else ""
    title = f"<title>{escape(edge.tail)}-&gt;{escape(edge.head)}</title>"
    parts = [f'<g id="{edge.id}" class="edge">{title}',
             f'<path fill="none" stroke="{colour}" stroke-width="1.2" d="{path}"{dash}/>']
    if not saved:
        tip = y2 + 6
        parts.append(f'<polygon fill="{colour}" stroke="{colour}" points="{x2 - 4:.1f},{y2:.1f} '
                     f'{x2 + 4:.1f},{y2:.1f} {x2:.1f},{tip:.1f}"/>')
    if edge.label:
        # The middle of the curve (a cubic Bezier at t = 1/2).
        mx = (x1 + x2) / 2
        my = (y1 + y2) / 2
        parts.append(f'<text x="{mx + 5:.1f}" y="{my + 4:.1f}" font-family="Helvetica,Arial,'
                     f'sans-serif" font-size="10" fill="#333333">{escape(edge.label)}</text>')
    parts.append("</g>")
    return "".join(parts)
