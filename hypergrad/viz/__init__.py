"""hypergrad.viz: pictures of autograd at work.

- `draw_graph(output, params=None, show_saved=False, show_attrs=False, modules=None)`: the
  backward graph as a graphviz picture (graph.py); `render_graph(graph, "graph.svg")` writes it.
- `record_modules(model)`: record which module's forward made which nodes, so `draw_graph`
  frames them by module (modules.py).
- `explain_backward(output, path="backward.html")`: run a real backward pass while recording
  what the engine does, and write a page that steps through it (explain.py).
- `plot_history(history, path)`: loss and accuracy per epoch (history.py).

Needs the `viz` extra (`pip install 'hypergrad[viz]'`: the graphviz and matplotlib Python
packages). DOT text and the step-by-step page need nothing else; SVG and PNG pictures of graphs
need the Graphviz program (`apt-get install graphviz`).
"""

from __future__ import annotations

from .explain import BackwardTrace, explain_backward
from .graph import (
                    GraphvizNotFoundError,
                    build_graph,
                    draw_graph,
                    graphviz_available,
                    render_graph,
                    to_graphviz,
)
from .history import plot_history
from .modules import record_modules

__all__ = [
                    "BackwardTrace",
                    "GraphvizNotFoundError",
                    "build_graph",
                    "draw_graph",
                    "explain_backward",
                    "graphviz_available",
                    "plot_history",
                    "record_modules",
                    "render_graph",
                    "to_graphviz",
]
