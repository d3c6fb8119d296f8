"""Every layer against torch.nn with the same weights (copied over), in float64: outputs,
input gradients and parameter gradients; state_dict keys; BatchNorm's running statistics;
and two training runs (an MLP and a small CNN) that must follow torch's step for step."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from nn_compare import assert_close, compare_module, copy_module

import hypergrad as hg
from hypergrad import nn

rng = np.random.default_rng(0)
X2 = rng.standard_normal((4, 6))
X3 = rng.standard_normal((2, 3, 8))
X4 = rng.standard_normal((2, 3, 7, 6))

LAYERS = {
    "Linear": (lambda m: m.Linear(6, 5), (X2,)),
    "Linear no bias": (lambda m: m.Linear(6, 5, bias=False), (X2,)),
    "Bilinear": (lambda m: m.Bilinear(6, 8, 3), (X2, rng.standard_normal((4, 8)))),
    "Conv1d": (lambda m: m.Conv1d(3, 4, 3, stride=2, padding=1), (X3,)),
    "Conv2d": (lambda m: m.Conv2d(3, 4, (3, 2), stride=(2, 1), padding=1, dilation=(1, 2)),
               (X4,)),
    "Conv2d groups same": (lambda m: m.Conv2d(3, 6, 3, padding="same", groups=3), (X4,)),
    "Conv2d reflect": (lambda m: m.Conv2d(3, 2, 3, padding=1, padding_mode="reflect"), (X4,)),
    "ConvTranspose2d": (lambda m: m.ConvTranspose2d(3, 2, 3, stride=2, padding=1,
                                                    output_padding=1), (X4,)),
    "ConvTranspose1d": (lambda m: m.ConvTranspose1d(3, 2, 3, stride=2), (X3,)),
    "MaxPool1d": (lambda m: m.MaxPool1d(3, 2), (X3,)),
    "MaxPool2d": (lambda m: m.MaxPool2d(2, ceil_mode=True), (X4,)),
    "AvgPool1d": (lambda m: m.AvgPool1d(3, 2, 1), (X3,)),
    "AvgPool2d": (lambda m: m.AvgPool2d(3, 2, 1, count_include_pad=False), (X4,)),
    "AdaptiveAvgPool2d": (lambda m: m.AdaptiveAvgPool2d((3, 4)), (X4,)),
    "AdaptiveAvgPool1d": (lambda m: m.AdaptiveAvgPool1d(3), (X3,)),
    "BatchNorm1d": (lambda m: m.BatchNorm1d(6), (X2,)),
    "BatchNorm1d 3d": (lambda m: m.BatchNorm1d(3, momentum=None), (X3,)),
    "BatchNorm2d": (lambda m: m.BatchNorm2d(3), (X4,)),
    "BatchNorm2d untracked": (lambda m: m.BatchNorm2d(3, track_running_stats=False), (X4,)),
    "LayerNorm": (lambda m: m.LayerNorm((7, 6)), (X4,)),
    "GroupNorm": (lambda m: m.GroupNorm(3, 3), (X4,)),
    "Flatten": (lambda m: m.Flatten(), (X4,)),
    "Unflatten": (lambda m: m.Unflatten(1, (2, 3)), (X2,)),
    "Identity": (lambda m: m.Identity(), (X2,)),
    "ReLU": (lambda m: m.ReLU(), (X2,)),
    "ReLU6": (lambda m: m.ReLU6(), (X2 * 4,)),
    "LeakyReLU": (lambda m: m.LeakyReLU(0.2), (X2,)),
    "ELU": (lambda m: m.ELU(0.5), (X2,)),
    "SELU": (lambda m: m.SELU(), (X2,)),
    "CELU": (lambda m: m.CELU(0.5), (X2,)),
    "GELU": (lambda m: m.GELU(), (X2,)),
    "GELU tanh": (lambda m: m.GELU("tanh"), (X2,)),
    "SiLU": (lambda m: m.SiLU(), (X2,)),
    "Mish": (lambda m: m.Mish(), (X2,)),
    "Sigmoid": (lambda m: m.Sigmoid(), (X2,)),
    "Tanh": (lambda m: m.Tanh(), (X2,)),
    "Hardtanh": (lambda m: m.Hardtanh(-0.5, 0.5), (X2,)),
    "Softplus": (lambda m: m.Softplus(2.0), (X2,)),
    "Softsign": (lambda m: m.Softsign(), (X2,)),
    "LogSigmoid": (lambda m: m.LogSigmoid(), (X2,)),
    "Softmax": (lambda m: m.Softmax(1), (X2,)),
    "LogSoftmax": (lambda m: m.LogSoftmax(-1), (X2,)),
    "Softmin": (lambda m: m.Softmin(0), (X2,)),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_matches_torch(name):
    build, inputs = LAYERS[name]
    theirs = build(torch.nn).double()
    ours = build(nn).double()
    copy_module(theirs, ours)
    assert repr(ours) == repr(theirs)
    compare_module(ours, theirs, *inputs)
    for (key, ours_value), (_, theirs_value) in zip(ours.state_dict().items(),
                                                    theirs.state_dict().items()):
        assert_close(ours_value, theirs_value, what=key)


def _target(shape, classes):
    return rng.integers(0, classes, shape)


LOSSES = {
    "CrossEntropyLoss": (lambda m: m.CrossEntropyLoss(label_smoothing=0.1), X2,
                         _target(4, 6)),
    "CrossEntropyLoss weight": (lambda m, t=torch: m.CrossEntropyLoss(
        weight=t.tensor(np.arange(1.0, 7.0)), ignore_index=2), X2, _target(4, 6)),
    "NLLLoss": (lambda m: m.NLLLoss(reduction="sum"), X2, _target(4, 6)),
    "MSELoss": (lambda m: m.MSELoss(), X2, rng.standard_normal((4, 6))),
    "L1Loss": (lambda m: m.L1Loss(reduction="sum"), X2, rng.standard_normal((4, 6))),
    "SmoothL1Loss": (lambda m: m.SmoothL1Loss(beta=0.5), X2, rng.standard_normal((4, 6))),
    "HuberLoss": (lambda m: m.HuberLoss(delta=0.7), X2, rng.standard_normal((4, 6))),
    "BCELoss": (lambda m: m.BCELoss(), rng.random((4, 6)), rng.random((4, 6))),
    "BCEWithLogitsLoss": (lambda m, t=torch: m.BCEWithLogitsLoss(
        pos_weight=t.tensor(np.arange(1.0, 7.0))), X2, rng.random((4, 6))),
    "KLDivLoss": (lambda m: m.KLDivLoss(reduction="batchmean"), np.log(rng.random((4, 6))),
                  rng.random((4, 6))),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_module_matches_torch(name):
    build, input, target = LOSSES[name]
    theirs = build(torch.nn)
    ours = build(nn, hg) if "t=torch" in str(build.__defaults__) or build.__defaults__ else \
        build(nn)
    x_t = torch.tensor(input, requires_grad=True)
    x_h = hg.tensor(input, requires_grad=True)
    loss_t = theirs(x_t, torch.tensor(target))
    loss_h = ours(x_h, hg.tensor(target))
    assert_close(loss_h, loss_t)
    loss_t.backward()
    loss_h.backward()
    assert_close(x_h.grad, x_t.grad)
    assert repr(ours) == repr(theirs)


def test_pair_losses_match_torch():
    a, b = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    y = np.array([1, -1, 1, -1])
    for ours, theirs, args in [
            (nn.CosineEmbeddingLoss(0.2), torch.nn.CosineEmbeddingLoss(0.2), (a, b, y)),
            (nn.MarginRankingLoss(0.1), torch.nn.MarginRankingLoss(0.1), (a[:, 0], b[:, 0], y))]:
        assert_close(ours(*[hg.tensor(v) for v in args]), theirs(*[torch.tensor(v)
                                                                   for v in args]))


def test_embedding_matches_torch():
    theirs = torch.nn.Embedding(5, 3, padding_idx=1).double()
    ours = nn.Embedding(5, 3, padding_idx=1).double()
    assert float(ours.weight[1].abs().sum()) == 0.0
    copy_module(theirs, ours)
    idx = np.array([[0, 1, 4], [4, 4, 2]])
    out_o, out_t = ours(hg.tensor(idx)), theirs(torch.tensor(idx))
    assert_close(out_o, out_t)
    out_o.sum().backward()
    out_t.sum().backward()
    assert_close(ours.weight.grad, theirs.weight.grad)
    assert repr(ours) == repr(theirs)


def test_batch_norm_running_statistics_and_eval_mode():
    theirs = torch.nn.BatchNorm2d(3, momentum=0.3).double()
    ours = nn.BatchNorm2d(3, momentum=0.3).double()
    for step in range(3):
        batch = rng.standard_normal((4, 3, 2, 2)) + step
        assert_close(ours(hg.tensor(batch)), theirs(torch.tensor(batch)))
    for key, value in theirs.state_dict().items():
        assert_close(ours.state_dict()[key], value, what=key)
    assert int(ours.num_batches_tracked) == 3
    ours.eval()
    theirs.eval()
    compare_module(ours, theirs, rng.standard_normal((2, 3, 2, 2)))


def test_dropout_module_train_and_eval():
    layer = nn.Dropout(0.5)
    x = hg.ones(100)
    assert (layer(x).numpy() == 0).any()
    layer.eval()
    assert layer(x) is x


def test_state_dict_keys_match_torch_for_a_network():
    def build(m):
        return m.Sequential(m.Conv2d(1, 4, 3), m.BatchNorm2d(4), m.ReLU(), m.MaxPool2d(2),
                            m.Flatten(), m.Linear(4, 3), m.LayerNorm(3), m.Dropout(),
                            m.ModuleDict({"head": m.Linear(3, 2), "emb": m.Embedding(3, 2)}))
    assert list(build(nn).state_dict()) == list(build(torch.nn).state_dict())
    assert [n for n, _ in build(nn).named_parameters()] == \
        [n for n, _ in build(torch.nn).named_parameters()]
    assert repr(build(nn)) == repr(build(torch.nn))


def _train(model, lib, batches, lr, loss_fn):
    losses = []
    for x, y in batches:
        model.zero_grad()
        loss = loss_fn(model(lib.tensor(x)), lib.tensor(y))
        loss.backward()
        with lib.no_grad():
            for p in model.parameters():
                p.sub_(p.grad * lr)
        losses.append(loss.item())
    return losses


def _mlp(m):
    return m.Sequential(m.Linear(4, 16), m.Tanh(), m.Linear(16, 16), m.GELU(), m.Linear(16, 3))


def _cnn(m):
    return m.Sequential(m.Conv2d(1, 4, 3, padding=1), m.BatchNorm2d(4), m.ReLU(),
                        m.MaxPool2d(2), m.Conv2d(4, 6, 3), m.SiLU(), m.AdaptiveAvgPool2d(1),
                        m.Flatten(), m.Linear(6, 3))


@pytest.mark.parametrize("build, shape", [(_mlp, (8, 4)), (_cnn, (8, 1, 8, 8))],
                         ids=["mlp", "cnn"])
def test_training_follows_torch_for_20_steps(build, shape):
    torch.manual_seed(0)  # the initial weights decide whether 20 steps visibly lower the loss
    theirs = build(torch.nn).double()
    ours = build(nn).double()
    copy_module(theirs, ours)
    data = np.random.default_rng(1)
    inputs = [data.standard_normal(shape) for _ in range(20)]
    # a learnable rule: the class is where the largest of the first three values is
    batches = [(x, x.reshape(shape[0], -1)[:, :3].argmax(1)) for x in inputs]
    losses_t = _train(theirs, torch, batches, 0.2, torch.nn.functional.cross_entropy)
    losses_h = _train(ours, hg, batches, 0.2, hg.nn.functional.cross_entropy)
    np.testing.assert_allclose(losses_h, losses_t, rtol=0, atol=1e-8)
    assert np.mean(losses_h[-5:]) < np.mean(losses_h[:5])
    for key, value in theirs.state_dict().items():
        assert_close(ours.state_dict()[key], value, atol=1e-8, what=key)


RECURRENT = {
    "RNN": lambda m: m.RNN(3, 4, num_layers=2),
    "RNN relu bidirectional": lambda m: m.RNN(3, 4, nonlinearity="relu", bidirectional=True),
    "LSTM": lambda m: m.LSTM(3, 4, num_layers=2, batch_first=True),
    "LSTM bidirectional": lambda m: m.LSTM(3, 4, bidirectional=True, bias=False),
    "GRU": lambda m: m.GRU(3, 4, num_layers=2, bidirectional=True),
}


def _flatten_outputs(out):
    output, hidden = out
    return [output] + (list(hidden) if isinstance(hidden, tuple) else [hidden])


@pytest.mark.parametrize("name", sorted(RECURRENT))
def test_recurrent_layer_matches_torch(name):
    theirs = RECURRENT[name](torch.nn).double()
    ours = RECURRENT[name](nn).double()
    copy_module(theirs, ours)
    assert repr(ours) == repr(theirs)
    x = rng.standard_normal((5, 2, 3))
    x_h, x_t = hg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    outs_h, outs_t = _flatten_outputs(ours(x_h)), _flatten_outputs(theirs(x_t))
    assert_close(outs_h, outs_t)
    weights = [rng.standard_normal(tuple(o.shape)) for o in outs_t]
    sum((o * hg.tensor(w)).sum() for o, w in zip(outs_h, weights)).backward()
    sum((o * torch.tensor(w)).sum() for o, w in zip(outs_t, weights)).backward()
    assert_close(x_h.grad, x_t.grad, what="input gradient")
    for (key, p_h), (_, p_t) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert_close(p_h.grad, p_t.grad, what=key)


def test_recurrent_with_initial_state_and_unbatched_input():
    theirs, ours = torch.nn.LSTM(3, 4).double(), nn.LSTM(3, 4).double()
    copy_module(theirs, ours)
    x, h0, c0 = rng.standard_normal((5, 3)), rng.standard_normal((1, 4)), \
        rng.standard_normal((1, 4))
    out_h = ours(hg.tensor(x), (hg.tensor(h0), hg.tensor(c0)))
    out_t = theirs(torch.tensor(x), (torch.tensor(h0), torch.tensor(c0)))
    assert_close(_flatten_outputs(out_h), _flatten_outputs(out_t))


@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells_match_torch(kind):
    theirs, ours = getattr(torch.nn, kind)(3, 4).double(), getattr(nn, kind)(3, 4).double()
    copy_module(theirs, ours)
    assert repr(ours) == repr(theirs)
    x, h = rng.standard_normal((2, 3)), rng.standard_normal((2, 4))
    state_h = (hg.tensor(h), hg.tensor(h)) if kind == "LSTMCell" else hg.tensor(h)
    state_t = (torch.tensor(h), torch.tensor(h)) if kind == "LSTMCell" else torch.tensor(h)
    assert_close(ours(hg.tensor(x), state_h), theirs(torch.tensor(x), state_t))


@pytest.mark.parametrize("options", [{}, {"batch_first": True}, {"mask": True},
                                     {"padding": True}, {"causal": True}])
def test_multihead_attention_matches_torch(options):
    kwargs = {"batch_first": options.get("batch_first", False)}
    theirs = torch.nn.MultiheadAttention(8, 2, **kwargs).double()
    ours = nn.MultiheadAttention(8, 2, **kwargs).double()
    copy_module(theirs, ours)
    assert repr(ours) == repr(theirs)
    q, kv = rng.standard_normal((3, 2, 8)), rng.standard_normal((4, 2, 8))
    extra_h, extra_t = {}, {}
    if options.get("mask"):
        mask = np.array([[False, True, False, False]] * 3)
        extra_h["attn_mask"], extra_t["attn_mask"] = hg.tensor(mask), torch.tensor(mask)
    if options.get("padding"):
        mask = np.array([[False, False, False, True], [False, True, False, False]])
        extra_h["key_padding_mask"] = hg.tensor(mask)
        extra_t["key_padding_mask"] = torch.tensor(mask)
    if options.get("causal"):
        kv = rng.standard_normal((3, 2, 8))
        causal = np.triu(np.ones((3, 3), bool), 1)
        extra_h["attn_mask"], extra_t["attn_mask"] = hg.tensor(causal), torch.tensor(causal)
    if kwargs["batch_first"]:
        q, kv = q.transpose(1, 0, 2), kv.transpose(1, 0, 2)
    args = [q, kv, kv]
    pairs = [(hg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True))
             for a in args]
    out_h, w_h = ours(*[p[0] for p in pairs], **extra_h)
    out_t, w_t = theirs(*[p[1] for p in pairs], **extra_t)
    assert_close(out_h, out_t)
    assert_close(w_h, w_t)
    out_h.sum().backward()
    out_t.sum().backward()
    for (key, p_h), (_, p_t) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert_close(p_h.grad, p_t.grad, what=key)
    assert_close(pairs[0][0].grad, pairs[0][1].grad, what="query gradient")
