"""hypergrad.save / hypergrad.load: safetensors files, round trips, interop and bad files."""

from __future__ import annotations

import collections
import copy
import io
import json
import math
import os
import pickle
import sys

import numpy as np
import pytest
import safetensors.numpy
import safetensors.torch
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import hypergrad as hg

ALL_DTYPES = [hg.bool, hg.uint8, hg.int8, hg.int16, hg.int32, hg.int64, hg.float16, hg.float32,
              hg.float64, hg.complex64, hg.complex128]


def round_trip(obj, tmp_path, name="obj.safetensors"):
    path = tmp_path / name
    hg.save(obj, path)
    return hg.load(path)


def assert_same_tensor(loaded, original):
    assert isinstance(loaded, hg.Tensor)
    assert loaded.dtype == original.dtype
    assert loaded.shape == original.shape
    np.testing.assert_array_equal(loaded.detach().numpy(), original.detach().numpy())


# ----------------------------------------------------------------------------------------------
# Round trips
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: d.name)
@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 0, 3), (2, 3, 4)], ids=str)
def test_every_dtype_and_shape_round_trips(dtype, shape, tmp_path):
    rng = np.random.default_rng(0)
    values = rng.normal(0, 100, shape)
    if dtype.is_complex:
        values = values + 1j * rng.normal(0, 100, shape)
    original = hg.tensor(values.astype(dtype.numpy) if dtype != hg.bool else values > 0,
                         dtype=dtype)
    assert_same_tensor(round_trip(original, tmp_path), original)


@settings(max_examples=40, deadline=None)
@given(array=hnp.arrays(st.sampled_from([np.float16, np.float32, np.float64, np.int8, np.int64,
                                         np.uint8, np.bool_, np.complex64, np.complex128]),
                        hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)))
def test_any_array_round_trips_bit_for_bit(array, tmp_path_factory):
    """Including NaN, infinities, -0.0 and subnormals: the bytes come back unchanged."""
    original = hg.tensor(array)
    loaded = round_trip({"t": original}, tmp_path_factory.mktemp("rt"))["t"]
    assert loaded.dtype == original.dtype and loaded.shape == original.shape
    assert loaded.numpy().tobytes() == original.numpy().tobytes()


def test_non_contiguous_tensors_round_trip(tmp_path):
    base = np.arange(24.0).reshape(4, 6)
    for view in (base.T, base[::2, 1::3], base[:, 0]):
        original = hg.from_numpy(view)
        assert_same_tensor(round_trip(original, tmp_path), original)


def test_nested_python_values_round_trip_with_their_types(tmp_path):
    obj = {
        "epoch": 7, "loss": 0.125, "best": math.inf, "worst": -math.inf, "flag": True,
        "nothing": None, "name": "run-1", "betas": (0.9, 0.999), "milestones": [3, 6],
        "by_int": {0: "a", 1: "b"}, "by_tuple": {(1, 2): [None]}, "by_float": {0.5: 1},
        "by_none": {None: 1, True: 2}, "$dollar": {"$tensor": "not a tensor"},
        "empty": {}, "empty_list": [], "empty_tuple": (), "nested": [[(1, [2.5, {"x": ()}])]],
        "dtype": hg.float16, "big": 2 ** 70, "negative zero": -0.0,
    }
    loaded = round_trip(obj, tmp_path)
    assert loaded == obj
    assert type(loaded["betas"]) is tuple and type(loaded["milestones"]) is list
    assert type(loaded["by_float"]) is dict and list(loaded["by_float"]) == [0.5]
    assert math.copysign(1, loaded["negative zero"]) == -1
    assert math.isnan(round_trip({"nan": math.nan}, tmp_path)["nan"])


def test_tensors_inside_structures_and_sharing(tmp_path):
    weight = hg.randn(3, 2)
    param = hg.tensor([1.0, 2.0], requires_grad=True)
    obj = {"encoder.weight": weight, "decoder.weight": weight, "param": param,
           "list": [param, hg.tensor(1)], "pair": (hg.zeros(2), "x")}
    loaded = round_trip(obj, tmp_path)
    assert loaded["encoder.weight"] is loaded["decoder.weight"]  # tied weights stay tied
    assert loaded["param"] is loaded["list"][0]
    assert loaded["param"].requires_grad and loaded["param"].is_leaf
    assert not loaded["encoder.weight"].requires_grad
    assert_same_tensor(loaded["encoder.weight"], weight)
    assert isinstance(loaded["pair"], tuple) and loaded["pair"][1] == "x"


def test_loaded_tensors_are_writable_and_independent(tmp_path):
    original = hg.tensor([1.0, 2.0])
    loaded = round_trip(original, tmp_path)
    loaded._data += 1  # an optimizer updates loaded parameters in place
    np.testing.assert_array_equal(original.numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(round_trip(original, tmp_path).numpy(), [1.0, 2.0])


def test_file_objects(tmp_path):
    buffer = io.BytesIO()
    hg.save({"w": hg.ones(2)}, buffer)
    buffer.seek(0)
    assert_same_tensor(hg.load(buffer)["w"], hg.ones(2))
    with open(tmp_path / "f.bin", "wb") as f:
        hg.save([1, hg.zeros(1)], f)
    with open(tmp_path / "f.bin", "rb") as f:
        assert hg.load(f)[0] == 1


def test_save_replaces_the_file_atomically(tmp_path):
    path = tmp_path / "ckpt.pt"
    hg.save({"a": hg.ones(1)}, path)
    hg.save({"b": hg.zeros(1)}, str(path))
    assert list(hg.load(path)) == ["b"]
    assert os.listdir(tmp_path) == ["ckpt.pt"]  # no temporary file left behind
    with pytest.raises(TypeError):
        hg.save({"bad": object()}, path)
    assert list(hg.load(path)) == ["b"] and os.listdir(tmp_path) == ["ckpt.pt"]


def test_load_accepts_torch_style_arguments(tmp_path):
    hg.save(hg.ones(2), tmp_path / "t")
    assert_same_tensor(hg.load(tmp_path / "t", map_location="cpu", weights_only=True),
                       hg.ones(2))
    assert_same_tensor(hg.load(tmp_path / "t", map_location=lambda storage, loc: storage),
                       hg.ones(2))
    with pytest.raises(RuntimeError, match="CPU only"):
        hg.load(tmp_path / "t", map_location="cuda:0")


# ----------------------------------------------------------------------------------------------
# Optimizer and scheduler checkpoints
# ----------------------------------------------------------------------------------------------
def train(opt, params, steps, seed):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        opt.zero_grad()
        for p in params:
            p.grad = hg.tensor(p.detach().numpy() * 0.5 + rng.standard_normal(p.shape),
                               dtype=p.dtype)
        opt.step()


@pytest.mark.parametrize("name,kwargs", [("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
                                         ("Adam", dict(lr=0.01, amsgrad=True)),
                                         ("AdamW", dict(lr=0.01)),
                                         ("RMSprop", dict(lr=0.01, centered=True, momentum=0.1)),
                                         ("Adagrad", dict(lr=0.1))])
def test_optimizer_checkpoint_resumes_exactly(name, kwargs, tmp_path):
    def fresh():
        params = [hg.tensor(np.linspace(-1, 1, 6).reshape(2, 3), requires_grad=True),
                  hg.tensor([0.5], requires_grad=True)]
        opt = getattr(hg.optim, name)([{"params": params[:1]}, {"params": params[1:],
                                                               "lr": 0.05}], **kwargs)
        return params, opt

    params, opt = fresh()
    train(opt, params, 5, seed=0)
    hg.save({"params": [p.detach() for p in params], "optimizer": opt.state_dict()},
            tmp_path / "ckpt")
    train(opt, params, 5, seed=1)

    checkpoint = hg.load(tmp_path / "ckpt")
    resumed_params, resumed = fresh()
    for p, saved in zip(resumed_params, checkpoint["params"]):
        p.data = saved
    resumed.load_state_dict(checkpoint["optimizer"])
    assert resumed.state_dict()["param_groups"] == opt.state_dict()["param_groups"]
    train(resumed, resumed_params, 5, seed=1)
    for mine, expected in zip(resumed_params, params):
        np.testing.assert_array_equal(mine.detach().numpy(), expected.detach().numpy())


def test_optimizer_state_dict_tensors_are_readable_by_name_elsewhere(tmp_path):
    p = hg.tensor([1.0, 2.0], requires_grad=True)
    opt = hg.optim.Adam([p])
    p.grad = hg.tensor([0.5, -0.5])
    opt.step()
    hg.save(opt.state_dict(), tmp_path / "opt.safetensors")
    flat = safetensors.torch.load_file(tmp_path / "opt.safetensors")
    assert sorted(flat) == ["state.0.exp_avg", "state.0.exp_avg_sq", "state.0.step"]
    np.testing.assert_array_equal(flat["state.0.exp_avg"].numpy(),
                                  opt.state[p]["exp_avg"].numpy())


@pytest.mark.parametrize("make", [
    lambda s, o: s.MultiStepLR(o, milestones=[2, 4, 4]),
    lambda s, o: s.OneCycleLR(o, max_lr=1.0, total_steps=20),
    lambda s, o: s.ReduceLROnPlateau(o, patience=1),
    lambda s, o: s.CosineAnnealingLR(o, T_max=6),
])
def test_scheduler_checkpoint_resumes(make, tmp_path):
    def fresh():
        opt = hg.optim.SGD([hg.tensor([1.0], requires_grad=True)], lr=0.1, momentum=0.9)
        return opt, make(hg.optim.lr_scheduler, opt)

    def advance(opt, sched, steps, start):
        lrs = []
        for t in range(start, start + steps):
            opt.step()
            if isinstance(sched, hg.optim.lr_scheduler.ReduceLROnPlateau):
                sched.step(1.0 if t % 3 else 2.0)
            else:
                sched.step()
            lrs.append(sched.get_last_lr())
        return lrs

    opt, sched = fresh()
    advance(opt, sched, 6, 0)
    hg.save({"optimizer": opt.state_dict(), "scheduler": sched.state_dict()}, tmp_path / "c")
    expected = advance(opt, sched, 6, 6)

    checkpoint = hg.load(tmp_path / "c")
    opt2, sched2 = fresh()
    opt2.load_state_dict(checkpoint["optimizer"])
    sched2.load_state_dict(checkpoint["scheduler"])
    assert advance(opt2, sched2, 6, 6) == expected


# ----------------------------------------------------------------------------------------------
# Other frameworks' safetensors tools
# ----------------------------------------------------------------------------------------------
def state_dict():
    return collections.OrderedDict([("fc1.weight", hg.randn(4, 3)), ("fc1.bias", hg.zeros(4)),
                                    ("fc2.weight", hg.randn(1, 4, dtype=hg.float64)),
                                    ("steps", hg.tensor(12))])


def test_other_tools_read_a_saved_state_dict_by_flat_name(tmp_path):
    sd = state_dict()
    path = tmp_path / "model.safetensors"
    hg.save(sd, path)
    by_numpy = safetensors.numpy.load_file(path)
    by_torch = safetensors.torch.load_file(path)
    assert sorted(by_numpy) == sorted(by_torch) == sorted(sd)
    for key, value in sd.items():
        np.testing.assert_array_equal(by_numpy[key], value.numpy())
        assert by_numpy[key].dtype == value.numpy().dtype
        np.testing.assert_array_equal(by_torch[key].numpy(), value.numpy())
    loaded = hg.load(path)
    assert list(loaded) == list(sd)  # the order of the state dict is kept


def test_a_safetensors_file_written_by_torch_loads_as_a_flat_dict(tmp_path):
    """Documented behaviour: a foreign safetensors file is a {name: tensor} dict."""
    tensors = {"layer.weight": torch.randn(3, 2), "layer.bias": torch.arange(3),
               "mask": torch.tensor([True, False]), "half": torch.randn(2).half(),
               "scalar": torch.tensor(2.5, dtype=torch.float64)}
    path = tmp_path / "from_torch.safetensors"
    safetensors.torch.save_file(tensors, path, metadata={"format": "pt"})
    loaded = hg.load(path)
    assert sorted(loaded) == sorted(tensors)
    for key, value in tensors.items():
        assert str(loaded[key].dtype).split(".")[-1] == str(value.dtype).split(".")[-1]
        assert tuple(loaded[key].shape) == tuple(value.shape)
        np.testing.assert_array_equal(loaded[key].numpy(), value.numpy())


def test_bfloat16_from_torch_is_widened_to_float32_exactly(tmp_path):
    original = torch.tensor([1.0, -2.5, 3.140625, 1e30, -1e-30, float("inf")],
                            dtype=torch.bfloat16)
    safetensors.torch.save_file({"w": original}, tmp_path / "bf16")
    loaded = hg.load(tmp_path / "bf16")["w"]
    assert loaded.dtype == hg.float32
    np.testing.assert_array_equal(loaded.numpy(), original.float().numpy())


def test_an_unsupported_dtype_is_refused_by_name(tmp_path):
    safetensors.numpy.save_file({"ids": np.arange(3, dtype=np.uint32)}, tmp_path / "u32")
    with pytest.raises(RuntimeError, match="tensor 'ids' has dtype U32, which HyperGrad does "
                                           "not support"):
        hg.load(tmp_path / "u32")


# ----------------------------------------------------------------------------------------------
# Files that are not ours, or not whole
# ----------------------------------------------------------------------------------------------
def saved_bytes(obj):
    buffer = io.BytesIO()
    hg.save(obj, buffer)
    return buffer.getvalue()


def load_bytes(data, tmp_path, name="bad.safetensors"):
    path = tmp_path / name
    path.write_bytes(data)
    return hg.load(path)


def test_every_truncation_of_a_file_is_refused_with_its_name(tmp_path):
    data = saved_bytes({"w": hg.randn(5, 4), "b": hg.zeros(5), "epoch": 3})
    header_end = 8 + int.from_bytes(data[:8], "little")
    for size in sorted({0, 3, 7, 8, 9, 20, header_end - 1, header_end, header_end + 7,
                        len(data) - 1}):
        with pytest.raises(RuntimeError, match="bad.safetensors") as info:
            load_bytes(data[:size], tmp_path)
        assert any(word in str(info.value) for word in ("truncated", "not a safetensors",
                                                        "not a valid safetensors"))


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=300))
def test_random_bytes_are_refused(data, tmp_path_factory):
    with pytest.raises(RuntimeError, match="random.bin"):
        load_bytes(data, tmp_path_factory.mktemp("rand"), "random.bin")


def test_a_flipped_byte_anywhere_never_loads_silently_wrong(tmp_path):
    """safetensors has no checksum; ours (in the metadata) catches damage in the data and in
    the structure. The only flips that can load are those that leave the content readable
    unchanged, e.g. one that renames the metadata key, so the file loads as a flat dict."""
    original = {"w": hg.arange(6.0).reshape(2, 3), "b": hg.tensor([1, 2]), "name": "x"}
    data = saved_bytes(original)
    rng = np.random.default_rng(0)
    for position in rng.choice(len(data), size=120, replace=False):
        damaged = bytearray(data)
        damaged[position] ^= 1 << int(rng.integers(8))
        try:
            loaded = load_bytes(bytes(damaged), tmp_path)
        except RuntimeError as error:
            assert "bad.safetensors" in str(error)
            continue
        for key in ("w", "b"):
            assert_same_tensor(loaded[key], original[key])


def test_damaged_weights_are_detected(tmp_path):
    data = bytearray(saved_bytes({"w": hg.zeros(100)}))
    data[-3] ^= 0x10
    with pytest.raises(RuntimeError, match="bad.safetensors' is corrupted: its contents do not "
                                           "match the checksum"):
        load_bytes(bytes(data), tmp_path)


def test_a_torch_save_file_is_refused_with_advice(tmp_path):
    torch.save({"w": torch.ones(2)}, tmp_path / "model.pt")
    with pytest.raises(RuntimeError, match="model.pt.*torch.save.*safetensors.torch.save_file"):
        hg.load(tmp_path / "model.pt")


def test_a_pickle_is_refused_without_being_run(tmp_path):
    class Boom:
        def __reduce__(self):
            return (os.system, ("echo pwned > pwned.txt",))

    (tmp_path / "evil.pkl").write_bytes(pickle.dumps(Boom()))
    with pytest.raises(RuntimeError, match="evil.pkl.*pickle"):
        hg.load(tmp_path / "evil.pkl")
    assert not os.path.exists("pwned.txt")


def craft(tmp_path, structure, arrays=None, raw=None):
    """A safetensors file with a hand-written HyperGrad structure (to simulate tampering)."""
    metadata = {"hypergrad": raw if raw is not None else json.dumps(structure)}
    path = tmp_path / "crafted.safetensors"
    safetensors.numpy.save_file(arrays or {"a": np.zeros(2)}, path, metadata=metadata)
    return path


@pytest.mark.parametrize("structure,raw,message", [
    (None, "{not json", "HyperGrad metadata is not valid JSON"),
    ([1, 2], None, "HyperGrad metadata is not valid JSON"),
    ({"version": 99, "object": 1}, None, "format version 99"),
    ({"version": 1, "object": {"$tensor": "missing"}}, None, "tensor 'missing'"),
    ({"version": 1, "object": {"$nonsense": 1}}, None, "unknown entry '\\$nonsense'"),
    ({"version": 1, "object": {"$tuple": 5}}, None, "corrupted"),
    ({"version": 1, "object": {"$dict": [[[1], 2]]}}, None, "not hashable"),
    ({"version": 1, "object": {"$dtype": "float128"}}, None, "corrupted"),
    ({"version": 1, "object": {"$tensor": "a", "complex": True}}, None, "\\(\\.\\.\\., 2\\)"),
])
def test_tampered_structures_are_refused(structure, raw, message, tmp_path):
    path = craft(tmp_path, structure, raw=raw, arrays={"a": np.zeros(3)})
    with pytest.raises(RuntimeError, match=message) as info:
        hg.load(path)
    assert "crafted.safetensors" in str(info.value)


# ----------------------------------------------------------------------------------------------
# What cannot be saved, and the optional dependency
# ----------------------------------------------------------------------------------------------
def test_unsupported_objects_are_refused_with_their_place(tmp_path):
    with pytest.raises(TypeError, match=r"cannot store set at the saved object\['a'\]\[0\]"):
        hg.save({"a": [{1, 2}]}, tmp_path / "x")

    class Model:
        def state_dict(self):
            return {}

    with pytest.raises(TypeError, match="save its state_dict\\(\\) instead"):
        hg.save(Model(), tmp_path / "x")
    with pytest.raises(TypeError, match="cannot store ndarray"):
        hg.save(np.ones(2), tmp_path / "x")


def test_a_clear_message_when_safetensors_is_missing(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "safetensors", None)
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    with pytest.raises(ImportError, match="pip install safetensors"):
        hg.save(hg.ones(1), tmp_path / "x")
    with pytest.raises(ImportError, match="pip install safetensors"):
        hg.load(tmp_path / "x")


def test_saving_does_not_change_the_object(tmp_path):
    obj = {"state": {0: {"step": hg.tensor(1.0)}}, "param_groups": [{"params": [0]}]}
    before = copy.deepcopy(obj)
    hg.save(obj, tmp_path / "x")
    assert obj.keys() == before.keys() and obj["param_groups"] == before["param_groups"]
    assert list(obj["state"][0]) == ["step"]


# ----------------------------------------------------------------------------------------------
# Models (hypergrad.nn) across the two libraries
# ----------------------------------------------------------------------------------------------
def mlp(lib):
    nn = lib.nn
    return nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 2))


def test_a_hypergrad_model_round_trips_and_loads_into_torch(tmp_path):
    model = mlp(hg)
    path = tmp_path / "model.safetensors"
    hg.save(model.state_dict(), path)

    again = mlp(hg)
    again.load_state_dict(hg.load(path))
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    expected = model(hg.tensor(x)).detach().numpy()
    np.testing.assert_array_equal(again(hg.tensor(x)).detach().numpy(), expected)

    in_torch = mlp(torch)
    in_torch.load_state_dict(safetensors.torch.load_file(path))  # strict: every name matches
    np.testing.assert_allclose(in_torch(torch.tensor(x)).detach().numpy(), expected,
                               rtol=1e-6, atol=1e-6)


def test_torch_weights_saved_with_safetensors_load_into_a_hypergrad_model(tmp_path):
    torch_model = mlp(torch)
    safetensors.torch.save_file(torch_model.state_dict(), tmp_path / "torch.safetensors")
    model = mlp(hg)
    model.load_state_dict(hg.load(tmp_path / "torch.safetensors"))
    x = np.random.default_rng(1).standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_allclose(model(hg.tensor(x)).detach().numpy(),
                               torch_model(torch.tensor(x)).detach().numpy(), rtol=1e-6,
                               atol=1e-6)
