"""Running checks with hypothesis: one hypothesis test per (op, check), and their results.

`run_check(op, check)` builds a hypothesis test whose body runs the check on one drawn
example, runs it, and turns the outcome into a `CheckResult`:

    pass            every example agreed
    fail            an example disagreed; `failure` holds the minimal one (hypothesis shrinks
                    it) with its message and a script that reproduces it in both libraries
    error           the check itself crashed (a bug in the op's `samples`, say)
    divergence      it failed, and the op documents a divergence for this check (with reason)
    xpass           the op documents a divergence for this check, but it passed: the
                    declaration is stale (strict, like pytest's xfail(strict=True)). A
                    check with a documented divergence runs 5x the examples (at least 50)
                    before it says so, as the divergence may show only on rare inputs.
                    A divergence declared with `on_some_inputs(reason)` is not strict: when
                    the draws miss it, the check passes (with a reason saying so).
    not_applicable  the check does not apply (no floating dtype, no in-place spelling, ...) or
                    no example had anything to compare

`run_op` runs every check of one op; `run_suite` runs many ops, optionally spread over
processes (`jobs`), reporting progress through a callback.

Note [Database keys and seeds]
    Each (op, check) test has its own hypothesis database key, `hypergrad-conformance:<op>:
    <check>`, so an example that once failed for `mul`/`grad` is replayed first next time and
    never leaks into another op. With a `seed`, each test is seeded with a hash of (seed, op,
    check); `hypergrad conformance --seed S` also turns the database off, so that run is
    exactly reproducible. Without a seed the profile decides (the `ci` profile derandomizes
    from the same key and uses no database).
"""

from __future__ import annotations

import hashlib
import platform
import time
import traceback
from dataclasses import dataclass, field

from .harness import Mismatch, OpUnderTest

__all__ = [
    "FAILING",
    "STATUSES",
    "CheckResult",
    "Failure",
    "OpResult",
    "SuiteResult",
    "declaration_problems",
    "resolve_entry",
    "run_check",
    "run_op",
    "run_suite",
    "select_entries",
]

STATUSES = ("pass", "fail", "error", "divergence", "xpass", "not_applicable")

# A documented divergence often shows only on some inputs (an infinity, a tie), so before
# calling it stale (xpass) its check searches longer: it stops at the first failure anyway.
DIVERGENCE_EXAMPLES_FACTOR = 5
DIVERGENCE_EXAMPLES_MINIMUM = 50
FAILING = ("fail", "error", "xpass")


@dataclass
class Failure:
    """One failing example: what differed, the script that shows it, and the example."""

    message: str
    script: str = ""
    example: dict | None = None
    traceback: str = ""
    flaky: bool = False


@dataclass
class CheckResult:
    op: str
    check: str
    status: str
    reason: str = ""
    examples: int = 0
    compared: int = 0
    seconds: float = 0.0
    worst_ratio: float | None = None
    worst_abs: float | None = None
    worst_where: str = ""
    failure: Failure | None = None

    @property
    def failed(self):
        return self.status in FAILING


@dataclass
class OpResult:
    op: str
    plugin: str = ""
    reference: str | None = None
    checks: dict = field(default_factory=dict)      # check name -> CheckResult
    problems: list = field(default_factory=list)    # declaration errors (unknown checks, ...)
    seconds: float = 0.0

    @property
    def failed(self):
        return bool(self.problems) or any(r.failed for r in self.checks.values())

    def failures(self):
        return [r for r in self.checks.values() if r.failed]

    def summary(self):
        """A few lines: one per check, with status and worst error ratio."""
        lines = [f"{self.op} ({self.plugin}, reference {self.reference})"]
        for result in self.checks.values():
            worst = f"  worst {result.worst_ratio:.2g} x tol" if result.worst_ratio else ""
            reason = f"  ({result.reason})" if result.reason else ""
            lines.append(f"  {result.check:<14} {result.status}{worst}{reason}")
        lines += [f"  problem: {p}" for p in self.problems]
        return "\n".join(lines)


@dataclass
class SuiteResult:
    ops: list                      # OpResults
    checks: tuple
    examples: int
    seed: int | None
    profile: str | None
    jobs: int
    seconds: float
    versions: dict

    @property
    def failed(self):
        return any(o.failed for o in self.ops)

    def counts(self):
        counts = dict.fromkeys(STATUSES, 0)
        for op in self.ops:
            for result in op.checks.values():
                counts[result.status] += 1
        counts["problems"] = sum(len(o.problems) for o in self.ops)
        return counts


def versions():
    import hypothesis
    import numpy
    import torch

    import hypergrad

    return {"hypergrad": hypergrad.__version__, "torch": torch.__version__,
            "hypothesis": hypothesis.__version__, "numpy": numpy.__version__,
            "python": platform.python_version(), "platform": platform.platform()}


# ----------------------------------------------------------------------------------------------
# Finding ops
# ----------------------------------------------------------------------------------------------
def resolve_entry(op):
    """An OpEntry from an entry, a public name ("mul"), an Op class or its function."""
    from hypergrad.plugins import registry
    from hypergrad.plugins.registry import OpEntry

    if isinstance(op, OpEntry):
        return op
    if isinstance(op, str):
        return registry.get(op)
    name = getattr(op, "name", None)
    if isinstance(name, str) and name in registry.entries:
        return registry.entries[name]
    for entry in registry.entries.values():
        if entry.function is op or entry.op is op:
            return entry
    raise KeyError(f"{op!r} is not a registered op; `hypergrad ops` lists them")


def select_entries(names=(), plugins=()):
    """Entries by name and/or plugin (all registered ops when neither is given), sorted."""
    from hypergrad.plugins import registry

    if not names and not plugins:
        chosen = list(registry.entries.values())
    else:
        chosen = [registry.get(n) for n in names]
        for plugin in plugins:
            found = registry.by_plugin(plugin)
            if not found and plugin not in registry.plugins:
                raise KeyError(f"no plugin named {plugin!r}; `hypergrad plugins` lists them")
            chosen += [e for e in found if e not in chosen]
    return sorted(chosen, key=lambda e: (e.plugin, e.name))


# ----------------------------------------------------------------------------------------------
# One check
# ----------------------------------------------------------------------------------------------
def _derived_seed(seed, op, check):
    digest = hashlib.sha256(f"{seed}:{op}:{check}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _check_dtypes(op, check):
    if check.dtypes == "floating":
        return op.floating_dtypes
    if check.dtypes == "second-order":
        return ("float64",) if "float64" in op.floating_dtypes else op.floating_dtypes
    return op.dtypes


def _not_applicable(op, check):
    entry = op.entry
    if check.name == "errors":
        return check.applies(op)
    if entry.reference is None:
        return "the op declares no torch reference"
    if entry.samples is None:
        return "the op declares no samples"
    return check.applies(op)


def run_check(op, check_name, *, examples=None, seed=None, database="profile"):
    """Run one check of one op (an OpUnderTest or anything `resolve_entry` takes)."""
    from hypothesis import HealthCheck, Verbosity, given, settings
    from hypothesis import seed as seed_decorator
    from hypothesis import strategies as st

    from .checks import CHECKS, CheckContext, CheckStats
    from .drawer import HypothesisDrawer
    from .profiles import examples_per_check

    if not isinstance(op, OpUnderTest):
        op = OpUnderTest(resolve_entry(op))
    check = CHECKS[check_name]
    started = time.perf_counter()
    reason = _not_applicable(op, check)
    if reason is not None:
        return CheckResult(op.name, check_name, "not_applicable", reason)
    dtypes = _check_dtypes(op, check)
    stats = CheckStats()
    dtype_strategy = st.sampled_from(dtypes)

    def body(data):
        dtype = data.draw(dtype_strategy, label="dtype")
        g = HypothesisDrawer(data, dtype, mode=check.mode, dtypes=op.dtypes)
        ctx = CheckContext(op, check_name, g, stats)
        stats.examples += 1
        try:
            check.function(ctx)
        except Exception as error:
            try:
                error.hypergrad_scenario = ctx.scenario.copy() if ctx.scenario else None
            except Exception:  # an exception type that refuses attributes: no scenario then
                pass
            raise

    body._hypothesis_internal_add_digest = f"hypergrad-conformance:{op.name}:{check_name}".encode()
    count = examples_per_check(examples)
    if op.divergences.get(check_name):
        count = max(DIVERGENCE_EXAMPLES_FACTOR * count, DIVERGENCE_EXAMPLES_MINIMUM)
    options = {"max_examples": count, "deadline": None,
               "suppress_health_check": list(HealthCheck), "report_multiple_bugs": False,
               "verbosity": Verbosity.quiet}
    if database is None:
        options["database"] = None
    test = settings(**options)(given(st.data())(body))
    if seed is not None:
        test = seed_decorator(_derived_seed(seed, op.name, check_name))(test)
    status, failure = "pass", None
    try:
        test()
    except BaseException as error:
        if isinstance(error, (KeyboardInterrupt, SystemExit)):
            raise
        status, failure = _failure(op, check_name, error)
    result = CheckResult(op.name, check_name, status, examples=stats.examples,
                         compared=stats.compared, failure=failure,
                         worst_ratio=stats.worst_ratio if stats.worst_where else None,
                         worst_abs=stats.worst_abs if stats.worst_where else None,
                         worst_where=stats.worst_where)
    if status == "pass" and stats.compared == 0:
        result.status = "not_applicable"
        result.reason = _vacuous_reason(stats)
    documented = op.divergences.get(check_name)
    if documented:
        result.reason = documented
        if status != "pass":
            result.status = "divergence"
        elif getattr(documented, "strict", True):
            result.status = "xpass"
        else:                           # an input-dependent divergence these draws missed
            result.reason = (f"the documented divergence did not show on these "
                             f"{stats.examples} examples (it shows only on some inputs: "
                             f"{documented})")
    result.seconds = time.perf_counter() - started
    return result


def _vacuous_reason(stats):
    if not stats.vacuous:
        return "no example was compared"
    reason = stats.vacuous.most_common(1)[0][0]
    return f"nothing to compare in {stats.examples} examples ({reason})"


def _unwrap(error):
    """The first Mismatch inside hypothesis' exception groups (flaky failures), or the error."""
    pending = [error]
    while pending:
        current = pending.pop(0)
        if isinstance(current, Mismatch):
            return current
        pending.extend(getattr(current, "exceptions", ()))
    return error


def _failure(op, check_name, error):
    from .repro import script

    inner = _unwrap(error)
    flaky = inner is not error
    scenario = getattr(inner, "hypergrad_scenario", None)
    if isinstance(inner, Mismatch):
        status, message, trace = "fail", str(inner), ""
    else:
        status = "error"
        message = f"the check raised {type(inner).__name__}: {inner}"
        trace = "".join(traceback.format_exception(type(inner), inner, inner.__traceback__))
    if flaky:
        message += "\n(flaky: the failure did not reproduce on every replay)"
    text = ""
    example = None
    if scenario is not None:
        try:
            text = script(scenario, op, message)
            example = scenario.to_dict()
        except Exception as problem:  # a failure must still be reported without its script
            text = f"# could not write a script for this example: {problem}\n"
    return status, Failure(message, text, example, trace, flaky)


# ----------------------------------------------------------------------------------------------
# One op, many ops
# ----------------------------------------------------------------------------------------------
def run_op(op, checks=None, *, examples=None, seed=None, database="profile", progress=None):
    """Run the checks (all by default) of one op; `progress(result)` after each check."""
    from .checks import CHECK_NAMES

    entry = resolve_entry(op)
    target = OpUnderTest(entry)
    started = time.perf_counter()
    result = OpResult(entry.name, entry.plugin, target.reference_text)
    result.problems = declaration_problems(entry)
    for name in checks or CHECK_NAMES:
        check_result = run_check(target, name, examples=examples, seed=seed, database=database)
        result.checks[name] = check_result
        if progress is not None:
            progress(check_result)
    result.seconds = time.perf_counter() - started
    return result


def declaration_problems(entry):
    """What is wrong with an op's conformance metadata (a list of sentences, empty if
    nothing): divergences for unknown checks, unknown dtype names, a torch reference that
    does not exist, malformed tolerances."""
    from .checks import CHECK_NAMES
    from .harness import DEFAULT_TOLERANCES, resolve_reference

    problems = []
    known_dtypes = {"bool", "uint8", "int8", "int16", "int32", "int64", *DEFAULT_TOLERANCES}
    for name in entry.divergences or {}:
        if name not in CHECK_NAMES:
            problems.append(f"divergence declared for unknown check {name!r} (the checks: "
                            f"{', '.join(CHECK_NAMES)})")
    for name in entry.dtypes or ():
        if name not in known_dtypes:
            problems.append(f"unknown dtype {name!r} in dtypes")
    for key, value in (entry.tolerances or {}).items():
        pairs = value.items() if isinstance(value, dict) else [(key, value)]
        if isinstance(value, dict) and key not in CHECK_NAMES:
            problems.append(f"tolerances for unknown check {key!r}")
        for dtype, pair in pairs:
            if dtype not in known_dtypes:
                problems.append(f"tolerances for unknown dtype {dtype!r}")
            elif not (isinstance(pair, (tuple, list)) and len(pair) == 2):
                problems.append(f"tolerances[{dtype!r}] must be (rtol, atol), got {pair!r}")
    if entry.reference is not None:
        try:
            resolve_reference(entry.reference)
        except (ImportError, AttributeError) as error:
            problems.append(f"the reference {entry.reference!r} does not exist in torch "
                            f"({error})")
    return problems


def _run_op_in_worker(name, checks, examples, seed, database):
    """The job a worker process runs: one op, all its checks (top level so it pickles)."""
    import torch

    torch.set_num_threads(1)
    return run_op(name, checks, examples=examples, seed=seed, database=database)


def run_suite(entries, checks=None, *, examples=None, seed=None, jobs=1, profile=None,
              database="profile", on_check=None, on_op=None):
    """Run `checks` for every entry; with `jobs` > 1, ops are spread over processes.

    `on_check(check_result)` is called after each check (in-process runs only), `on_op(
    op_result)` after each op. Returns a SuiteResult.
    """
    from .checks import CHECK_NAMES
    from .profiles import examples_per_check

    checks = tuple(checks or CHECK_NAMES)
    examples = examples_per_check(examples)
    started = time.perf_counter()
    results = {}
    if jobs > 1 and len(entries) > 1:
        import concurrent.futures
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(max_workers=jobs,
                                                    mp_context=context) as pool:
            futures = {pool.submit(_run_op_in_worker, e.name, checks, examples, seed,
                                   database): e.name for e in entries}
            for future in concurrent.futures.as_completed(futures):
                name = futures[future]
                try:
                    op_result = future.result()
                except Exception as error:  # one op's worker failing must not stop the run
                    op_result = OpResult(name, problems=[
                        f"could not be checked in a worker process ({type(error).__name__}: "
                        f"{error}); ops defined outside an installed plugin need --jobs 1"])
                results[name] = op_result
                if on_op is not None:
                    on_op(op_result)
    else:
        for entry in entries:
            op_result = run_op(entry, checks, examples=examples, seed=seed, database=database,
                               progress=on_check)
            results[entry.name] = op_result
            if on_op is not None:
                on_op(op_result)
    ordered = [results[e.name] for e in entries]
    return SuiteResult(ordered, checks, examples, seed, profile, jobs,
                       time.perf_counter() - started, versions())
