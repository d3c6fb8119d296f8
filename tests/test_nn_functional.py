"""hypergrad.nn.functional against torch.nn.functional, in float64.

Each case computes the same function in both libraries on the same inputs and checks the
output, the gradient of every floating input through a random cotangent, and the
second-order gradients (double backward). Then: grad_fn names, error messages, and a few
properties drawn with hypothesis.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings
from hypothesis import strategies as st
from nn_compare import compare

import hypergrad as hg
import hypergrad.nn.functional as F

_rng = np.random.default_rng(0)
x = _rng.standard_normal((3, 4)); t = np.array([0, 3, 1]); p = _rng.random((3, 4))
x4 = _rng.standard_normal((2, 3, 6, 5)); w4 = _rng.standard_normal((4, 3, 3, 2)); b4 = _rng.standard_normal(4)
cases = {
 'leaky': (lambda a: F.leaky_relu(a, 0.1), lambda a: TF.leaky_relu(a, 0.1), (x,)),
 'elu': (F.elu, TF.elu, (x,)), 'selu': (F.selu, TF.selu, (x,)), 'celu': (lambda a: F.celu(a, 0.7), lambda a: TF.celu(a, 0.7), (x,)),
 'gelu': (F.gelu, TF.gelu, (x,)), 'gelu_tanh': (lambda a: F.gelu(a, approximate='tanh'), lambda a: TF.gelu(a, approximate='tanh'), (x,)),
 'silu': (F.silu, TF.silu, (x,)), 'mish': (F.mish, TF.mish, (x,)), 'softplus': (lambda a: F.softplus(a, 2, 1), lambda a: TF.softplus(a, 2, 1), (x,)),
 'hardtanh': (F.hardtanh, TF.hardtanh, (x,)), 'logsigmoid': (F.logsigmoid, TF.logsigmoid, (x,)),
 'softmax': (lambda a: F.softmax(a, 1), lambda a: TF.softmax(a, 1), (x,)), 'log_softmax': (lambda a: F.log_softmax(a, 0), lambda a: TF.log_softmax(a, 0), (x,)),
 'linear': (F.linear, TF.linear, (x, _rng.standard_normal((5, 4)), _rng.standard_normal(5))),
 'linear3d': (F.linear, TF.linear, (_rng.standard_normal((2, 3, 4)), _rng.standard_normal((5, 4)), _rng.standard_normal(5))),
 'bilinear': (F.bilinear, TF.bilinear, (x, _rng.standard_normal((3, 2)), _rng.standard_normal((5, 4, 2)), _rng.standard_normal(5))),
 'nll': (F.nll_loss, TF.nll_loss, (x, t)),
 'nll_w': (lambda a, b, w: F.nll_loss(a, b, w, ignore_index=1, reduction='mean'), lambda a, b, w: TF.nll_loss(a, b, w, ignore_index=1), (x, np.array([0,1,2]), p[0]), (2,)),
 'ce': (F.cross_entropy, TF.cross_entropy, (x, t)),
 'ce_ls': (lambda a, b: F.cross_entropy(a, b, label_smoothing=0.2), lambda a, b: TF.cross_entropy(a, b, label_smoothing=0.2), (x, t)),
 'ce_ls_w': (lambda a, b, w: F.cross_entropy(a, b, w, label_smoothing=0.2, ignore_index=3), lambda a, b, w: TF.cross_entropy(a, b, w, label_smoothing=0.2, ignore_index=3), (x, t, p[0]), (2,)),
 'ce_prob': (lambda a, b: F.cross_entropy(a, b, label_smoothing=0.1), lambda a, b: TF.cross_entropy(a, b, label_smoothing=0.1), (x, p)),
 'ce_4d': (F.cross_entropy, TF.cross_entropy, (x4, _rng.integers(0, 3, (2, 6, 5)))),
 'ce_none': (lambda a, b: F.cross_entropy(a, b, reduction='none'), lambda a, b: TF.cross_entropy(a, b, reduction='none'), (x, t)),
 'mse': (F.mse_loss, TF.mse_loss, (x, p)), 'l1': (F.l1_loss, TF.l1_loss, (x, p)),
 'sl1': (lambda a, b: F.smooth_l1_loss(a, b, beta=0.5), lambda a, b: TF.smooth_l1_loss(a, b, beta=0.5), (x, p)),
 'huber': (lambda a, b: F.huber_loss(a, b, delta=0.5, reduction='sum'), lambda a, b: TF.huber_loss(a, b, delta=0.5, reduction='sum'), (x, p)),
 'bce': (F.binary_cross_entropy, TF.binary_cross_entropy, (p, _rng.random((3, 4)))),
 'bcel': (F.binary_cross_entropy_with_logits, TF.binary_cross_entropy_with_logits, (x, p)),
 'bcel_pw': (lambda a, b, c: F.binary_cross_entropy_with_logits(a, b, pos_weight=c), lambda a, b, c: TF.binary_cross_entropy_with_logits(a, b, pos_weight=c), (x, p, _rng.random(4)), (2,)),
 'kl': (lambda a, b: F.kl_div(a, b, reduction='batchmean'), lambda a, b: TF.kl_div(a, b, reduction='batchmean'), (np.log(p), np.where(p > .5, p, 0)), (1,)),
 'cos_emb': (lambda a, b, c: F.cosine_embedding_loss(a, b, c, 0.1), lambda a, b, c: TF.cosine_embedding_loss(a, b, c, 0.1), (x, p, np.array([1, -1, 1]))),
 'mrl': (lambda a, b, c: F.margin_ranking_loss(a, b, c, 0.1), lambda a, b, c: TF.margin_ranking_loss(a, b, c, 0.1), (x[:, 0], p[:, 0], np.array([1, -1, 1]))),
 'conv2d': (F.conv2d, TF.conv2d, (x4, w4, b4)),
 'conv2d_s': (lambda a, w, b: F.conv2d(a, w, b, stride=2, padding=(1, 2), dilation=(2, 1)), lambda a, w, b: TF.conv2d(a, w, b, stride=2, padding=(1, 2), dilation=(2, 1)), (x4, w4, b4)),
 'conv2d_g': (lambda a, w: F.conv2d(a, w, groups=3), lambda a, w: TF.conv2d(a, w, groups=3), (x4, _rng.standard_normal((6, 1, 2, 2)))),
 'conv2d_same': (lambda a, w: F.conv2d(a, w, padding='same'), lambda a, w: TF.conv2d(a, w, padding='same'), (x4, _rng.standard_normal((2, 3, 2, 3)))),
 'conv1d': (lambda a, w, b: F.conv1d(a, w, b, stride=2, padding=1), lambda a, w, b: TF.conv1d(a, w, b, stride=2, padding=1), (x4[:, :, 0], w4[:, :, 0], b4)),
 'convT': (lambda a, w, b: F.conv_transpose2d(a, w, b, stride=2, padding=1, output_padding=1), lambda a, w, b: TF.conv_transpose2d(a, w, b, stride=2, padding=1, output_padding=1), (x4, _rng.standard_normal((3, 2, 3, 3)), b4[:2])),
 'convT_g': (lambda a, w: F.conv_transpose2d(a, w, groups=3, dilation=2), lambda a, w: TF.conv_transpose2d(a, w, groups=3, dilation=2), (x4, _rng.standard_normal((3, 2, 2, 2)))),
 'convT1d': (lambda a, w: F.conv_transpose1d(a, w, stride=2), lambda a, w: TF.conv_transpose1d(a, w, stride=2), (x4[:, :, 0], _rng.standard_normal((3, 2, 3)))),
 'maxpool': (lambda a: F.max_pool2d(a, 2), lambda a: TF.max_pool2d(a, 2), (x4,)),
 'maxpool_c': (lambda a: F.max_pool2d(a, 3, 2, 1, ceil_mode=True, return_indices=True), lambda a: TF.max_pool2d(a, 3, 2, 1, ceil_mode=True, return_indices=True), (x4,)),
 'maxpool1d': (lambda a: F.max_pool1d(a, 2, 1, dilation=2), lambda a: TF.max_pool1d(a, 2, 1, dilation=2), (x4[:, :, 0],)),
 'avgpool': (lambda a: F.avg_pool2d(a, 3, 2, 1), lambda a: TF.avg_pool2d(a, 3, 2, 1), (x4,)),
 'avgpool_c': (lambda a: F.avg_pool2d(a, 3, 2, 1, ceil_mode=True, count_include_pad=False), lambda a: TF.avg_pool2d(a, 3, 2, 1, ceil_mode=True, count_include_pad=False), (x4,)),
 'avgpool_c2': (lambda a: F.avg_pool2d(a, 2, 2, 1, ceil_mode=True), lambda a: TF.avg_pool2d(a, 2, 2, 1, ceil_mode=True), (x4,)),
 'avgpool_d': (lambda a: F.avg_pool2d(a, 2, divisor_override=3), lambda a: TF.avg_pool2d(a, 2, divisor_override=3), (x4,)),
 'avgpool1d': (lambda a: F.avg_pool1d(a, 3, 2, 1), lambda a: TF.avg_pool1d(a, 3, 2, 1), (x4[:, :, 0],)),
 'adaptive': (lambda a: F.adaptive_avg_pool2d(a, (4, 3)), lambda a: TF.adaptive_avg_pool2d(a, (4, 3)), (x4,)),
 'adaptive1': (lambda a: F.adaptive_avg_pool2d(a, 1), lambda a: TF.adaptive_avg_pool2d(a, 1), (x4,)),
 'pad_c': (lambda a: F.pad(a, (1, 2, 0, -1), value=3.0), lambda a: TF.pad(a, (1, 2, 0, -1), value=3.0), (x4,)),
 'pad_r': (lambda a: F.pad(a, (1, 2, 2, 1), mode='reflect'), lambda a: TF.pad(a, (1, 2, 2, 1), mode='reflect'), (x4,)),
 'pad_rep': (lambda a: F.pad(a, (1, 2, 2, 1), mode='replicate'), lambda a: TF.pad(a, (1, 2, 2, 1), mode='replicate'), (x4,)),
 'pad_circ': (lambda a: F.pad(a, (1, 2, 2, 1), mode='circular'), lambda a: TF.pad(a, (1, 2, 2, 1), mode='circular'), (x4,)),
 'pad_r1': (lambda a: F.pad(a, (1, 2), mode='reflect'), lambda a: TF.pad(a, (1, 2), mode='reflect'), (x4[0],)),
 'interp_n': (lambda a: F.interpolate(a, scale_factor=2), lambda a: TF.interpolate(a, scale_factor=2), (x4,)),
 'interp_n2': (lambda a: F.interpolate(a, size=(4, 7)), lambda a: TF.interpolate(a, size=(4, 7)), (x4,)),
 'interp_b': (lambda a: F.interpolate(a, scale_factor=2, mode='bilinear'), lambda a: TF.interpolate(a, scale_factor=2, mode='bilinear'), (x4,)),
 'interp_b2': (lambda a: F.interpolate(a, size=(4, 9), mode='bilinear', align_corners=True), lambda a: TF.interpolate(a, size=(4, 9), mode='bilinear', align_corners=True), (x4,)),
 'interp_l': (lambda a: F.interpolate(a, size=7, mode='linear'), lambda a: TF.interpolate(a, size=7, mode='linear'), (x4[:, :, 0],)),
 'unfold': (lambda a: F.unfold(a, (2, 3), dilation=1, padding=1, stride=2), lambda a: TF.unfold(a, (2, 3), dilation=1, padding=1, stride=2), (x4,)),
 'fold': (lambda a: F.fold(a, (5, 5), 2), lambda a: TF.fold(a, (5, 5), 2), (_rng.standard_normal((2, 12, 16)),)),
 'bn': (lambda a, w, b: F.batch_norm(a, None, None, w, b, training=True), lambda a, w, b: TF.batch_norm(a, None, None, w, b, training=True), (x4, b4[:3], b4[1:])),
 'bn_eval': (lambda a, m, v, w, b: F.batch_norm(a, m, v, w, b), lambda a, m, v, w, b: TF.batch_norm(a, m, v, w, b), (x4, b4[:3], p[0, :3], b4[:3], b4[1:]), (1, 2)),
 'ln': (lambda a, w, b: F.layer_norm(a, (6, 5), w, b), lambda a, w, b: TF.layer_norm(a, (6, 5), w, b), (x4, _rng.standard_normal((6, 5)), _rng.standard_normal((6, 5)))),
 'ln_nolead': (lambda a: F.layer_norm(a, (3, 4)), lambda a: TF.layer_norm(a, (3, 4)), (x,)),
 'gn': (lambda a, w, b: F.group_norm(a, 3, w, b), lambda a, w, b: TF.group_norm(a, 3, w, b), (_rng.standard_normal((2, 6, 3)), _rng.standard_normal(6), _rng.standard_normal(6))),
 'emb': (lambda i, w: F.embedding(i, w, padding_idx=1), lambda i, w: TF.embedding(i, w, padding_idx=1), (np.array([[0, 1, 2], [2, 2, 3]]), _rng.standard_normal((4, 3)))),
 'emb_f': (lambda i, w: F.embedding(i, w, scale_grad_by_freq=True), lambda i, w: TF.embedding(i, w, scale_grad_by_freq=True), (np.array([[0, 1, 2], [2, 2, 3]]), _rng.standard_normal((4, 3)))),
 'normalize': (F.normalize, TF.normalize, (x,)),
 'cossim': (F.cosine_similarity, TF.cosine_similarity, (x, p)),
 'pdist': (F.pairwise_distance, TF.pairwise_distance, (x, p)),
 'sdpa': (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, is_causal=True), (_rng.standard_normal((2, 3, 4)), _rng.standard_normal((2, 3, 4)), _rng.standard_normal((2, 3, 2)))),
}


@pytest.mark.parametrize("name", sorted(cases))
def test_matches_torch_with_double_backward(name):
    case = cases[name]
    ours, theirs, arrays = case[:3]
    constant = case[3] if len(case) > 3 else ()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compare(ours, theirs, *arrays, gradgrad=True, constant=constant)


NODE_NAMES = {
    "linear": (lambda: F.linear(hg.ones(2, 3, requires_grad=True), hg.ones(4, 3), hg.ones(4)),
               "AddmmBackward0"),
    "conv2d": (lambda: F.conv2d(hg.ones(1, 1, 3, 3, requires_grad=True), hg.ones(1, 1, 2, 2)),
               "ConvolutionBackward0"),
    "max_pool2d": (lambda: F.max_pool2d(hg.ones(1, 1, 4, 4, requires_grad=True), 2),
                   "MaxPool2DWithIndicesBackward0"),
    "avg_pool2d": (lambda: F.avg_pool2d(hg.ones(1, 1, 4, 4, requires_grad=True), 2),
                   "AvgPool2DBackward0"),
    "cross_entropy": (lambda: F.cross_entropy(hg.ones(2, 3, requires_grad=True),
                                              hg.tensor([0, 1])), "NllLossBackward0"),
    "log_softmax": (lambda: F.log_softmax(hg.ones(2, 3, requires_grad=True), 1),
                    "LogSoftmaxBackward0"),
    "batch_norm": (lambda: F.batch_norm(hg.randn(3, 2, requires_grad=True), None, None,
                                        training=True), "NativeBatchNormBackward0"),
    "layer_norm": (lambda: F.layer_norm(hg.randn(3, 2, requires_grad=True), (2,)),
                   "NativeLayerNormBackward0"),
    "embedding": (lambda: F.embedding(hg.tensor([0, 1]), hg.ones(3, 2, requires_grad=True)),
                  "EmbeddingBackward0"),
    "gelu": (lambda: F.gelu(hg.ones(2, requires_grad=True)), "GeluBackward0"),
    "selu": (lambda: F.selu(hg.ones(2, requires_grad=True)), "EluBackward0"),
    "mse_loss": (lambda: F.mse_loss(hg.ones(2, requires_grad=True), hg.zeros(2)),
                 "MseLossBackward0"),
    "bce_with_logits": (lambda: F.binary_cross_entropy_with_logits(
        hg.ones(2, requires_grad=True), hg.zeros(2)), "BinaryCrossEntropyWithLogitsBackward0"),
    "unfold": (lambda: F.unfold(hg.ones(1, 1, 3, 3, requires_grad=True), 2), "Im2ColBackward0"),
    "pad_reflect": (lambda: F.pad(hg.ones(1, 1, 3, 3, requires_grad=True), (1, 1, 1, 1),
                                  mode="reflect"), "ReflectionPad2DBackward0"),
    "interpolate": (lambda: F.interpolate(hg.ones(1, 1, 2, 2, requires_grad=True),
                                          scale_factor=2), "UpsampleNearest2DBackward0"),
}


@pytest.mark.parametrize("name", sorted(NODE_NAMES))
def test_grad_fn_names_are_torchs(name):
    make, expected = NODE_NAMES[name]
    assert make().grad_fn.name() == expected


def _error(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fn()
        except Exception as error:  # noqa: BLE001 - the type is what we compare
            return type(error), str(error)
    return None, None


def _both(name, *args, **kwargs):
    def convert(module, value):
        if isinstance(value, np.ndarray):
            return module.tensor(value)
        return value
    ours = _error(lambda: getattr(F, name)(*[convert(hg, a) for a in args], **kwargs))
    theirs = _error(lambda: getattr(TF, name)(*[convert(torch, a) for a in args], **kwargs))
    return ours, theirs


ERROR_CASES = {
    "batch mismatch": ("nll_loss", np.zeros((4, 3)), np.array([0, 1, 2])),
    "target out of bounds": ("nll_loss", np.zeros((4, 3)), np.array([0, 1, 2, 3])),
    "bad reduction": ("nll_loss", np.zeros((4, 3)), np.array([0, 1, 2, 1]), None, None, -100,
                      None, "foo"),
    "float target": ("nll_loss", np.zeros((4, 3)), np.zeros(4)),
    "bce input range": ("binary_cross_entropy", np.full(3, 2.0), np.zeros(3)),
    "bce logits size": ("binary_cross_entropy_with_logits", np.zeros(3), np.zeros((3, 1))),
    "linear shapes": ("linear", np.zeros((4, 3)), np.zeros((5, 4))),
    "conv channels": ("conv2d", np.zeros((1, 3, 5, 5)), np.zeros((2, 4, 3, 3))),
    "conv kernel too big": ("conv2d", np.zeros((1, 3, 2, 2)), np.zeros((2, 3, 3, 3))),
    "dropout p": ("dropout", np.zeros(3), 1.5),
    "one_hot negative": ("one_hot", np.array([-1])),
    "one_hot too large": ("one_hot", np.array([3]), 2),
    "embedding index": ("embedding", np.array([5]), np.zeros((3, 2))),
    "batch_norm one value": ("batch_norm", np.zeros((1, 3)), None, None, None, None, True),
    "max_pool padding": ("max_pool2d", np.zeros((1, 1, 4, 4)), 2, None, 2),
}


@pytest.mark.parametrize("name", sorted(ERROR_CASES))
def test_errors_match_torch(name):
    ours, theirs = _both(*ERROR_CASES[name])
    assert theirs[0] is not None
    assert ours[0] is theirs[0]
    assert ours[1] == theirs[1].replace("torch.Size", "torch.Size")


def test_softmax_without_dim_warns_like_torch():
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        F.softmax(hg.ones(2, 3))


def test_dropout_scales_kept_units_and_is_identity_in_eval():
    hg.manual_seed(0)
    x = hg.ones(2000, dtype=hg.float64, requires_grad=True)
    out = F.dropout(x, 0.25)
    values = out.detach().numpy()
    assert set(np.unique(values)) <= {0.0, 1 / 0.75}
    assert abs((values == 0).mean() - 0.25) < 0.05
    assert out.grad_fn.name() == "MulBackward0"
    assert F.dropout(x, 0.25, training=False) is x


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 4), c=st.integers(2, 5), smoothing=st.sampled_from([0.0, 0.1, 0.7]),
       reduction=st.sampled_from(["none", "mean", "sum"]), seed=st.integers(0, 2**16))
def test_cross_entropy_drawn(n, c, smoothing, reduction, seed):
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((n, c)) * 3
    target = rng.integers(0, c, n)
    compare(lambda a, t: F.cross_entropy(a, t, reduction=reduction, label_smoothing=smoothing),
            lambda a, t: TF.cross_entropy(a, t, reduction=reduction, label_smoothing=smoothing),
            logits, target, gradgrad=True)


@settings(max_examples=20, deadline=None)
@given(size=st.integers(3, 7), kernel=st.integers(1, 3), stride=st.integers(1, 3),
       padding=st.integers(0, 1), dilation=st.integers(1, 2), groups=st.sampled_from([1, 2]),
       seed=st.integers(0, 2**16))
def test_conv2d_drawn(size, kernel, stride, padding, dilation, groups, seed):
    if dilation * (kernel - 1) + 1 > size + 2 * padding:
        return
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 2, size, size + 1))
    w = rng.standard_normal((4, 2 // groups, kernel, kernel))
    b = rng.standard_normal(4)
    compare(lambda *a: F.conv2d(*a, stride, padding, dilation, groups),
            lambda *a: TF.conv2d(*a, stride, padding, dilation, groups), x, w, b)


@settings(max_examples=20, deadline=None)
@given(size=st.integers(2, 7), kernel=st.integers(1, 3), stride=st.integers(1, 3),
       padding=st.integers(0, 1), ceil_mode=st.booleans(), include=st.booleans(),
       seed=st.integers(0, 2**16))
def test_pooling_drawn(size, kernel, stride, padding, ceil_mode, include, seed):
    if padding > kernel // 2 or kernel > size + 2 * padding:
        return
    x = np.random.default_rng(seed).standard_normal((1, 2, size, size + 1))
    compare(lambda a: F.max_pool2d(a, kernel, stride, padding, ceil_mode=ceil_mode),
            lambda a: TF.max_pool2d(a, kernel, stride, padding, ceil_mode=ceil_mode), x)
    compare(lambda a: F.avg_pool2d(a, kernel, stride, padding, ceil_mode, include),
            lambda a: TF.avg_pool2d(a, kernel, stride, padding, ceil_mode, include), x)
