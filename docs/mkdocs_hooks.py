"""MkDocs hooks for the HyperGrad site (named in mkdocs.yml, `hooks:`).

Note [Links to files outside docs/]
    A page may link to a repository file outside docs/ with a relative path, such as
    `[the example plugin](../examples/hypergrad-example-plugin/README.md)`: that link works when
    the page is read in the repository. The site is built from docs/ alone, where the target
    does not exist, and `mkdocs build --strict` would stop on it. So before MkDocs checks links,
    each such link becomes a link into the repository when mkdocs.yml sets `repo_url`
    (`<repo_url>/blob/main/<path>`), and otherwise the link text followed by the repository
    path in code. A relative link to a file that exists nowhere is left alone, so strict mode
    still reports it.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

LINK = re.compile(r"(?<!!)\[([^\]]+)\]\(([^)\s]+)\)")


def on_page_markdown(markdown, page, config, files):
    docs_dir = Path(config["docs_dir"]).resolve()
    repo_root = docs_dir.parent
    page_dir = posixpath.dirname(page.file.src_uri)
    repo_url = (config.get("repo_url") or "").rstrip("/")

    def rewrite(match):
        text, target = match.group(1), match.group(2)
        if "://" in target or target.startswith(("#", "/", "mailto:")):
            return match.group(0)
        path, _, anchor = target.partition("#")
        inside_docs = posixpath.normpath(posixpath.join(page_dir, path))
        if not inside_docs.startswith("../"):
            return match.group(0)
        repo_path = posixpath.normpath(posixpath.join("docs", inside_docs))
        if repo_path.startswith("../") or not (repo_root / repo_path).exists():
            return match.group(0)
        if repo_url:
            return f"[{text}]({repo_url}/blob/main/{repo_path}{'#' + anchor if anchor else ''})"
        return f"{text} (`{repo_path}` in the repository)"

    return LINK.sub(rewrite, markdown)
