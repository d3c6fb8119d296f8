"""Saving and loading: `hypergrad.save(obj, f)` and `hypergrad.load(f)` (`torch.save`/`load`).

What can be saved: tensors, and dicts, lists and tuples of tensors, numbers, strings, bools and
None, nested as deep as you like. That covers a model's `state_dict()`, an optimizer's
`state_dict()`, a scheduler's, and a checkpoint dict holding all three plus the epoch.

Note [Why safetensors and not pickle]
    torch.save pickles, and unpickling a file can run any code the file asks for. HyperGrad
    writes the safetensors format instead (https://github.com/huggingface/safetensors):

        8 bytes      little-endian length N of the header
        N bytes      JSON header: for each tensor its dtype, shape and byte range, plus a
                     "__metadata__" table of strings
        the rest     the raw bytes of the tensors

    Loading reads JSON and copies bytes, nothing else, so a file cannot run code. Each tensor
    is stored under a flat name, its path in the saved object joined with dots: a model's
    "fc1.weight" stays "fc1.weight", an optimizer's first momentum buffer is
    "state.0.momentum_buffer". The safetensors tools of other frameworks therefore read the
    tensors directly (`safetensors.torch.load_file("model.safetensors")["fc1.weight"]`).

    Everything that is not a tensor (the nesting, numbers, strings) goes into the metadata,
    under the key "hypergrad", as JSON in which a tensor is {"$tensor": name}. JSON has no
    tuples, non-string dict keys or infinities, so those are tagged too: {"$tuple": [...]},
    {"$dict": [[key, value], ...]}, {"$float": "inf"}. A tensor saved in two places (tied
    weights) is stored once and loads as one tensor in both places.

    safetensors has no checksum, so a flipped bit in a weight would load silently. The
    metadata therefore also holds "hypergrad.sha256", a digest of the structure and of every
    tensor's name, dtype, shape and bytes; `load` recomputes it and refuses a file that does
    not match.

    A valid safetensors file without that metadata (written by `safetensors.torch.save_file`,
    say) loads as a flat dict {name: tensor}: that is how to bring weights over from torch.

Note [Complex and bfloat16 tensors]
    safetensors has no complex128, so complex tensors are stored as their real view (a
    trailing dimension of 2, as `torch.view_as_real`), marked "complex" in the structure.
    HyperGrad has no bfloat16: a BF16 tensor in a foreign file is widened to float32, which is
    exact.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import secrets
import struct

import numpy as np

from . import dtypes as _dtypes
from .tensor import Tensor, device

__all__ = ["save", "load"]

_STRUCTURE_KEY = "hypergrad"
_DIGEST_KEY = "hypergrad.sha256"
_FORMAT_VERSION = 1

# safetensors dtype names <-> numpy dtypes HyperGrad has
_SAFETENSORS_DTYPES = {"BOOL": np.bool_, "U8": np.uint8, "I8": np.int8, "I16": np.int16,
                       "I32": np.int32, "I64": np.int64, "F16": np.float16, "F32": np.float32,
                       "F64": np.float64}


def _safetensors():
    try:
        import safetensors
        import safetensors.numpy
    except ImportError:
        raise ImportError("hypergrad.save and hypergrad.load store tensors in the safetensors "
                          "format and need the safetensors package: pip install safetensors "
                          "(or pip install 'hypergrad[io]')") from None
    return safetensors


# ----------------------------------------------------------------------------------------------
# save
# ----------------------------------------------------------------------------------------------
def save(obj, f):
    """Save `obj` to `f`, a path or a binary file object (`torch.save`).

    `obj` is a tensor, or dicts / lists / tuples nesting tensors, numbers, strings, bools and
    None. A path is written atomically: a crash mid-way leaves any previous file intact.
    The file is a safetensors file; see Note [Why safetensors and not pickle].
    """
    safetensors = _safetensors()
    arrays = {}
    structure = _Packer(arrays).pack(obj)
    text = json.dumps({"version": _FORMAT_VERSION, "object": structure}, allow_nan=False)
    digest = _digest(text, ((name, a.dtype, a.shape, a.tobytes()) for name, a in arrays.items()))
    data = safetensors.numpy.save(arrays, metadata={_STRUCTURE_KEY: text, _DIGEST_KEY: digest})
    if hasattr(f, "write"):
        f.write(data)
        return
    path = os.fspath(f)
    directory, filename = os.path.split(os.path.abspath(path))
    temporary = os.path.join(directory, f".{filename}.{secrets.token_hex(4)}.tmp")
    try:
        with open(temporary, "xb") as out:  # (mkstemp would make the file private: mode 600)
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


class _Packer:
    """Turn an object into JSON-ready structure, collecting its tensors' arrays by name."""

    def __init__(self, arrays):
        self.arrays = arrays
        self.names = {}  # id(tensor) -> name, so a tensor saved twice is stored once
        self.keep_alive = []  # the tensors named, so their ids stay unique while packing

    def pack(self, value, path=()):
        if isinstance(value, Tensor):
            return self.pack_tensor(value, path)
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, int):
            return int(value)
        if isinstance(value, float):
            return value if math.isfinite(value) else {"$float": repr(float(value))}
        if isinstance(value, np.generic) and value.dtype.kind in "biuf":
            return self.pack(value.item(), path)
        if isinstance(value, _dtypes.dtype):
            return {"$dtype": value.name}
        if isinstance(value, tuple):
            return {"$tuple": [self.pack(v, path + (i,)) for i, v in enumerate(value)]}
        if isinstance(value, list):
            return [self.pack(v, path + (i,)) for i, v in enumerate(value)]
        if isinstance(value, dict):
            if all(isinstance(k, str) and not k.startswith("$") for k in value):
                return {k: self.pack(v, path + (k,)) for k, v in value.items()}
            return {"$dict": [[self.pack(k, path), self.pack(v, path + (k,))]
                              for k, v in value.items()]}
        where = "the saved object" + "".join(f"[{p!r}]" for p in path)
        hint = " (save its state_dict() instead)" if hasattr(value, "state_dict") else ""
        raise TypeError(f"hypergrad.save cannot store {type(value).__name__} at {where}{hint}: "
                        "only tensors, numbers, strings, bools, None and dicts, lists and "
                        "tuples of them can be saved")

    def pack_tensor(self, t, path):
        if id(t) in self.names:
            return {"$tensor": self.names[id(t)]}
        name = ".".join(str(p) for p in path) or "tensor"
        unique, n = name, 1
        while unique in self.arrays:
            unique, n = f"{name}#{n}", n + 1
        array = t.detach()._data
        entry = {"$tensor": unique}
        if array.dtype.kind == "c":
            array = array[..., np.newaxis].view(array.real.dtype)
            entry["complex"] = True
        if t.requires_grad:
            entry["requires_grad"] = True
        self.arrays[unique] = np.asarray(array, order="C")  # keeps 0-dim, unlike ascontiguous
        self.names[id(t)] = unique
        self.keep_alive.append(t)
        return entry


# ----------------------------------------------------------------------------------------------
# load
# ----------------------------------------------------------------------------------------------
def load(f, map_location=None, weights_only=True, mmap=None):
    """Load what `save` wrote to `f` (a path or a binary file object) (`torch.load`).

    A safetensors file written by another library loads as a flat {name: tensor} dict. Any
    other file, or a truncated or corrupted one, raises RuntimeError naming the file and the
    problem; nothing is half-loaded. `map_location` may only name the CPU; `weights_only` and
    `mmap` are accepted for torch scripts and change nothing (loading never runs code).
    """
    if isinstance(map_location, (str, device)) and str(map_location) != "cpu":
        raise RuntimeError(f"HyperGrad runs on the CPU only; cannot load to {map_location!r}")
    safetensors = _safetensors()
    if hasattr(f, "read"):
        name, data = getattr(f, "name", "<file object>"), f.read()
    else:
        name = os.fspath(f)
        with open(name, "rb") as file:
            data = file.read()

    header = _read_header(name, data)
    try:
        entries = safetensors.deserialize(data)
    except Exception as error:  # safetensors' own check of offsets and sizes
        raise RuntimeError(f"{name!r} is not a valid safetensors file: {error}") from None
    tensors = {key: _to_tensor(name, key, entry) for key, entry in entries}

    metadata = header.get("__metadata__") or {}
    if _STRUCTURE_KEY not in metadata:
        order = [key for key in header if key != "__metadata__"]
        return {key: Tensor._make(tensors[key]) for key in order}
    if _DIGEST_KEY in metadata:
        found = _digest(metadata[_STRUCTURE_KEY],
                        ((key, tensors[key].dtype, tensors[key].shape, bytes(entry["data"]))
                         for key, entry in entries))
        if found != metadata[_DIGEST_KEY]:
            raise RuntimeError(f"{name!r} is corrupted: its contents do not match the checksum "
                               "saved with them")
    try:
        saved = json.loads(metadata[_STRUCTURE_KEY])
        version, structure = saved["version"], saved["object"]
    except (ValueError, TypeError, KeyError):
        raise RuntimeError(f"{name!r}: its HyperGrad metadata is not valid JSON of the "
                           "expected form; the file is corrupted") from None
    if version != _FORMAT_VERSION:
        raise RuntimeError(f"{name!r} was written in HyperGrad format version {version}; this "
                           f"version of HyperGrad reads version {_FORMAT_VERSION}")
    try:
        return _Unpacker(tensors).unpack(structure)
    except (TypeError, ValueError, KeyError, AttributeError, RuntimeError) as error:
        raise RuntimeError(f"{name!r}: its HyperGrad structure is invalid ({error}); the file "
                           "is corrupted") from None


def _digest(structure, tensors):
    """sha256 of the structure JSON and of (name, dtype, shape, bytes) of each tensor."""
    digest = hashlib.sha256(structure.encode())
    for name, dtype, shape, raw in sorted(tensors, key=lambda t: t[0]):
        digest.update(f"\0{name}\0{np.dtype(dtype).name}\0{tuple(shape)}\0".encode())
        digest.update(raw)
    return digest.hexdigest()


def _read_header(name, data):
    """The JSON header of a safetensors file, with a clear error for anything else."""
    if data[:4] == b"PK\x03\x04":
        raise RuntimeError(f"{name!r} is a zip archive, probably written by torch.save; "
                           "HyperGrad reads only safetensors files (it never unpickles, since "
                           "that can run code). In PyTorch, write the tensors with "
                           "safetensors.torch.save_file(state_dict, path) and load that.")
    if data[:1] == b"\x80":
        raise RuntimeError(f"{name!r} is a Python pickle; HyperGrad reads only safetensors "
                           "files (it never unpickles, since that can run code)")
    if len(data) < 8:
        raise RuntimeError(f"{name!r} is not a safetensors file: it has {len(data)} bytes, "
                           "fewer than the 8-byte header length")
    (header_size,) = struct.unpack("<Q", data[:8])
    if header_size > len(data) - 8:
        raise RuntimeError(f"{name!r} is truncated or not a safetensors file: it announces a "
                           f"{header_size}-byte header but only {len(data) - 8} bytes follow")
    try:
        header = json.loads(data[8:8 + header_size])
    except (ValueError, UnicodeDecodeError):
        raise RuntimeError(f"{name!r} is not a safetensors file: its header is not "
                           "JSON") from None
    if not isinstance(header, dict):
        raise RuntimeError(f"{name!r} is not a safetensors file: its header is not a JSON "
                           "object")
    ends = [entry["data_offsets"][1] for key, entry in header.items()
            if key != "__metadata__" and isinstance(entry, dict)
            and isinstance(entry.get("data_offsets"), list) and len(entry["data_offsets"]) == 2]
    available = len(data) - 8 - header_size
    if ends and isinstance(max(ends), int) and max(ends) > available:
        raise RuntimeError(f"{name!r} is truncated: its tensors need {max(ends)} bytes of "
                           f"data but the file has {available}")
    return header


def _to_tensor(name, key, entry):
    """The numpy array of one tensor of the file: a writable copy, in a dtype HyperGrad has."""
    dtype, shape, raw = entry["dtype"].upper(), entry["shape"], entry["data"]
    if dtype == "BF16":  # the high half of a float32 (Note [Complex and bfloat16 tensors])
        widened = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
        return widened.view(np.float32).reshape(shape)
    if dtype not in _SAFETENSORS_DTYPES:
        raise RuntimeError(f"{name!r}: tensor {key!r} has dtype {dtype}, which HyperGrad does "
                           f"not support (it has {', '.join(_SAFETENSORS_DTYPES)} and BF16)")
    numpy_dtype = np.dtype(_SAFETENSORS_DTYPES[dtype]).newbyteorder("<")
    array = np.frombuffer(raw, dtype=numpy_dtype).reshape(shape)
    return array.astype(numpy_dtype.newbyteorder("="), copy=True)


class _Unpacker:
    """Rebuild the saved object from its JSON structure and the file's arrays.

    Anything unexpected in the structure raises ValueError, which `load` reports as a
    corrupted file.
    """

    def __init__(self, arrays):
        self.arrays = arrays
        self.tensors = {}  # one Tensor per stored name: shared tensors stay shared

    def unpack(self, value):
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, list):
            return [self.unpack(v) for v in value]
        if not isinstance(value, dict):
            raise ValueError(f"unexpected {type(value).__name__} in its structure")
        if "$tensor" in value:
            return self.unpack_tensor(value)
        if "$tuple" in value:
            return tuple(self.unpack(v) for v in value["$tuple"])
        if "$dict" in value:
            return {_hashable(self.unpack(k)): self.unpack(v) for k, v in value["$dict"]}
        if "$float" in value:
            return float(value["$float"])
        if "$dtype" in value:
            return _dtypes.to_dtype(value["$dtype"])
        for key in value:
            if key.startswith("$"):
                raise ValueError(f"unknown entry {key!r}")
        return {k: self.unpack(v) for k, v in value.items()}

    def unpack_tensor(self, entry):
        key = entry["$tensor"]
        if key in self.tensors:
            return self.tensors[key]
        if key not in self.arrays:
            raise ValueError(f"it refers to a tensor {key!r} that is not in the file")
        array = self.arrays[key]
        if entry.get("complex"):
            if array.ndim == 0 or array.shape[-1] != 2 or array.dtype.kind != "f":
                raise ValueError(f"complex tensor {key!r} is not stored as (..., 2) pairs")
            complex_dtype = np.result_type(array.dtype, np.complex64)
            array = np.asarray(array, order="C").view(complex_dtype)[..., 0]
        t = Tensor._make(array)
        if entry.get("requires_grad"):
            t.requires_grad_(True)
        self.tensors[key] = t
        return t


def _hashable(key):
    """A dict key read back from the structure (tuple keys were tagged, so they come back as
    tuples); a JSON list or object in a key's place means the file was tampered with."""
    try:
        hash(key)
    except TypeError:
        raise ValueError(f"a dict key {key!r} is not hashable") from None
    return key
