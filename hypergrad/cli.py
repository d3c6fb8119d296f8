"""The `hypergrad` command: what is loaded, where each op came from, and how it conforms.

    hypergrad plugins [--status STATUS] [--json] [--plain]
    hypergrad ops [--plugin NAME] [--report FILE.json] [--json] [--plain]

`hypergrad plugins` lists every plugin HyperGrad found (built-in or installed through the
`hypergrad` entry-point group), whether it loaded, was skipped by the allow-list
(`HYPERGRAD_PLUGINS`) or is broken, and why. `hypergrad ops` lists every public op with the
plugin that defined it, its Tensor methods, the Node names its `grad_fn` shows, and its
conformance status taken from a report written by the conformance suite.

More subcommands come from elsewhere: the conformance suite adds its own
(`hypergrad.conformance.cli.add_commands`), and any plugin can add one with the
`hypergrad_register_commands(subparsers)` hook (see hypergrad/plugins/hookspecs.py).

Note [How a subcommand runs]
    Every subcommand's parser sets a default `func`: `parser.set_defaults(func=handler)`.
    `main` parses the arguments and returns `handler(args)` as the exit code (None means 0).
    Subcommands added by the conformance suite and by plugins follow the same rule.

Note [The JSON output]
    `--json` prints one object whose keys are part of HyperGrad's interface (add keys, never
    rename or remove them):

    hypergrad plugins --json
        {"hypergrad_version": str,
         "plugins": [{"name": str, "module": str, "distribution": str | null,
                      "version": str | null, "builtin": bool,
                      "status": "loaded" | "broken" | "skipped",
                      "ops": [str, ...], "op_count": int, "error": str | null}]}

    hypergrad ops --json
        {"hypergrad_version": str, "report": str | null,
         "ops": [{"name": str, "plugin": str, "module": str, "methods": [str, ...],
                  "aliases": [str, ...], "node_names": [str, ...], "summary": str,
                  "reference": str | null, "conformance": str}]}

    Plugins are listed in loading order, ops by name. `conformance` is "unchecked" unless
    `--report` names a conformance report; then it is that report's overall status for the
    op, in the suite's words ("pass", "divergence", "fail", ...; see `read_report`), or
    "unchecked" if the report does not mention the op.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys

import hypergrad
from hypergrad.plugins.manager import hooks
from hypergrad.plugins.registry import registry

__all__ = ["build_parser", "main", "op_rows", "plugin_rows", "read_report"]

UNCHECKED = "unchecked"
PLUGIN_STATUSES = ("loaded", "broken", "skipped")

# Keys a conformance report may use for an op's overall status, in order of preference.
_STATUS_KEYS = ("status", "overall", "overall_status", "result", "outcome", "verdict")
# Without one, an op's status is the worst its checks had, in this order (the suite's names).
_WORST_FIRST = ("error", "fail", "xpass", "divergence", "pass", "not_applicable")


# ----------------------------------------------------------------------------------------------
# What the commands list
# ----------------------------------------------------------------------------------------------
def plugin_rows():
    """One dict per plugin (the keys of Note [The JSON output]), in loading order.

    Ops defined outside any plugin (in a script or a notebook) are listed under the module
    that defined them, as a plugin with no distribution.
    """
    rows = []
    for name, record in registry.plugins.items():
        ops = sorted(entry.name for entry in registry.by_plugin(name)) \
            if record.status == "loaded" else []
        rows.append({"name": name, "module": record.module, "distribution": record.distribution,
                     "version": record.version, "builtin": record.builtin,
                     "status": record.status, "ops": ops, "op_count": len(ops),
                     "error": record.error})
    for name in sorted({entry.plugin for entry in registry.entries.values()}
                       - set(registry.plugins)):
        entries = registry.by_plugin(name)
        ops = sorted(entry.name for entry in entries)
        rows.append({"name": name, "module": entries[0].module, "distribution": None,
                     "version": None, "builtin": False, "status": "loaded", "ops": ops,
                     "op_count": len(ops), "error": None})
    return rows


def op_rows(plugins=None, report=None):
    """One dict per public op (the keys of Note [The JSON output]), sorted by name.

    `plugins`: keep only ops of these plugins. `report`: {op name: status} from `read_report`.
    """
    report = report or {}
    rows = []
    for name in sorted(registry.entries):
        entry = registry.entries[name]
        if plugins and entry.plugin not in plugins:
            continue
        reference = entry.reference
        if reference is not None and not isinstance(reference, str):
            reference = getattr(reference, "__qualname__", None) or repr(reference)
        rows.append({"name": name, "plugin": entry.plugin, "module": entry.module,
                     "methods": list(entry.methods), "aliases": list(entry.aliases),
                     "node_names": list(entry.node_names), "summary": entry.summary,
                     "reference": reference, "conformance": report.get(name, UNCHECKED)})
    return rows


def read_report(path):
    """{op name: overall status} from a conformance report (JSON) written by the suite.

    Read leniently, so reports from older or newer suites still work: `ops` may be a list of
    objects with a `name` (or `op`), or an object keyed by op name; an op's status is the first
    string found under "status", "overall", "result", ... (also inside a nested object), a
    bool ("pass"/"fail"), or else the worst status among its `checks`. Raises ValueError if
    the file is not such a report.
    """
    with open(path, encoding="utf-8") as file:
        try:
            data = json.load(file)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path} is not JSON: {error}") from None
    ops = data.get("ops") if isinstance(data, dict) else None
    if isinstance(ops, dict):
        ops = [dict(value, name=value.get("name", key)) if isinstance(value, dict)
               else {"name": key, "status": value} for key, value in ops.items()]
    if not isinstance(ops, list):
        raise ValueError(f"{path} is not a conformance report: it has no 'ops' list")
    statuses = {}
    for op in ops:
        if not isinstance(op, dict):
            continue
        name = op.get("name", op.get("op"))
        if isinstance(name, str):
            statuses[name] = _overall_status(op)
    return statuses


def _overall_status(op):
    """The op's own status if the report gives one, else the worst of its checks' statuses."""
    for key in _STATUS_KEYS:
        value = op.get(key)
        if isinstance(value, dict):
            value = next((value[k] for k in _STATUS_KEYS if isinstance(value.get(k), str)),
                         None)
        if isinstance(value, bool):
            return "pass" if value else "fail"
        if isinstance(value, str) and value:
            return value
    checks = op.get("checks")
    if isinstance(checks, dict):
        checks = list(checks.values())
    if isinstance(checks, list) and checks:
        found = {_overall_status(check) if isinstance(check, dict) else str(check)
                 for check in checks}
        if op.get("problems"):
            found.add("fail")
        for status in _WORST_FIRST:
            if status in found:
                return status
        return "unknown" if found == {"unknown"} else min(found)
    return "unknown"


# ----------------------------------------------------------------------------------------------
# Printing: rich tables when rich is installed, plain aligned text otherwise
# ----------------------------------------------------------------------------------------------
def _print_table(title, columns, rows, plain):
    """Print `rows` (lists of strings) under `columns`."""
    if not plain:
        try:
            from rich.console import Console
            from rich.table import Table
            from rich.text import Text
        except ImportError:
            plain = True
    if plain:
        widths = [max([len(column)] + [len(row[i]) for row in rows])
                  for i, column in enumerate(columns)]
        print(title)
        for line in [columns, ["-" * width for width in widths], *rows]:
            cells = (cell.ljust(width) for cell, width in zip(line, widths, strict=True))
            print("  ".join(cells).rstrip())
        return
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        # Text(), not str: a summary such as "values in [low, high]" is not rich markup.
        table.add_row(*map(Text, row), style="red" if "broken" in row else None)
    Console(highlight=False).print(table)


def _run_plugins(args):
    rows = plugin_rows()
    if args.status:
        rows = [row for row in rows if row["status"] in args.status]
    if args.json:
        _print_json({"hypergrad_version": hypergrad.__version__, "plugins": rows})
        return 0
    table = [[row["name"], row["module"], _distribution(row), row["status"],
              str(row["op_count"])] for row in rows]
    _print_table(_count(len(rows), "plugin"),
                 ["plugin", "module", "distribution", "status", "ops"], table, args.plain)
    for row in rows:
        if row["status"] == "broken":
            print(f"broken plugin {row['name']!r} ({row['module']}): {row['error']}")
    return 0


def _distribution(row):
    if row["distribution"] is None:
        return "-"
    return row["distribution"] + (f" {row['version']}" if row["version"] else "")


def _run_ops(args):
    unknown = sorted(set(args.plugin or ()) - {row["name"] for row in plugin_rows()})
    if unknown:
        print(f"hypergrad ops: no plugin named {', '.join(map(repr, unknown))}; "
              "`hypergrad plugins` lists them", file=sys.stderr)
        return 2
    try:
        report = read_report(args.report) if args.report else None
    except (OSError, ValueError) as error:
        print(f"hypergrad ops: cannot read the report: {error}", file=sys.stderr)
        return 2
    rows = op_rows(plugins=args.plugin, report=report)
    if args.json:
        _print_json({"hypergrad_version": hypergrad.__version__, "report": args.report,
                     "ops": rows})
        return 0
    table = [[row["name"], row["plugin"], ", ".join(row["methods"]),
              ", ".join(row["node_names"]), row["conformance"], row["summary"]] for row in rows]
    _print_table(_count(len(rows), "op"),
                 ["op", "plugin", "methods", "nodes", "conformance", "summary"], table, args.plain)
    return 0


def _count(n, noun):
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _print_json(value):
    json.dump(value, sys.stdout, indent=2)
    print()


# ----------------------------------------------------------------------------------------------
# The parser and main
# ----------------------------------------------------------------------------------------------
def build_parser():
    """The argument parser, with the built-in, conformance and plugin subcommands."""
    parser = argparse.ArgumentParser(
        prog="hypergrad", description="HyperGrad: list plugins and ops, check ops against torch.")
    parser.add_argument("--version", action="version",
                        version=f"hypergrad {hypergrad.__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")

    plugins = subparsers.add_parser(
        "plugins", help="list plugins: where each came from, and whether it loaded",
        description="List every plugin: its module, distribution, status (loaded, broken, "
                    "skipped by HYPERGRAD_PLUGINS) and number of ops; say why broken ones broke.")
    plugins.add_argument("--status", action="append", choices=PLUGIN_STATUSES,
                         help="only plugins with this status (repeatable)")
    _add_output_options(plugins)
    plugins.set_defaults(func=_run_plugins)

    ops = subparsers.add_parser(
        "ops", help="list ops: plugin, methods, node names, conformance status",
        description="List every public op with its plugin, Tensor methods, grad_fn node names, "
                    "one-line summary and conformance status.")
    ops.add_argument("--plugin", action="append", metavar="NAME",
                     help="only ops of this plugin (repeatable)")
    ops.add_argument("--report", metavar="FILE.json",
                     help="a conformance report to take each op's status from")
    _add_output_options(ops)
    ops.set_defaults(func=_run_ops)

    _add_optional_commands(subparsers, "hypergrad.conformance", "hypergrad.conformance.cli")
    _add_optional_commands(subparsers, "hypergrad.viz", "hypergrad.viz.cli")
    hooks.register_commands(subparsers)
    return parser


def _add_output_options(parser):
    parser.add_argument("--json", action="store_true",
                        help="print JSON with stable keys instead of a table")
    parser.add_argument("--plain", action="store_true",
                        help="plain aligned text even if rich is installed")


def _add_optional_commands(subparsers, package, module):
    """Subcommands from `module` (conformance, viz) if this HyperGrad has it."""
    try:
        commands = importlib.import_module(module)
    except ModuleNotFoundError as error:  # only its absence; an error inside it is raised
        if error.name not in (package, module):
            raise
        return
    commands.add_commands(subparsers)


def main(argv=None):
    """Run the `hypergrad` command with `argv` (default: sys.argv[1:]); return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 0
    code = args.func(args)
    return 0 if code is None else code


if __name__ == "__main__":
    sys.exit(main())
