"""An opt-in pytest plugin for the conformance suite.

Enable it with `pytest -p hypergrad.conformance.pytest_plugin`.

It gives a test suite three things:

1. the hypothesis profiles `fast`, `ci` and `thorough` (profiles.py), so
   `--hypothesis-profile ci` works (a project's own profile of the same name is kept);
2. the marker `@pytest.mark.hypergrad_ops(*ops, plugin=None, checks=None)`, which parametrizes
   a test taking `(op, check)` with the conformance checks of those ops (or of every op of
   `plugin`)::

       @pytest.mark.hypergrad_ops(plugin="my_ops")
       def test_my_ops(op, check):
           check(op)

3. the option `--hypergrad-conformance NAME` (repeatable; an op or a plugin name), which adds
   one test item per op and check without any test file: `pytest -p
   hypergrad.conformance.pytest_plugin --hypergrad-conformance my_ops`.
"""

from __future__ import annotations

import pytest

from .profiles import register_profiles

register_profiles(replace=False)


def pytest_addoption(parser):
    group = parser.getgroup("hypergrad", "HyperGrad conformance")
    group.addoption("--hypergrad-conformance", action="append", default=[],
                    metavar="NAME", help="run the conformance checks of this op or of every op "
                                         "of this plugin (repeatable)")
    group.addoption("--hypergrad-check", action="append", default=[], metavar="CHECK",
                    help="with --hypergrad-conformance: only these checks (repeatable)")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "hypergrad_ops(*ops, plugin=None, checks=None): parametrize a test taking "
                   "(op, check) with the HyperGrad conformance checks of these ops")


def _entries(names=(), plugin=None):
    from hypergrad.plugins import registry

    from .runner import resolve_entry

    entries = [resolve_entry(n) for n in names]
    if plugin is not None:
        entries += [e for e in registry.by_plugin(plugin) if e not in entries]
    return entries


def _parameters(entries, checks):
    from .checks import CHECK_NAMES
    from .op_checks import DECLARATIONS, OpCheck

    params, ids = [], []
    for entry in entries:
        for name in (DECLARATIONS,) + tuple(checks or CHECK_NAMES):
            params.append((entry, OpCheck(name)))
            ids.append(f"{entry.name}-{name}")
    return params, ids


def pytest_generate_tests(metafunc):
    marker = metafunc.definition.get_closest_marker("hypergrad_ops")
    if marker is None:
        return
    entries = _entries(marker.args, marker.kwargs.get("plugin"))
    params, ids = _parameters(entries, marker.kwargs.get("checks"))
    metafunc.parametrize(("op", "check"), params, ids=ids)


class ConformanceItem(pytest.Item):
    """One (op, check) test added by --hypergrad-conformance."""

    def __init__(self, *, entry, check, **kwargs):
        super().__init__(**kwargs)
        self.entry = entry
        self.check = check

    def runtest(self):
        self.check(self.entry)

    def repr_failure(self, excinfo, style=None):
        from .op_checks import ConformanceError

        if isinstance(excinfo.value, ConformanceError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return "hypergrad-conformance", None, self.name


def pytest_collection_modifyitems(session, config, items):
    names = config.getoption("hypergrad_conformance")
    if not names:
        return
    from hypergrad.plugins import registry

    entries = []
    for name in names:
        if name in registry.entries:
            entries.append(registry.entries[name])
        elif registry.by_plugin(name):
            entries += registry.by_plugin(name)
        else:
            raise pytest.UsageError(f"--hypergrad-conformance {name}: no op or plugin of that "
                                    "name (`hypergrad ops` lists them)")
    params, ids = _parameters(entries, config.getoption("hypergrad_check"))
    for (entry, check), name in zip(params, ids):
        items.append(ConformanceItem.from_parent(session, name=name, entry=entry, check=check))
