"""Collating: turning a list of samples into one batch (torch/utils/data/_utils/collate.py).

`default_collate` keeps the structure of a sample and stacks what is inside it:

    sample                          batch of N samples
    tensor of shape S               tensor of shape (N, *S)          (hypergrad.stack)
    numpy array of shape S          tensor of shape (N, *S)
    Python float                    float64 tensor of shape (N,)     (as torch)
    Python int / bool               int64 / bool tensor of shape (N,)
    numpy scalar                    tensor of its dtype, shape (N,)
    str or bytes                    the N strings, as they came (a list or tuple)
    dict                            dict of batches, key by key
    tuple or list                   list of batches, position by position
    namedtuple                      namedtuple of batches

It calls itself on the values inside a dict or a sequence: the depth of that recursion is the
nesting depth of one sample, which is small.
"""

from __future__ import annotations

import collections.abc
import copy

import numpy as np

from ... import dtypes as _dtypes
from ...tensor import Tensor, tensor

__all__ = ["default_collate", "default_convert"]

_ERROR = ("default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
          "found {}")


def _stack(tensors):
    from ... import stack  # an op plugin, registered when hypergrad is imported

    return stack(tensors, 0)


def _numpy_to_tensor(array):
    """A tensor with the values and dtype of a numpy array or scalar (`torch.as_tensor`)."""
    array = np.asarray(array)
    if array.dtype.kind in "SaUO":
        raise TypeError(_ERROR.format(array.dtype))
    return tensor(array)


def default_collate(batch):
    """Combine a list of samples into a batch (see the table in the module docstring)."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack(batch)
    if isinstance(elem, np.ndarray):
        return _stack([_numpy_to_tensor(b) for b in batch])
    if isinstance(elem, (np.bool_, np.number)):
        return _numpy_to_tensor(np.array(batch))
    if isinstance(elem, float):
        return tensor(batch, dtype=_dtypes.float64)
    if isinstance(elem, int):  # bool too: tensor() makes a bool tensor of bools
        return tensor(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        collated = {key: default_collate([sample[key] for sample in batch]) for key in elem}
        return _same_mapping_type(elem, collated)
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(samples) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(sample) != size for sample in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        return [default_collate(samples) for samples in zip(*batch)]
    raise TypeError(_ERROR.format(type(elem)))


def _same_mapping_type(elem, collated):
    """An OrderedDict (or other dict type) of batches stays that type, as in torch."""
    if type(elem) is dict:
        return collated
    try:
        clone = copy.copy(elem)
        clone.update(collated)
        return clone
    except (TypeError, AttributeError):
        return collated


def default_convert(data):
    """Turn numpy arrays inside one sample into tensors, leaving everything else alone.

    What the DataLoader applies to each sample when automatic batching is off
    (`batch_size=None`).
    """
    if isinstance(data, Tensor):
        return data
    if isinstance(data, (np.ndarray, np.bool_, np.number)):
        if isinstance(data, np.ndarray) and data.dtype.kind in "SaUO":
            return data
        return _numpy_to_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        return _same_mapping_type(data, {key: default_convert(data[key]) for key in data})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return [default_convert(d) for d in data]
    return data
