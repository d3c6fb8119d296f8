"""How a tensor prints: torch's format (torch/_tensor_str.py), so the two can be compared by eye.

`tensor([1., 2.], requires_grad=True)`, `tensor([2.5000, 4.0000], grad_fn=<MulBackward0>)`,
`tensor([1, 2], dtype=hypergrad.int32)`. Floats use 4 decimals, or none (`1.`) when every
value is whole, or scientific notation when the magnitudes span more than 1000x; large tensors
are summarized with `...` beyond 1000 elements.
"""

from __future__ import annotations

import numpy as np

from . import dtypes as _dtypes

PRECISION = 4
THRESHOLD = 1000
EDGEITEMS = 3
LINEWIDTH = 80


def _float_formatter(values):
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return lambda v: _special(v) or f"{v:.{PRECISION}f}"
    magnitudes = np.abs(finite[finite != 0]).astype(np.float64)
    int_mode = bool(np.all(np.ceil(finite) == finite))
    if magnitudes.size:
        low, high = magnitudes.min(), magnitudes.max()
        ratio = high / low
    else:
        low = high = ratio = 0.0
    if int_mode:
        if ratio > 1000.0 or high > 1.0e8:
            return lambda v: _special(v) or f"{v:.{PRECISION}e}"
        return lambda v: _special(v) or f"{v:.0f}."
    if ratio > 1000.0 or high > 1.0e8 or (magnitudes.size and low < 1.0e-4):
        return lambda v: _special(v) or f"{v:.{PRECISION}e}"
    return lambda v: _special(v) or f"{v:.{PRECISION}f}"


def _special(v):
    if np.isnan(v):
        return "nan"
    if np.isinf(v):
        return "inf" if v > 0 else "-inf"
    return None


def _formatter(data):
    kind = data.dtype.kind
    if kind == "f":
        return _float_formatter(data.reshape(-1))
    if kind == "b":
        return lambda v: "True" if v else "False"
    if kind == "c":
        real = _float_formatter(data.real.reshape(-1))
        imag = _float_formatter(data.imag.reshape(-1))
        return lambda v: f"{real(v.real)}{'+' if v.imag >= 0 else '-'}{imag(abs(v.imag))}j"
    return lambda v: str(int(v))


def _summarized(data, summarize):
    """Elements to show per dim: all, or the first and last EDGEITEMS."""
    if not summarize or data.ndim == 0:
        return data
    for axis in range(data.ndim):
        if data.shape[axis] > 2 * EDGEITEMS:
            index = list(range(EDGEITEMS)) + list(range(data.shape[axis] - EDGEITEMS,
                                                        data.shape[axis]))
            data = np.take(data, index, axis=axis)
    return data


def _render(data, fmt, width, indent, summarize):
    if data.ndim == 0:
        return fmt(data.item()).rjust(width)
    if data.ndim == 1:
        items = [fmt(v).rjust(width) for v in data.tolist()] if data.dtype.kind != "c" else \
            [fmt(v).rjust(width) for v in data]
        if summarize and data.shape[0] > 2 * EDGEITEMS:
            items = items[:EDGEITEMS] + ["..."] + items[-EDGEITEMS:]
        per_line = max(1, (LINEWIDTH - indent) // (width + 2))
        lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    rows = [_render(row, fmt, width, indent + 1, summarize) for row in data]
    if summarize and data.shape[0] > 2 * EDGEITEMS:
        rows = rows[:EDGEITEMS] + ["..."] + rows[-EDGEITEMS:]
    separator = "," + "\n" * (data.ndim - 1) + " " * (indent + 1)
    return "[" + separator.join(rows) + "]"


def tensor_repr(tensor, prefix="tensor("):
    data = tensor._data
    summarize = data.size > THRESHOLD
    suffixes = []
    if data.size == 0:
        body = "[]"
        if data.shape != (0,):
            suffixes.append(f"size={tuple(data.shape)}")
    else:
        shown = _summarized(data, summarize)
        fmt = _formatter(shown)
        width = max(len(fmt(v)) for v in (shown.reshape(-1).tolist() if shown.dtype.kind != "c"
                                          else shown.reshape(-1)))
        body = _render(shown, fmt, width, len(prefix), summarize)
    dtype = _dtypes.from_numpy_dtype(data.dtype)
    default = _dtypes.get_default_dtype()
    if dtype not in (default, _dtypes.int64, _dtypes.bool) and not (
            dtype is _dtypes.default_complex_dtype()):
        suffixes.append(f"dtype={dtype!r}")
    if tensor._grad_fn is not None:
        suffixes.append(f"grad_fn=<{tensor._grad_fn.name()}>")
    elif tensor._requires_grad:
        suffixes.append("requires_grad=True")
    return prefix + body + "".join(", " + s for s in suffixes) + ")"
