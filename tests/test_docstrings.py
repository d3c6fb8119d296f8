"""Every public function and class of HyperGrad has a docstring.

The API reference (docs/reference/) is generated from docstrings, so a public name without
one is a hole in the documentation. One test per namespace, each listing *all* the names that
lack a docstring, so a failure says at once what remains to be written.

A docstring counts only if the object has its own: a class that inherits its base's
docstring, or a method that inherits one from `object`, does not. The op functions
(`hypergrad.mul`, `Tensor.mul`) get theirs from their Op class, which is what an op author
writes. Names a third-party plugin added are not HyperGrad's to document, and are skipped.
"""

from __future__ import annotations

import importlib
import inspect

import pytest

import hypergrad
from hypergrad.plugins import registry

NAMESPACES = ["hypergrad", "hypergrad.autograd", "hypergrad.autograd.graph", "hypergrad.nn",
              "hypergrad.nn.functional", "hypergrad.nn.init", "hypergrad.nn.utils",
              "hypergrad.optim", "hypergrad.optim.lr_scheduler", "hypergrad.utils.data",
              "hypergrad.linalg", "hypergrad.plugins"]


def _foreign():
    """Public names and Tensor methods that plugins other than the built-in ones added."""
    names, methods = set(), set()
    for entry in registry.entries.values():
        record = registry.plugins.get(entry.plugin)
        if record is None or not record.builtin:      # not a module of hypergrad.ops
            names.update(name.rsplit(".", 1)[-1] for name in (entry.name, *entry.aliases))
            methods.update(entry.methods)
    return names, methods


def _own_doc(value):
    """The docstring `value` itself carries (not one inherited from a base class)."""
    if inspect.isclass(value):
        doc = value.__dict__.get("__doc__")
    else:
        doc = getattr(value, "__doc__", None)
    return doc.strip() if isinstance(doc, str) else ""


def _is_hypergrad(value):
    module = getattr(value, "__module__", None) or ""
    return module == "hypergrad" or module.startswith(("hypergrad.", "ops.", "conformance."))


def public_members(module):
    """(name, value) for each public function and class of `module` defined by HyperGrad."""
    names = getattr(module, "__all__", None) or [n for n in dir(module) if not n.startswith("_")]
    foreign, _ = _foreign()
    members = []
    for name in names:
        if name.startswith("_") or name in foreign:
            continue
        value = getattr(module, name)
        if inspect.ismodule(value) or not (inspect.isclass(value) or callable(value)):
            continue
        if not _is_hypergrad(value):
            continue
        members.append((name, value))
    return members


def tensor_members():
    """(name, value) for each public method and property of Tensor."""
    _, foreign_methods = _foreign()
    members = []
    for name in dir(hypergrad.Tensor):
        if name.startswith("_") or name in foreign_methods:
            continue
        value = inspect.getattr_static(hypergrad.Tensor, name)
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
        members.append((name, value))
    return members


def _report(where, missing):
    return (f"{len(missing)} public name(s) of {where} have no docstring (say what it does, "
            f"its PyTorch counterpart, and any difference):\n  " + "\n  ".join(missing))


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_public_names_have_docstrings(namespace):
    module = importlib.import_module(namespace)
    members = public_members(module)
    assert members, f"{namespace} has no public functions or classes"
    missing = sorted(f"{namespace}.{name}" for name, value in members if not _own_doc(value))
    assert not missing, _report(namespace, missing)


def test_tensor_methods_have_docstrings():
    members = tensor_members()
    assert len(members) > 100
    missing = sorted(f"Tensor.{name}" for name, value in members if not _own_doc(value))
    assert not missing, _report("hypergrad.Tensor", missing)


def test_op_functions_take_their_docstring_from_their_op():
    entry = registry.get("mul")
    assert hypergrad.mul.__doc__ == entry.op.__doc__
    assert hypergrad.Tensor.mul.__doc__ == entry.op.__doc__
    assert "d/da" in hypergrad.mul.__doc__


def test_a_missing_docstring_is_reported():
    class Documented:
        """Has one."""

    class Inherits(Documented):
        pass

    def bare():
        pass

    assert _own_doc(Documented) and not _own_doc(Inherits) and not _own_doc(bare)
