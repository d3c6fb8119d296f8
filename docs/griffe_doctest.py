"""A griffe extension for the API reference (named in mkdocs.yml): docstrings read as Markdown.

HyperGrad's docstrings are plain text written to be read in the source: examples are doctest
sessions (`>>> x = hg.tensor(...)`) and literal blocks introduced by `::` and indented. An
indented block is already code in Markdown; this extension fences doctest sessions that are
not indented (as ```pycon blocks) and turns a paragraph's closing `::` into `:`, so the site
shows both as code without changing how the docstrings read in the source. An op's rule line
in the style of derivatives.yaml (`out = a * b;  d/da = grad * b;  d/db = grad * a`) is shown
as code too.
"""

from __future__ import annotations

import griffe


def markdown_docstring(text):
    """Fence unindented doctest sessions, drop the `::` of literal blocks, code the rule line."""
    lines = text.split("\n")
    out = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith(">>>"):
            out.append("```pycon")
            while i < len(lines) and lines[i].strip():
                out.append(lines[i])
                i += 1
            out.append("```")
            continue
        if line.startswith(("out = ", "outs = ")):
            end = i
            while end < len(lines) and lines[end].strip():
                end += 1
            rule = " ".join(part.strip() for part in lines[i:end])
            out.append(rule if "`" in rule else f"`{rule}`")
            i = end
            continue
        if line.rstrip().endswith("::") and not line.lstrip().startswith(("```", ">>>")):
            stripped = line.rstrip()[:-1]
            out.append(stripped if stripped.strip() != ":" else "")
        else:
            out.append(line)
        i += 1
    return "\n".join(out)


class DoctestAsMarkdown(griffe.Extension):
    """Rewrite each docstring once, when griffe creates its object."""

    def on_instance(self, *, node, obj, agent, **kwargs):
        if obj.docstring is not None:
            obj.docstring.value = markdown_docstring(obj.docstring.value)
