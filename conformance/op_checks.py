"""Checking a plugin's own ops from its test suite, as scikit-learn's `parametrize_with_checks`
and `check_estimator` do for estimators.

    from hypergrad.conformance import parametrize_with_op_checks

    @parametrize_with_op_checks(["cube", "soft_clip"])
    def test_my_ops(op, check):
        check(op)

gives one pytest test per op and check (`cube-forward`, `cube-grad`, ..., and
`cube-declarations`, which validates the op's conformance metadata). A check that does not
apply is skipped, a documented divergence is an expected failure (xfail), and a failure shows
the message and the script that reproduces the minimal example. `check_op("cube")` runs every
check at once and raises `ConformanceError` if any fails.
"""

from __future__ import annotations

import sys

__all__ = [
    "DECLARATIONS",
    "ConformanceError",
    "OpCheck",
    "check_op",
    "parametrize_with_op_checks",
]

DECLARATIONS = "declarations"


class ConformanceError(AssertionError):
    """An op disagrees with torch where it does not document a divergence."""


def _failure_text(result):
    """The message, script (and traceback) of a failing CheckResult."""
    if result.status == "xpass":
        return (f"{result.op} / {result.check}: the op documents a divergence here "
                f"({result.reason}), but the check now passes: remove the declaration "
                "(divergences are strict).")
    failure = result.failure
    parts = [f"{result.op} / {result.check}: {failure.message}"]
    if failure.script:
        parts.append("Reproduce it with:\n\n" + failure.script)
    if failure.traceback and result.status == "error":
        parts.append(failure.traceback)
    return "\n\n".join(parts)


def _in_pytest():
    return "pytest" in sys.modules and "_pytest.outcomes" in sys.modules


class OpCheck:
    """One conformance check as a callable: `check(op)` runs it on an op.

    Under pytest a check that does not apply skips and a documented divergence is an
    expected failure (xfail); elsewhere both simply return. A failure raises
    ConformanceError. Returns the CheckResult.
    """

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"OpCheck({self.name!r})"

    def __call__(self, op, *, examples=None, seed=None):
        from .runner import CheckResult, declaration_problems, resolve_entry, run_check

        entry = resolve_entry(op)
        if self.name == DECLARATIONS:
            problems = declaration_problems(entry)
            if problems:
                raise ConformanceError(f"{entry.name}: " + "\n".join(problems))
            return CheckResult(entry.name, self.name, "pass")
        result = run_check(entry, self.name, examples=examples, seed=seed)
        if result.failed:
            raise ConformanceError(_failure_text(result))
        if _in_pytest() and result.status in ("not_applicable", "divergence"):
            import pytest

            if result.status == "not_applicable":
                pytest.skip(f"not applicable: {result.reason}")
            pytest.xfail(f"documented divergence: {result.reason}")
        return result


def check_op(op, checks=None, *, examples=None, seed=None):
    """Run every conformance check (or `checks`) of `op`; raise ConformanceError listing the
    failures, else return the OpResult (`result.summary()` prints a short table).

    `op` is a name ("mul"), an Op class, its function, or a registry entry.
    """
    from .runner import run_op

    result = run_op(op, checks, examples=examples, seed=seed)
    if result.failed:
        texts = [f"{result.op}: declaration problem: {p}" for p in result.problems]
        texts += [_failure_text(r) for r in result.failures()]
        raise ConformanceError(result.summary() + "\n\n" + "\n\n".join(texts))
    return result


def parametrize_with_op_checks(ops, checks=None):
    """A `pytest.mark.parametrize("op, check", ...)` over every op and check.

    `ops`: op names, Op classes, functions or registry entries (for all the ops of a plugin:
    `hypergrad.plugins.registry.by_plugin("name")`). Test ids read `<op>-<check>`.
    """
    import pytest

    from .checks import CHECK_NAMES
    from .runner import resolve_entry

    params, ids = [], []
    for op in ops:
        entry = resolve_entry(op)
        for name in (DECLARATIONS,) + tuple(checks or CHECK_NAMES):
            params.append((entry, OpCheck(name)))
            ids.append(f"{entry.name}-{name}")
    return pytest.mark.parametrize(("op", "check"), params, ids=ids)
