"""The plugin hooks HyperGrad calls. Every hook a plugin may implement is here, documented.

A plugin is a module named by an entry point in the `hypergrad` group::

    [project.entry-points.hypergrad]
    my_ops = "my_package.ops"

HyperGrad imports that module when it starts. Op classes defined there register themselves
(defining an `Op` subclass is enough); the hooks below are for everything else. Implement a
hook with the `hookimpl` marker::

    from hypergrad.plugins import hookimpl

    @hookimpl
    def hypergrad_register_ops(register):
        register(make_op("cube", power=3))
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("hypergrad")
hookimpl = pluggy.HookimplMarker("hypergrad")


@hookspec
def hypergrad_register_ops(register):
    """Register Op classes built at run time: call `register(op_class)` for each one."""


@hookspec
def hypergrad_register_commands(subparsers):
    """Add subcommands to the `hypergrad` CLI: `subparsers` is an argparse subparsers action."""


@hookspec
def hypergrad_plugins_loaded(registry):
    """Called once after every plugin has loaded, with the op registry (read-only use)."""
