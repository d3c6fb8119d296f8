"""The `hypergrad graph` and `hypergrad explain` commands.

    hypergrad graph EXPR --input x="[1., 2.]" [-o graph.svg] [--show-saved] [--show-attrs]
    hypergrad explain EXPR --input x="[1., 2.]" [-o backward.html] [--gradient VALUE]

EXPR is a Python expression in the inputs and HyperGrad's functions, for example
`"(x * x).sum()"` or `"hg.tanh(w @ x).sum()"` (`hg`, `F` for hypergrad.nn.functional, and
every public name of hypergrad, such as `exp` or `randn`, are available). Each `--input
NAME=VALUE` makes one tensor: VALUE is a Python literal (`"[1., 2.]"`, `"3.0"`) or an
expression such as `"randn(2, 3)"`; floating-point inputs require grad.

`graph` prints the DOT text, or writes `-o FILE`: `.dot`/`.gv` needs nothing, `.svg`, `.png`,
`.pdf` need the Graphviz program. `explain` runs backward and writes the step-by-step page.

`add_commands(subparsers)` adds both to an argparse parser; each sets `func=handler(args) ->
exit code` (see Note [How a subcommand runs] in hypergrad/cli.py).
"""

from __future__ import annotations

import ast
import builtins
import sys

__all__ = ["add_commands", "evaluate", "parse_inputs"]


def add_commands(subparsers):
    """Add `graph` and `explain` to the `hypergrad` command's subparsers."""
    graph = subparsers.add_parser(
        "graph", help="draw the backward graph of an expression",
        description="Draw the backward graph of EXPR: print its DOT text, or write it with -o "
                    "(.dot needs nothing; .svg, .png and .pdf need the Graphviz program).")
    _add_expression_arguments(graph)
    graph.add_argument("-o", "--output", metavar="FILE",
                       help="graph.svg, graph.png, graph.pdf or graph.dot (default: print DOT)")
    graph.add_argument("--show-saved", action="store_true",
                       help="also draw the tensors each node saved for backward")
    graph.add_argument("--show-attrs", action="store_true",
                       help="also list each node's sequence_nr and attributes")
    graph.set_defaults(func=_run_graph)

    explain = subparsers.add_parser(
        "explain", help="write a page that steps through the backward pass of an expression",
        description="Run backward on EXPR while recording the engine, and write one "
                    "self-contained HTML page that steps through what it did.")
    _add_expression_arguments(explain)
    explain.add_argument("-o", "--output", metavar="FILE.html", default="backward.html",
                         help="where to write the page (default: backward.html)")
    explain.add_argument("--gradient", metavar="VALUE",
                         help="the gradient of EXPR, needed when it is not a scalar")
    explain.add_argument("--layout", choices=("auto", "graphviz", "builtin"), default="auto",
                         help="who draws the graph (auto: Graphviz if installed)")
    explain.set_defaults(func=_run_explain)


def _add_expression_arguments(parser):
    parser.add_argument("expr", metavar="EXPR",
                        help='a Python expression in the inputs, e.g. "(x * x).sum()"')
    parser.add_argument("--input", "-i", action="append", default=[], metavar="NAME=VALUE",
                        help='an input tensor, e.g. x="[1., 2.]" or w="randn(2, 3)" '
                             "(repeatable; floating-point inputs require grad)")


# ----------------------------------------------------------------------------------------------
# Inputs and the expression
# ----------------------------------------------------------------------------------------------
def _namespace():
    import hypergrad
    from hypergrad.nn import functional

    names = {name: getattr(hypergrad, name) for name in dir(hypergrad)
             if not name.startswith("_")}
    names.update(hg=hypergrad, hypergrad=hypergrad, F=functional)
    return names


def parse_inputs(specs):
    """`{name: tensor}` from `["x=[1., 2.]", ...]`; raises ValueError naming a bad one."""
    import hypergrad

    namespace = _namespace()
    inputs = {}
    for spec in specs:
        name, equals, text = spec.partition("=")
        name = name.strip()
        if not equals or not name.isidentifier():
            raise ValueError(f"--input {spec!r}: expected NAME=VALUE, e.g. x=\"[1., 2.]\"")
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            try:
                value = eval(compile(text, f"--input {name}", "eval"),
                             {"__builtins__": builtins}, dict(namespace, **inputs))
            except Exception as error:  # noqa: BLE001 - whatever the user's expression raises
                raise ValueError(f"--input {name}: cannot read {text!r}: {error}") from None
        try:
            tensor = value if isinstance(value, hypergrad.Tensor) else hypergrad.tensor(value)
        except Exception as error:  # noqa: BLE001 - whatever tensor() refuses
            raise ValueError(f"--input {name}: {text!r} is not a tensor: {error}") from None
        if tensor.is_floating_point() and tensor.grad_fn is None:
            tensor.requires_grad_(True)
        inputs[name] = tensor
    return inputs


def evaluate(expr, inputs):
    """The value of `expr` with the inputs and HyperGrad's names in scope."""
    import hypergrad

    try:
        code = compile(expr, "EXPR", "eval")
    except SyntaxError as error:
        raise ValueError(f"EXPR is not a Python expression: {error.msg}: {expr!r}") from None
    try:
        value = eval(code, {"__builtins__": builtins}, dict(_namespace(), **inputs))
    except Exception as error:  # noqa: BLE001 - whatever the user's expression raises
        raise ValueError(f"evaluating {expr!r} failed: {type(error).__name__}: {error}") \
            from None
    if not isinstance(value, hypergrad.Tensor):
        raise TypeError(f"{expr!r} gave a {type(value).__name__}, not a Tensor")
    return value


def _prepare(args, command):
    """(inputs, value) for the command, or None after printing what went wrong."""
    try:
        inputs = parse_inputs(args.input)
        return inputs, evaluate(args.expr, inputs)
    except (ValueError, TypeError) as error:
        print(f"hypergrad {command}: {error}", file=sys.stderr)
        return None


# ----------------------------------------------------------------------------------------------
# The handlers
# ----------------------------------------------------------------------------------------------
def _run_graph(args):
    from .graph import GraphvizNotFoundError, draw_graph, render_graph

    prepared = _prepare(args, "graph")
    if prepared is None:
        return 2
    inputs, value = prepared
    graph = draw_graph(value, params=inputs, show_saved=args.show_saved,
                       show_attrs=args.show_attrs)
    if args.output is None or args.output == "-":
        print(graph.source)
        return 0
    try:
        path = render_graph(graph, args.output)
    except GraphvizNotFoundError as error:
        print(f"hypergrad graph: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"hypergrad graph: cannot write {args.output}: {error}", file=sys.stderr)
        return 1
    print(f"wrote {path}")
    return 0


def _run_explain(args):
    import hypergrad

    from .describe import summarize, summary_text
    from .explain import explain_backward
    from .graph import GraphvizNotFoundError

    prepared = _prepare(args, "explain")
    if prepared is None:
        return 2
    inputs, value = prepared
    gradient = None
    if args.gradient is not None:
        try:
            gradient = hypergrad.tensor(ast.literal_eval(args.gradient),
                                        dtype=value.dtype)
        except (ValueError, SyntaxError, TypeError) as error:
            print(f"hypergrad explain: --gradient {args.gradient!r}: {error}", file=sys.stderr)
            return 2
    elif value.numel() != 1:
        print(f"hypergrad explain: EXPR has shape {tuple(value.shape)}; backward needs a "
              "scalar, or pass --gradient with a value of that shape", file=sys.stderr)
        return 2
    if value.grad_fn is None:
        print("hypergrad explain: EXPR does not depend on any input that requires grad, so "
              "there is no backward pass to explain", file=sys.stderr)
        return 2
    try:
        trace = explain_backward(value, args.output, gradient=gradient, params=inputs,
                                 layout=args.layout)
    except GraphvizNotFoundError as error:
        print(f"hypergrad explain: {error}", file=sys.stderr)
        return 1
    except (RuntimeError, OSError) as error:
        print(f"hypergrad explain: {error}", file=sys.stderr)
        return 1
    print(f"wrote {trace.path}: {len(trace.steps)} steps")
    for name, tensor in inputs.items():
        if tensor.grad is not None:
            print(f"  {name}.grad = {summary_text(summarize(tensor.grad))}")
    return 0
