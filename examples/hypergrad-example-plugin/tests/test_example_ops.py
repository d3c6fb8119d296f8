"""The example plugin's own tests: its ops are loaded, agree with torch, and pass conformance.

Run them after installing the package (`pip install -e ".[test]"`), so that HyperGrad finds it
through its entry point exactly as a user's HyperGrad will. conftest.py picks the hypothesis
profile (few examples by default, `HYPOTHESIS_PROFILE=thorough` for many).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

import hypergrad as hg
from hypergrad.plugins import registry

try:
    from hypergrad.conformance import parametrize_with_op_checks
except ImportError:  # a HyperGrad older than the conformance suite's pytest helper
    parametrize_with_op_checks = None

def test_the_plugin_is_loaded():
    record = registry.plugins.get("example")
    assert record is not None, "install this package first: pip install -e ."
    assert record.status == "loaded", record.traceback
    assert record.ops == ["cube", "softsign"]


TORCH = {"cube": lambda t: t ** 3, "softsign": torch.nn.functional.softsign}


@pytest.mark.parametrize("name", sorted(TORCH))
@settings(max_examples=20, deadline=None)
@given(values=st.lists(st.floats(-4, 4), min_size=1, max_size=5))
@example(values=[0.0])
def test_values_and_gradients_match_torch(name, values):
    """The same expression in both libraries, in float64: value, gradient, gradient of that."""
    x = hg.tensor(values, dtype=hg.float64, requires_grad=True)
    t = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    out, expected = getattr(hg, name)(x), TORCH[name](t)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-12)

    (grad,) = hg.autograd.grad(out.sum(), x, create_graph=True)
    (expected_grad,) = torch.autograd.grad(expected.sum(), t, create_graph=True)
    np.testing.assert_allclose(grad.detach().numpy(), expected_grad.detach().numpy(),
                               rtol=1e-12, atol=1e-15)

    (grad2,) = hg.autograd.grad(grad.sum(), x)
    (expected_grad2,) = torch.autograd.grad(expected_grad.sum(), t)
    np.testing.assert_allclose(grad2.numpy(), expected_grad2.numpy(), rtol=1e-12, atol=1e-15)


if parametrize_with_op_checks is not None:
    @parametrize_with_op_checks(registry.by_plugin("example"))
    def test_conformance(op, check):
        """HyperGrad's conformance checks on this plugin's ops: one test per op and check.

        A check that does not apply is skipped; one the op declares in `divergences` is an
        expected failure, with its reason.
        """
        check(op)
else:
    @pytest.mark.skip(reason="this HyperGrad has no hypergrad.conformance."
                             "parametrize_with_op_checks (the conformance suite's pytest helper)")
    def test_conformance():
        """HyperGrad's conformance checks on this plugin's ops."""
