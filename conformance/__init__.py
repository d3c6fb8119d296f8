"""hypergrad.conformance: every op checked against torch.autograd.

For every registered op, hypothesis draws inputs from the op's declared domain and the suite
compares HyperGrad with torch: forward values, gradients, second-order gradients, grad_fn
names, edge shapes, non-contiguous inputs, mutation and in-place variants, every spelling,
mixed dtypes, special values and invalid inputs (checks.py says exactly what each requires).
A failure shrinks to a minimal example, printed as a script that runs it in both libraries.

The modules, in the order a reader meets them:

    domains.py      what op plugins import to declare their inputs (plain Python: it needs
                    neither torch nor hypothesis, so importing an op costs nothing)
    drawer.py       the drawer `g` the domains draw from, built on hypothesis
    harness.py      running a sample in both libraries and comparing the results
    checks.py       the checks
    repro.py        a failing example as a script
    runner.py       one hypothesis test per (op, check); results; many ops over processes
    report.py       the terminal table and the JSON / Markdown / HTML reports
    diff.py         `hypergrad diff`
    cli.py          the `conformance` and `diff` commands
    op_checks.py    `check_op` and `parametrize_with_op_checks` for a plugin's own tests
    pytest_plugin.py  `pytest -p hypergrad.conformance.pytest_plugin`
    profiles.py     the hypothesis profiles `fast`, `ci` and `thorough`

Everything but `domains` is imported on first use, so `import hypergrad.conformance` works
without torch or hypothesis installed.
"""

from __future__ import annotations

import importlib

from . import domains

__all__ = [
    "CHECK_NAMES",
    "ConformanceError",
    "OpCheck",
    "check_op",
    "domains",
    "parametrize_with_op_checks",
    "register_profiles",
    "run_check",
    "run_op",
    "run_suite",
]

_LAZY = {
    "check_op": ".op_checks", "parametrize_with_op_checks": ".op_checks",
    "OpCheck": ".op_checks", "ConformanceError": ".op_checks",
    "run_op": ".runner", "run_check": ".runner", "run_suite": ".runner",
    "register_profiles": ".profiles", "CHECK_NAMES": ".checks",
}


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hypergrad.conformance' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
