"""In-place ops on views (CopySlices) give torch's gradients, first and second order."""

from __future__ import annotations

import pytest
import torch

import hypergrad as hg

CASES = {
    "row": lambda lib, b, w: b[0].mul_(w),
    "column": lambda lib, b, w: b[:, 1].add_(w[:2]),
    "transposed-row": lambda lib, b, w: b.t()[1].mul_(w[:2]),
    "strided": lambda lib, b, w: b[:, ::2].mul_(w[:2]),
    "reshaped": lambda lib, b, w: b.reshape(3, 2)[1].mul_(w[:2]),
    "two-views": lambda lib, b, w: (b[0].mul_(w), b[1].sub_(b[0])),
    "saved-self": lambda lib, b, w: b[1].pow_(2),
    "no-grad-other": lambda lib, b, w: b[0].mul_(3.0),
}


def run(lib, change, create_graph=False):
    b0 = lib.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=lib.float64, requires_grad=True)
    w = lib.tensor([2.0, 3.0, 4.0], dtype=lib.float64, requires_grad=True)
    b = b0 * 1
    change(lib, b, w)
    out = (b * b).sum()
    if not create_graph:
        out.backward()
        return _flat(b0, w)
    grads = lib.autograd.grad(out, [b0, w], create_graph=True, allow_unused=True)
    total = sum(g.sum() for g in grads if g is not None)
    total.backward()
    return _flat(b0, w)


def _flat(b0, w):
    """Both leaves' gradients as one flat list (None for no gradient, as 0.0)."""
    values = b0.grad.reshape(-1).tolist()
    values += w.grad.tolist() if w.grad is not None else [0.0] * 3
    return values


@pytest.mark.parametrize("name", CASES)
def test_gradients_match_torch(name):
    assert run(hg, CASES[name]) == pytest.approx(run(torch, CASES[name]))


@pytest.mark.parametrize("name", ["row", "column", "two-views"])
def test_second_order_gradients_match_torch(name):
    assert run(hg, CASES[name], create_graph=True) == \
        pytest.approx(run(torch, CASES[name], create_graph=True))


def test_base_gets_copy_slices_and_view_gets_as_strided():
    b = hg.ones(2, 3, requires_grad=True) * 1
    v = b[0]
    v.mul_(2)
    assert type(b.grad_fn).__name__ == "CopySlices"
    assert v.grad_fn.name() == "AsStridedBackward0"
    assert b._version == v._version == 1


def test_stale_view_reads_the_new_base():
    """A view made before the change sees it in backward (its grad_fn is regenerated)."""
    def run_lib(lib):
        x = lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64, requires_grad=True)
        b = x * 1
        early = b[:2]                # taken before the in-place change
        b[1:].mul_(10)
        (early * early).sum().backward()
        return x.grad.tolist()

    assert run_lib(hg) == run_lib(torch)


def test_view_of_leaf_is_refused():
    leaf = hg.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad is "
                                           "being used in an in-place operation."):
        leaf[0].mul_(2)


# Note [Writing in place directly] (hypergrad/plugins/op.py): in-place ops with nothing to
# record write straight into the tensor's memory; these cases compare that path with torch.
DIRECT_CASES = {
    "sgd-step": lambda lib, p, g: p.sub_(g * 0.1),
    "operator-with-a-number": lambda lib, p, g: p.__imul__(2.5),
    "add-int-number": lambda lib, p, g: p.add_(3),
    "operand-is-self": lambda lib, p, g: p.add_(p),
    "overlapping-view-of-self": lambda lib, p, g: p.mul_(p.flip(0)),
    "into-a-view": lambda lib, p, g: p[1].add_(g[0]),
    "broadcast-operand": lambda lib, p, g: p.add_(g[0]),
    "other-dtype": lambda lib, p, g: p.add_(g.double()),
}


@pytest.mark.parametrize("name", DIRECT_CASES)
def test_inplace_without_recording_matches_torch(name):
    results = []
    for lib in (torch, hg):
        p = lib.tensor([[1.0, -2.0, 3.5], [0.25, 5.0, -6.0]], requires_grad=True)
        g = lib.tensor([[0.5, 1.0, -1.5], [2.0, -0.75, 3.0]])
        with lib.no_grad():
            alias = p.detach()          # shares p's memory: sees the write
            before = p._version
            out = DIRECT_CASES[name](lib, p, g)
        results.append((out.tolist(), p.tolist(), alias.tolist(), p._version - before,
                        p.requires_grad, p.grad_fn is None))
    assert results[0] == results[1]


def test_direct_inplace_write_invalidates_a_saved_tensor():
    """The direct path bumps the version, so a backward that saved the old value refuses."""
    messages = []
    for lib in (torch, hg):
        w = lib.tensor([1.0, 2.0], requires_grad=True)
        x = lib.tensor([3.0, 4.0])
        y = (w * x).sum()               # saves x
        x.mul_(2)                       # nothing to record: the direct path
        with pytest.raises(RuntimeError) as error:
            y.backward()
        messages.append(str(error.value).split(" Hint:")[0].replace("torch.", "hypergrad."))
    assert messages[0] == messages[1]


# A view made *before* its base is changed in place, not through the view (torch's
# VariableHooks::grad_fn regenerates the view's grad_fn from the base's new history).
STALE_VIEW_PROGRAMS = {
    "slice, base scaled": lambda L, x: _used_after(L, x, lambda m: m[1:], lambda m: m.mul_(5)),
    "view, base through relu_": lambda L, x: _used_after(
        L, x, lambda m: m.view(6), lambda m: m.relu_()),
    "transpose, base shifted twice": lambda L, x: _used_after(
        L, x, lambda m: m.t(), lambda m: (m.add_(1), m.mul_(3))),
    "view of a view": lambda L, x: _used_after(
        L, x, lambda m: m[0][1:], lambda m: m.sub_(m.detach() * 2)),
}


def _used_after(L, x, make_view, change):
    m = x * 1
    v = make_view(m)
    change(m)
    weights = L.arange(float(v.numel()), dtype=L.float64).reshape(v.shape)
    (v * weights).sum().backward()
    return x.grad.tolist(), v.grad_fn.name(), v.requires_grad


@pytest.mark.parametrize("program", STALE_VIEW_PROGRAMS.values(), ids=STALE_VIEW_PROGRAMS.keys())
def test_a_view_made_before_its_base_changed_in_place(program):
    outcomes = []
    for L in (hg, torch):
        x = L.tensor([[1.0, -2.0, 3.0], [-4.0, 5.0, -6.0]], dtype=L.float64, requires_grad=True)
        outcomes.append(program(L, x))
    assert outcomes[0] == outcomes[1]


def test_a_view_of_a_base_that_starts_requiring_grad_in_place():
    outcomes = []
    for L in (hg, torch):
        base = L.zeros(3)
        view = base[:2]
        x = L.ones(3, requires_grad=True)
        base.add_(x)
        outcome = [view.requires_grad, view.grad_fn.name()]
        (view * 2).sum().backward()
        outcomes.append(outcome + [x.grad.tolist()])
    assert outcomes[0] == outcomes[1]


def test_a_retained_base_keeps_the_gradient_of_its_new_value():
    """`a.retain_grad()`, then a view of `a` changed in place: `a.grad` is the gradient of the
    new `a` (the hook moves to the CopySlices grad_fn), as in torch."""
    grads = []
    for L in (hg, torch):
        x = L.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
        a = x * 1
        a.retain_grad()
        a[:2].mul_(2)
        (a * L.arange(4.0)).sum().backward()
        grads.append((a.grad.tolist(), x.grad.tolist()))
    assert grads[0] == grads[1]


def _no_grad_view(L, m):
    with L.no_grad():
        return m[:2]


FORBIDDEN_VIEW_CHANGES = {
    "view made in no_grad": lambda L, m: _no_grad_view(L, m).mul_(2),
    "view of a no_grad view": lambda L, m: _no_grad_view(L, m)[:1].add_(1),
    "split output": lambda L, m: m.split(2)[1].mul_(2),
    "chunk output": lambda L, m: m.chunk(2)[0].sub_(1),
    "unbind output": lambda L, m: m.unbind(0)[2].mul_(2),
}


@pytest.mark.parametrize("change", FORBIDDEN_VIEW_CHANGES.values(),
                         ids=FORBIDDEN_VIEW_CHANGES.keys())
def test_views_torch_forbids_changing_in_place(change):
    """torch's CreationMeta: the change could not be recorded, so it is an error (before,
    HyperGrad changed the values and left the change out of the gradient)."""
    messages = []
    for L in (hg, torch):
        m = L.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True) * 1
        with pytest.raises(RuntimeError) as info:
            change(L, m)
        messages.append(str(info.value))
    assert messages[0] == messages[1]


def test_views_changed_in_place_inside_no_grad_or_of_plain_tensors_are_fine():
    results = []
    for L in (hg, torch):
        x = L.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
        m = x * 1
        with L.no_grad():
            m[:2].mul_(2)
        plain = L.ones(3)
        with L.no_grad():
            view = plain[:2]
        view.mul_(2)
        m.sum().backward()
        results.append((m.tolist(), plain.tolist(), x.grad.tolist()))
    assert results[0] == results[1]


def test_a_view_of_a_split_output_is_forbidden_too():
    messages = []
    for L in (hg, torch):
        m = L.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True) * 1
        with pytest.raises(RuntimeError) as info:
            m.split(2)[0][:1].mul_(2)
        messages.append(str(info.value))
    assert messages[0] == messages[1]
