"""What the conformance suite cannot check for some ops of hypergrad.nn.functional.

- Dropout is random: the suite draws only the deterministic cases (eval mode, p = 0, p = 1),
  so the random path is tested here by what must hold for any mask: the share of zeros, the
  scaling by 1 / (1 - p), the gradient (the mask times the scale), whole channels for
  dropout1d/dropout2d, reproducibility under `manual_seed`, in-place writes.
- Running statistics are updated in place by instance_norm in training mode (the suite
  requires inputs to be left alone): compared with torch here.
- Where torch 2.13's own gradients are wrong or fail (a bias without a weight in group_norm
  and instance_norm; the backward shortcuts of nearest and bicubic resizing, Note [torch's
  resizing backward shortcuts] in ops/nn.py), HyperGrad's gradient is checked against finite
  differences and against torch on an equivalent input, and torch's failure is pinned.
- `upsample` warns as torch does.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings
from hypothesis import strategies as st

import hypergrad as hg
import hypergrad.nn.functional as F

_rng = np.random.default_rng(4)


def _both(array, requires_grad=True):
    """The same values as a HyperGrad and a torch tensor."""
    return (hg.tensor(array, requires_grad=requires_grad),
            torch.tensor(array, requires_grad=requires_grad))


def _close(hg_value, torch_value, rtol=1e-6, atol=1e-6):
    expected = torch_value.detach().numpy() if isinstance(torch_value, torch.Tensor) \
        else np.asarray(torch_value)
    np.testing.assert_allclose(np.asarray(hg_value._data), expected, rtol=rtol, atol=atol)


# ----------------------------------------------------------------------------------------------
# Dropout: the random path
# ----------------------------------------------------------------------------------------------
@settings(max_examples=15, deadline=None)
@given(p=st.sampled_from([0.1, 0.25, 0.5, 0.8]), seed=st.integers(0, 2 ** 16))
def test_dropout_zeroes_a_share_p_and_scales_the_rest_by_one_over_one_minus_p(p, seed):
    hg.manual_seed(seed)
    x = hg.tensor(_rng.uniform(1.0, 2.0, (50, 400)), dtype=hg.float32)
    out = F.dropout(x, p)
    dropped = out._data == 0
    # 20000 Bernoulli draws: the share is within 6 standard deviations of p
    assert abs(dropped.mean() - p) < 6 * np.sqrt(p * (1 - p) / dropped.size)
    kept = ~dropped
    expected = (x._data * np.float32(1 / (1 - p))).astype(np.float32)
    np.testing.assert_allclose(out._data[kept], expected[kept], rtol=1e-6)
    assert out.dtype == hg.float32


@pytest.mark.parametrize("function, shape, channels", [
    (F.dropout, (3, 4, 5), None),
    (F.dropout1d, (3, 4, 5), (3, 4, 1)),
    (F.dropout1d, (4, 5), (4, 1)),
    (F.dropout2d, (2, 3, 4, 5), (2, 3, 1, 1)),
    (F.dropout2d, (3, 4, 5), (3, 4, 1)),       # read as (N, C, L), as in torch
])
def test_dropout_gradient_is_the_mask_times_the_scale(function, shape, channels):
    hg.manual_seed(7)
    x = hg.tensor(_rng.uniform(1.0, 2.0, shape), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # dropout2d's 3-d warning
        out = function(x, 0.4)
    scaled_mask = np.round(out._data / x._data, 12)   # 0 or 1 / (1 - p) everywhere
    assert set(np.unique(scaled_mask)) <= {0.0, round(1 / 0.6, 12)}
    if channels is not None:   # whole channels: the mask is constant over the other axes
        per_channel = scaled_mask.reshape(channels[:2] + (-1,)) if len(shape) > 2 else \
            scaled_mask.reshape(channels[0], -1)
        assert (per_channel == per_channel[..., :1]).all()
    v = hg.tensor(_rng.standard_normal(shape))
    (grad,) = hg.autograd.grad(out, x, v, create_graph=True)
    np.testing.assert_allclose(grad._data, v._data * scaled_mask, rtol=1e-11)
    # the gradient is linear in v and does not depend on x: its own derivative is the mask
    w = hg.tensor(_rng.standard_normal(shape))
    v.requires_grad_()
    (grad,) = hg.autograd.grad(out, x, v, create_graph=True)
    (second,) = hg.autograd.grad((grad * w).sum(), v)
    np.testing.assert_allclose(second._data, w._data * scaled_mask, rtol=1e-11)


def test_dropout_masks_follow_manual_seed_and_differ_between_calls():
    x = hg.ones(200, 10)
    hg.manual_seed(123)
    first, second = F.dropout(x, 0.5), F.dropout(x, 0.5)
    hg.manual_seed(123)
    again = F.dropout(x, 0.5)
    assert np.array_equal(first._data, again._data)
    assert not np.array_equal(first._data, second._data)


@pytest.mark.parametrize("name", ["dropout", "dropout1d", "dropout2d"])
def test_dropout_grad_fn_in_training_is_torchs(name):
    hg_x, torch_x = _both(_rng.standard_normal((2, 3, 4)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for p in (0.3, 1.0):
            ours = getattr(F, name)(hg_x, p)
            theirs = getattr(TF, name)(torch_x, p)
            assert ours.grad_fn.name() == theirs.grad_fn.name()
    unbatched = F.dropout1d(hg_x[0], 0.3)
    assert unbatched.grad_fn.name() == TF.dropout1d(torch_x[0], 0.3).grad_fn.name()


def test_dropout_inplace_writes_into_the_input_and_refuses_a_leaf():
    x = hg.tensor(_rng.uniform(1.0, 2.0, (4, 6)), requires_grad=True)
    y = x * 1
    hg.manual_seed(3)
    out = F.dropout(y, 0.5, inplace=True)
    assert out is y and y._version == 1 and y.grad_fn.name() == "MulBackward0"
    assert set(np.round(np.unique(y._data / x._data), 12)) <= {0.0, 2.0}
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used"):
        F.dropout(x, 0.5, inplace=True)
    assert F.dropout(x, 0.0, inplace=True) is x          # nothing to do: no error, as torch


def test_dropout_of_an_empty_input_or_in_eval_mode_is_the_input_itself():
    for shape, training in (((0, 3), True), ((2, 3), False)):
        hg_x, torch_x = hg.zeros(*shape, requires_grad=True), torch.zeros(*shape,
                                                                        requires_grad=True)
        assert F.dropout(hg_x, 0.5, training) is hg_x
        assert TF.dropout(torch_x, 0.5, training) is torch_x


def test_dropout2d_warns_as_torch_for_other_ranks():
    for shape in ((3, 4), (2, 3, 4), (1, 2, 3, 4, 5)):
        with warnings.catch_warnings(record=True) as ours:
            warnings.simplefilter("always")
            F.dropout2d(hg.ones(*shape), 0.5)
        with warnings.catch_warnings(record=True) as theirs:
            warnings.simplefilter("always")
            TF.dropout2d(torch.ones(*shape), 0.5)
        assert [str(w.message) for w in ours] == [str(w.message) for w in theirs]
        assert [w.category for w in ours] == [w.category for w in theirs]


# ----------------------------------------------------------------------------------------------
# instance_norm: running statistics in training mode
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("momentum", [0.1, 0.5])
@pytest.mark.parametrize("stats_dtype", [np.float32, np.float64])
def test_instance_norm_updates_running_statistics_as_torch(momentum, stats_dtype):
    x = _rng.standard_normal((3, 2, 5)).astype(np.float32)
    mean, var = _rng.standard_normal(2).astype(stats_dtype), _rng.uniform(0.5, 2, 2).astype(
        stats_dtype)
    hg_stats = [hg.tensor(mean.copy()), hg.tensor(var.copy())]
    torch_stats = [torch.tensor(mean.copy()), torch.tensor(var.copy())]
    weight = _rng.standard_normal(2).astype(np.float32)
    hg_x, torch_x = _both(x)
    ours = F.instance_norm(hg_x, *hg_stats, weight=hg.tensor(weight), momentum=momentum)
    theirs = TF.instance_norm(torch_x, *torch_stats, weight=torch.tensor(weight),
                              momentum=momentum)
    _close(ours, theirs, rtol=1e-5, atol=1e-5)
    for hg_stat, torch_stat in zip(hg_stats, torch_stats):
        _close(hg_stat, torch_stat, rtol=1e-5, atol=1e-6)
        assert hg_stat._version == torch_stat._version == 1
    # eval mode reads them and leaves them alone
    F.instance_norm(hg_x, *hg_stats, use_input_stats=False)
    assert [s._version for s in hg_stats] == [1, 1]


# ----------------------------------------------------------------------------------------------
# Where torch 2.13 fails: a bias without a weight
# ----------------------------------------------------------------------------------------------
def test_group_norm_bias_without_weight_has_the_gradient_of_a_unit_weight():
    x, bias = _rng.standard_normal((2, 4, 3)), _rng.standard_normal(4)
    hg_x, torch_x = _both(x)
    hg_b, torch_b = _both(bias)
    v = _rng.standard_normal((2, 4, 3))
    ours = hg.autograd.grad(F.group_norm(hg_x, 2, None, hg_b), [hg_x, hg_b], hg.tensor(v))
    unit = torch.ones(4, dtype=torch.float64)
    theirs = torch.autograd.grad(TF.group_norm(torch_x, 2, unit, torch_b), [torch_x, torch_b],
                                 torch.tensor(v))
    for a, b in zip(ours, theirs):
        _close(a, b, rtol=1e-10, atol=1e-10)
    with pytest.raises(RuntimeError, match="tensor does not have a device"):   # torch's bug
        torch.autograd.grad(TF.group_norm(torch_x, 2, None, torch_b), [torch_b],
                            torch.tensor(v))


def test_instance_norm_bias_without_weight_has_second_derivatives():
    x, bias = _rng.standard_normal((2, 3, 4)), _rng.standard_normal(3)
    v, w, w_bias = (_rng.standard_normal((2, 3, 4)), _rng.standard_normal((2, 3, 4)),
                    _rng.standard_normal(3))

    def second(lib, functional, weight):
        """d<first gradients, w>/d(x, v), the first gradients taken for x and the bias."""
        tensor = hg.tensor if lib is hg else torch.tensor
        xs, bs, vs = (tensor(a, requires_grad=True) for a in (x, bias, v))
        g_x, g_b = lib.autograd.grad(functional.instance_norm(xs, weight=weight, bias=bs),
                                     [xs, bs], vs, create_graph=True)
        return lib.autograd.grad((g_x * tensor(w)).sum() + (g_b * tensor(w_bias)).sum(),
                                 [xs, vs])

    unit = torch.ones(3, dtype=torch.float64)
    for ours, theirs in zip(second(hg, F, None), second(torch, TF, unit)):
        _close(ours, theirs, rtol=1e-9, atol=1e-9)
    with pytest.raises(RuntimeError, match="Expected a proper Tensor but got None"):
        second(torch, TF, None)                          # torch's bug


# ----------------------------------------------------------------------------------------------
# interpolate: the shortcuts of torch's backward (Note [torch's resizing backward shortcuts])
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape, kwargs", [
    ((1, 1, 4), {"scale_factor": 1.2}),                                  # keeps the size
    ((1, 2, 4), {"scale_factor": 2.2}),                                  # doubles it
    ((1, 1, 2, 1, 4), {"scale_factor": (1.0, 1.0, 1.2)}),
    ((1, 1, 3, 4), {"scale_factor": 1.2, "mode": "bicubic"}),
])
def test_interpolate_gradient_is_the_derivative_where_torchs_takes_a_shortcut(shape, kwargs):
    x = _rng.standard_normal(shape)
    hg_x, torch_x = _both(x)
    ours, theirs = F.interpolate(hg_x, **kwargs), TF.interpolate(torch_x, **kwargs)
    _close(ours, theirs, rtol=1e-12, atol=1e-12)        # the forward agrees with torch
    assert hg.autograd.gradcheck(lambda t: F.interpolate(t, **kwargs), (hg_x,))
    v = _rng.standard_normal(tuple(ours.shape))
    (torch_grad,) = torch.autograd.grad(theirs, torch_x, torch.tensor(v))
    (grad,) = hg.autograd.grad(ours, hg_x, hg.tensor(v))
    assert not np.allclose(grad._data, torch_grad.numpy())   # torch's is not the derivative


def test_interpolate_antialias_is_not_implemented():
    with pytest.raises(NotImplementedError, match="antialias"):
        F.interpolate(hg.ones(1, 1, 4, 4), size=2, mode="bilinear", antialias=True)


def test_upsample_warns_as_torch_and_computes_interpolate():
    x = _rng.standard_normal((1, 2, 3, 3))
    hg_x, torch_x = _both(x, requires_grad=False)
    with pytest.warns(UserWarning) as ours:
        out = F.upsample(hg_x, scale_factor=2, mode="bilinear", align_corners=True)
    with pytest.warns(UserWarning) as theirs:
        expected = TF.upsample(torch_x, scale_factor=2, mode="bilinear", align_corners=True)
    assert [str(w.message) for w in ours] == [str(w.message) for w in theirs]
    _close(out, expected, rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------------------------------
# conv_transpose: a bias of another dtype, and pairwise_distance with p = 0
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("x_dtype, bias_dtype", [(np.float64, np.float32),
                                                 (np.float32, np.float64)])
def test_conv_transpose_bias_of_another_dtype_as_torch_batched(x_dtype, bias_dtype):
    x = _rng.standard_normal((2, 4, 3, 3)).astype(x_dtype)
    weight = _rng.standard_normal((4, 3, 2, 2)).astype(x_dtype)
    bias = _rng.standard_normal(3).astype(bias_dtype)
    try:
        expected = TF.conv_transpose2d(torch.tensor(x), torch.tensor(weight), torch.tensor(bias))
    except RuntimeError as error:
        with pytest.raises(RuntimeError, match="should be the same"):
            F.conv_transpose2d(hg.tensor(x), hg.tensor(weight), hg.tensor(bias))
        assert "should be the same" in str(error)
        return
    out = F.conv_transpose2d(hg.tensor(x), hg.tensor(weight), hg.tensor(bias))
    assert out.dtype.name == str(expected.dtype).rpartition(".")[2]
    _close(out, expected, rtol=1e-6, atol=1e-6)


def test_pairwise_distance_p0_counts_nonzero_differences_as_torch():
    a, b = _rng.integers(0, 2, (3, 5)).astype(float), _rng.integers(0, 2, (3, 5)).astype(float)
    for eps in (0.0, 1e-6):
        _close(F.pairwise_distance(hg.tensor(a), hg.tensor(b), p=0, eps=eps),
               TF.pairwise_distance(torch.tensor(a), torch.tensor(b), p=0, eps=eps))


@pytest.mark.parametrize("name", ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d"])
def test_convolutions_of_an_empty_batch_as_torch(name):
    spatial = int(name[-2])
    x = np.zeros((0, 2) + (3,) * spatial)
    weight = np.ones((2, 1) + (2,) * spatial)
    hg_x, torch_x = _both(x)
    hg_w, torch_w = _both(weight)
    ours = getattr(F, name)(hg_x, hg_w, groups=2)
    theirs = getattr(TF, name)(torch_x, torch_w, groups=2)
    assert tuple(ours.shape) == tuple(theirs.shape)
    grads = hg.autograd.grad(ours.sum(), [hg_x, hg_w])
    expected = torch.autograd.grad(theirs.sum(), [torch_x, torch_w])
    for a, b in zip(grads, expected):
        _close(a, b)


def test_batch_norm_gradient_with_a_strided_weight_is_the_contiguous_one():
    # torch's CPU kernel gets this wrong (it reads the strided weight as contiguous); the
    # gradient must not depend on the weight's memory layout (the op's documented divergence)
    strided = np.array([0.5, 9.0, 2.0, 9.0])[::2]
    grads = []
    for weight in (strided, np.ascontiguousarray(strided)):
        x = hg.tensor([[0.0, 1.0], [2.0, 5.0], [1.0, -1.0]], dtype=hg.float64,
                      requires_grad=True)
        out = hg.nn.functional.batch_norm(x, None, None, hg.from_numpy(weight), None,
                                          training=True)
        grads.append(hg.autograd.grad(out, x, hg.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 2.0]],
                                                          dtype=hg.float64))[0].numpy())
    np.testing.assert_array_equal(grads[0], grads[1])
    x = torch.tensor([[0.0, 1.0], [2.0, 5.0], [1.0, -1.0]], dtype=torch.float64,
                     requires_grad=True)
    out = torch.nn.functional.batch_norm(x, None, None, torch.tensor(strided), None,
                                         training=True)
    theirs = torch.autograd.grad(out, x, torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 2.0]],
                                                      dtype=torch.float64))[0]
    np.testing.assert_allclose(grads[1], theirs.numpy(), rtol=1e-10)


def test_kl_div_target_gradient_is_zero_where_the_cotangent_is_zero():
    # torch differentiates xlogy(t, t) as xlogy(grad, t): a zero cotangent gives 0 even where
    # log(t) is NaN (a negative target), not 0 * NaN
    values = [-1.0, 0.0, 2.0, -1e30]
    cotangent = [1.0, 1.0, 1.0, 0.0]
    grads = []
    for lib in (hg, torch):
        x = lib.zeros(4, requires_grad=True)
        t = lib.tensor(values, requires_grad=True)
        out = lib.nn.functional.kl_div(x, t, reduction="none")
        grads.append([g.detach().numpy() for g in
                      lib.autograd.grad(out, [x, t], lib.tensor(cotangent))])
    for ours, theirs in zip(*grads):
        np.testing.assert_array_equal(ours, theirs)
