"""Plugins as a user meets them: install one, use its ops, list them, and survive broken ones.

- The example package (examples/hypergrad-example-plugin) is pip-installed once per session;
  its ops then compute and differentiate like torch, and `hypergrad plugins` / `hypergrad ops`
  list them with their distribution.
- A plugin that fails to import, or fails half way, is listed as broken with its error, what
  it registered is rolled back, and every other op keeps working. Strict mode raises instead.
- The allow-list `HYPERGRAD_PLUGINS` skips unlisted plugins; two plugins defining one op name
  is an error naming both, unless one sets `override = True`.

Broken and duplicate plugins are plain modules written to a temporary directory and loaded
with `load_plugins(entry_points=[(name, module, dist, version)])`, the very function
`import hypergrad` calls for installed entry points; nothing broken is ever installed.

Note [Installing into a private directory]
    The example is installed with pip, but with `--target` into a temporary directory that
    this session puts on sys.path (and PYTHONPATH for subprocesses), not into the
    environment's site-packages. Other test runs share that environment (pytest-xdist
    workers, other checkouts): an installed example would appear in their `import hypergrad`
    half way through their run. The entry point is found exactly as for a normal install,
    from the `.dist-info` directory pip writes.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

import hypergrad as hg
from hypergrad import cli
from hypergrad.plugins import (BUILTIN_PLUGINS, DuplicateOpError, PluginLoadError, hookimpl,
                               load_plugins, registry)
from hypergrad.plugins.manager import plugin_manager

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "hypergrad-example-plugin"
BUILTINS = tuple(BUILTIN_PLUGINS)


# ----------------------------------------------------------------------------------------------
# Fixtures
# ----------------------------------------------------------------------------------------------
def _forget_plugin(name, modules=()):
    """Undo everything a plugin did in this process (see manager.load_plugin for what it does)."""
    registry.unregister_plugin(name)
    if plugin_manager.get_plugin(name) is not None:
        plugin_manager.unregister(name=name)
    registry.plugins.pop(name, None)
    for module in list(sys.modules):
        if any(module == m or module.startswith(m + ".") for m in modules):
            del sys.modules[module]


@pytest.fixture(scope="session")
def example_site(tmp_path_factory):
    """The example plugin pip-installed into a private directory (see the module Note)."""
    work = tmp_path_factory.mktemp("example-plugin")
    source = work / "source"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns(
        "build", "*.egg-info", "__pycache__", ".pytest_cache", ".hypothesis"))
    site = work / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation",
                    "--no-index", "--disable-pip-version-check", "--quiet", "--target",
                    str(site), str(source)], check=True, capture_output=True)
    return site


@pytest.fixture(scope="module")
def example_plugin(example_site):
    """The installed example, loaded into this process the way `import hypergrad` loads it
    (and unloaded after this module, so other test files see HyperGrad as it was)."""
    sys.path.insert(0, str(example_site))
    importlib.invalidate_caches()
    try:
        load_plugins()
        yield registry.plugins["example"]
    finally:
        _forget_plugin("example", modules=("hypergrad_example",))
        sys.path.remove(str(example_site))
        importlib.invalidate_caches()


@pytest.fixture
def plugin_dir(tmp_path, monkeypatch):
    """A directory on sys.path to write plugin modules into; they are forgotten afterwards."""
    monkeypatch.syspath_prepend(str(tmp_path))
    loaded = []

    def write(module, source):
        (tmp_path / f"{module}.py").write_text(textwrap.dedent(source))
        importlib.invalidate_caches()
        loaded.append(module)
        return module

    yield write
    for name in [n for n, r in registry.plugins.items() if r.module in loaded]:
        _forget_plugin(name)
    for name in reversed([n for n in registry._bindings if n.startswith("test_")]):
        _forget_plugin(name)
    for module in loaded:
        sys.modules.pop(module, None)


def run_hypergrad(*args, env=None):
    """`python -m hypergrad ARGS` in a fresh interpreter; returns the CompletedProcess."""
    return subprocess.run([sys.executable, "-m", "hypergrad", *args], capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=120)


def site_env(site, **variables):
    path = os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
    return {"PYTHONPATH": path, **variables}


def cli_json(capsys, *args):
    capsys.readouterr()
    assert cli.main([*args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


# ----------------------------------------------------------------------------------------------
# The installed example plugin
# ----------------------------------------------------------------------------------------------
def test_example_plugin_is_found_through_its_entry_point(example_plugin):
    assert example_plugin.status == "loaded", example_plugin.traceback
    assert (example_plugin.module, example_plugin.distribution, example_plugin.version) == \
        ("hypergrad_example.ops", "hypergrad-example-plugin", "0.1.0")
    assert example_plugin.ops == ["cube", "softsign"]
    for name in ("cube", "softsign"):
        entry = registry.get(name)
        assert (entry.plugin, entry.module) == ("example", "hypergrad_example.ops")
        assert getattr(hg, name) is entry.function
    assert registry.get("cube").node_names == ("CubeBackward0",)
    assert registry.get("softsign").node_names == ("SoftsignBackward0",)


def torch_softsign(t):
    return torch.nn.functional.softsign(t)


EXAMPLE_OPS = [("cube", lambda t: t ** 3), ("softsign", torch_softsign)]


@pytest.mark.parametrize("name, reference", EXAMPLE_OPS, ids=[n for n, _ in EXAMPLE_OPS])
@settings(max_examples=25, deadline=None)
@given(values=st.lists(st.floats(-4, 4, allow_nan=False), min_size=1, max_size=6))
@example(values=[0.0, -1.0, 2.5])
def test_example_ops_match_torch_to_second_order(example_plugin, name, reference, values):
    x = hg.tensor(values, dtype=hg.float64, requires_grad=True)
    t = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    out, expected = getattr(hg, name)(x), reference(t)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-12)
    assert out.grad_fn.name() == registry.get(name).node_names[0]

    cotangent = np.linspace(-1.0, 1.0, len(values))
    (grad,) = hg.autograd.grad(out, x, hg.tensor(cotangent), create_graph=True)
    (expected_grad,) = torch.autograd.grad(expected, t, torch.tensor(cotangent),
                                           create_graph=True)
    np.testing.assert_allclose(grad.detach().numpy(), expected_grad.detach().numpy(),
                               rtol=1e-12, atol=1e-15)

    (grad2,) = hg.autograd.grad(grad.sum(), x)
    (expected_grad2,) = torch.autograd.grad(expected_grad.sum(), t)
    np.testing.assert_allclose(grad2.numpy(), expected_grad2.numpy(), rtol=1e-12, atol=1e-15)


def test_example_ops_as_methods_in_float32_and_on_integers(example_plugin):
    x = hg.tensor([[-1.5, 0.0], [2.0, 3.0]])
    t = torch.tensor([[-1.5, 0.0], [2.0, 3.0]])
    assert x.cube().dtype == hg.float32 and hg.softsign(x).dtype == hg.float32
    np.testing.assert_allclose(x.cube().numpy(), (t ** 3).numpy(), rtol=1.3e-6)
    np.testing.assert_allclose(hg.softsign(x).numpy(), torch_softsign(t).numpy(), rtol=1.3e-6)
    assert hg.cube(hg.tensor([2, -3])).tolist() == torch.tensor([2, -3]).pow(3).tolist()
    ints, expected = hg.softsign(hg.tensor([1, -3])), torch_softsign(torch.tensor([1, -3]))
    assert (ints.dtype, ints.tolist()) == (hg.float32, expected.tolist())


@pytest.mark.filterwarnings("ignore:.* encountered in multiply:RuntimeWarning")  # hg.mul warns
def test_example_gradients_at_infinity_match_torch(example_plugin):
    """softsign's backward follows torch's composition, so +-inf give NaN as torch's do."""
    values = [float("inf"), -float("inf"), 1e30]
    x = hg.tensor(values, requires_grad=True)
    t = torch.tensor(values, requires_grad=True)
    for name, reference in EXAMPLE_OPS:
        (grad,) = hg.autograd.grad(getattr(hg, name)(x), x, hg.tensor([1.0, 1.0, 0.0]))
        (expected,) = torch.autograd.grad(reference(t), t, torch.tensor([1.0, 1.0, 0.0]))
        np.testing.assert_array_equal(grad.numpy(), expected.numpy(), err_msg=name)


def test_cli_lists_the_example_plugin_and_its_ops(example_plugin, capsys):
    plugins = {p["name"]: p for p in cli_json(capsys, "plugins")["plugins"]}
    assert plugins["example"] == {
        "name": "example", "module": "hypergrad_example.ops",
        "distribution": "hypergrad-example-plugin", "version": "0.1.0", "builtin": False,
        "status": "loaded", "ops": ["cube", "softsign"], "op_count": 2, "error": None}
    assert all(plugins[name]["status"] == "loaded" and plugins[name]["builtin"]
               for name in BUILTINS)

    ops = cli_json(capsys, "ops", "--plugin", "example")["ops"]
    assert [op["name"] for op in ops] == ["cube", "softsign"]
    cube = ops[0]
    assert cube["plugin"] == "example" and cube["node_names"] == ["CubeBackward0"]
    assert cube["methods"] == ["cube"]
    assert cube["summary"] == "Elementwise cube, `input ** 3`."
    assert {op["conformance"] for op in ops} == {"unchecked"}
    assert (cube["reference"], ops[1]["reference"]) == \
        ("Cube.<lambda>", "torch.nn.functional.softsign")


def test_the_example_plugins_own_test_suite_passes(example_site, tmp_path):
    """What the plugin's author runs: its tests, HyperGrad's conformance checks included."""
    pytest.importorskip("hypergrad.conformance.op_checks")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(EXAMPLE / "tests"), "-q", "-p", "no:cacheprovider",
         f"--rootdir={EXAMPLE}"],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
        env={**os.environ, **site_env(example_site)})
    assert result.returncode == 0, result.stdout + result.stderr
    counts = {word: int(n) for n, word in re.findall(r"(\d+) (\w+)",
                                                     result.stdout.splitlines()[-1])}
    # The 3 documented divergences are expected failures; 3 checks do not apply (no
    # error_samples, no softsign method).
    assert (counts.get("xfailed"), counts.get("skipped")) == (3, 3), result.stdout
    assert "failed" not in counts and "error" not in counts and counts["passed"] > 20


def test_cli_in_a_fresh_interpreter_sees_the_installed_plugin(example_site):
    result = run_hypergrad("ops", "--json", "--plugin", "example", env=site_env(example_site))
    assert result.returncode == 0, result.stderr
    ops = json.loads(result.stdout)["ops"]
    assert [(op["name"], op["node_names"]) for op in ops] == \
        [("cube", ["CubeBackward0"]), ("softsign", ["SoftsignBackward0"])]

    result = run_hypergrad("plugins", "--plain", env=site_env(example_site))
    assert result.returncode == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if line.startswith("example "))
    assert row.split() == ["example", "hypergrad_example.ops", "hypergrad-example-plugin",
                           "0.1.0", "loaded", "2"]


# ----------------------------------------------------------------------------------------------
# Broken plugins are isolated
# ----------------------------------------------------------------------------------------------
BROKEN_ON_IMPORT = """
    raise RuntimeError("this plugin is broken on purpose")
"""

HALF_BROKEN = """
    from hypergrad.plugins import Op

    class TestHalfGood(Op):
        '''A good op in a plugin that fails right after defining it.'''

        name = "test_half_good"
        methods = ("test_half_good", "test_half_good_")

        def forward(ctx, x):
            return x + 1

        def backward(ctx, grad):
            return grad

    raise ValueError("failed after registering test_half_good")
"""


def test_broken_plugins_are_reported_and_rolled_back(plugin_dir, capsys):
    broken = plugin_dir("hg_test_broken_on_import", BROKEN_ON_IMPORT)
    half = plugin_dir("hg_test_half_broken", HALF_BROKEN)
    ops_before = set(registry.entries)
    records = load_plugins(entry_points=[("test_broken", broken, "broken-dist", "1.0"),
                                         ("test_half", half, None, None)])

    assert records["test_broken"].status == "broken"
    assert records["test_broken"].error == "RuntimeError: this plugin is broken on purpose"
    assert records["test_half"].status == "broken"
    assert records["test_half"].error == "ValueError: failed after registering test_half_good"
    assert "Traceback" in records["test_half"].traceback

    # The good op of the half-broken plugin is gone again, everywhere it was bound.
    assert set(registry.entries) == ops_before
    assert not hasattr(hg, "test_half_good")
    assert "test_half_good" not in vars(hg.Tensor) and "test_half_good_" not in vars(hg.Tensor)
    assert not any(op.__name__ == "TestHalfGood" for op in registry.ops)
    assert plugin_manager.get_plugin("test_half") is None

    # Everything else still works.
    x = hg.tensor([1.0, 2.0], requires_grad=True)
    (x * x + x).sum().backward()
    assert x.grad.tolist() == [3.0, 5.0]

    plugins = {p["name"]: p for p in cli_json(capsys, "plugins")["plugins"]}
    assert plugins["test_half"]["status"] == "broken" and plugins["test_half"]["op_count"] == 0
    assert plugins["test_broken"]["error"] == "RuntimeError: this plugin is broken on purpose"
    assert cli.main(["plugins", "--plain", "--status", "broken"]) == 0
    out = capsys.readouterr().out
    assert "broken plugin 'test_broken' (hg_test_broken_on_import): RuntimeError: this " \
           "plugin is broken on purpose" in out
    assert "test_half" in out and "arithmetic" not in out


def test_strict_mode_raises_plugin_load_error(plugin_dir, monkeypatch):
    broken = plugin_dir("hg_test_strict", BROKEN_ON_IMPORT)
    with pytest.raises(PluginLoadError, match=r"plugin 'test_strict' \(hg_test_strict\) failed "
                                              r"to load: RuntimeError: this plugin is broken"):
        load_plugins(strict=True, entry_points=[("test_strict", broken, None, None)])

    monkeypatch.setenv("HYPERGRAD_STRICT_PLUGINS", "1")
    with pytest.raises(PluginLoadError, match="test_strict") as raised:
        load_plugins(entry_points=[("test_strict", broken, None, None)])
    assert isinstance(raised.value.__cause__, RuntimeError)
    assert registry.plugins["test_strict"].status == "broken"


# ----------------------------------------------------------------------------------------------
# The allow-list
# ----------------------------------------------------------------------------------------------
def test_allow_list_skips_unlisted_plugins_without_importing_them(plugin_dir, monkeypatch):
    module = plugin_dir("hg_test_never_imported", BROKEN_ON_IMPORT)
    monkeypatch.setenv("HYPERGRAD_PLUGINS", "arithmetic, some_other")
    records = load_plugins(entry_points=[("test_unlisted", module, None, None)])
    assert records["test_unlisted"].status == "skipped"
    assert records["test_unlisted"].error is None
    assert module not in sys.modules


def test_allow_list_at_import_time(example_site):
    builtins = ",".join(BUILTINS)
    result = run_hypergrad("plugins", "--json",
                           env=site_env(example_site, HYPERGRAD_PLUGINS=builtins))
    assert result.returncode == 0, result.stderr
    plugins = {p["name"]: p for p in json.loads(result.stdout)["plugins"]}
    assert plugins["example"]["status"] == "skipped" and plugins["example"]["ops"] == []
    assert all(plugins[name]["status"] == "loaded" for name in BUILTINS)

    check = "import hypergrad as hg; print(hasattr(hg, 'cube'), hg.add(1, 2).item())"
    for allowed, has_cube in ((builtins, "False"), (builtins + ",example", "True")):
        result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True,
                                env={**os.environ,
                                     **site_env(example_site, HYPERGRAD_PLUGINS=allowed)})
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == [has_cube, "3"]


# ----------------------------------------------------------------------------------------------
# Two plugins, one op name
# ----------------------------------------------------------------------------------------------
def _dup_source(value, override=False):
    return f"""
        from hypergrad.plugins import Op

        class TestDup(Op):
            '''Returns {value} times its input.'''

            name = "test_dup"
            override = {override}

            def forward(ctx, x):
                return x * {value}

            def backward(ctx, grad):
                return grad * {value}
    """


def test_same_op_name_in_two_plugins_is_an_error_naming_both(plugin_dir):
    first = plugin_dir("hg_test_dup_first", _dup_source(2))
    second = plugin_dir("hg_test_dup_second", _dup_source(3))
    records = load_plugins(entry_points=[("test_first", first, None, None),
                                         ("test_second", second, None, None)])
    assert records["test_first"].status == "loaded"
    assert records["test_second"].status == "broken"
    assert records["test_second"].error == (
        "DuplicateOpError: op 'test_dup' is defined twice: by plugin 'test_first' "
        "(hg_test_dup_first) and by plugin 'test_second' (hg_test_dup_second). Remove one, or "
        "set `override = True` on the one that should win.")
    assert hg.test_dup(hg.tensor([1.0])).item() == 2.0

    with pytest.raises(PluginLoadError) as raised:
        load_plugins(strict=True, entry_points=[("test_second", second, None, None)])
    assert isinstance(raised.value.__cause__, DuplicateOpError)
    assert "'test_first'" in str(raised.value) and "'test_second'" in str(raised.value)


def test_a_builtin_op_name_is_a_duplicate_too(plugin_dir):
    module = plugin_dir("hg_test_dup_add", _dup_source(2).replace('"test_dup"', '"add"'))
    record = load_plugins(entry_points=[("test_add", module, None, None)])["test_add"]
    assert record.status == "broken"
    assert "by plugin 'arithmetic' (hypergrad.ops.arithmetic) and by plugin 'test_add'" \
        in record.error
    assert hg.add(hg.tensor([1.0]), 2).item() == 3.0


def test_override_wins(plugin_dir):
    first = plugin_dir("hg_test_over_first", _dup_source(2))
    second = plugin_dir("hg_test_over_second", _dup_source(5, override=True))
    records = load_plugins(entry_points=[("test_over_first", first, None, None),
                                         ("test_over_second", second, None, None)])
    assert records["test_over_second"].status == "loaded", records["test_over_second"].error
    assert registry.get("test_dup").plugin == "test_over_second"
    x = hg.tensor([1.0, 2.0], requires_grad=True)
    y = hg.test_dup(x)
    y.sum().backward()
    assert (y.tolist(), x.grad.tolist()) == ([5.0, 10.0], [5.0, 5.0])


def test_override_of_a_builtin_wins_in_a_fresh_interpreter(tmp_path):
    """Built-ins load first, whatever the order of sys.path, so an override really wins."""
    dist = tmp_path / "hg_test_override-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: hg-test-override\n"
                                   "Version: 1.0\n")
    (dist / "entry_points.txt").write_text("[hypergrad]\noverride_neg = hg_test_override\n")
    (tmp_path / "hg_test_override.py").write_text(textwrap.dedent('''
        from hypergrad.plugins import Op

        class Neg(Op):
            """Negation, overridden: returns the input twice over."""
            name = "neg"
            override = True

            def forward(ctx, x):
                return x * 2

            def backward(ctx, grad):
                return grad * 2
    '''))
    check = ("import hypergrad as hg; from hypergrad.plugins import registry; "
             "print(hg.neg(hg.tensor([1.0])).item(), registry.get('neg').plugin, "
             "registry.plugins['arithmetic'].status)")
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True,
                            env={**os.environ, **site_env(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["2.0", "override_neg", "loaded"]


# ----------------------------------------------------------------------------------------------
# The command line itself
# ----------------------------------------------------------------------------------------------
def test_python_dash_m_and_help():
    result = run_hypergrad("--version")
    assert (result.returncode, result.stdout.strip()) == (0, f"hypergrad {hg.__version__}")
    result = run_hypergrad()
    assert result.returncode == 0 and "plugins" in result.stdout and "ops" in result.stdout


def test_ops_lists_every_public_op(capsys):
    data = cli_json(capsys, "ops")
    assert set(data) == {"hypergrad_version", "report", "ops"}
    assert [op["name"] for op in data["ops"]] == sorted(registry.entries)
    add = next(op for op in data["ops"] if op["name"] == "add")
    assert set(add) == {"name", "plugin", "module", "methods", "aliases", "node_names",
                        "summary", "reference", "conformance"}
    assert (add["plugin"], add["node_names"], add["reference"], add["conformance"]) == \
        ("arithmetic", ["AddBackward0"], "torch.add", "unchecked")
    assert "__radd__" in add["methods"]


def test_ops_plain_table_is_aligned(capsys):
    assert cli.main(["ops", "--plain", "--plugin", "arithmetic"]) == 0
    lines = capsys.readouterr().out.splitlines()
    title, header, rule, *rows = lines
    assert title == f"{len(rows)} ops" and len(rows) == len(registry.by_plugin("arithmetic"))
    assert header.split() == ["op", "plugin", "methods", "nodes", "conformance", "summary"]
    column = header.index("plugin")
    assert rule[column - 2:column] == "  " and rule[column] == "-"
    assert all(row[column:].startswith("arithmetic") for row in rows)


def test_rich_table_when_rich_is_installed(capsys, monkeypatch, plugin_dir):
    pytest.importorskip("rich")
    monkeypatch.setenv("COLUMNS", "250")
    assert cli.main(["ops", "--plugin", "arithmetic"]) == 0
    out = capsys.readouterr().out
    assert "┃ op" in out and "AddBackward0" in out

    module = plugin_dir("hg_test_brackets", _dup_source(2).replace(
        "Returns 2 times its input.", "Values in [bold]brackets[/bold] stay as written."))
    load_plugins(entry_points=[("test_brackets", module, None, None)])
    assert cli.main(["ops", "--plugin", "test_brackets"]) == 0
    assert "Values in [bold]brackets[/bold] stay as written." in capsys.readouterr().out


def test_unknown_plugin_filter_is_an_error(capsys):
    assert cli.main(["ops", "--plugin", "no_such_plugin"]) == 2
    assert "no plugin named 'no_such_plugin'" in capsys.readouterr().err


@pytest.mark.parametrize("report, add_status, mul_status", [
    ({"ops": [{"name": "add", "status": "pass"}, {"name": "mul", "status": "divergence"}]},
     "pass", "divergence"),
    ({"ops": {"add": {"overall": "pass"}, "mul": "divergence"}}, "pass", "divergence"),
    ({"ops": [{"name": "add", "result": {"status": "pass"}},
              {"name": "mul", "passed": True, "outcome": False}]}, "pass", "fail"),
    ({"ops": [{"op": "add", "checks": {"forward": {"status": "pass"},
                                       "errors": {"status": "not_applicable"}}},
              {"op": "mul", "checks": [{"status": "pass"}, {"status": "divergence"},
                                       {"status": "fail"}]}]}, "pass", "fail"),
], ids=["list", "dict", "nested", "from-checks"])
def test_ops_reads_the_conformance_status_from_a_report(report, add_status, mul_status,
                                                         tmp_path, capsys):
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report))
    data = cli_json(capsys, "ops", "--report", str(path))
    status = {op["name"]: op["conformance"] for op in data["ops"]}
    assert (status["add"], status["mul"], status["neg"]) == (add_status, mul_status,
                                                             "unchecked")
    assert data["report"] == str(path)


def test_ops_reads_a_report_written_by_hypergrad_conformance(tmp_path, capsys):
    pytest.importorskip("hypergrad.conformance.cli")
    path = tmp_path / "report.json"
    assert cli.main(["conformance", "neg", "--check", "forward", "--examples", "5", "--seed",
                     "0", "--quiet", "--report", str(path)]) == 0
    status = {op["name"]: op["conformance"] for op in cli_json(capsys, "ops", "--report",
                                                                 str(path))["ops"]}
    assert (status["neg"], status["add"]) == ("pass", "unchecked")


def test_ops_with_an_unreadable_report(tmp_path, capsys):
    path = tmp_path / "report.json"
    path.write_text('{"summary": {}}')
    assert cli.main(["ops", "--report", str(path)]) == 2
    assert "has no 'ops' list" in capsys.readouterr().err
    assert cli.main(["ops", "--report", str(tmp_path / "missing.json")]) == 2


def test_plugins_add_commands_through_the_hook(capsys):
    class HelloPlugin:
        @hookimpl
        def hypergrad_register_commands(self, subparsers):
            hello = subparsers.add_parser("test-hello", help="say hello")
            hello.add_argument("--name", default="world")
            hello.set_defaults(func=self.hello)

        def hello(self, args):
            print(f"hello, {args.name}")
            return 3

    plugin_manager.register(HelloPlugin(), name="test_hello")
    try:
        assert cli.main(["test-hello", "--name", "plugins"]) == 3
        assert capsys.readouterr().out == "hello, plugins\n"
    finally:
        plugin_manager.unregister(name="test_hello")
    with pytest.raises(SystemExit):
        cli.main(["test-hello"])


def test_conformance_commands_are_optional_but_their_errors_are_not_hidden(monkeypatch):
    real_import = importlib.import_module

    def missing(name, *args):
        if name == "hypergrad.conformance.cli":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real_import(name, *args)

    monkeypatch.setattr(cli.importlib, "import_module", missing)
    assert cli.main(["plugins", "--json"]) == 0

    def broken(name, *args):
        if name == "hypergrad.conformance.cli":
            raise ModuleNotFoundError("No module named 'torch'", name="torch")
        return real_import(name, *args)

    monkeypatch.setattr(cli.importlib, "import_module", broken)
    with pytest.raises(ModuleNotFoundError, match="torch"):
        cli.main(["plugins"])


def test_conformance_commands_are_added_when_present():
    pytest.importorskip("hypergrad.conformance.cli")
    parser = cli.build_parser()
    commands = set(parser._subparsers._group_actions[0].choices)
    assert {"plugins", "ops", "conformance", "diff"} <= commands
