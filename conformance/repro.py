"""A failing example as a short script that runs it in both libraries.

Because HyperGrad keeps torch's interface, one function `run(lib, op)` serves both: it is
called once with `(hg, hg.<op>)` and once with `(torch, <the torch reference>)`, and the two
results are printed one above the other. Paste it into a file and run it.
"""

from __future__ import annotations

import textwrap

import numpy as np

import hypergrad as hg

from .domains import SampleTensor
from .harness import FUNCTION, tensor_slots

__all__ = ["script"]


def script(scenario, op, message=""):
    """The Python source that replays `scenario` for `op` (an OpUnderTest) in both libraries."""
    writer = _Writer(scenario)
    body = writer.body()
    header = [f"# `{op.name}`: HyperGrad and torch disagree in check {scenario.check!r}."]
    for line in str(message).strip().splitlines()[:6]:
        header.append("#   " + line.rstrip())
    imports = ["import hypergrad as hg", "import torch"]
    if writer.uses_numpy:
        imports.insert(0, "import numpy as np")
    if writer.uses_special:
        imports.insert(0, "from math import inf, nan")
    if writer.uses_warnings:
        imports.insert(0, "import warnings")
    lines = header + imports
    if writer.uses_warnings:
        lines.append('warnings.filterwarnings("ignore", message="The given NumPy array is not '
                     'writable")')
    lines += ["", "", "def run(lib, op):"]
    lines += ["    " + line for line in body]
    torch_op = _torch_expression(op)
    lines += ["", "",
              f"for lib, op in ((hg, hg.{op.name}), (torch, {torch_op})):",
              "    try:",
              '        print(f"{lib.__name__:>9}:", run(lib, op))',
              "    except Exception as error:",
              '        print(f"{lib.__name__:>9}: raises {type(error).__name__}: {error}")']
    return "\n".join(lines) + "\n"


def _torch_expression(op):
    reference = op.entry.reference
    if isinstance(reference, str):
        return reference
    return f"hg.plugins.registry.get({op.name!r}).reference"


class _Writer:
    def __init__(self, scenario):
        self.scenario = scenario
        self.uses_numpy = False
        self.uses_special = False
        self.uses_warnings = False

    # --- values ---------------------------------------------------------------------------
    def literal(self, array):
        text = repr(array.tolist())
        if array.dtype.kind in "fc" and not np.isfinite(array).all():
            self.uses_special = True
        return text

    def tensor(self, array, requires_grad):
        dtype = f"lib.{array.dtype.name}"
        grad = ", requires_grad=True" if requires_grad else ""
        if array.size == 0:
            return f"lib.zeros({tuple(array.shape)!r}, dtype={dtype}{grad})"
        return f"lib.tensor({self.literal(array)}, dtype={dtype}{grad})"

    def laid_out(self, array, layout, requires_grad):
        self.uses_numpy = True
        numpy_dtype = repr(array.dtype.name)
        if layout == "transposed":
            base = np.ascontiguousarray(np.swapaxes(array, -1, -2))
            source = f"np.array({self.literal(base)}, dtype={numpy_dtype}).swapaxes(-1, -2)"
        elif layout == "strided":
            base = np.zeros(array.shape[:-1] + (2 * array.shape[-1],), dtype=array.dtype)
            base[..., ::2] = array
            source = f"np.array({self.literal(base)}, dtype={numpy_dtype})[..., ::2]"
        else:
            self.uses_warnings = True
            axis = next(i for i, s in enumerate(array.shape) if s > 1)
            compact = np.take(array, [0], axis=axis)
            source = (f"np.broadcast_to(np.array({self.literal(compact)}, dtype={numpy_dtype}),"
                      f" {tuple(array.shape)!r})")
        return f"lib.from_numpy({source})" + (".requires_grad_()" if requires_grad else "")

    def argument(self, value, names):
        if isinstance(value, SampleTensor):
            return names.pop(0)
        if isinstance(value, list):
            return "[" + ", ".join(self.argument(v, names) for v in value) + "]"
        if isinstance(value, tuple) and not hasattr(value, "_fields"):
            inner = ", ".join(self.argument(v, names) for v in value)
            return f"({inner},)" if len(value) == 1 else f"({inner})"
        if isinstance(value, hg.dtype):
            return f"lib.{value.name}"
        if isinstance(value, float) and not np.isfinite(value):
            self.uses_special = True
        return repr(value)

    # --- the body of run(lib, op) -------------------------------------------------------------
    def body(self):
        scenario = self.scenario
        lines = []
        slots = tensor_slots(scenario.sample)
        leaves = []
        for slot, tensor in enumerate(slots):
            requires_grad = tensor.requires_grad and tensor.array.dtype.kind in "fc"
            layout = scenario.layouts.get(slot)
            source = self.laid_out(tensor.array, layout, requires_grad) if layout else \
                self.tensor(tensor.array, requires_grad)
            lines.append(f"x{slot} = {source}")
            if requires_grad:
                leaves.append(f"x{slot}")
        names = [f"x{slot}" for slot in range(len(slots))]
        args = [self.argument(a, names) for a in scenario.sample.args]
        args += [f"{k}={self.argument(v, names)}" for k, v in scenario.sample.kwargs.items()]
        kind, name = scenario.spelling
        if kind == "function":
            lines.append(f"out = op({', '.join(args)})")
        elif kind == "alias":
            lines.append(f"out = lib.{name}({', '.join(args)})")
        elif kind == "method":
            lines.append(f"out = {args[0]}.{name}({', '.join(args[1:])})")
        else:
            lines.append(f"x = {args[0]}.clone()")
            lines.append(f"out = x.{name}({', '.join(args[1:])})")
        returned = ['"out": out']
        if scenario.check == "inplace" and scenario.spelling == FUNCTION and slots:
            returned.append('"inputs after the op": [' + ", ".join(
                f"x{s}" for s in range(len(slots))) + "]")
        if kind == "inplace":
            returned.append('"out is x": out is x')
        if scenario.cotangents is not None and leaves:
            lines += self.gradient_lines(leaves, returned)
        lines.append("return {" + ", ".join(returned) + "}")
        return lines

    def gradient_lines(self, leaves, returned):
        scenario = self.scenario
        lines = []
        outputs = [("out" + "".join(f"[{i}]" for i in path)) for path in scenario.outputs]
        cotangents = []
        for j, array in enumerate(scenario.cotangents):
            lines.append(f"v{j} = {self.tensor(array, scenario.create_graph)}")
            cotangents.append(f"v{j}")
        create = ", create_graph=True" if scenario.create_graph else ""
        lines += textwrap.wrap(
            f"grads = lib.autograd.grad([{', '.join(outputs)}], [{', '.join(leaves)}], "
            f"grad_outputs=[{', '.join(cotangents)}]{create}, allow_unused=True)",
            width=92, subsequent_indent="    ")
        returned.append('"grads": grads')
        if scenario.second:
            terms = []
            for i, array in scenario.second:
                lines.append(f"w{i} = {self.tensor(array, False)}")
                terms.append(f"(grads[{i}] * w{i}).sum()")
            lines.append("total = " + " + ".join(terms))
            lines.append(f"second = lib.autograd.grad([total], [{', '.join(leaves + cotangents)}]"
                         f", allow_unused=True)")
            returned.append('"second-order grads": second')
        return lines
