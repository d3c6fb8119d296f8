"""Every ```python block in docs/*.md runs, page by page, top to bottom, in a fresh namespace.

A page is a story: later blocks may use names from earlier ones. A block preceded by the line
`<!-- no-run -->` is shown but not run (for shell-like or deliberately failing snippets).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted((ROOT / "docs").glob("*.md"))
BLOCK = re.compile(r"(<!-- no-run -->\s*\n)?```python\n(.*?)```", re.S)


def python_blocks(page):
    return [code for skip, code in BLOCK.findall(page.read_text()) if not skip]


def test_docs_exist():
    assert PAGES, "docs/ has no pages"


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_page_examples_run(page, tmp_path, monkeypatch):
    blocks = python_blocks(page)
    if not blocks:
        pytest.skip(f"{page.name} has no python examples")
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": f"docs_{page.stem}"}
    for number, code in enumerate(blocks, 1):
        try:
            exec(compile(code, f"{page.name}[block {number}]", "exec"), namespace)
        except Exception as error:  # report which block of which page failed
            raise AssertionError(f"{page.name}, python block {number} failed: "
                                 f"{type(error).__name__}: {error}\n---\n{code}") from error
