"""How a tensor prints: torch's format (torch/_tensor_str.py), so the two can be compared by eye.

`tensor([1., 2.], requires_grad=True)`, `tensor([2.5000, 4.0000], grad_fn=<MulBackward0>)`,
`tensor([1, 2], dtype=hypergrad.int32)`. Floats use 4 decimals, or none (`1.`) when every
value is whole, or scientific notation when the magnitudes span more than 1000x; large tensors
are summarized with `...` beyond 1000 elements.
"""

from __future__ import annotations

import math

import numpy as np

from . import dtypes as _dtypes

PRECISION = 4
THRESHOLD = 1000
EDGEITEMS = 3
LINEWIDTH = 80


class _Formatter:
    """Chooses one width and notation for every element shown (torch's `_Formatter`).

    Floats: integer mode (`1.`) when every shown nonzero finite value is whole, scientific
    notation when those magnitudes span more than 1000x, exceed 1e8 or go below 1e-4, fixed
    point with PRECISION decimals otherwise. The width is that of the widest nonzero finite
    value (nan, inf and 0 do not count), and every element is right-aligned to it.
    """

    def __init__(self, data):
        self.floating = data.dtype.kind == "f"
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        values = data.reshape(-1)
        if not self.floating:
            fmt = _bool_str if data.dtype.kind == "b" else str
            for value in values.tolist():
                self.max_width = max(self.max_width, len(fmt(value)))
            return
        shown = values[np.isfinite(values) & (values != 0)]
        if shown.size == 0:
            return
        magnitudes = np.abs(shown).astype(np.float64)
        low, high = magnitudes.min(), magnitudes.max()
        self.int_mode = bool(np.all(np.ceil(shown) == shown))
        self.sci_mode = bool(high / low > 1000.0 or high > 1.0e8 or low < 1.0e-4)
        for value in shown.tolist():
            if self.sci_mode:
                width = len(f"{value:.{PRECISION}e}")
            elif self.int_mode:
                width = len(f"{value:.0f}") + 1
            else:
                width = len(f"{value:.{PRECISION}f}")
            self.max_width = max(self.max_width, width)

    def format(self, value):
        if not self.floating:
            text = _bool_str(value) if isinstance(value, bool) else str(value)
        elif self.sci_mode:
            text = f"{value:{self.max_width}.{PRECISION}e}"
        elif self.int_mode:
            text = f"{value:.0f}"
            if not (math.isinf(value) or math.isnan(value)):
                text += "."
        else:
            text = f"{value:.{PRECISION}f}"
        return text.rjust(self.max_width)


def _bool_str(value):
    return "True" if value else "False"


def _summarized_data(data):
    """Only the elements a summarized print shows: EDGEITEMS at each end of every dim."""
    for axis in range(data.ndim):
        size = data.shape[axis]
        if size > 2 * EDGEITEMS:
            index = list(range(EDGEITEMS)) + list(range(size - EDGEITEMS, size))
            data = np.take(data, index, axis=axis)
    return data


class _ComplexFormatter:
    """Real and imaginary parts formatted separately, as torch does: `1.+2.0000j`."""

    def __init__(self, data):
        self.real = _Formatter(data.real)
        self.imag = _Formatter(data.imag)

    def width(self):
        return self.real.max_width + 1 + self.imag.max_width

    def format(self, value):
        real = self.real.format(value.real)
        imag = (self.imag.format(value.imag) + "j").lstrip()
        return real + imag if imag[0] in "+-" else real + "+" + imag


def _vector_str(data, indent, summarize, formatter):
    width = formatter.width() if isinstance(formatter, _ComplexFormatter) else formatter.max_width
    per_line = max(1, (LINEWIDTH - indent) // (width + 2))
    values = data.tolist() if data.dtype.kind != "c" else list(data)
    if summarize and len(values) > 2 * EDGEITEMS:
        items = ([formatter.format(v) for v in values[:EDGEITEMS]] + [" ..."]
                 + [formatter.format(v) for v in values[-EDGEITEMS:]])
    else:
        items = [formatter.format(v) for v in values]
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _tensor_str(data, indent, summarize, formatter):
    if data.ndim == 0:
        value = data.item() if data.dtype.kind != "c" else data[()]
        return formatter.format(value)
    if data.ndim == 1:
        return _vector_str(data, indent, summarize, formatter)
    size = data.shape[0]
    if summarize and size > 2 * EDGEITEMS:
        rows = ([_tensor_str(data[i], indent + 1, summarize, formatter) for i in range(EDGEITEMS)]
                + ["..."]
                + [_tensor_str(data[i], indent + 1, summarize, formatter)
                   for i in range(size - EDGEITEMS, size)])
    else:
        rows = [_tensor_str(row, indent + 1, summarize, formatter) for row in data]
    return "[" + ("," + "\n" * (data.ndim - 1) + " " * (indent + 1)).join(rows) + "]"


def _add_suffixes(text, suffixes, indent):
    """Append `, dtype=...`-style suffixes, starting a new line when one would pass LINEWIDTH."""
    parts = [text]
    last_line_len = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_line_len + len(suffix) + 2 > LINEWIDTH:
            parts.append(",\n" + " " * indent + suffix)
            last_line_len = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line_len += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


def tensor_repr(tensor, prefix="tensor("):
    data = tensor._data
    indent = len(prefix)
    dtype = _dtypes.from_numpy_dtype(data.dtype)
    default = _dtypes.get_default_dtype()
    suffixes = []
    if data.size == 0:
        body = "[]"
        if data.ndim != 1:
            suffixes.append(f"size={tuple(data.shape)}")
        if dtype is not default:
            suffixes.append(f"dtype={dtype!r}")
    else:
        summarize = data.size > THRESHOLD
        shown = _summarized_data(data) if summarize else data
        formatter = _ComplexFormatter(shown) if data.dtype.kind == "c" else _Formatter(shown)
        body = _tensor_str(data, indent, summarize, formatter)
        if dtype not in (default, _dtypes.default_complex_dtype(), _dtypes.int64, _dtypes.bool):
            suffixes.append(f"dtype={dtype!r}")
    if tensor._grad_fn is not None:
        suffixes.append(f"grad_fn=<{tensor._grad_fn.name()}>")
    elif tensor._requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + body, suffixes, indent)
