"""Every registered op is documented and checkable, and docs/ops.md says so.

An op without a docstring cannot be looked up, and one without a conformance domain
(`samples`) or a torch `reference` is never compared with torch. The first test fails when
any op registered by a fresh `import hypergrad` (the built-in plugins and any installed
third-party one) lacks one of the three, listing every offender at once.

The ops that lacked something when this test was written are in KNOWN_OFFENDERS, with what
they lack: they are tolerated, but nothing new is, and an entry that is no longer true fails
the second test, so the list only shrinks.

The registry is read in a fresh interpreter: other tests define ops on the fly, and those
must not count.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

REQUIRED = ("docstring", "samples", "reference")

# op -> what it lacks. Shrink this as ops gain their metadata; never grow it.
KNOWN_OFFENDERS: dict[str, tuple] = {}

_SNAPSHOT = """
import json
from hypergrad.plugins import registry
print(json.dumps({name: {"plugin": entry.plugin, "docstring": bool(entry.doc.strip()),
                         "samples": entry.samples is not None,
                         "reference": entry.reference is not None}
                  for name, entry in registry.entries.items()}))
"""


def registered_ops():
    """{op: {plugin, docstring, samples, reference}} as a fresh `import hypergrad` has them."""
    result = subprocess.run([sys.executable, "-c", _SNAPSHOT], cwd=ROOT, capture_output=True,
                            text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def lacking(ops):
    """{op: the required things it lacks}, for the ops that lack any."""
    found = {}
    for name, info in ops.items():
        missing = tuple(what for what in REQUIRED if not info[what])
        if missing:
            found[name] = missing
    return found


def test_every_op_has_a_docstring_a_domain_and_a_reference():
    ops = registered_ops()
    offenders = {name: missing for name, missing in lacking(ops).items()
                 if not set(missing) <= set(KNOWN_OFFENDERS.get(name, ()))}
    assert not offenders, (
        f"{len(offenders)} registered ops lack a docstring, a conformance domain (`samples`) "
        "or a torch `reference`:\n" + "\n".join(
            f"  {name} (plugin {ops[name]['plugin']}): no {', no '.join(missing)}"
            for name, missing in sorted(offenders.items())))


def test_the_list_of_known_offenders_is_still_true():
    ops = registered_ops()
    found = lacking(ops)
    stale = {name: sorted(set(missing) - set(found.get(name, ())))
             for name, missing in KNOWN_OFFENDERS.items()
             if not set(missing) <= set(found.get(name, ()))}
    assert not stale, (
        "KNOWN_OFFENDERS lists what these ops no longer lack (or ops that no longer exist); "
        "remove it from the list:\n" + "\n".join(
            f"  {name}: has {', '.join(fixed)} now" if name in ops else f"  {name}: no such op"
            for name, fixed in sorted(stale.items())))


def test_the_op_reference_page_is_up_to_date():
    result = subprocess.run([sys.executable, str(ROOT / "docs" / "gen_ops.py"), "--check"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
