"""The Module system against torch.nn.Module: registration, the tree walks, state_dict and
load_state_dict (with torch's error texts), modes, hooks, dtype conversion, repr, the
containers, Parameter, nn.init and nn.utils."""

from __future__ import annotations

import copy
import math
import pickle

import numpy as np
import pytest
import torch
from nn_compare import assert_close, copy_module

import hypergrad as hg
from hypergrad import nn


class Net:
    """The same small model written for both libraries."""

    @staticmethod
    def build(m):
        class Block(m.Module):
            def __init__(self):
                super().__init__()
                self.fc = m.Linear(3, 3)
                self.register_buffer("scale", (torch if m is torch.nn else hg).ones(3))
                self.register_buffer("cache", (torch if m is torch.nn else hg).zeros(1),
                                     persistent=False)

            def forward(self, x):
                return self.fc(x) * self.scale

        class Model(m.Module):
            def __init__(self):
                super().__init__()
                self.first = m.Linear(2, 3)
                self.blocks = m.ModuleList([Block(), Block()])
                self.shared = self.first
                self.norm = m.BatchNorm1d(3)
                self.act = m.ReLU()
                self.alpha = m.Parameter((torch if m is torch.nn else hg).ones(1))

            def forward(self, x):
                x = self.act(self.first(x))
                for block in self.blocks:
                    x = block(x)
                return self.norm(x) * self.alpha

        return Model()


def test_names_and_walks_match_torch():
    ours, theirs = Net.build(nn), Net.build(torch.nn)
    for method in ("named_parameters", "named_buffers", "named_modules", "named_children"):
        assert [n for n, _ in getattr(ours, method)()] == \
            [n for n, _ in getattr(theirs, method)()], method
    assert [n for n, _ in ours.named_modules(remove_duplicate=False)] == \
        [n for n, _ in theirs.named_modules(remove_duplicate=False)]
    assert [n for n, _ in ours.named_parameters(recurse=False)] == ["alpha"]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert list(ours.state_dict()._metadata.items()) == \
        list(theirs.state_dict()._metadata.items())
    assert len(list(ours.parameters())) == len(list(theirs.parameters()))
    assert repr(ours) == repr(theirs)


def test_state_dict_round_trip_and_sharing():
    model = Net.build(nn)
    state = model.state_dict()
    assert state["first.weight"].requires_grad is False
    assert np.shares_memory(state["first.weight"].numpy(), model.first.weight.detach().numpy())
    assert isinstance(model.state_dict(keep_vars=True)["first.weight"], nn.Parameter)
    other = Net.build(nn)
    assert repr(other.load_state_dict(state)) == "<All keys matched successfully>"
    assert_close(other.first.weight, model.first.weight)


def _load_error(module, state, strict=True):
    try:
        return module.load_state_dict(state, strict=strict)
    except RuntimeError as error:
        return str(error)


def test_load_state_dict_errors_match_torch():
    ours, theirs = nn.Linear(3, 4), torch.nn.Linear(3, 4)
    cases = [
        {"weight": np.zeros((4, 3)), "bias2": np.zeros(4)},
        {"weight": np.zeros((3, 3)), "bias": np.zeros(4)},
        {"weight": np.zeros((4, 3))},
        {"weight": np.zeros((4, 3)), "bias": np.zeros(4), "extra.thing": np.zeros(1)},
    ]
    for case in cases:
        for strict in (True, False):
            got = _load_error(ours, {k: hg.tensor(v) for k, v in case.items()}, strict)
            want = _load_error(theirs, {k: torch.tensor(v) for k, v in case.items()}, strict)
            if isinstance(want, str):
                assert got == want.replace("torch.Size", "hypergrad.Size")
            else:
                assert (got.missing_keys, got.unexpected_keys) == \
                    (want.missing_keys, want.unexpected_keys)
                assert repr(got) == repr(want)
    with pytest.raises(TypeError, match="Expected state_dict to be dict-like"):
        ours.load_state_dict([1, 2])


def test_batch_norm_loads_old_checkpoints_without_num_batches_tracked():
    ours, theirs = nn.BatchNorm1d(2), torch.nn.BatchNorm1d(2)
    plain = {k: v for k, v in theirs.state_dict().items() if k != "num_batches_tracked"}
    assert repr(theirs.load_state_dict(plain)) == repr(
        ours.load_state_dict({k: hg.tensor(v.numpy()) for k, v in plain.items()}))


def test_attribute_registration_errors_match_torch():
    def error(fn):
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - the type and text are what we compare
            return type(e), str(e).replace("torch.", "hypergrad.")
    pairs = [
        (lambda: setattr(nn.Linear(2, 2), "weight", hg.zeros(2, 2)),
         lambda: setattr(torch.nn.Linear(2, 2), "weight", torch.zeros(2, 2))),
        (lambda: nn.Module().register_parameter("a", hg.zeros(1)),
         lambda: torch.nn.Module().register_parameter("a", torch.zeros(1))),
        (lambda: nn.Module().register_parameter("a.b", None),
         lambda: torch.nn.Module().register_parameter("a.b", None)),
        (lambda: nn.Module()(1), lambda: torch.nn.Module()(1)),
        (lambda: nn.Linear(1, 1).foo, lambda: torch.nn.Linear(1, 1).foo),
        (lambda: nn.Linear(1, 1).train(1), lambda: torch.nn.Linear(1, 1).train(1)),
        (lambda: nn.Linear(1, 1).to(hg.int64), lambda: torch.nn.Linear(1, 1).to(torch.int64)),
        (lambda: nn.Module().add_module("x", 3), lambda: torch.nn.Module().add_module("x", 3)),
    ]
    for ours, theirs in pairs:
        assert error(ours) == error(theirs)


def test_assignment_moves_between_registries():
    model = nn.Module()
    model.w = nn.Parameter(hg.ones(1))
    model.register_buffer("b", hg.zeros(1))
    model.child = nn.Linear(1, 1)
    assert list(model._parameters) == ["w"] and list(model._buffers) == ["b"]
    model.b = hg.ones(1)
    assert model._buffers["b"].item() == 1.0
    model.w = None
    assert model.w is None and "w" in model._parameters
    model.child = None
    assert list(model.children()) == []
    del model.b
    assert "b" not in model._buffers
    model.extra = nn.Buffer(hg.ones(2), persistent=False)
    assert "extra" in model._buffers and "extra" not in model.state_dict()


def test_modes_zero_grad_requires_grad_and_apply():
    model = Net.build(nn)
    assert model.training and model.blocks[0].fc.training
    model.eval()
    assert not model.training and not model.blocks[1].fc.training
    model.train()
    model(hg.randn(4, 2)).sum().backward()
    assert model.first.weight.grad is not None
    model.zero_grad(set_to_none=False)
    assert float(model.first.weight.grad.abs().sum()) == 0.0
    model.zero_grad()
    assert model.first.weight.grad is None
    model.requires_grad_(False)
    assert not any(p.requires_grad for p in model.parameters())
    seen = []
    model.apply(lambda m: seen.append(type(m).__name__))
    theirs = []
    Net.build(torch.nn).apply(lambda m: theirs.append(type(m).__name__))
    assert seen == theirs


def test_dtype_conversion_keeps_parameter_identity():
    model = Net.build(nn)
    weight = model.first.weight
    model.double()
    assert model.first.weight is weight and weight.dtype is hg.float64
    assert model.norm.num_batches_tracked.dtype is hg.int64
    assert model.blocks[0].scale.dtype is hg.float64
    model.to(hg.float32)
    assert weight.dtype is hg.float32
    model.float()
    assert weight.requires_grad


def test_forward_hooks():
    model = nn.Linear(2, 2)
    calls = []
    pre = model.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    post = model.register_forward_hook(lambda m, args, out: calls.append(out.shape) or out + 1)
    out = model(hg.ones(3, 2))
    assert calls == [hg.Size([3, 2])]
    assert_close(out, (model.bias + 1).expand(3, 2).detach())
    pre.remove()
    post.remove()
    assert_close(model(hg.zeros(1, 2)), model.bias.reshape(1, 2).detach())
    kw = model.register_forward_pre_hook(lambda m, args, kwargs: ((hg.ones(1, 2),), kwargs),
                                         with_kwargs=True)
    assert_close(model(hg.zeros(1, 2)), (model.weight.sum(1) + model.bias).reshape(1, 2))
    kw.remove()
    order = []
    model.register_forward_hook(lambda *a: order.append("second"))
    model.register_forward_hook(lambda *a: order.append("first"), prepend=True)
    model(hg.zeros(1, 2))
    assert order == ["first", "second"]


def test_deepcopy_and_pickle():
    model = Net.build(nn)
    clone = copy.deepcopy(model)
    assert clone.first.weight is not model.first.weight
    assert clone.shared is clone.first
    assert isinstance(clone.first.weight, nn.Parameter)
    plain = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    restored = pickle.loads(pickle.dumps(plain))
    assert_close(restored[0].weight, plain[0].weight)
    assert list(restored.state_dict()) == list(plain.state_dict())


def test_parameter():
    p = nn.Parameter(hg.tensor([1.0, 2.0]))
    assert repr(p) == repr(torch.nn.Parameter(torch.tensor([1.0, 2.0]))).replace(
        "torch.", "hypergrad.")
    assert p.requires_grad and p.is_leaf and isinstance(p, hg.Tensor)
    assert type(p * 2) is hg.Tensor
    frozen = nn.Parameter(hg.tensor([1.0]), requires_grad=False)
    assert repr(frozen) == "Parameter containing:\ntensor([1.])"
    with pytest.raises(RuntimeError, match="Only Tensors of floating point"):
        nn.Parameter(hg.tensor([1, 2]))


def test_containers_match_torch():
    def build(m):
        s = m.Sequential(m.Linear(1, 2), m.ReLU(), m.Tanh())
        s.insert(1, m.Sigmoid())
        del s[0]
        s.append(m.ReLU())
        return s
    assert repr(build(nn)) == repr(build(torch.nn))
    seq = nn.Sequential(nn.Linear(1, 2), nn.ReLU(), nn.Tanh())
    assert repr(seq[1:]) == repr(torch.nn.Sequential(torch.nn.Linear(1, 2), torch.nn.ReLU(),
                                                     torch.nn.Tanh())[1:])
    with pytest.raises(IndexError, match="index 5 is out of range"):
        seq[5]
    layers = nn.ModuleList([nn.Linear(1, 1)] * 3 + [nn.ReLU()])
    assert repr(layers) == repr(torch.nn.ModuleList([torch.nn.Linear(1, 1)] * 3 +
                                                    [torch.nn.ReLU()]))
    assert len(layers[1:]) == 3 and isinstance(layers[-1], nn.ReLU)
    d = nn.ModuleDict({"b": nn.ReLU(), "a": nn.Tanh()})
    assert list(d.keys()) == ["b", "a"] and "a" in d
    params = nn.ParameterList([hg.zeros(2), nn.Parameter(hg.zeros(2, 3))])
    assert isinstance(params[0], nn.Parameter)
    assert list(params.state_dict()) == ["0", "1"]
    assert repr(params) == repr(torch.nn.ParameterList(
        [torch.zeros(2), torch.nn.Parameter(torch.zeros(2, 3))])).replace("torch.", "hypergrad.")
    pd = nn.ParameterDict({"w": hg.zeros(2)})
    assert list(pd.state_dict()) == ["w"] and isinstance(pd["w"], nn.Parameter)


def _bounds(tensor):
    values = tensor.detach().numpy()
    return values.min(), values.max(), values.std()


def test_default_initializations_follow_torch():
    hg.manual_seed(0)
    linear = nn.Linear(400, 300)
    low, high, _ = _bounds(linear.weight)
    bound = 1 / math.sqrt(400)
    assert -bound <= low < -0.99 * bound and 0.99 * bound < high <= bound
    low, high, _ = _bounds(linear.bias)
    assert -bound <= low and high <= bound
    conv = nn.Conv2d(8, 16, 3)
    low, high, _ = _bounds(conv.weight)
    bound = 1 / math.sqrt(8 * 9)
    assert -bound <= low < -0.95 * bound and 0.95 * bound < high <= bound
    emb = nn.Embedding(1000, 20)
    assert abs(_bounds(emb.weight)[2] - 1) < 0.05
    bn = nn.BatchNorm2d(3)
    assert bn.weight.tolist() == [1.0] * 3 and bn.bias.tolist() == [0.0] * 3


def test_init_functions():
    w = hg.empty(200, 300)
    assert abs(_bounds(nn.init.xavier_uniform_(w))[1] - math.sqrt(6 / 500)) < 1e-3
    assert abs(_bounds(nn.init.kaiming_normal_(w, nonlinearity="relu"))[2] -
               math.sqrt(2 / 300)) < 2e-3
    assert abs(_bounds(nn.init.normal_(w, 1.0, 0.5))[2] - 0.5) < 0.01
    q = nn.init.orthogonal_(hg.empty(4, 6)).numpy()
    np.testing.assert_allclose(q @ q.T, np.eye(4), atol=1e-5)
    assert nn.init.constant_(hg.empty(2), 3.0).tolist() == [3.0, 3.0]
    assert nn.init.calculate_gain("tanh") == torch.nn.init.calculate_gain("tanh")
    assert nn.init.calculate_gain("leaky_relu", 0.2) == \
        torch.nn.init.calculate_gain("leaky_relu", 0.2)
    p = nn.Parameter(hg.zeros(3))
    nn.init.ones_(p)
    assert p.requires_grad and p.grad_fn is None and p.tolist() == [1.0] * 3


def test_clip_grad_utilities_match_torch():
    theirs, ours = torch.nn.Linear(3, 2).double(), nn.Linear(3, 2).double()
    copy_module(theirs, ours)
    x = np.random.default_rng(0).standard_normal((5, 3)) * 10
    for max_norm, norm_type in [(1.0, 2.0), (0.5, 1.0), (0.1, math.inf), (100.0, 2.0)]:
        theirs.zero_grad()
        ours.zero_grad()
        (theirs(torch.tensor(x)) ** 2).sum().backward()
        (ours(hg.tensor(x)) ** 2).sum().backward()
        total_t = torch.nn.utils.clip_grad_norm_(theirs.parameters(), max_norm, norm_type)
        total_h = nn.utils.clip_grad_norm_(ours.parameters(), max_norm, norm_type)
        assert_close(total_h, total_t)
        for p_h, p_t in zip(ours.parameters(), theirs.parameters()):
            assert_close(p_h.grad, p_t.grad)
    torch.nn.utils.clip_grad_value_(theirs.parameters(), 0.01)
    nn.utils.clip_grad_value_(ours.parameters(), 0.01)
    for p_h, p_t in zip(ours.parameters(), theirs.parameters()):
        assert_close(p_h.grad, p_t.grad)
    vec = nn.utils.parameters_to_vector(ours.parameters())
    assert_close(vec, torch.nn.utils.parameters_to_vector(theirs.parameters()))
    nn.utils.vector_to_parameters(vec * 0 + 1, ours.parameters())
    assert ours.weight.tolist() == [[1.0] * 3] * 2
