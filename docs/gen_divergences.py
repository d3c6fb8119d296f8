"""Generate docs/divergences.md, "HyperGrad vs PyTorch".

    python docs/gen_divergences.py            # rewrite docs/divergences.md
    python docs/gen_divergences.py --check    # exit 1 if the committed page is out of date

The page has three parts:

1. the documented divergences of the ops, read from the op registry: every op of a built-in
   plugin whose `divergences` declares a check where it knowingly differs from torch, and why
   (the conformance suite reports those checks as "div", and fails if one starts passing);
2. the differences in the engine and the core, written out in ENGINE_DIFFERENCES below, and
   the features that are not there yet, in NOT_YET below;
3. the names of PyTorch's API that HyperGrad does not have yet, found by comparing the public
   names of each torch namespace with HyperGrad's (so it needs torch, and the page says which
   version made it).

Only built-in plugins count: an op from an installed third-party plugin is neither a
documented divergence of HyperGrad nor part of its API.
"""

from __future__ import annotations

import argparse
import difflib
import inspect
import sys
from pathlib import Path

PAGE = Path(__file__).resolve().parent / "divergences.md"

ENGINE_DIFFERENCES = [
    ("Threads", (
        "The engine runs backward on the calling thread only. PyTorch has a worker thread and "
        "ready queue per device, and supports reentrant backward (a backward started inside a "
        "backward).")),
    ("GraphRoot", (
        "HyperGrad always starts a backward pass from a `GraphRoot` node. PyTorch skips it "
        "when there is a single root and starts from the root's own node; the gradients and "
        "the order of the other nodes are the same.")),
    ("sequence_nr", (
        "Node sequence numbers come from one counter for the process; PyTorch keeps one per "
        "thread. Within a thread the order is the same.")),
    ("inference_mode", (
        "`inference_mode()` turns grad mode off and sets the inference flag, but makes no "
        "inference tensors: tensors created inside are ordinary tensors, with version "
        "counters, and may later be used in recorded computations.")),
    ("Random numbers", (
        "The random factories (`rand`, `randn`, `randint`, `randperm`, dropout, shuffling in "
        "`DataLoader`) draw from numpy's generator: the same seed gives different numbers than "
        "in PyTorch.")),
    ("Devices", (
        "Everything runs on the CPU. `device=\"cpu\"` and `.to(\"cpu\")` are accepted; any other "
        "device is an error.")),
    ("DataLoader workers", (
        "`num_workers` is accepted, but data is loaded in the calling process.")),
]

# (title, what, whether it is still missing): each line is only printed while it is true.
NOT_YET = [
    ("Forward-mode AD", "`torch.autograd.forward_ad`, `jvp`, dual tensors.",
     lambda hg: not hasattr(hg.autograd, "forward_ad")),
    ("Function transforms", (
        "`torch.func` (`grad`, `vmap`, `jacrev`, `jacfwd`, `hessian`); "
        "`autograd.grad(..., is_grads_batched=True)` raises `NotImplementedError`."),
     lambda hg: not hasattr(hg, "func")),
    ("`torch.autograd.functional`", (
        "`jacobian`, `hessian`, `vjp`, `jvp`, `hvp`, `vhp` (page 7 of the guide builds `hvp` "
        "from `autograd.grad`)."),
     lambda hg: not hasattr(hg.autograd, "functional")),
    ("Saved-tensor hooks", (
        "`torch.autograd.graph.saved_tensors_hooks`, `save_on_cpu`, and activation "
        "checkpointing (`torch.utils.checkpoint`)."),
     lambda hg: not hasattr(hg.autograd.graph, "saved_tensors_hooks")),
    ("Multi-tensor grad hooks", "`torch.autograd.graph.register_multi_grad_hook`.",
     lambda hg: not hasattr(hg.autograd.graph, "register_multi_grad_hook")),
    ("Complex gradients", (
        "the forward ops compute on complex tensors, and a complex leaf can require grad (an "
        "optimizer updates it from a `.grad` set by hand), but a backward through an operation "
        "on complex tensors raises `NotImplementedError`: the gradient formulas do not yet apply "
        "PyTorch's conjugation (Note [Complex gradients] in `hypergrad/plugins/op.py`)."),
     lambda hg: True),
    ("Item assignment", "`t[index] = value` (`Tensor.__setitem__`).",
     lambda hg: not hasattr(hg.Tensor, "__setitem__")),
    ("Tensor kinds", (
        "sparse, nested, quantized, named and meta tensors; memory formats (`channels_last`); "
        "tensor subclasses and `__torch_function__`."),
     lambda hg: True),
    ("Compilation and export", (
        "`torch.compile`, `torch.jit`, `torch.fx`, `torch.export`, compiled autograd."),
     lambda hg: True),
    ("Scale", (
        "mixed precision (`torch.amp`), `torch.distributed`, the profiler "
        "(`torch.autograd.profiler`)."),
     lambda hg: True),
]

# Each torch namespace and the HyperGrad one that mirrors it ("" is the hypergrad package).
NAMESPACES = [
    ("torch", ""),
    ("torch.autograd", "autograd"),
    ("torch.linalg", "linalg"),
    ("torch.nn", "nn"),
    ("torch.nn.functional", "nn.functional"),
    ("torch.nn.init", "nn.init"),
    ("torch.optim", "optim"),
    ("torch.optim.lr_scheduler", "optim.lr_scheduler"),
    ("torch.utils.data", "utils.data"),
]

# Public names of those torch modules that are helpers, not API (imports, typing, dispatch).
NOT_API = {"Tensor", "DType", "Callable", "Optional", "boolean_dispatch", "assert_int_or_pair",
           "handle_torch_function", "has_torch_function", "has_torch_function_unary",
           "has_torch_function_variadic", "factory_kwargs", "Variable", "variable"}


def _builtin_registry():
    """The op registry, and the public names and Tensor methods third-party plugins added."""
    from hypergrad.plugins import registry

    def is_builtin(plugin):
        record = registry.plugins.get(plugin)
        return record is not None and record.builtin      # its module is in hypergrad.ops

    foreign_names, foreign_methods = set(), set()
    for entry in registry.entries.values():
        if not is_builtin(entry.plugin):
            foreign_names.update((entry.name, *entry.aliases))
            foreign_methods.update(entry.methods)
    builtin = sorted((e for e in registry.entries.values() if is_builtin(e.plugin)),
                     key=lambda e: e.name)
    return builtin, foreign_names, foreign_methods


def _torch_api(module, top_level):
    """Public API names of a torch module: functions (and classes, except at the top level)."""
    names = set()
    for name in dir(module):
        if name.startswith("_") or name in NOT_API:
            continue
        value = getattr(module, name)
        if inspect.ismodule(value) or not callable(value):
            continue
        if not (getattr(value, "__module__", None) or "").startswith("torch"):
            continue
        if top_level and inspect.isclass(value):
            continue
        names.add(name)
    return names


def _missing(foreign_names, foreign_methods):
    """[(torch namespace, HyperGrad namespace, sorted missing names)], Tensor last."""
    import importlib

    import torch

    import hypergrad

    result = []
    for torch_name, ours in NAMESPACES:
        theirs = _torch_api(importlib.import_module(torch_name), top_level=not ours)
        module = importlib.import_module("hypergrad" + ("." + ours if ours else ""))
        have = {name for name in dir(module) if not name.startswith("_")}
        have -= {name.rsplit(".", 1)[-1] for name in foreign_names
                 if name.rpartition(".")[0] == ours}
        result.append((torch_name, "hypergrad" + ("." + ours if ours else ""),
                       sorted(theirs - have)))
    tensor_have = {n for n in dir(hypergrad.Tensor) if not n.startswith("_")} - foreign_methods
    tensor_theirs = {n for n in dir(torch.Tensor) if not n.startswith("_")}
    result.append(("torch.Tensor", "hypergrad.Tensor", sorted(tensor_theirs - tensor_have)))
    return result


def _cell(text):
    return " ".join(str(text).split()).replace("|", "\\|")


def render():
    """The whole page, as a string."""
    import torch

    builtin, foreign_names, foreign_methods = _builtin_registry()
    version = torch.__version__.split("+")[0]
    lines = [
        "# HyperGrad vs PyTorch",
        "",
        "<!-- Generated by docs/gen_divergences.py: edit that script (or an op's `divergences`),",
        "     then run `python docs/gen_divergences.py`. tests/test_docs_site.py checks that this",
        "     page is up to date. -->",
        "",
        "HyperGrad keeps PyTorch's behaviour wherever it can, and where it does not, it says so.",
        "This page lists every difference that is known and documented, and the parts of",
        "PyTorch's API that HyperGrad does not have yet. It is generated from the op registry and",
        f"from PyTorch itself (generated with torch {version}).",
        "",
        "## Documented differences in the ops",
        "",
        "Every op is checked against PyTorch by the [conformance suite](conformance.md). An op",
        "that knowingly differs from its PyTorch reference in one of the checks declares it, with",
        "the reason, in its `divergences`; the suite then reports that check as a documented",
        "divergence (and fails if it starts passing, so the list stays true). A difference",
        "that shows only on some inputs (an infinity inside a matrix, a rare memory layout) is",
        "marked *on some inputs*: whether a run sees it depends on the draw, so it is not strict.",
        "These are all of them, for the built-in ops:",
        "",
        "| op | check | what differs, and why |",
        "|---|---|---|",
    ]
    count = 0
    for entry in builtin:
        for check, reason in sorted((entry.divergences or {}).items()):
            when = "" if getattr(reason, "strict", True) else " *(on some inputs)*"
            lines.append(f"| `{entry.name}` | {check}{when} | {_cell(reason)} |")
            count += 1
    if not count:
        lines.append("| | | (none) |")
    lines += ["", f"{count} documented divergences in {len(builtin)} built-in ops.", "",
              "## Differences in the engine and the core", ""]
    lines += [f"- **{title}.** {text}" for title, text in ENGINE_DIFFERENCES]
    lines += ["", "## Not there yet", "", "Features of PyTorch that HyperGrad does not have:", ""]
    import hypergrad

    lines += [f"- **{title}:** {text}" for title, text, missing in NOT_YET if missing(hypergrad)]
    lines += ["", "### Names of PyTorch's API not in HyperGrad", "",
              "Each torch namespace compared with the HyperGrad one that mirrors it (functions,",
              "and classes except at the top level). A name here may also be spelled differently",
              "in HyperGrad.", "",
              "| torch | HyperGrad | missing |", "|---|---|---|"]
    missing = _missing(foreign_names, foreign_methods)
    for torch_name, ours, names in missing:
        lines.append(f"| `{torch_name}` | `{ours}` | {len(names)} |")
    for torch_name, ours, names in missing:
        if not names:
            continue
        lines += ["", f'??? note "`{torch_name}`: {len(names)} names not in `{ours}`"', ""]
        lines += _wrap(", ".join(f"`{name}`" for name in names), indent="    ")
    return "\n".join(lines) + "\n"


def _wrap(text, indent, width=96):
    """Break a long comma-separated line into lines of at most `width` characters."""
    lines, line = [], ""
    for word in text.split(" "):
        if line and len(indent) + len(line) + 1 + len(word) > width:
            lines.append(indent + line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        lines.append(indent + line)
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if docs/divergences.md is not what this script generates")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = PAGE.read_text() if PAGE.exists() else ""
        if current == text:
            return 0
        diff = difflib.unified_diff(current.splitlines(), text.splitlines(),
                                    "docs/divergences.md", "generated", lineterm="")
        print("docs/divergences.md is out of date; run `python docs/gen_divergences.py`.\n"
              + "\n".join(list(diff)[:60]))
        return 1
    PAGE.write_text(text)
    print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
