"""Tensor basics against real torch: construction, dtype inference, conversions, the autograd
flags a user sets by hand, Python protocols, and `repr` (torch's text with `hypergrad.`)."""

from __future__ import annotations

import copy
import math
import pickle
import textwrap
import sys
import subprocess
import warnings

import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

import hypergrad as hg

LIBS = {"torch": torch, "hg": hg}


def both(source):
    """Evaluate `source` (written with `L.` for the library) once with each library."""
    return tuple(eval(source, {"L": lib, "np": np}) for lib in (torch, hg))


def dtype_name(dtype):
    return str(dtype).split(".")[-1]


def assert_same(h, t):
    """hg tensor `h` has torch tensor `t`'s dtype, shape, values and requires_grad."""
    assert isinstance(h, hg.Tensor)
    assert dtype_name(h.dtype) == dtype_name(t.dtype)
    assert tuple(h.shape) == tuple(t.shape)
    assert h.requires_grad == t.requires_grad
    np.testing.assert_array_equal(h.detach().numpy(), t.detach().numpy())


def outcome(source):
    """What evaluating `source` does in each library: a normalized value or the exception."""
    results = []
    for lib in (torch, hg):
        try:
            value = eval(source, {"L": lib, "np": np, "copy": copy})
        except Exception as error:  # noqa: BLE001 - the exception is the result here
            results.append((type(error).__name__, str(error).replace("torch.", "hypergrad.")))
        else:
            results.append(("value", repr(value).replace("torch.", "hypergrad.")))
    return results


# ----------------------------------------------------------------------------------------------
# Construction and dtype inference
# ----------------------------------------------------------------------------------------------
CONSTRUCTION = [
    "L.tensor(3.5)", "L.tensor(3)", "L.tensor(True)", "L.tensor(1 + 2j)",
    "L.tensor([1.0, 2.0])", "L.tensor([1, 2])", "L.tensor([True, False])", "L.tensor([1, 2.5])",
    "L.tensor([True, 1])", "L.tensor([True, 1.5])", "L.tensor([])", "L.tensor([[], []])",
    "L.tensor([[1, 2], [3, 4]])", "L.tensor(((1.5,), (2.5,)))", "L.tensor([1, 2], dtype=L.float64)",
    "L.tensor([1.7, -1.7], dtype=L.int64)", "L.tensor([0.0, 2.0], dtype=L.bool)",
    "L.tensor(np.array([1, 2], dtype=np.int32))", "L.tensor(np.array([1.0, 2.0]))",
    "L.tensor(np.array([1.0], dtype=np.float16))", "L.tensor(np.array(3.0))",
    "L.tensor(np.float64(2.5))", "L.tensor(np.float32(2.5))", "L.tensor(np.int16(2))",
    "L.tensor(np.bool_(True))", "L.tensor([np.float64(1.0), 2.0])",
    "L.tensor([np.float32(1), 2.0])",
    "L.tensor([np.int32(1), 2])", "L.tensor([np.int16(1), np.uint8(2)])",
    "L.tensor([True, np.float64(2)])",
    "L.tensor([np.array([1, 2], dtype=np.int32), np.array([3, 4], dtype=np.int32)])",
    "L.tensor([L.tensor(1.0), L.tensor(2.0)])",
    "L.tensor([L.tensor(1, dtype=L.int32), L.tensor(2, dtype=L.int32)])",
    "L.tensor([L.tensor(1, dtype=L.int32), 2])", "L.tensor([L.tensor(1, dtype=L.int32), 2.5])",
    "L.tensor([L.tensor([1.5])])", "L.tensor(L.tensor([1.0, 2.0], dtype=L.float64))",
    "L.tensor(L.tensor([1, 2]), dtype=L.float32)", "L.tensor(2 ** 62)", "L.tensor(-2 ** 63)",
    "L.Tensor([1, 2])", "L.tensor([1.5], requires_grad=True)",
]


@pytest.mark.parametrize("source", CONSTRUCTION)
def test_construction_matches_torch(source):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.tensor(tensor) and lists of arrays warn
        t, h = both(source)
    assert_same(h, t)


ERRORS = [
    "L.tensor([[1, 2], [3]])", "L.tensor([[[1], [2]], [[3], [4, 5]]])", "L.tensor('abc')",
    "L.tensor([1, None])", "L.tensor(None)", "L.tensor({1: 2})", "L.tensor(2 ** 63)",
    "L.tensor([2 ** 63])", "L.tensor(-2 ** 63 - 1)", "L.tensor([L.tensor([1.0, 2.0])])",
    "L.tensor([1, 2], requires_grad=True)", "L.zeros(2, dtype=L.int64, requires_grad=True)",
    "L.arange(3, requires_grad=True)", "L.full((2,), 1, requires_grad=True)",
    "L.tensor([1, 2]).requires_grad_()", "L.tensor(True).requires_grad_(True)",
]


@pytest.mark.parametrize("source", ERRORS)
def test_construction_errors_match_torch(source):
    t, h = outcome(source)
    assert t[0] != "value"
    assert h == t


def test_requires_grad_setter_message():
    for lib in (torch, hg):
        x = lib.tensor([1, 2])
        with pytest.raises(RuntimeError) as info:
            x.requires_grad = True
        assert str(info.value) == ("only Tensors of floating point and complex dtype can "
                                   "require gradients")


def test_complex_tensors_can_require_grad():
    assert hg.ones(2, dtype=hg.complex64).requires_grad_().requires_grad


def test_tensor_copies_its_data():
    array = np.array([1.0, 2.0])
    source = hg.tensor([3.0, 4.0])
    from_array = hg.tensor(array)
    with pytest.warns(UserWarning, match="To copy construct from a tensor, it is recommended to "
                                         "use sourceTensor.detach"):
        from_tensor = hg.tensor(source)
    array[0] = 7.0
    source.add_(1)
    assert from_array.tolist() == [1.0, 2.0]
    assert from_tensor.tolist() == [3.0, 4.0]


def test_tensor_of_a_tensor_is_a_leaf_without_grad():
    x = hg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.warns(UserWarning, match="To copy construct"):
        y = hg.tensor(x * 2)
    assert y.is_leaf and not y.requires_grad and y.grad_fn is None


def test_from_numpy_shares_memory_both_ways():
    for lib in (torch, hg):
        array = np.array([1.0, 2.0, 3.0])
        t = lib.from_numpy(array)
        array[0] = 10.0
        t.add_(1)
        assert t.tolist() == [11.0, 3.0, 4.0]
        assert array.tolist() == [11.0, 3.0, 4.0]
        assert dtype_name(t.dtype) == "float64"


def test_from_numpy_keeps_strides_and_rejects_non_arrays():
    array = np.arange(6.0).reshape(2, 3)[:, ::2]
    h, t = hg.from_numpy(array), torch.from_numpy(array)
    assert h.stride() == t.stride() and h.is_contiguous() == t.is_contiguous()
    assert outcome("L.from_numpy([1, 2])")[1] == outcome("L.from_numpy([1, 2])")[0]


def test_as_tensor_shares_when_it_can():
    array = np.array([1.0, 2.0])
    shared = hg.as_tensor(array)
    copied = hg.as_tensor(array, dtype=hg.float32)
    array[0] = 7.0
    assert shared.tolist() == [7.0, 2.0] and copied.tolist() == [1.0, 2.0]
    x = hg.tensor([1.0])
    assert hg.as_tensor(x) is x
    assert_same(hg.as_tensor([1, 2]), torch.as_tensor([1, 2]))


def test_numpy_shares_memory_and_is_refused_while_requiring_grad():
    t = hg.tensor([1.0, 2.0])
    t.numpy()[0] = 5.0
    assert t.tolist() == [5.0, 2.0]
    x = hg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"^Can't call numpy\(\) on Tensor that requires grad. "
                                           r"Use tensor.detach\(\).numpy\(\) instead.$"):
        x.numpy()
    with pytest.raises(RuntimeError, match="Can't call numpy"):
        np.asarray(x)
    assert x.numpy(force=True).tolist() == [1.0, 2.0]
    assert x.detach().numpy().dtype == np.float32


# ----------------------------------------------------------------------------------------------
# Metadata and Python scalars
# ----------------------------------------------------------------------------------------------
METADATA = [
    "L.zeros(2, 3).size()", "L.zeros(2, 3).size(1)", "L.zeros(2, 3).size(-1)",
    "L.zeros(2, 3).size(2)", "L.zeros(()).size()", "L.tensor(1.0).size(0)",
    "L.tensor(1.0).size(-1)", "L.zeros(2, 3).shape", "L.zeros(2, 3, 4).shape[1:]",
    "L.zeros(2, 3).dim()", "L.zeros(2, 3).ndim", "L.zeros(2, 3).numel()", "L.zeros(0, 3).numel()",
    "L.zeros(2, 3).nelement()", "L.zeros(2, 3).stride()", "L.zeros(2, 3).stride(-1)",
    "L.tensor(1.0).stride()", "L.tensor(1.0).stride(0)", "L.tensor([1.0]).element_size()",
    "L.zeros(2, 3).T.shape", "L.zeros(2, 3).mT.shape", "L.zeros(4, 2, 3).mT.shape",
    "L.Size([2, 3])", "L.Size([2]) + (3,)", "(3,) + L.Size([2])", "L.Size([2, 3])[0]",
    "L.Size([2, 3, 4])[::2]", "L.Size([2, 3]) * 2", "L.Size([2, 3]).numel()",
    "L.Size([2, 3]) == (2, 3)", "L.tensor([1.0, 2.0]).type()", "L.tensor([1, 2]).type()",
    "L.tensor([1.0]).is_floating_point()", "L.tensor([1]).is_floating_point()",
    "L.tensor([1.0]).device", "L.tensor(3).item()", "L.tensor([3.5]).item()",
    "L.tensor([1, 2]).item()", "L.tensor([]).item()", "type(L.tensor(1.0).item())",
    "type(L.tensor(1).item())", "type(L.tensor(True).item())",
    "type(L.tensor([1.0], dtype=L.float16).item())", "L.tensor([[1, 2], [3, 4]]).tolist()",
    "L.tensor(3.5).tolist()", "L.tensor([1.5, 2.0]).tolist()", "L.tensor([True]).tolist()",
    "L.tensor([[1, 2]], dtype=L.int32).tolist()",
]


@pytest.mark.parametrize("source", METADATA)
def test_metadata_matches_torch(source):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t, h = outcome(source)
    assert h == t


def test_T_of_a_matrix_transposes():
    x = hg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert x.T.tolist() == [[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]]
    with pytest.warns(UserWarning, match="x.T"):
        assert x.reshape(1, 2, 3).T.shape == (3, 2, 1)


PROTOCOLS = [
    "len(L.zeros(4, 2))", "len(L.zeros(0))", "len(L.tensor(1.0))", "list(L.tensor([1.0, 2.0]))",
    "iter(L.tensor(1.0))", "bool(L.tensor([0.0]))", "bool(L.tensor(3))", "bool(L.tensor(True))",
    "bool(L.tensor([1.0, 2.0]))", "bool(L.tensor([]))", "float(L.tensor([2.5]))",
    "float(L.tensor([2.5, 1.0]))", "float(L.tensor([]))", "int(L.tensor(2.7))",
    "int(L.tensor(-2.7))", "int(L.tensor([3]))", "int(L.tensor([1, 2]))", "float(L.tensor(True))",
    "complex(L.tensor([1, 2]))", "L.tensor(2).__index__()", "[10, 20, 30][L.tensor(1)]",
    "L.tensor([1.0]).__index__()", "f'{L.tensor(3.14159):.2f}'", "f'{L.tensor(3):d}'",
    "f'{L.tensor([3.0]):.2f}'", "'{}'.format(L.tensor([2.5, 1.0]))",
    "np.float64(2) * L.tensor([1.0, 2.0])", "np.float64(2) + L.tensor([1.0, 2.0])",
    "np.float64(2) - L.tensor([1.0, 2.0])", "np.float64(2) / L.tensor([1.0, 2.0])",
    "np.float32(2) * L.tensor([1, 2])", "np.int64(3) * L.tensor([1.0, 2.0])",
    "L.tensor([1, 2]) * np.float64(2)", "L.tensor([1], dtype=L.int32) * np.int64(2)",
    "L.tensor([True]) * np.int64(2)", "L.tensor([True]) + np.float32(2)",
    "L.tensor([1.0], dtype=L.float16) * np.float64(2)", "L.tensor([True]) + np.bool_(True)",
    "L.tensor([1.0, 2.0]) * np.array([2.0, 3.0])",
]


@pytest.mark.parametrize("source", PROTOCOLS)
def test_python_protocols_match_torch(source):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t, h = outcome(source)
    assert h == t


def test_numpy_scalar_on_the_left_gives_a_tensor_that_tracks_grad():
    x = hg.tensor([1.0, 2.0], requires_grad=True)
    y = np.float64(2) * x
    assert isinstance(y, hg.Tensor) and y.grad_fn.name() == "MulBackward0"
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_float_of_a_tensor_requiring_grad_warns_like_torch():
    x = hg.tensor([2.5], requires_grad=True)
    with pytest.warns(UserWarning, match="Converting a tensor with requires_grad=True to a "
                                         "scalar may lead to unexpected behavior."):
        assert float(x) == 2.5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert x.item() == 2.5 and int(x) == 2


def test_hash_is_identity_and_equality_is_not_needed_for_containers():
    a, b = hg.tensor(1.0), hg.tensor(1.0)
    assert hash(a) == hash(a) and hash(a) != hash(b)
    assert len({a, b}) == 2 and a in {a: 1} and a in [a]


def test_deepcopy_copies_data_grad_and_flags():
    x = hg.tensor([1.0, 2.0], requires_grad=True)
    (x * 2).sum().backward()
    y = copy.deepcopy(x)
    y.grad.add_(1)
    y.data.add_(10)
    assert y.is_leaf and y.requires_grad
    assert x.tolist() == [1.0, 2.0] and x.grad.tolist() == [2.0, 2.0]
    assert y.grad.tolist() == [3.0, 3.0]
    a, b = copy.deepcopy([x, x])
    assert a is b
    assert copy.copy(x).requires_grad


def test_deepcopy_of_a_non_leaf_is_torchs_error():
    t, h = outcome("copy.deepcopy(L.tensor([1.0, 2.0], requires_grad=True) * 2)")
    assert t[0] == "RuntimeError" and h == t


def test_pickle_round_trip_keeps_values_dtype_and_requires_grad():
    x = hg.tensor([[1, 2]], dtype=hg.int16)
    y = hg.tensor([1.5], requires_grad=True)
    x2, y2, z2 = pickle.loads(pickle.dumps((x, y, y * 2)))
    assert x2.dtype == hg.int16 and x2.tolist() == [[1, 2]]
    assert y2.requires_grad and y2.is_leaf and y2.tolist() == [1.5]
    assert z2.requires_grad and z2.is_leaf and z2.tolist() == [3.0]  # as torch does


# ----------------------------------------------------------------------------------------------
# Conversions
# ----------------------------------------------------------------------------------------------
DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
VALUES = [0.0, 1.0, -1.7, 2.5, 100.25, -3.0]


@pytest.mark.parametrize("source", DTYPES)
@pytest.mark.parametrize("target", DTYPES)
def test_to_dtype_matches_torch(source, target):
    values = [abs(v) for v in VALUES] if source == "uint8" or target == "uint8" else VALUES
    t = torch.tensor(values).to(getattr(torch, source)).to(getattr(torch, target))
    h = hg.tensor(values).to(getattr(hg, source)).to(getattr(hg, target))
    assert_same(h, t)


CONVERSIONS = ["float", "double", "half", "long", "int", "short", "char", "byte", "bool"]


@pytest.mark.parametrize("method", CONVERSIONS)
def test_conversion_methods_match_torch(method):
    t = getattr(torch.tensor([1.7, -2.2, 0.0]), method)()
    h = getattr(hg.tensor([1.7, -2.2, 0.0]), method)()
    if method == "byte":  # negative floats to uint8 are undefined behaviour in both
        t, h = t[::2], hg.tensor(h.tolist()[::2], dtype=hg.uint8)
    assert_same(h, t)


def test_to_signatures():
    x = hg.tensor([1.5])
    assert x.to(hg.float32) is x and x.float() is x and x.to("cpu") is x
    assert x.to(hg.float32, copy=True) is not x
    assert x.to("cpu", hg.float64).dtype == hg.float64
    assert x.to(dtype=hg.float16).dtype == hg.float16
    assert x.to(hg.tensor([1], dtype=hg.int32)).dtype == hg.int32
    assert x.type(hg.int32).dtype == hg.int32
    assert x.type_as(hg.tensor([1], dtype=hg.int16)).dtype == hg.int16


def test_to_keeps_the_graph_for_float_targets_only():
    for lib in (torch, hg):
        x = lib.tensor([1.5, 2.5], requires_grad=True)
        y = x.double()
        assert y.grad_fn.name() == "ToCopyBackward0"
        (y * 2).sum().backward()
        assert dtype_name(x.grad.dtype) == "float32" and x.grad.tolist() == [2.0, 2.0]
        assert not x.long().requires_grad
        assert x.float() is x


def test_new_factories_default_to_the_tensors_dtype():
    for lib in (torch, hg):
        x = lib.ones(2, dtype=lib.float64)
        assert dtype_name(x.new_zeros(2, 3).dtype) == "float64"
        assert tuple(x.new_ones((2,)).shape) == (2,)
        assert dtype_name(x.new_full((2,), 7).dtype) == "float64"
        assert dtype_name(x.new_tensor([1, 2]).dtype) == "float64"
        assert tuple(x.new_empty(3).shape) == (3,)
        assert dtype_name(x.new_zeros(2, dtype=lib.int32).dtype) == "int32"


# ----------------------------------------------------------------------------------------------
# clone, detach, requires_grad, .data, .grad
# ----------------------------------------------------------------------------------------------
def test_clone_is_differentiable_and_does_not_share():
    for lib in (torch, hg):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        c = x.clone()
        assert c.grad_fn.name() == "CloneBackward0" and not c.is_leaf
        (c * 3).sum().backward()
        assert x.grad.tolist() == [3.0, 3.0]
        plain = lib.tensor([1.0, 2.0])
        plain.clone().add_(1)
        assert plain.tolist() == [1.0, 2.0]


def test_detach_shares_data_and_version_counter():
    x = hg.tensor([1.0, 2.0], requires_grad=True)
    d = x.detach()
    assert d.is_leaf and not d.requires_grad and d.grad_fn is None
    d.add_(1)
    assert x.tolist() == [2.0, 3.0]
    assert x._version == d._version == 1


def test_detach_then_inplace_invalidates_saved_tensors_like_torch():
    t, h = [], []
    for lib, out in ((torch, t), (hg, h)):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x * x
        x.detach().add_(1)
        with pytest.raises(RuntimeError) as info:
            y.sum().backward()
        out.append(str(info.value).replace("torch.", "hypergrad."))
    assert h == t


def test_detach_in_place():
    for lib in (torch, hg):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x * 2
        assert y.detach_() is y
        assert not y.requires_grad and y.is_leaf and y.grad_fn is None
    t, h = outcome("L.tensor([1.0, 2.0], requires_grad=True).reshape(2, 1).detach_()")
    assert t[0] == "RuntimeError" and h == t


def test_requires_grad_flags():
    for lib in (torch, hg):
        x = lib.tensor([1.0, 2.0])
        assert x.requires_grad_() is x and x.requires_grad
        assert not x.requires_grad_(False).requires_grad
        y = lib.tensor([1.0], requires_grad=True) * 2
        assert y.requires_grad_(True) is y
    for source in ("(L.tensor([1.0], requires_grad=True) * 2).requires_grad_(False)",):
        t, h = outcome(source)
        assert t[0] == "RuntimeError" and h == t
    for lib in (torch, hg):
        y = lib.tensor([1.0], requires_grad=True) * 2
        with pytest.raises(RuntimeError, match="you can only change requires_grad flags of "
                                               "leaf variables."):
            y.requires_grad = False


def test_is_leaf_cases():
    for lib in (torch, hg):
        a = lib.tensor([1.0])
        b = lib.tensor([1.0], requires_grad=True)
        with lib.no_grad():
            c = b * 2
        assert [a.is_leaf, b.is_leaf, (a * 2).is_leaf, (b * 2).is_leaf, c.is_leaf,
                b.detach().is_leaf] == [True, True, True, False, True, True]


def test_data_is_an_untracked_alias():
    for lib in (torch, hg):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x * x
        d = x.data
        assert not d.requires_grad and d.is_leaf
        d.mul_(3)
        assert x.tolist() == [3.0, 6.0] and x._version == 0
        y.sum().backward()  # not detected: .data is outside autograd's view, as in torch
        assert x.grad.tolist() == [6.0, 12.0]


def test_data_setter_replaces_the_values_and_shape():
    for lib in (torch, hg):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        x.data = lib.tensor([[5.0, 6.0, 7.0]])
        assert tuple(x.shape) == (1, 3) and x.requires_grad and x.is_leaf
        (x * 2).sum().backward()
        assert x.grad.tolist() == [[2.0, 2.0, 2.0]]


def test_grad_setter_errors_match_torch():
    def attempts(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        out = []
        for g in (lib.tensor([1.0, 2.0, 3.0]), lib.tensor([1, 2]), lib.zeros(2, dtype=lib.float64),
                  lib.zeros((), dtype=lib.float32), [1.0, 2.0]):
            try:
                x.grad = g
            except (RuntimeError, TypeError) as error:
                out.append((type(error).__name__, str(error).replace("torch.", "hypergrad.")))
        x.grad = lib.tensor([3.0, 4.0])
        del x.grad
        out.append(x.grad)
        return out

    torch_attempts = attempts(torch)
    hg_attempts = attempts(hg)
    assert hg_attempts[:4] == torch_attempts[:4]
    assert hg_attempts[4][0] == torch_attempts[4][0] == "TypeError"
    assert hg_attempts[5] is None and torch_attempts[5] is None


# ----------------------------------------------------------------------------------------------
# repr: torch's text, with hypergrad. for torch.
# ----------------------------------------------------------------------------------------------
REPRS = [
    "L.tensor([1., 2., 3.])", "L.tensor([1.5, 2.25])", "L.tensor([1, 2, 3])",
    "L.tensor([True, False])", "L.tensor(3.5)", "L.tensor(3)", "L.tensor(True)",
    "L.tensor(-3.)", "L.tensor(1e-5)", "L.tensor(1e20)", "L.tensor(float('nan'))",
    "L.tensor([])", "L.zeros(0, 3)", "L.zeros(2, 0)", "L.zeros(2, 3, 0)", "L.tensor([[]])",
    "L.zeros(0, dtype=L.int64)", "L.zeros(0, dtype=L.int32)", "L.zeros(0, dtype=L.bool)",
    "L.zeros(0, dtype=L.float64)", "L.zeros(0, requires_grad=True)",
    "L.tensor([1e-5, 1.0])", "L.tensor([-1e-5, 1.])", "L.tensor([1e10, 1.0])",
    "L.tensor([1e-10])", "L.tensor([123456789.0])", "L.tensor([1e-4, 1.0])",
    "L.tensor([1e-3, 1.0])", "L.tensor([1000., 1.])", "L.tensor([1001., 1.])",
    "L.tensor([12345.678])", "L.tensor([1234567.8])", "L.tensor([0.00012345])",
    "L.tensor([1e20, 1.0])", "L.tensor([1e-20, 1.0])", "L.tensor([0.0, 0.0])",
    "L.tensor([-0.0])", "L.tensor([0.1, 0.2, 0.3])", "L.tensor([-1.5, 2.0])",
    "L.tensor([100., 1000., 10000.])", "L.tensor([float('nan'), 1.0])",
    "L.tensor([float('nan')])", "L.tensor([float('inf'), -float('inf'), 1.5])",
    "L.tensor([float('inf'), 2.0])", "L.tensor([-1, 200, 3])",
    "L.tensor([[1., 2.], [3., 4.]])", "L.tensor([[[1., 2.], [3., 4.]], [[5., 6.], [7., 8.]]])",
    "L.tensor([[True, False], [False, True]])", "L.arange(100.) * 1.2345",
    "L.arange(30.).reshape(3, 10) * 1.2345", "L.arange(20.) * 123.456",
    "L.tensor([1, 2], dtype=L.int32)", "L.tensor([1., 2.], dtype=L.float64)",
    "L.tensor([1., 2.], dtype=L.float16)", "L.tensor([1, 2], dtype=L.uint8)",
    "L.tensor([1.5], dtype=L.float16) * 3", "L.tensor([65504.], dtype=L.float16)",
    "L.tensor([1 + 2j, 3 - 4.5j])", "L.tensor([1e-5 + 2j, 3 - 4.5j])", "L.tensor(1 + 2j)",
    "L.tensor([1 + 2j], dtype=L.complex128)",
    "L.tensor([1., 2.], requires_grad=True)", "L.tensor(2.0, requires_grad=True)",
    "L.tensor([[1., 2.]], dtype=L.float64, requires_grad=True)",
    "L.tensor([[1., 2.], [3., 4.]], requires_grad=True)",
    "L.tensor([1., 2.], requires_grad=True) * 2", "L.tensor(2.0, requires_grad=True).sum()",
    "L.arange(100.).reshape(5, 20).requires_grad_() * 1.5",
    "L.arange(10.).reshape(2, 5).requires_grad_() * 2",
    "L.arange(2000)", "L.arange(2000.)", "L.arange(1001.)", "L.arange(1000.)",
    "L.arange(2000.).reshape(40, 50)", "L.arange(3000).reshape(10, 10, 30)",
    "L.arange(1100).reshape(11, 100)", "L.arange(2000.).reshape(2, 1000)",
    "L.arange(5000.).reshape(5, 1000) * 1e-6", "L.tensor([True]).expand(2000)",
]


@pytest.mark.parametrize("source", REPRS)
def test_repr_is_torchs(source):
    t, h = both(source)
    assert repr(h) == repr(t).replace("torch.", "hypergrad.")
    assert str(h) == repr(h)


def test_repr_with_float64_default_dtype():
    previous = (torch.get_default_dtype(), hg.get_default_dtype())
    torch.set_default_dtype(torch.float64)
    hg.set_default_dtype(hg.float64)
    try:
        for source in ("L.tensor([1.5, 2.0])", "L.tensor([1.5], dtype=L.float32)",
                       "L.tensor([1 + 1j])", "L.zeros(0)"):
            t, h = both(source)
            assert repr(h) == repr(t).replace("torch.", "hypergrad.")
    finally:
        torch.set_default_dtype(previous[0])
        hg.set_default_dtype(previous[1])


float_values = st.one_of(
    st.floats(-1e3, 1e3, width=32),
    st.floats(-2.0 ** 40, 2.0 ** 40, width=32),
    st.sampled_from([0.0, -0.0, 1.0, -1.0, 0.5, 1e-5, 123456.0, float("nan"), float("inf")]),
    st.integers(-10_000, 10_000).map(float),
)


@settings(max_examples=60, deadline=None)
@given(shape=st.lists(st.integers(0, 5), min_size=0, max_size=3), data=st.data())
@example(shape=[3], data=None)
def test_repr_matches_torch_for_drawn_float_tensors(shape, data):
    size = int(np.prod(shape)) if shape else 1
    if data is None:
        values = [1.5, float("nan"), -2.0]
    else:
        values = data.draw(st.lists(float_values, min_size=size, max_size=size))
    array = np.array(values, dtype=np.float32).reshape(shape)
    assert repr(hg.tensor(array)) == repr(torch.tensor(array)).replace("torch.", "hypergrad.")


@settings(max_examples=30, deadline=None)
@given(shape=st.lists(st.integers(0, 12), min_size=1, max_size=3), low=st.integers(-10**6, 0),
       data=st.data())
def test_repr_matches_torch_for_drawn_int_and_bool_tensors(shape, low, data):
    size = int(np.prod(shape))
    values = data.draw(st.lists(st.integers(low, 10**6), min_size=size, max_size=size))
    array = np.array(values, dtype=np.int64).reshape(shape)
    assert repr(hg.tensor(array)) == repr(torch.tensor(array)).replace("torch.", "hypergrad.")
    flags = array % 3 == 0
    assert repr(hg.tensor(flags)) == repr(torch.tensor(flags)).replace("torch.", "hypergrad.")


@settings(max_examples=10, deadline=None)
@given(rows=st.integers(1, 40), cols=st.integers(30, 60), scale=st.sampled_from([1.0, 1e-6, 1e9]))
def test_repr_summarizes_large_tensors_like_torch(rows, cols, scale):
    array = (np.arange(rows * cols, dtype=np.float32) * np.float32(scale)).reshape(rows, cols)
    assert repr(hg.tensor(array)) == repr(torch.tensor(array)).replace("torch.", "hypergrad.")


def test_ieee_special_values_compute_silently_as_in_torch():
    # torch gives inf * 0 = nan, x / 0 = inf and log(0) = -inf without a word; numpy warns,
    # and HyperGrad computes with numpy: its filter silences only warnings raised in its own
    # modules (Note [Floating-point warnings] in hypergrad/__init__.py). Run as a program:
    # pytest's own warning capture replaces the filters a module installs at import.
    program = textwrap.dedent("""
        import math, warnings
        import numpy as np
        import hypergrad as hg
        x = hg.tensor([math.inf, 1.0, 0.0], requires_grad=True)
        y = (x * 0 + x / hg.tensor(0.0)).log()
        y.sum().backward()
        print(y.tolist(), x.grad.tolist())
        np.array([np.inf]) * 0          # numpy used directly still warns
    """)
    run = subprocess.run([sys.executable, "-W", "default", "-c", program], capture_output=True,
                         text=True, check=True)
    assert run.stderr.count("RuntimeWarning") == 1, run.stderr
    assert run.stderr.startswith("<string>:9: RuntimeWarning")      # the program's own line
    theirs = torch.tensor([math.inf, 1.0, 0.0], requires_grad=True)
    out = (theirs * 0 + theirs / torch.tensor(0.0)).log()
    out.sum().backward()
    assert run.stdout.strip() == f"{out.tolist()} {theirs.grad.tolist()}"
