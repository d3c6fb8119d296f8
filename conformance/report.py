"""Reports of a conformance run: the terminal table, and JSON, Markdown and HTML files.

The terminal table has one row per op and one column per check; each cell is

    pass   every example agreed            FAIL   an example disagreed (shown below)
    div    a documented divergence failed  XPASS  a documented divergence now passes
    n/a    the check does not apply        ERROR  the check itself crashed

and the last column is the worst error ratio seen (|hg - torch| over the tolerance; below 1
passes) with the check that saw it. `write_report(suite, path)` writes `.json` (schema
below), `.md` or `.html` (one self-contained page) with every failing example in full.

The JSON report (`schema: "hypergrad-conformance-report"`, `schema_version: 1`):

    created, duration_seconds, seed, examples (per check), profile, jobs, checks: [names]
    versions: {hypergrad, torch, hypothesis, numpy, python, platform}
    summary: {pass, fail, error, divergence, xpass, not_applicable, problems}
    ops: [{op, plugin, reference, status (the worst of its checks'), seconds,
           problems: [text],
           checks: {name: {status, reason, examples, compared, seconds,
                           worst_ratio, worst_abs, worst_where,
                           failure: null | {message, script, example, traceback, flaky}}}}]
"""

from __future__ import annotations

import datetime
import html
import json
import os
import sys

from .runner import FAILING

__all__ = [
    "LABELS",
    "REPORT_SCHEMA",
    "Progress",
    "plain_table",
    "print_failures",
    "print_table",
    "to_json",
    "write_report",
]

LABELS = {"pass": "pass", "fail": "FAIL", "error": "ERROR", "divergence": "div",
          "xpass": "XPASS", "not_applicable": "n/a"}

SHORT = {"noncontiguous": "noncontig"}

REPORT_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "HyperGrad conformance report",
    "type": "object",
    "required": ["schema", "schema_version", "created", "seed", "examples", "checks",
                 "versions", "summary", "ops"],
    "properties": {
        "schema": {"const": "hypergrad-conformance-report"},
        "schema_version": {"const": 1},
        "created": {"type": "string", "description": "ISO 8601, UTC"},
        "duration_seconds": {"type": "number"},
        "seed": {"type": ["integer", "null"]},
        "examples": {"type": "integer", "description": "hypothesis examples per check"},
        "profile": {"type": ["string", "null"]},
        "jobs": {"type": "integer"},
        "checks": {"type": "array", "items": {"type": "string"}},
        "versions": {"type": "object", "required": ["hypergrad", "torch"]},
        "summary": {"type": "object"},
        "ops": {"type": "array", "items": {
            "type": "object",
            "required": ["op", "plugin", "checks"],
            "properties": {
                "op": {"type": "string"}, "plugin": {"type": "string"},
                "reference": {"type": ["string", "null"]}, "seconds": {"type": "number"},
                "status": {"enum": ["pass", "fail", "error", "divergence", "xpass",
                                    "not_applicable"],
                           "description": "the worst status of the op's checks"},
                "problems": {"type": "array", "items": {"type": "string"}},
                "checks": {"type": "object", "additionalProperties": {
                    "type": "object",
                    "required": ["status"],
                    "properties": {
                        "status": {"enum": ["pass", "fail", "error", "divergence", "xpass",
                                            "not_applicable"]},
                        "reason": {"type": "string"},
                        "examples": {"type": "integer"}, "compared": {"type": "integer"},
                        "seconds": {"type": "number"},
                        "worst_ratio": {"type": ["number", "null"]},
                        "worst_abs": {"type": ["number", "null"]},
                        "worst_where": {"type": "string"},
                        "failure": {"type": ["object", "null"], "properties": {
                            "message": {"type": "string"}, "script": {"type": "string"},
                            "example": {"type": ["object", "null"]},
                            "traceback": {"type": "string"}, "flaky": {"type": "boolean"}}},
                    }}},
            }}},
    },
}


# ----------------------------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------------------------
def to_json(suite):
    """The report as a JSON-ready dict (see the module docstring for the schema)."""
    ops = []
    for op in suite.ops:
        checks = {}
        for name, result in op.checks.items():
            entry = {"status": result.status, "reason": result.reason,
                     "examples": result.examples, "compared": result.compared,
                     "seconds": round(result.seconds, 4), "worst_ratio": result.worst_ratio,
                     "worst_abs": result.worst_abs, "worst_where": result.worst_where,
                     "failure": None}
            if result.failure is not None:
                f = result.failure
                entry["failure"] = {"message": f.message, "script": f.script,
                                    "example": f.example, "traceback": f.traceback,
                                    "flaky": f.flaky}
            checks[name] = entry
        ops.append({"op": op.op, "plugin": op.plugin, "reference": op.reference,
                    "status": overall_status(op), "seconds": round(op.seconds, 4),
                    "problems": list(op.problems), "checks": checks})
    return {
        "schema": "hypergrad-conformance-report", "schema_version": 1,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "duration_seconds": round(suite.seconds, 3), "seed": suite.seed,
        "examples": suite.examples, "profile": suite.profile, "jobs": suite.jobs,
        "checks": list(suite.checks), "versions": dict(suite.versions),
        "summary": suite.counts(), "ops": ops,
    }


_WORST_FIRST = ("error", "fail", "xpass", "divergence", "pass", "not_applicable")


def overall_status(op):
    """An op's status in one word: the worst of its checks' (a declaration problem is a
    "fail"); "not_applicable" only if no check applied."""
    statuses = {r.status for r in op.checks.values()}
    if op.problems:
        statuses.add("fail")
    for status in _WORST_FIRST:
        if status in statuses:
            return status
    return "not_applicable"


def _worst(op):
    """(ratio, check) of the largest error ratio any check of this op saw."""
    best = None
    for result in op.checks.values():
        if result.worst_ratio is not None and (best is None or result.worst_ratio > best[0]):
            best = (result.worst_ratio, result.check)
    return best


def _worst_text(op):
    worst = _worst(op)
    return f"{worst[0]:.2g} ({worst[1]})" if worst else "-"


def _summary_line(suite):
    counts = suite.counts()
    parts = [f"{counts['pass']} passed", f"{counts['fail'] + counts['error']} failed",
             f"{counts['divergence']} documented divergences", f"{counts['xpass']} xpassed",
             f"{counts['not_applicable']} not applicable"]
    if counts["problems"]:
        parts.append(f"{counts['problems']} declaration problems")
    return (f"{len(suite.ops)} ops x {len(suite.checks)} checks: " + ", ".join(parts)
            + f" in {suite.seconds:.1f}s")


def _header_lines(suite):
    v = suite.versions
    return [(f"HyperGrad {v.get('hypergrad')} vs torch {v.get('torch')} (hypothesis "
             f"{v.get('hypothesis')}, numpy {v.get('numpy')}, Python {v.get('python')})"),
            f"seed {suite.seed}, {suite.examples} examples per check"
            + (f", profile {suite.profile}" if suite.profile else "")
            + (f", {suite.jobs} jobs" if suite.jobs > 1 else "")]


def _failing(suite):
    for op in suite.ops:
        for result in op.checks.values():
            if result.status in FAILING:
                yield op, result


def _divergent(suite):
    for op in suite.ops:
        for result in op.checks.values():
            if result.status == "divergence":
                yield op, result


# ----------------------------------------------------------------------------------------------
# Terminal
# ----------------------------------------------------------------------------------------------
def _rich_console(stream):
    try:
        from rich.console import Console
    except ImportError:
        return None
    return Console(file=stream, highlight=False, soft_wrap=False)


_STYLES = {"pass": "green", "fail": "bold red", "error": "bold red", "divergence": "yellow",
           "xpass": "bold magenta", "not_applicable": "dim"}


def plain_table(suite):
    """The op x check table as plain text lines."""
    name_width = max([len(op.op) for op in suite.ops] + [2])
    columns = [SHORT.get(c, c) for c in suite.checks]
    widths = [max(len(c), 5) for c in columns]
    header = "op".ljust(name_width) + "  " + "  ".join(
        c.ljust(w) for c, w in zip(columns, widths)) + "  worst error"
    lines = [header, "-" * len(header)]
    for op in suite.ops:
        cells = [LABELS[op.checks[c].status].ljust(w) if c in op.checks else "".ljust(w)
                 for c, w in zip(suite.checks, widths)]
        problems = "  (declaration problems)" if op.problems else ""
        lines.append(op.op.ljust(name_width) + "  " + "  ".join(cells) + "  "
                     + _worst_text(op) + problems)
    return lines


def print_table(suite, stream=None, use_rich=None):
    """Print the header, the op x check table and the summary line."""
    stream = stream or sys.stdout
    console = _rich_console(stream) if use_rich is not False else None
    if console is None or use_rich is None and not stream.isatty():
        for line in _header_lines(suite) + [""] + plain_table(suite) + ["", _summary_line(
                suite)]:
            print(line, file=stream)
        return
    from rich.table import Table

    table = Table(title=" / ".join(_header_lines(suite)), title_justify="left")
    table.add_column("op", style="bold")
    for check in suite.checks:
        table.add_column(SHORT.get(check, check), justify="center")
    table.add_column("worst error", justify="right")
    for op in suite.ops:
        cells = []
        for check in suite.checks:
            result = op.checks.get(check)
            cells.append("" if result is None else
                         f"[{_STYLES[result.status]}]{LABELS[result.status]}[/]")
        worst = _worst_text(op) + (" [red](declaration problems)[/]" if op.problems else "")
        table.add_row(op.op, *cells, worst)
    console.print(table)
    console.print(_summary_line(suite))


def print_failures(suite, stream=None):
    """Every failing example (message and script), then the documented divergences."""
    stream = stream or sys.stdout
    for op, result in _failing(suite):
        print(f"\n=== {op.op} / {result.check}: {LABELS[result.status]}", file=stream)
        if result.status == "xpass":
            print(f"The op documents a divergence here ({result.reason}), but the check "
                  "passes: remove the declaration.", file=stream)
            continue
        failure = result.failure
        print(failure.message, file=stream)
        if failure.script:
            print("\n" + failure.script, file=stream)
        elif failure.traceback:
            print(failure.traceback, file=stream)
    for op in suite.ops:
        for problem in op.problems:
            print(f"\n=== {op.op}: declaration problem: {problem}", file=stream)
    divergent = list(_divergent(suite))
    if divergent:
        print("\nDocumented divergences:", file=stream)
        for op, result in divergent:
            print(f"  {op.op} / {result.check}: {result.reason}", file=stream)


class Progress:
    """A live progress display: a rich progress bar, or one plain line per op on stderr."""

    def __init__(self, total_ops, checks, stream=None, use_rich=None, enabled=True):
        self.stream = stream or sys.stderr
        self.total_ops = total_ops
        self.checks = checks
        self.done_ops = 0
        self.enabled = enabled
        self._bar = None
        if enabled and use_rich is not False and (use_rich or self.stream.isatty()):
            console = _rich_console(self.stream)
            if console is not None:
                from rich.progress import (
                    BarColumn,
                    MofNCompleteColumn,
                    TextColumn,
                    TimeElapsedColumn,
                )
                from rich.progress import Progress as Bar

                self._bar = Bar(TextColumn("{task.description:<32}"), BarColumn(),
                                MofNCompleteColumn(), TimeElapsedColumn(), console=console,
                                transient=True)
                self._task = self._bar.add_task("conformance", total=total_ops * len(checks))

    def __enter__(self):
        if self._bar is not None:
            self._bar.__enter__()
        return self

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def check_done(self, result):
        if self._bar is not None:
            self._bar.update(self._task, advance=1,
                             description=f"{result.op} / {result.check} {LABELS[result.status]}")

    def op_done(self, op, checks_reported):
        self.done_ops += 1
        if not self.enabled:
            return
        if self._bar is not None:
            if not checks_reported:
                self._bar.update(self._task, advance=len(op.checks), description=op.op)
            return
        failed = [c for c, r in op.checks.items() if r.failed]
        status = "ok" if not failed and not op.problems else \
            "FAIL " + ",".join(failed + (["declarations"] if op.problems else []))
        width = len(str(self.total_ops))
        print(f"[{self.done_ops:>{width}}/{self.total_ops}] {op.op:<24} {status} "
              f"({op.seconds:.1f}s)", file=self.stream, flush=True)


# ----------------------------------------------------------------------------------------------
# Files
# ----------------------------------------------------------------------------------------------
def write_report(suite, path):
    """Write the report; the format comes from the suffix: .json, .md or .html."""
    suffix = os.path.splitext(path)[1].lower()
    if suffix == ".json":
        text = json.dumps(to_json(suite), indent=2, default=str)
    elif suffix in (".md", ".markdown"):
        text = markdown(suite)
    elif suffix in (".html", ".htm"):
        text = html_page(suite)
    else:
        raise ValueError(f"unknown report format {suffix!r}: use .json, .md or .html")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


def markdown(suite):
    lines = ["# HyperGrad conformance report", ""]
    lines += [f"- {line}" for line in _header_lines(suite)]
    lines += [f"- {_summary_line(suite)}", ""]
    columns = [SHORT.get(c, c) for c in suite.checks]
    lines.append("| op | " + " | ".join(columns) + " | worst error |")
    lines.append("|---|" + "---|" * len(columns) + "---|")
    for op in suite.ops:
        cells = [_md_cell(op.checks.get(c)) for c in suite.checks]
        lines.append(f"| `{op.op}` | " + " | ".join(cells) + f" | {_worst_text(op)} |")
    lines += ["", ("Cells: pass; **FAIL**; div (documented divergence); **XPASS** (a "
                   "documented divergence that now passes); n/a (not applicable); **ERROR** "
                   "(the check crashed). Worst error: the largest |hg - torch| / tolerance "
                   "seen."), ""]
    failing = list(_failing(suite))
    problems = [(op, p) for op in suite.ops for p in op.problems]
    if failing or problems:
        lines += ["## Failures", ""]
    for op, result in failing:
        lines += [f"### `{op.op}` / {result.check}: {LABELS[result.status]}", ""]
        if result.status == "xpass":
            lines += [(f"Documented divergence ({result.reason}) now passes: remove the "
                       "declaration."), ""]
            continue
        lines += _md_failure(result.failure)
    for op, problem in problems:
        lines += [f"### `{op.op}`: declaration problem", "", problem, ""]
    divergent = list(_divergent(suite))
    if divergent:
        lines += ["## Documented divergences", ""]
        for op, result in divergent:
            lines += [f"### `{op.op}` / {result.check}", "", f"Reason: {result.reason}", ""]
            if result.failure is not None:
                lines += _md_failure(result.failure)
    na = [(op, r) for op in suite.ops for r in op.checks.values()
          if r.status == "not_applicable"]
    if na:
        lines += ["## Not applicable", ""]
        lines += [f"- `{op.op}` / {r.check}: {r.reason}" for op, r in na]
        lines.append("")
    return "\n".join(lines) + "\n"


def _md_cell(result):
    if result is None:
        return ""
    label = LABELS[result.status]
    return f"**{label}**" if result.status in FAILING else label


def _md_failure(failure):
    lines = ["```text", failure.message, "```", ""]
    if failure.script:
        lines += ["Reproduce:", "", "```python", failure.script.rstrip(), "```", ""]
    if failure.traceback:
        lines += ["<details><summary>traceback</summary>", "", "```text",
                  failure.traceback.rstrip(), "```", "", "</details>", ""]
    if failure.example:
        lines += ["<details><summary>example (JSON)</summary>", "", "```json",
                  json.dumps(failure.example, indent=1, default=str), "```", "",
                  "</details>", ""]
    return lines


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: center; }
td.op { text-align: left; font-family: monospace; }
.pass { background: #e6f4ea; } .fail, .error { background: #fbe3e4; font-weight: bold; }
.divergence { background: #fff4d6; } .xpass { background: #f3e0f7; font-weight: bold; }
.not_applicable { color: #999; }
pre { background: #f6f8fa; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
pre.message { white-space: pre-wrap; }
details { margin: 0.5em 0; } h3 { font-family: monospace; }
"""


def html_page(suite):
    e = html.escape
    rows = []
    for op in suite.ops:
        cells = []
        for check in suite.checks:
            result = op.checks.get(check)
            if result is None:
                cells.append("<td></td>")
                continue
            title = e(result.reason or (result.failure.message.splitlines()[0]
                                        if result.failure else ""))
            link = f'<a href="#{e(op.op)}-{e(check)}">' if result.failure else ""
            cells.append(f'<td class="{result.status}" title="{title}">{link}'
                         f'{LABELS[result.status]}{"</a>" if link else ""}</td>')
        rows.append(f'<tr><td class="op">{e(op.op)}</td>{"".join(cells)}'
                    f"<td>{e(_worst_text(op))}</td></tr>")
    head = "".join(f"<th>{e(SHORT.get(c, c))}</th>" for c in suite.checks)
    sections = []
    for op, result in list(_failing(suite)) + list(_divergent(suite)):
        anchor = f"{op.op}-{result.check}"
        parts = [(f'<h3 id="{e(anchor)}">{e(op.op)} / {e(result.check)}: '
                  f"{LABELS[result.status]}</h3>")]
        if result.reason:
            parts.append(f"<p>Documented divergence: {e(result.reason)}</p>")
        failure = result.failure
        if failure is not None:
            parts.append(f'<pre class="message">{e(failure.message)}</pre>')
            if failure.script:
                parts.append(f"<p>Reproduce:</p><pre>{e(failure.script)}</pre>")
            if failure.traceback:
                parts.append(f"<details><summary>traceback</summary><pre>"
                             f"{e(failure.traceback)}</pre></details>")
            if failure.example:
                parts.append(f"<details><summary>example (JSON)</summary><pre>"
                             f"{e(json.dumps(failure.example, indent=1, default=str))}"
                             f"</pre></details>")
        sections.append("\n".join(parts))
    for op in suite.ops:
        for problem in op.problems:
            sections.append(f"<h3>{e(op.op)}: declaration problem</h3><p>{e(problem)}</p>")
    header = "".join(f"<li>{e(line)}</li>" for line in _header_lines(suite) + [
        _summary_line(suite)])
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>HyperGrad conformance report</title>
<style>{_CSS}</style></head><body>
<h1>HyperGrad conformance report</h1>
<ul>{header}</ul>
<table><thead><tr><th>op</th>{head}<th>worst error</th></tr></thead>
<tbody>{"".join(rows)}</tbody></table>
<p>pass; FAIL; div: documented divergence; XPASS: a documented divergence that now passes;
n/a: not applicable; ERROR: the check crashed. Worst error: the largest |hg - torch| /
tolerance seen. Hover a cell for its reason; click a failing cell for its example.</p>
{"".join(f"<section>{s}</section>" for s in sections)}
</body></html>
"""
