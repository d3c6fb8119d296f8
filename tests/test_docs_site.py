"""The documentation site: every example in the guide runs and shows its real output.

tests/test_docs.py runs the ```python blocks of the top-level pages (docs/*.md). This file does
the same, with the same rules, for the guided tour and the reference (docs/guide/*.md,
docs/reference/*.md): page by page, top to bottom, in a fresh namespace, in a temporary working
directory; a block preceded by the line `<!-- no-run -->` is shown but not run. On these pages
a python block that prints is followed by a ```text title="Output" block holding exactly what
it prints (object addresses aside), so the output a reader sees is the output the code gives.

It also builds the site with `mkdocs build --strict`, checks that docs/divergences.md is what
docs/gen_divergences.py generates, and that every plugin hook is documented with its signature.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib.util
import inspect
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
GUIDE = sorted((DOCS / "guide").glob("*.md"))
PAGES = [page for page in GUIDE + sorted((DOCS / "reference").glob("*.md"))
         if "```python" in page.read_text()]          # pages with examples to run

# A fenced block, with the `<!-- no-run -->` marker that may precede it.
FENCE = re.compile(r"(<!-- no-run -->\s*\n)?^```([^\n]*)\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)
OUTPUT_INFO = 'text title="Output"'
ADDRESS = re.compile(r"0x[0-9a-fA-F]+")


def page_blocks(text):
    """[(code, expected output or None)] for each python block that runs, in page order.

    An Output block belongs to the python block right before it (only blank lines between).
    """
    blocks = []
    previous_end = None
    for match in FENCE.finditer(text):
        skip, info, body = match.group(1), match.group(2).strip(), match.group(3)
        between = text[previous_end:match.start()] if previous_end is not None else None
        if info == OUTPUT_INFO:
            if not blocks or blocks[-1][1] is not None or between is None or between.strip():
                raise AssertionError(f"an Output block must follow its python block directly:\n"
                                     f"{body}")
            blocks[-1] = (blocks[-1][0], body)
        elif info == "python" and not skip:
            blocks.append((body, None))
            previous_end = match.end()
            continue
        previous_end = None
    return blocks


def normalize(output):
    lines = [ADDRESS.sub("0x...", line.rstrip()) for line in output.strip("\n").splitlines()]
    return "\n".join(lines)


def run_page(page, tmp_path, monkeypatch):
    """Run every block of `page`; yield (block number, code, printed, expected)."""
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": f"docs_{page.parent.name}_{page.stem}".replace("-", "_")}
    for number, (code, expected) in enumerate(page_blocks(page.read_text()), 1):
        printed = io.StringIO()
        try:
            with contextlib.redirect_stdout(printed):
                exec(compile(code, f"{page.name}[block {number}]", "exec"), namespace)
        except Exception as error:  # report which block of which page failed
            raise AssertionError(f"{page.parent.name}/{page.name}, python block {number} "
                                 f"failed: {type(error).__name__}: {error}\n---\n{code}") from error
        yield number, code, printed.getvalue(), expected


def test_guide_has_every_page_and_each_runs_code():
    names = [page.stem for page in GUIDE]
    assert [int(name.split("-")[0]) for name in names] == list(range(1, 12)), names
    assert all(page in PAGES for page in GUIDE), "every guide page runs real code"


@pytest.mark.parametrize("page", PAGES, ids=[f"{p.parent.name}/{p.stem}" for p in PAGES])
def test_page_examples_run_and_show_their_output(page, tmp_path, monkeypatch):
    for number, code, printed, expected in run_page(page, tmp_path, monkeypatch):
        where = f"{page.parent.name}/{page.name}, python block {number}"
        if expected is None:
            assert not printed.strip(), (
                f"{where} prints, but no Output block follows it. It printed:\n{printed}")
            continue
        if normalize(printed) != normalize(expected):
            diff = "\n".join(difflib.unified_diff(
                normalize(expected).splitlines(), normalize(printed).splitlines(),
                "the page's Output block", "what the code printed", lineterm=""))
            raise AssertionError(f"{where}: the Output block is not what the code prints\n{diff}")


def test_every_guide_page_ends_with_where_it_lives_in_pytorch():
    for page in GUIDE:
        headings = re.findall(r"^## (.+)$", page.read_text(), re.MULTILINE)
        assert headings and headings[-1] == "Where this lives in PyTorch", (page.name, headings)


# ----------------------------------------------------------------------------------------------
# The site builds, strictly
# ----------------------------------------------------------------------------------------------
def _missing_docs_packages():
    needed = {"mkdocs": "mkdocs", "material": "mkdocs-material",
              "mkdocstrings_handlers.python": "mkdocstrings[python]"}
    missing = []
    for module, package in needed.items():
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            missing.append(package)
    return missing


def test_mkdocs_build_strict(tmp_path):
    missing = _missing_docs_packages()
    if missing:
        pytest.skip(f"the docs build needs {', '.join(missing)} (pip install "
                    "mkdocs mkdocs-material 'mkdocstrings[python]')")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
         str(ROOT / "mkdocs.yml"), "--site-dir", str(tmp_path / "site")],
        check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stderr[-6000:]}"
    for page in ("index.html", "guide/03-engine/index.html", "reference/autograd/index.html",
                 "divergences/index.html"):
        assert (tmp_path / "site" / page).exists(), page
    engine_reference = (tmp_path / "site" / "reference/autograd/index.html").read_text()
    assert "compute_dependencies" in engine_reference   # generated from the docstrings


# ----------------------------------------------------------------------------------------------
# HyperGrad vs PyTorch is generated, and up to date
# ----------------------------------------------------------------------------------------------
def test_divergences_page_is_up_to_date():
    torch = pytest.importorskip("torch")
    page = (DOCS / "divergences.md").read_text()
    pinned = re.search(r"generated with torch ([^\s)]+)", page)
    assert pinned, "docs/divergences.md does not say which torch generated it"
    if pinned.group(1) != torch.__version__.split("+")[0]:
        pytest.skip(f"docs/divergences.md was generated with torch {pinned.group(1)}; "
                    f"this is torch {torch.__version__}")
    result = subprocess.run([sys.executable, str(DOCS / "gen_divergences.py"), "--check"],
                            check=False, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


# ----------------------------------------------------------------------------------------------
# Every plugin hook is documented with its exact signature
# ----------------------------------------------------------------------------------------------
def test_every_hookspec_is_documented():
    from hypergrad.plugins import hookspecs

    specs = [function for name, function in inspect.getmembers(hookspecs, inspect.isfunction)
             if hasattr(function, "hypergrad_spec")]
    assert specs, "no hookspecs found"
    text = (DOCS / "plugins.md").read_text()
    undocumented = []
    for function in specs:
        parameters = ", ".join(inspect.signature(function).parameters)
        heading = f"### `{function.__name__}({parameters})`"
        summary = inspect.getdoc(function).splitlines()[0]
        if heading not in text or summary not in text:
            undocumented.append(f"{heading}  /  {summary}")
    assert not undocumented, ("docs/plugins.md lacks a section (heading with the exact "
                              "signature, then the hook's docstring) for:\n"
                              + "\n".join(undocumented))
