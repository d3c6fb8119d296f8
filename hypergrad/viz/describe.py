"""Words for what a picture shows: tensor shapes, dtypes, values, and what a Node computes.

Shared by `draw_graph` (the labels of the boxes) and `explain_backward` (the step panel).
"""

from __future__ import annotations

import inspect
import re

import numpy as np

from ..autograd.function import BackwardCFunction
from ..autograd.node import AccumulateGrad, GraphRoot
from ..autograd.saved import SavedTensor
from ..dtypes import from_numpy_dtype
from ..plugins.op import OpNode
from ..tensor import Tensor

__all__ = [
    "dtype_text",
    "has_saved_tensors",
    "node_attributes",
    "node_formula",
    "saved_entries",
    "shape_text",
    "short_repr",
    "summarize",
    "summary_text",
]

MAX_VALUES = 24  # tensors with at most this many elements are shown value by value


def shape_text(shape):
    """`(2, 3)` for a 2x3 tensor, `()` for a number."""
    if len(shape) == 1:
        return f"({shape[0]},)"
    return "(" + ", ".join(str(size) for size in shape) + ")"


def dtype_text(np_dtype):
    """The HyperGrad dtype name without the module: `float32`."""
    try:
        return str(from_numpy_dtype(np.dtype(np_dtype))).replace("hypergrad.", "")
    except (KeyError, TypeError, ValueError):
        return str(np.dtype(np_dtype))


def summarize(value, max_values=MAX_VALUES):
    """A dict describing a gradient or tensor for display (all values already strings).

    `{"shape", "dtype", "values", "stats"}`: `values` is the printed array when the tensor has
    at most `max_values` elements, else None; `stats` (mean, std, min, max) is given for
    tensors too large to print, else None. `None` (no gradient) gives `{"none": True}`.
    """
    if value is None:
        return {"none": True}
    array = value._data if isinstance(value, Tensor) else np.asarray(value)
    result = {"shape": shape_text(array.shape), "dtype": dtype_text(array.dtype),
              "values": None, "stats": None}
    if array.size <= max_values:
        result["values"] = _print_array(array)
    elif array.dtype.kind in "biuf":
        data = array.astype(np.float64)
        result["stats"] = (f"mean {_number(np.mean(data))}  std {_number(np.std(data))}  "
                           f"min {_number(np.min(data))}  max {_number(np.max(data))}")
    else:
        magnitude = np.abs(array)
        result["stats"] = (f"|mean| {_number(np.abs(np.mean(array)))}  "
                           f"max |value| {_number(np.max(magnitude))}")
    return result


def summary_text(summary):
    """One line for a `summarize` dict (used in titles and by the command line)."""
    if summary.get("none"):
        return "None"
    shown = summary["values"] if summary["values"] is not None else summary["stats"]
    return f"{shown}  {summary['shape']} {summary['dtype']}"


def _print_array(array):
    if array.ndim == 0:
        return _number(array.item())
    return np.array2string(array, precision=4, suppress_small=True, separator=", ",
                           max_line_width=64, threshold=MAX_VALUES + 1)


def _number(value):
    return np.format_float_positional(value, precision=4, unique=True, trim="-") \
        if isinstance(value, (float, np.floating)) else str(value)


# ----------------------------------------------------------------------------------------------
# What a node computes
# ----------------------------------------------------------------------------------------------
_FORMULA_START = re.compile(r"^\s*(out\b|d/d)")


def node_formula(fn):
    """`(summary, formula)`: a sentence on what `fn` is and its derivative rule, if known.

    For an op's node the two come from the op's docstring: its first line and the paragraph
    in derivatives.yaml style (`out = a * b;  d/da = grad * b;  d/db = grad * a`).
    """
    if isinstance(fn, GraphRoot):
        summary = ("GraphRoot: where backward starts; it hands the root gradient(s) to the "
                   "outputs' grad_fn.")
        return summary, ""
    if isinstance(fn, AccumulateGrad):
        summary = ("AccumulateGrad: the sink of a leaf that requires grad; it writes the "
                   "gradient into the leaf's .grad.")
        return summary, ".grad = grad (a copy) if .grad is None, else .grad += grad"
    if isinstance(fn, BackwardCFunction):
        forward_cls = fn._forward_cls
        name = forward_cls.__name__ if forward_cls is not None else fn.name()
        return f"The backward of the custom Function {name}: {name}.backward(ctx, *grads).", ""
    if isinstance(fn, OpNode):
        return _docstring_formula(fn.op.__doc__, fn.name())
    return _docstring_formula(type(fn).__doc__, fn.name())


def _docstring_formula(doc, name):
    text = inspect.cleandoc(doc or "")
    if not text:
        return (name, "")
    summary = text.split("\n\n", 1)[0].replace("\n", " ").strip()
    for paragraph in text.split("\n\n"):
        if _FORMULA_START.match(paragraph) or ";  d/d" in paragraph:
            return (summary, inspect.cleandoc(paragraph))
    return (summary, "")


# ----------------------------------------------------------------------------------------------
# What a node saved, and its attributes
# ----------------------------------------------------------------------------------------------
def _saved_values(fn):
    """The raw saved values of a node: SavedTensors, constant Tensors, numbers."""
    saved = getattr(fn, "_saved", None)
    if saved is None:
        inner = getattr(fn, "fn", None)        # CopySlices runs (and saves through) an inner node
        saved = getattr(inner, "_saved", None) if isinstance(inner, OpNode) else None
    return tuple(saved or ())


def saved_entries(fn, names):
    """One dict per value `fn` saved for backward: `{"index", "kind", "name", "summary",
    "freed"}`, where kind is "input", "output", "constant" or "value" (a Python number).

    `names` maps `id(tensor)` to a name given by the user. A freed entry (released after
    backward) has no summary.
    """
    entries = []
    for index, value in enumerate(_saved_values(fn)):
        entry = {"index": index, "name": None, "summary": None, "freed": False}
        if type(value) is SavedTensor:
            entry["kind"] = "input" if value._tensor is not None else "output"
            if value._released:
                entry["freed"] = True
            elif value._tensor is not None:
                entry["name"] = names.get(id(value._tensor))
                entry["summary"] = summarize(value._tensor)
            else:
                entry["summary"] = summarize(value._data)
        elif isinstance(value, Tensor):
            entry["kind"] = "constant"
            entry["name"] = names.get(id(value))
            entry["summary"] = summarize(value)
        else:
            entry["kind"] = "value"
            entry["summary"] = {"shape": "", "dtype": type(value).__name__,
                                "values": short_repr(value), "stats": None}
        entries.append(entry)
    return entries


def has_saved_tensors(fn):
    return any(type(value) is SavedTensor for value in _saved_values(fn))


def node_attributes(fn):
    """`[(name, text)]`: sequence_nr, needs_input_grad and what the op stored on its ctx."""
    attributes = []
    if not isinstance(fn, (GraphRoot, AccumulateGrad)):
        attributes.append(("sequence_nr", str(fn.sequence_nr())))
    needs = getattr(fn, "needs_input_grad", None)
    if needs:
        attributes.append(("needs_input_grad", short_repr(tuple(needs))))
    for name, value in sorted(getattr(fn, "__dict__", {}).items()):
        if not name.startswith("_") and name not in ("needs_input_grad", "materialize_grads"):
            attributes.append((name, short_repr(value)))
    return attributes


def short_repr(value, limit=40):
    if isinstance(value, Tensor):
        return f"tensor {shape_text(value.shape)} {dtype_text(value._data.dtype)}"
    if isinstance(value, np.ndarray):
        return f"array {shape_text(value.shape)} {dtype_text(value.dtype)}"
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."
