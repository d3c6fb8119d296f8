"""The conformance suite checks itself: it catches a wrong op, shrinks and prints the failure as
a script that really reproduces it, honours documented divergences strictly, writes reports,
and runs from the CLI, from `hypergrad diff`, from pytest and without torch or hypothesis."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import hypergrad as hg
from hypergrad.conformance import ConformanceError, check_op, domains
from hypergrad.conformance.domains import on_some_inputs
from hypergrad.conformance.checks import CHECK_NAMES
from hypergrad.conformance.cli import add_commands
from hypergrad.conformance.drawer import HypothesisDrawer
from hypergrad.conformance.report import REPORT_SCHEMA, to_json, write_report
from hypergrad.conformance.runner import run_check, run_op, run_suite, select_entries
from hypergrad.plugins import Op, registry

SELFTEST = "conformance_selftest"


@pytest.fixture
def selftest_ops():
    """Three ops under a throw-away plugin: a right cube, a cube with a wrong gradient (3x
    instead of 3x**2), and a wrong cube that documents its divergence."""
    previous = registry.current_plugin
    registry.current_plugin = SELFTEST
    try:
        class SelftestCube(Op):
            """x ** 3.  out = a**3;  d/da = 3 * grad * a**2"""

            name = "selftest_cube"
            node_name = "PowBackward0"      # torch computes x ** 3 with pow
            reference = staticmethod(lambda x: x ** 3)
            samples = domains.unary(-3, 3)

            def forward(ctx, a):
                ctx.save_for_backward(a)
                return a ** 3

            def backward(ctx, grad):
                (a,) = ctx.saved_tensors
                return 3 * grad * a * a

        class SelftestWrongCube(Op):
            """x ** 3 with a wrong gradient.  d/da = 3 * grad * a   (should be a**2)"""

            name = "selftest_wrong_cube"
            reference = staticmethod(lambda x: x ** 3)
            samples = domains.unary(-3, 3)

            def forward(ctx, a):
                ctx.save_for_backward(a)
                return a ** 3

            def backward(ctx, grad):
                (a,) = ctx.saved_tensors
                return 3 * grad * a

        class SelftestDocumentedCube(SelftestWrongCube):
            """The wrong cube, documenting its gradient divergence (and a stale one)."""

            name = "selftest_documented_cube"
            divergences = {"grad": "the gradient is 3x, on purpose",
                           "forward": "stale: the forward agrees"}
            forward = SelftestWrongCube.forward
            backward = SelftestWrongCube.backward
    finally:
        registry.current_plugin = previous
    yield
    registry.unregister_plugin(SELFTEST)


# ----------------------------------------------------------------------------------------------
# The drawer
# ----------------------------------------------------------------------------------------------
@settings(max_examples=30, deadline=None)
@given(st.data())
def test_drawer_respects_the_domain(data):
    g = HypothesisDrawer(data, "float64")
    shape = g.shape(min_dims=1, max_dims=2, min_side=2, max_side=3)
    assert 1 <= len(shape) <= 2 and all(2 <= s <= 3 for s in shape)
    x = g.tensor(shape, 0.5, 2.0, exclude=(1.0,))
    assert x.array.shape == shape and x.array.dtype == np.float64 and x.requires_grad
    assert np.all((x.array >= 0.5) & (x.array <= 2.0))
    assert np.all(np.abs(x.array - 1.0) >= 1e-3 - 1e-12)
    a, b = g.shapes(2)
    np.broadcast_shapes(a, b)
    n = g.tensor((3,), -2, 2, dtype="int32")
    assert n.array.dtype == np.int32 and not n.requires_grad
    assert -2 <= n.array.min() and n.array.max() <= 2
    assert -2 <= g.dim(2) <= 1


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_drawer_modes(data):
    special = HypothesisDrawer(data, "float32", mode="special")
    array = special.tensor((4,), -1, 1).array
    assert array.dtype == np.float32
    plain_only = special.tensor((4,), -1, 1, special=False).array
    assert np.all(np.isfinite(plain_only) & (np.abs(plain_only) <= 1))
    edge = HypothesisDrawer(data, "float32", mode="edge")
    shape = edge.shape()
    assert shape == () or min(shape) >= 0
    mixed = HypothesisDrawer(data, "float32", mode="mixed", dtypes=("float32", "int64"))
    assert mixed.tensor((2,)).array.dtype in (np.float32, np.int64)


def test_special_mode_reaches_special_values():
    seen = set()

    @settings(max_examples=60, deadline=None, derandomize=True)
    @given(st.data())
    def draw(data):
        array = HypothesisDrawer(data, "float64", mode="special").tensor((6,), -1, 1).array
        seen.update("nan" if np.isnan(v) else "inf" if np.isinf(v) else
                    "big" if abs(v) > 1e100 else "zero" if v == 0 else "" for v in array)

    draw()
    assert {"nan", "inf", "big", "zero"} <= seen


# ----------------------------------------------------------------------------------------------
# Catching, shrinking, reproducing
# ----------------------------------------------------------------------------------------------
def test_a_correct_op_passes(selftest_ops):
    result = run_op("selftest_cube", examples=8, seed=0)
    assert not result.failed, result.summary()
    assert result.checks["grad"].status == "pass"
    assert result.checks["variants"].status == "not_applicable"  # no method or alias
    assert check_op("selftest_cube", ["forward", "grad"], examples=5).checks["grad"].compared


def test_a_wrong_gradient_fails_with_a_script_that_reproduces_it(selftest_ops):
    result = run_check("selftest_wrong_cube", "grad", examples=30, seed=1, database=None)
    assert result.status == "fail"
    assert "grad of x0" in result.failure.message
    script = result.failure.script
    assert "lib.autograd.grad" in script and "hg.selftest_wrong_cube" in script
    assert result.failure.example["check"] == "grad"
    # shrunk: a single element (0-dim or size 1)
    values = result.failure.example["sample"]["args"][0]
    assert int(np.prod(values["shape"])) == 1
    # the script runs and shows the two libraries disagreeing
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(compile(script, "<repro>", "exec"), {"__name__": "repro"})
    hg_line, torch_line = output.getvalue().strip().splitlines()
    assert hg_line.strip().startswith("hypergrad:") and torch_line.strip().startswith("torch:")
    assert hg_line.split("grads")[1] != torch_line.split("grads")[1]


def test_check_op_raises_with_the_failure(selftest_ops):
    with pytest.raises(ConformanceError, match="selftest_wrong_cube / grad"):
        check_op("selftest_wrong_cube", ["forward", "grad"], examples=20, seed=2)


def test_documented_divergences_are_strict(selftest_ops):
    result = run_op("selftest_documented_cube", ["forward", "grad"], examples=20, seed=3)
    assert result.checks["grad"].status == "divergence"
    assert result.checks["grad"].reason == "the gradient is 3x, on purpose"
    assert result.checks["grad"].failure is not None
    assert result.checks["forward"].status == "xpass"
    assert result.failed


def test_input_dependent_divergences_are_not_strict(selftest_ops):
    entry = registry.get("selftest_documented_cube")
    saved = entry.divergences
    entry.divergences = {"grad": on_some_inputs("the gradient is 3x, on purpose"),
                         "forward": on_some_inputs("shows only on rare inputs")}
    try:
        result = run_op("selftest_documented_cube", ["forward", "grad"], examples=20, seed=3)
    finally:
        entry.divergences = saved
    assert result.checks["grad"].status == "divergence"      # it shows: documented as before
    forward = result.checks["forward"]
    assert forward.status == "pass" and not result.failed   # it did not show: not stale
    assert f"did not show on these {forward.examples} examples" in forward.reason
    assert "shows only on rare inputs" in forward.reason


def test_declaration_problems_are_reported(selftest_ops):
    entry = registry.get("selftest_cube")
    entry.divergences = {"node names": "not a check"}
    try:
        result = run_op("selftest_cube", ["forward"], examples=3)
    finally:
        entry.divergences = None
    assert result.failed and "unknown check 'node names'" in result.problems[0]


def test_builtin_ops_are_reached_through_every_check():
    result = run_op("mul", examples=5, seed=4)
    assert set(result.checks) == set(CHECK_NAMES)
    assert all(r.status in ("pass", "not_applicable") for r in result.checks.values()), \
        result.summary()
    assert result.checks["inplace"].compared and result.checks["variants"].compared


def test_inputs_are_never_mutated_catches_an_op_that_writes_its_input(selftest_ops):
    previous = registry.current_plugin
    registry.current_plugin = SELFTEST
    try:
        class SelftestScribble(Op):
            """abs, but it also writes into its input."""

            name = "selftest_scribble"
            reference = "torch.abs"
            samples = staticmethod(lambda g: domains.Sample((g.tensor(g.shape(min_dims=1),
                                                                      requires_grad=False),)))
            differentiable = False

            def forward(ctx, a):
                out = np.abs(a)
                a[...] = 0
                return out
    finally:
        registry.current_plugin = previous
    result = run_check("selftest_scribble", "inplace", examples=10, seed=5)
    assert result.status == "fail" and "was modified by the op" in result.failure.message


# ----------------------------------------------------------------------------------------------
# Reports and commands
# ----------------------------------------------------------------------------------------------
def _validate(instance, schema):
    """The few JSON-schema rules REPORT_SCHEMA uses: type, required, properties, enum."""
    kinds = {"object": dict, "array": list, "string": str, "integer": int, "number": (int, float),
             "boolean": bool, "null": type(None)}
    expected = schema.get("type")
    if expected is not None:
        types = expected if isinstance(expected, list) else [expected]
        assert any(isinstance(instance, kinds[t]) for t in types), (instance, expected)
    if "enum" in schema:
        assert instance in schema["enum"]
    if "const" in schema:
        assert instance == schema["const"]
    if isinstance(instance, dict):
        for key in schema.get("required", ()):
            assert key in instance, key
        for key, sub in schema.get("properties", {}).items():
            if key in instance:
                _validate(instance[key], sub)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for value in instance.values():
                _validate(value, extra)
    if isinstance(instance, list) and "items" in schema:
        for item in instance:
            _validate(item, schema["items"])


def test_reports_in_three_formats(selftest_ops, tmp_path):
    entries = select_entries(["selftest_wrong_cube", "selftest_documented_cube", "neg"])
    suite = run_suite(entries, ("forward", "grad"), examples=15, seed=6)
    data = json.loads(json.dumps(to_json(suite)))
    _validate(data, REPORT_SCHEMA)
    assert data["seed"] == 6 and data["examples"] == 15
    assert data["versions"]["torch"] == torch.__version__
    assert data["versions"]["hypergrad"] == hg.__version__
    ops = {op["op"]: op for op in data["ops"]}
    assert ops["selftest_wrong_cube"]["checks"]["grad"]["status"] == "fail"
    assert "lib.autograd.grad" in ops["selftest_wrong_cube"]["checks"]["grad"]["failure"][
        "script"]
    assert ops["selftest_documented_cube"]["checks"]["grad"]["status"] == "divergence"
    for suffix in ("json", "md", "html"):
        write_report(suite, str(tmp_path / f"report.{suffix}"))
    markdown = (tmp_path / "report.md").read_text()
    assert "| `selftest_wrong_cube` |" in markdown and "```python" in markdown
    page = (tmp_path / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "lib.autograd.grad" in page
    assert "http://" not in page and "https://" not in page and "<script" not in page
    with pytest.raises(ValueError):
        write_report(suite, str(tmp_path / "report.txt"))


def _run_command(argv):
    parser = argparse.ArgumentParser(prog="hypergrad")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    output, errors = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(errors):
        code = args.func(args)
    return code, output.getvalue(), errors.getvalue()


def test_conformance_command(selftest_ops, tmp_path):
    report = tmp_path / "r.json"
    code, out, _ = _run_command(["conformance", "neg", "selftest_cube", "--check", "forward",
                                 "--check", "grad", "--examples", "4", "--seed", "9",
                                 "--report", str(report)])
    assert code == 0, out
    assert "neg" in out and "selftest_cube" in out and "passed" in out
    assert json.loads(report.read_text())["seed"] == 9
    code, out, _ = _run_command(["conformance", "--plugin", SELFTEST, "--check", "grad",
                                 "--examples", "20", "--seed", "1"])
    assert code == 1
    assert "FAIL" in out and "def run(lib, op):" in out
    code, _, err = _run_command(["conformance", "no_such_op"])
    assert code == 2 and "no op named 'no_such_op'" in err


def test_diff_expression_side_by_side():
    code, out, _ = _run_command(["diff", "--expr", "x.max()", "--input", "x=[3., 1., 3.]"])
    assert code == 0, out
    assert "MaxBackward1" in out and "grad x" in out and "[0.5, 0. , 0.5]" in out
    assert "AccumulateGrad (x)" in out and "no difference" in out
    code, out, _ = _run_command(["diff", "--expr", "hg.exp(x) * y", "--input", "x=[1., 2.]",
                                 "--input", "y=[2, 3]:float64"])
    assert code == 0 and "float64" in out and "ExpBackward0" in out


def test_diff_op_finds_and_shows_the_minimal_disagreement(selftest_ops):
    code, out, _ = _run_command(["diff", "selftest_wrong_cube", "--check", "grad",
                                 "--examples", "30", "--seed", "2"])
    assert code == 1
    assert "finds a disagreement" in out and "! grads[0]" in out and "def run(lib, op)" in out
    code, out, _ = _run_command(["diff", "selftest_cube", "--check", "grad", "--examples",
                                 "5"])
    assert code == 0 and "no disagreement found" in out


def test_jobs_spread_ops_over_processes():
    entries = select_entries(["neg", "abs"])
    suite = run_suite(entries, ("forward",), examples=3, seed=1, jobs=2)
    assert [op.op for op in suite.ops] == ["abs", "neg"]
    assert all(op.checks["forward"].status == "pass" for op in suite.ops)


# ----------------------------------------------------------------------------------------------
# pytest integration and imports
# ----------------------------------------------------------------------------------------------
def test_parametrize_and_the_pytest_plugin(tmp_path):
    (tmp_path / "test_plugin_ops.py").write_text(textwrap.dedent("""
        import pytest
        from hypergrad.conformance import parametrize_with_op_checks

        @parametrize_with_op_checks(["neg"], checks=["forward", "errors"])
        def test_with_parametrize(op, check):
            check(op)

        @pytest.mark.hypergrad_ops("abs", checks=["grad"])
        def test_with_marker(op, check):
            check(op)
    """))
    environment = dict(os.environ, HYPERGRAD_CONFORMANCE_EXAMPLES="3")
    environment.pop("CI", None)
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "hypergrad.conformance.pytest_plugin",
         "-p", "no:cacheprovider", "-q", "-rA", str(tmp_path), "--hypothesis-profile", "ci",
         "--hypergrad-conformance", "sign", "--hypergrad-check", "forward",
         "--rootdir", str(tmp_path)],
        capture_output=True, text=True, env=environment, timeout=300, check=False)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    for test_id in ("test_with_parametrize[neg-forward]", "test_with_parametrize[neg-errors]",
                    "test_with_parametrize[neg-declarations]", "test_with_marker[abs-grad]",
                    "sign-forward", "sign-declarations"):
        assert test_id in output, output
    assert "7 passed" in output, output


def test_importing_needs_neither_torch_nor_hypothesis():
    code = textwrap.dedent("""
        import sys

        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("torch", "hypothesis"):
                    raise ImportError(f"{name} is blocked")

        sys.meta_path.insert(0, Block())
        import hypergrad
        import hypergrad.conformance
        from hypergrad.conformance import domains
        from hypergrad.conformance.cli import add_commands
        assert hypergrad.plugins.registry.plugins["arithmetic"].status == "loaded"
        assert "torch" not in sys.modules and "hypothesis" not in sys.modules
        print("ok")
    """)
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               timeout=120, check=False)
    assert completed.stdout.strip() == "ok", completed.stderr


def test_our_ci_profile_replaces_hypothesis_builtin_one_but_not_a_projects():
    # Hypothesis registers its own `ci` profile (100 examples); `hypergrad conformance`
    # registers with replace=False and must still get ours (10), unless a project set its own.
    program = (
        "from hypothesis import settings\n"
        "from hypergrad.conformance.profiles import register_profiles\n"
        "register_profiles(replace=False)\n"
        "print(settings.get_profile('ci').max_examples)\n"
        "settings.register_profile('ci', max_examples=7)\n"
        "register_profiles(replace=False)\n"
        "print(settings.get_profile('ci').max_examples)\n")
    run = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                         check=True)
    assert run.stdout.split() == ["10", "7"]
