"""The `conformance` and `diff` subcommands of the `hypergrad` console script.

`hypergrad/cli.py` builds the parser and calls `add_commands(subparsers)`; each subparser
sets `func`, a handler `handler(args) -> exit code`. `python -m hypergrad.conformance` runs
the same commands on their own.

    hypergrad conformance [OP ...] [--plugin NAME] [--check NAME ...] [--examples N]
                          [--seed S] [--jobs N] [--report FILE] [--profile NAME]
    hypergrad diff OP [--check NAME ...] [--examples N] [--seed S]
    hypergrad diff --expr EXPR [--input NAME=LITERAL ...]
"""

from __future__ import annotations

import argparse
import random
import sys

__all__ = ["add_commands", "conformance_command", "diff_command", "main"]

from .checks import CHECK_NAMES


def add_commands(subparsers):
    """Add `conformance` and `diff` to an argparse subparsers object."""
    parser = subparsers.add_parser(
        "conformance", help="check ops against torch.autograd",
        description="Run the conformance checks (values, gradients, second-order gradients, "
                    "grad_fn names, shapes, layouts, in-place variants, spellings, dtypes, "
                    "special values, errors) of registered ops against torch, and print an "
                    "op x check table. Exits 1 on any undocumented failure.")
    parser.add_argument("ops", nargs="*", metavar="OP", help="ops to check (default: all)")
    parser.add_argument("--plugin", action="append", default=[], metavar="NAME",
                        help="check every op of this plugin (repeatable)")
    parser.add_argument("--check", action="append", choices=CHECK_NAMES, metavar="NAME",
                        help=f"run only these checks (repeatable): {', '.join(CHECK_NAMES)}")
    parser.add_argument("--examples", type=int, metavar="N",
                        help="hypothesis examples per check (default: the profile's)")
    parser.add_argument("--seed", type=int, metavar="S",
                        help="seed for an exactly reproducible run (default: random, shown "
                             "in the report)")
    parser.add_argument("--jobs", type=int, default=1, metavar="N",
                        help="spread the ops over N processes")
    parser.add_argument("--report", metavar="FILE",
                        help="also write a report: FILE.json, FILE.md or FILE.html")
    parser.add_argument("--profile", choices=("fast", "ci", "thorough"),
                        help="hypothesis profile (default: ci under CI, else fast)")
    parser.add_argument("--quiet", action="store_true",
                        help="no progress display and no failing examples, only the table")
    parser.set_defaults(func=conformance_command)

    diff = subparsers.add_parser(
        "diff", help="show where HyperGrad and torch disagree, side by side",
        description="`diff OP` searches the op's domain for inputs where HyperGrad and torch "
                    "disagree and shows the minimal one; `diff --expr EXPR --input x=[...]` "
                    "evaluates an expression in both libraries (`hg` and `torch` both name "
                    "the library under test) and shows values, dtypes, shapes, gradients "
                    "and grad_fn graphs side by side. Exits 1 if anything differs.")
    diff.add_argument("op", nargs="?", metavar="OP")
    diff.add_argument("--expr", metavar="EXPR", help='e.g. "x.max()" or "torch.exp(x) * y"')
    diff.add_argument("--input", action="append", default=[], metavar="NAME=LITERAL",
                      help='an input, e.g. x="[3., 1., 3.]" or x="[1, 2]:float64"')
    diff.add_argument("--check", action="append", choices=CHECK_NAMES, metavar="NAME",
                      help="search only with these checks")
    diff.add_argument("--examples", type=int, default=100, metavar="N",
                      help="examples per check while searching (default 100)")
    diff.add_argument("--seed", type=int, metavar="S")
    diff.set_defaults(func=diff_command)
    return subparsers


def _missing_dependency(error):
    print(f"hypergrad: the conformance suite needs torch and hypothesis ({error}); install "
          "them with `pip install hypergrad[conformance]`", file=sys.stderr)
    return 2


def conformance_command(args):
    """Handler of `hypergrad conformance`."""
    try:
        from hypothesis import settings

        from .profiles import examples_per_check, register_profiles, select_profile
        from .report import Progress, print_failures, print_table, write_report
        from .runner import run_suite, select_entries
    except ImportError as error:
        return _missing_dependency(error)
    register_profiles(replace=False)
    if args.profile:
        settings.load_profile(args.profile)
        profile = args.profile
    else:
        profile = select_profile()
    try:
        entries = select_entries(args.ops, args.plugin)
    except KeyError as error:
        print(f"hypergrad conformance: {error.args[0]}", file=sys.stderr)
        return 2
    if not entries:
        print("hypergrad conformance: no ops selected", file=sys.stderr)
        return 2
    if args.report and not args.report.lower().endswith((".json", ".md", ".markdown",
                                                         ".html", ".htm")):
        print(f"hypergrad conformance: --report {args.report}: use a .json, .md or .html "
              "file", file=sys.stderr)
        return 2
    checks = tuple(args.check or CHECK_NAMES)
    examples = examples_per_check(args.examples)
    seed = args.seed if args.seed is not None else random.randrange(2 ** 32)
    database = None if args.seed is not None else "profile"
    progress = Progress(len(entries), checks, enabled=not args.quiet)
    with progress:
        suite = run_suite(entries, checks, examples=examples, seed=seed, jobs=max(1, args.jobs),
                          profile=profile, database=database, on_check=progress.check_done,
                          on_op=lambda op: progress.op_done(op, args.jobs <= 1))
    print_table(suite)
    if not args.quiet:
        print_failures(suite)
    if args.report:
        write_report(suite, args.report)
        print(f"report written to {args.report}")
    return 1 if suite.failed else 0


def diff_command(args):
    """Handler of `hypergrad diff`."""
    try:
        from .diff import diff_expr, diff_op
    except ImportError as error:
        return _missing_dependency(error)
    if args.expr is not None:
        if args.op is not None:
            print("hypergrad diff: give either OP or --expr, not both", file=sys.stderr)
            return 2
        try:
            return diff_expr(args.expr, args.input)
        except ValueError as error:
            print(f"hypergrad diff: {error}", file=sys.stderr)
            return 2
    if args.op is None:
        print("hypergrad diff: give an OP, or --expr EXPR", file=sys.stderr)
        return 2
    try:
        from .profiles import register_profiles, select_profile

        register_profiles(replace=False)
        select_profile()
        return diff_op(args.op, checks=args.check, examples=args.examples, seed=args.seed)
    except KeyError as error:
        print(f"hypergrad diff: {error.args[0]}", file=sys.stderr)
        return 2


def main(argv=None):
    """`python -m hypergrad.conformance ...`: the two commands without the main CLI."""
    parser = argparse.ArgumentParser(prog="python -m hypergrad.conformance")
    subparsers = parser.add_subparsers(dest="command", required=True)
    add_commands(subparsers)
    args = parser.parse_args(argv)
    return args.func(args)
