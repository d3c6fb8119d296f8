"""`hypergrad diff`: HyperGrad and torch side by side.

Two ways in:

    hypergrad diff OP
        runs the conformance checks of OP with many examples until one finds a disagreement,
        lets hypothesis shrink it, and shows the minimal example: both libraries' results
        side by side, then the script that reproduces it.

    hypergrad diff --expr "x.max()" --input x="[3., 1., 3.]"
        evaluates one expression in both libraries. In each run the names `hg` and `torch`
        both mean the library under test, so `torch.exp(x)` and `hg.exp(x)` work alike.
        Inputs are Python literals (add `:float64` for a dtype); floating ones require grad.
        Shown side by side: value, dtype, shape and grad_fn of the result, the gradient of
        every input (through a cotangent of ones) and the grad_fn graph (node names).

Rows that differ are marked (`!`, or red with rich). The exit code is 1 when anything
differs, 0 otherwise.
"""

from __future__ import annotations

import ast
import sys

import numpy as np

__all__ = ["describe", "diff_expr", "diff_op", "graph_lines", "side_by_side"]


# ----------------------------------------------------------------------------------------------
# Describing values
# ----------------------------------------------------------------------------------------------
def _is_tensor(value):
    return hasattr(value, "grad_fn") and hasattr(value, "dtype") and hasattr(value, "shape")


def _array(value):
    from .harness import torch_to_numpy

    if type(value).__module__.startswith("torch"):
        return torch_to_numpy(value)
    return np.asarray(value._data)


def describe(label, value):
    """[(row label, text, comparable)] for one value: tensors get value, dtype, shape and
    grad_fn rows; sequences are described item by item."""
    from .harness import node_name

    if _is_tensor(value):
        array = _array(value)
        text = np.array2string(array, separator=", ", max_line_width=60, threshold=50)
        return [(f"{label}", text, array),
                (f"{label} dtype", str(value.dtype).rpartition(".")[2], None),
                (f"{label} shape", str(list(value.shape)), None),
                (f"{label} grad_fn", str(node_name(value.grad_fn)), None)]
    if isinstance(value, (tuple, list)) and not type(value).__name__ == "Size":
        rows = []
        for i, item in enumerate(value):
            rows += describe(f"{label}[{i}]", item)
        return rows or [(label, repr(value), None)]
    if isinstance(value, dict):
        rows = []
        for key, item in value.items():
            rows += describe(f"{label} {key}" if label else str(key), item)
        return rows
    return [(label, repr(value), None)]


def _differs(a, b):
    text_a, array_a = a
    text_b, array_b = b
    if array_a is not None and array_b is not None:
        if array_a.shape != array_b.shape:
            return True
        if array_a.dtype.kind in "fc" or array_b.dtype.kind in "fc":
            return not np.allclose(array_a.astype(np.float64), array_b.astype(np.float64),
                                   rtol=1.3e-6, atol=1e-5, equal_nan=True)
        return not np.array_equal(array_a, array_b)
    return text_a != text_b


def side_by_side(hg_rows, torch_rows, stream=None, use_rich=None):
    """Print two row lists in two columns, marking rows that differ; return the count."""
    stream = stream or sys.stdout
    hg_map = {label: (text, array) for label, text, array in hg_rows}
    torch_map = {label: (text, array) for label, text, array in torch_rows}
    labels = list(dict.fromkeys([r[0] for r in hg_rows] + [r[0] for r in torch_rows]))
    missing = ("(absent)", None)
    rows = []
    for label in labels:
        a, b = hg_map.get(label, missing), torch_map.get(label, missing)
        rows.append((label, a[0], b[0], _differs(a, b)))
    console = None
    if use_rich is not False and (use_rich or stream.isatty()):
        try:
            from rich.console import Console
        except ImportError:
            console = None
        else:
            console = Console(file=stream, highlight=False)
    if console is not None:
        from rich.table import Table
        from rich.text import Text

        table = Table(show_lines=True)
        table.add_column("")
        table.add_column("HyperGrad")
        table.add_column("torch")
        for label, a, b, differs in rows:
            style = "bold red" if differs else ""
            table.add_row(Text(("! " if differs else "  ") + label, style=style),
                          Text(a, style=style), Text(b, style=style))
        console.print(table)
    else:
        label_width = max([len(r[0]) for r in rows] + [5]) + 2
        left_width = max([len(line) for r in rows for line in r[1].splitlines()] + [9])
        print(" " * (label_width + 2) + "HyperGrad".ljust(left_width) + " | torch", file=stream)
        for label, a, b, differs in rows:
            left, right = a.splitlines() or [""], b.splitlines() or [""]
            for i in range(max(len(left), len(right))):
                mark = ("! " if differs else "  ") if i == 0 else "  "
                name = label if i == 0 else ""
                print(mark + name.ljust(label_width)
                      + (left[i] if i < len(left) else "").ljust(left_width) + " | "
                      + (right[i] if i < len(right) else ""), file=stream)
    return sum(1 for r in rows if r[3])


def graph_lines(roots, names=None):
    """The grad_fn graph below `roots` as indented node names, walked with an explicit stack.

    A node reached a second time is shown once more with "(seen)" and not expanded again;
    `names` maps id(leaf tensor) -> name, to label AccumulateGrad nodes.
    """
    from .harness import node_name

    names = names or {}
    lines = []
    seen = set()
    stack = [(root, 0) for root in reversed([r for r in roots if r is not None])]
    while stack:
        node, depth = stack.pop()
        label = node_name(node)
        variable = getattr(node, "variable", None)
        if variable is not None and id(variable) in names:
            label += f" ({names[id(variable)]})"
        if id(node) in seen:
            lines.append("  " * depth + label + " (seen)")
            continue
        seen.add(id(node))
        lines.append("  " * depth + label)
        children = [edge[0] for edge in node.next_functions if edge[0] is not None]
        stack.extend((child, depth + 1) for child in reversed(children))
    return lines or ["(none)"]


# ----------------------------------------------------------------------------------------------
# diff --expr
# ----------------------------------------------------------------------------------------------
def parse_input(text):
    """`x=[1., 2.]` or `x=[1, 2]:float64` -> (name, value, dtype name or None)."""
    name, sep, literal = text.partition("=")
    if not sep or not name.strip().isidentifier():
        raise ValueError(f"--input expects NAME=LITERAL, got {text!r}")
    dtype = None
    head, colon, tail = literal.rpartition(":")
    if colon and tail.strip().isidentifier():
        literal, dtype = head, tail.strip()
    try:
        value = ast.literal_eval(literal.strip())
    except (ValueError, SyntaxError):
        raise ValueError(f"--input {name}: {literal!r} is not a Python literal") from None
    return name.strip(), value, dtype


def evaluate(lib, expr, inputs):
    """Evaluate `expr` with `lib` as both `hg` and `torch`; return rows describing it all."""
    tensors = {}
    for name, value, dtype in inputs:
        tensor = lib.tensor(value, dtype=getattr(lib, dtype) if dtype else None)
        if tensor.is_floating_point():
            tensor.requires_grad_(True)
        tensors[name] = tensor
    namespace = {"hg": lib, "torch": lib, **tensors}
    try:
        result = eval(expr, namespace)
    except Exception as error:  # shown side by side with the other library's outcome
        return [("result", f"raises {type(error).__name__}: {error}", None)]
    rows = describe("result", result)
    outputs = [v for v in (result if isinstance(result, (tuple, list)) else [result])
               if _is_tensor(v) and v.requires_grad]
    leaves = [(n, t) for n, t in tensors.items() if t.requires_grad]
    if outputs and leaves:
        try:
            grads = lib.autograd.grad(outputs, [t for _, t in leaves],
                                      grad_outputs=[lib.ones_like(o) for o in outputs],
                                      allow_unused=True)
        except Exception as error:  # shown as the gradient's outcome
            rows.append(("grads", f"raises {type(error).__name__}: {error}", None))
        else:
            for (name, _), grad in zip(leaves, grads):
                rows += describe(f"grad {name}", grad) if grad is not None else [
                    (f"grad {name}", "None", None)]
    names = {id(t): n for n, t in tensors.items()}
    graph = graph_lines([o.grad_fn for o in outputs], names)
    rows.append(("graph", "\n".join(graph), None))
    return rows


def diff_expr(expr, input_texts, stream=None, use_rich=None):
    """Evaluate `expr` in both libraries and print them side by side; 1 if anything differs."""
    import torch

    import hypergrad as hg

    stream = stream or sys.stdout
    inputs = [parse_input(text) for text in input_texts]
    print(f"{expr}   with " + ", ".join(f"{n}={v!r}" + (f":{d}" if d else "")
                                         for n, v, d in inputs), file=stream)
    differences = side_by_side(evaluate(hg, expr, inputs), evaluate(torch, expr, inputs),
                               stream, use_rich)
    print(f"{differences} row(s) differ" if differences else "no difference", file=stream)
    return 1 if differences else 0


# ----------------------------------------------------------------------------------------------
# diff OP
# ----------------------------------------------------------------------------------------------
def replay(script_text, op):
    """Run a repro script's `run(lib, op)` in both libraries; return (hg rows, torch rows)."""
    import torch

    import hypergrad as hg

    head = script_text.partition("\n\nfor lib, op in ")[0]
    namespace = {"__name__": "hypergrad_diff_replay"}
    exec(compile(head, "<repro>", "exec"), namespace)  # noqa: S102 - our own generated code
    rows = []
    for lib, function in ((hg, op.hg_function), (torch, op.torch_function)):
        try:
            result = namespace["run"](lib, function)
        except Exception as error:  # the outcome to show
            rows.append([("result", f"raises {type(error).__name__}: {error}", None)])
        else:
            rows.append(describe("", result))
    return rows[0], rows[1]


def diff_op(name, checks=None, examples=100, seed=None, stream=None, use_rich=None,
            progress=None):
    """Search the op's domain for a disagreement; print the minimal one. 1 if one is found."""
    from .checks import CHECK_NAMES
    from .harness import OpUnderTest
    from .runner import resolve_entry, run_check

    stream = stream or sys.stdout
    op = OpUnderTest(resolve_entry(name))
    ran = []
    for check in checks or CHECK_NAMES:
        result = run_check(op, check, examples=examples, seed=seed, database=None)
        if progress is not None:
            progress(result)
        ran.append(result)
        failure = result.failure
        if failure is None:
            continue
        print(f"{op.name}: check {check!r} finds a disagreement"
              + (f" (a documented divergence: {result.reason})" if result.reason else "")
              + "; the minimal example:", file=stream)
        print(failure.message, file=stream)
        if failure.script:
            print(file=stream)
            try:
                hg_rows, torch_rows = replay(failure.script, op)
            except Exception as error:  # still show the script
                print(f"(could not replay the example: {error})", file=stream)
            else:
                side_by_side(hg_rows, torch_rows, stream, use_rich)
            print("\nReproduce it with:\n\n" + failure.script, file=stream)
        elif failure.traceback:
            print(failure.traceback, file=stream)
        return 1
    total = sum(r.examples for r in ran)
    print(f"{op.name}: no disagreement found ({total} examples over {len(ran)} checks; "
          + ", ".join(f"{r.check} {r.status}" for r in ran) + ")", file=stream)
    return 0
