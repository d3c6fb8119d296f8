"""hypergrad.utils.data against torch.utils.data.

Where no randomness is involved, both loaders are built over the same data and every batch
must be the same: same nesting (dict / list / namedtuple), same dtypes, shapes and values.
Shuffled orders come from different random generators, so for them we check what must hold:
each epoch is a permutation, a seeded generator repeats its orders, epochs differ.
"""

from __future__ import annotations

import collections
import warnings

import numpy as np
import pytest
import torch
import torch.utils.data as tdata
from hypothesis import given, settings
from hypothesis import strategies as st

import hypergrad as hg
import hypergrad.utils.data as hdata


def plain(value):
    """A library-neutral picture of a batch: tensors become (dtype name, shape, values)."""
    if isinstance(value, (torch.Tensor, hg.Tensor)):
        return ("tensor", str(value.dtype).split(".")[-1], tuple(value.shape),
                value.detach().numpy().tolist())
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return (type(value).__name__, [plain(v) for v in value])
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [plain(v) for v in value])
    return value


def to_lib(lib, sample):
    """The same sample with HyperGrad tensors replaced by the library's own."""
    if isinstance(sample, hg.Tensor):
        return lib.tensor(sample.numpy().copy())
    if isinstance(sample, tuple) and hasattr(sample, "_fields"):
        return type(sample)(*(to_lib(lib, s) for s in sample))
    if isinstance(sample, dict):
        return {k: to_lib(lib, v) for k, v in sample.items()}
    if isinstance(sample, (list, tuple)):
        return type(sample)(to_lib(lib, s) for s in sample)
    return sample


def batches(module, dataset, **kwargs):
    return [plain(b) for b in module.DataLoader(dataset, **kwargs)]


Point = collections.namedtuple("Point", "x y")

SAMPLES = {
    "tensor": lambda i: hg.tensor([float(i), 2.0 * i]),
    "int tensor 0-dim": lambda i: hg.tensor(i),
    "float": lambda i: i / 4,
    "int": lambda i: i,
    "bool": lambda i: i % 2 == 0,
    "numpy float32 array": lambda i: np.full((2, 2), i, np.float32),
    "numpy int16 array": lambda i: np.arange(3, dtype=np.int16) * i,
    "numpy scalar": lambda i: np.float32(i) / 3,
    "numpy int64 scalar": lambda i: np.int64(i),
    "string": lambda i: f"sample {i}",
    "tuple": lambda i: (hg.tensor([float(i)]), i),
    "list": lambda i: [i, float(i), "x"],
    "dict": lambda i: {"image": np.ones((2,)) * i, "label": i, "name": str(i)},
    "ordered dict": lambda i: collections.OrderedDict(b=i, a=float(i)),
    "namedtuple": lambda i: Point(hg.tensor(float(i)), i),
    "nested": lambda i: {"pair": (hg.tensor([i, i]), {"w": [float(i)]}), "id": i},
}


@pytest.mark.parametrize("kind", list(SAMPLES))
@pytest.mark.parametrize("batch_size,drop_last", [(1, False), (3, False), (3, True), (None, False)])
def test_batches_equal_torch(kind, batch_size, drop_last):
    data = [SAMPLES[kind](i) for i in range(7)]
    ours = batches(hdata, [to_lib(hg, s) for s in data], batch_size=batch_size,
                   drop_last=drop_last)
    theirs = batches(tdata, [to_lib(torch, s) for s in data], batch_size=batch_size,
                     drop_last=drop_last)
    assert ours == theirs


def test_tensor_dataset_equals_torch():
    x = np.arange(30, dtype=np.float32).reshape(10, 3)
    y = np.arange(10)
    ours = hdata.TensorDataset(hg.tensor(x), hg.tensor(y))
    theirs = tdata.TensorDataset(torch.tensor(x), torch.tensor(y))
    assert len(ours) == len(theirs) == 10
    assert plain(ours[3]) == plain(theirs[3])
    assert plain(ours[-1]) == plain(theirs[-1])
    for kwargs in (dict(batch_size=4), dict(batch_size=4, drop_last=True), dict(batch_size=10)):
        assert batches(hdata, ours, **kwargs) == batches(tdata, theirs, **kwargs)
        assert len(hdata.DataLoader(ours, **kwargs)) == len(tdata.DataLoader(theirs, **kwargs))


def test_tensor_dataset_size_mismatch_like_torch():
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        hdata.TensorDataset(hg.zeros(3), hg.zeros(4))


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 40), batch_size=st.integers(1, 12), drop_last=st.booleans())
def test_length_and_batch_sizes_equal_torch(n, batch_size, drop_last):
    ours = hdata.DataLoader(range(n), batch_size=batch_size, drop_last=drop_last)
    theirs = tdata.DataLoader(range(n), batch_size=batch_size, drop_last=drop_last)
    assert len(ours) == len(theirs)
    assert [b.tolist() for b in ours] == [b.tolist() for b in theirs]


def test_samplers_and_batch_samplers_equal_torch():
    data = list(range(10))
    order = [3, 1, 4, 1, 5, 9, 2, 6]
    for kwargs in (dict(sampler=order, batch_size=3), dict(batch_sampler=[[0, 1], [9], [2, 2, 8]]),
                   dict(sampler=order, batch_size=None)):
        assert batches(hdata, data, **kwargs) == batches(tdata, data, **kwargs)
    assert list(hdata.SequentialSampler(data)) == list(tdata.SequentialSampler(data))
    for size, drop in ((3, False), (3, True), (5, True)):
        ours = hdata.BatchSampler(hdata.SequentialSampler(data), size, drop)
        theirs = tdata.BatchSampler(tdata.SequentialSampler(data), size, drop)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)


def test_custom_collate_fn():
    loader = hdata.DataLoader(range(5), batch_size=2, collate_fn=lambda samples: sum(samples))
    assert list(loader) == [1, 5, 4]


def test_getitems_is_used_for_whole_batches():
    class Batched(hdata.Dataset):
        calls = []

        def __getitem__(self, i):
            raise AssertionError("should read whole batches")

        def __getitems__(self, indices):
            self.calls.append(list(indices))
            return [float(i) for i in indices]

        def __len__(self):
            return 5

    out = [b.tolist() for b in hdata.DataLoader(Batched(), batch_size=2)]
    assert out == [[0.0, 1.0], [2.0, 3.0], [4.0]]
    assert Batched.calls == [[0, 1], [2, 3], [4]]


def test_num_workers_is_accepted_and_gives_the_same_batches():
    data = [hg.tensor([float(i)]) for i in range(6)]
    plainly = batches(hdata, data, batch_size=4)
    assert batches(hdata, data, batch_size=4, num_workers=2, pin_memory=True,
                   persistent_workers=True, prefetch_factor=4) == plainly


# ----------------------------------------------------------------------------------------------
# Shuffling
# ----------------------------------------------------------------------------------------------
def epoch_orders(loader, epochs=3):
    return [[int(i) for batch in loader for i in batch.tolist()] for _ in range(epochs)]


def test_shuffle_gives_a_new_permutation_every_epoch():
    loader = hdata.DataLoader(range(50), batch_size=8, shuffle=True,
                              generator=hg.Generator().manual_seed(0))
    orders = epoch_orders(loader)
    for order in orders:
        assert sorted(order) == list(range(50))
    assert orders[0] != orders[1] != orders[2]
    assert orders[0] != list(range(50))


def test_a_seeded_generator_repeats_the_shuffle():
    def orders(seed):
        return epoch_orders(hdata.DataLoader(range(30), batch_size=4, shuffle=True,
                                             generator=hg.Generator().manual_seed(seed)))
    assert orders(7) == orders(7)
    assert orders(7) != orders(8)


def test_manual_seed_repeats_the_shuffle_without_a_generator():
    def orders():
        hg.manual_seed(123)
        return epoch_orders(hdata.DataLoader(range(30), batch_size=4, shuffle=True))
    assert orders() == orders()


def test_shuffle_drop_last_keeps_full_batches_only():
    loader = hdata.DataLoader(range(10), batch_size=4, shuffle=True, drop_last=True,
                              generator=hg.Generator().manual_seed(1))
    sizes = [len(b) for b in loader]
    assert sizes == [4, 4] and len(loader) == 2


def test_random_sampler():
    g = hg.Generator().manual_seed(0)
    assert sorted(hdata.RandomSampler(range(9), generator=g)) == list(range(9))
    long = list(hdata.RandomSampler(range(4), num_samples=10, generator=g))
    assert len(long) == 10 and sorted(long[:8]) == [0, 0, 1, 1, 2, 2, 3, 3]
    drawn = list(hdata.RandomSampler(range(3), replacement=True, num_samples=50, generator=g))
    assert len(drawn) == 50 and set(drawn) <= {0, 1, 2}
    assert len(hdata.RandomSampler(range(3), replacement=True, num_samples=50)) == 50


def test_weighted_random_sampler():
    sampler = hdata.WeightedRandomSampler([0.0, 1.0, 3.0], num_samples=4000,
                                          generator=hg.Generator().manual_seed(0))
    counts = np.bincount(list(sampler), minlength=3)
    assert len(sampler) == 4000 and counts[0] == 0
    assert 2.7 < counts[2] / counts[1] < 3.3
    once = list(hdata.WeightedRandomSampler([1, 1, 1, 1], 4, replacement=False))
    assert sorted(once) == [0, 1, 2, 3]
    assert hdata.get_worker_info() is None


def test_subset_random_sampler():
    sampler = hdata.SubsetRandomSampler([10, 20, 30], generator=hg.Generator().manual_seed(0))
    assert sorted(sampler) == [10, 20, 30] and len(sampler) == 3


# ----------------------------------------------------------------------------------------------
# Iterable datasets
# ----------------------------------------------------------------------------------------------
def make_stream(module, n, with_len=True):
    """An IterableDataset of `module` streaming 0..n-1."""
    class Counting(module.IterableDataset):
        def __iter__(self):
            return iter(range(n))

    if with_len:
        Counting.__len__ = lambda self: n
    return Counting()


@pytest.mark.parametrize("kwargs", [dict(batch_size=3), dict(batch_size=3, drop_last=True),
                                    dict(batch_size=5), dict(batch_size=None), dict()])
def test_iterable_dataset_equals_torch(kwargs):
    for n in (0, 1, 9, 10):
        ours = hdata.DataLoader(make_stream(hdata, n), **kwargs)
        theirs = tdata.DataLoader(make_stream(tdata, n), **kwargs)
        assert [plain(b) for b in ours] == [plain(b) for b in theirs]
        assert len(ours) == len(theirs)


def test_chained_streams_equal_torch():
    for module in (hdata, tdata):
        chained = make_stream(module, 3) + make_stream(module, 2)
        assert list(chained) == [0, 1, 2, 0, 1] and len(chained) == 5
    ours = [b.tolist() for b in hdata.DataLoader(make_stream(hdata, 3) + make_stream(hdata, 2),
                                                 batch_size=2)]
    assert ours == [[0, 1], [2, 0], [1]]


def test_iterable_dataset_without_len():
    loader = hdata.DataLoader(make_stream(hdata, 5, with_len=False), batch_size=2)
    assert [b.tolist() for b in loader] == [[0, 1], [2, 3], [4]]
    with pytest.raises(TypeError):
        len(loader)


# ----------------------------------------------------------------------------------------------
# Subset, ConcatDataset, random_split
# ----------------------------------------------------------------------------------------------
def test_subset_and_concat():
    data = list(range(10, 20))
    subset = hdata.Subset(data, [4, 0, 9])
    assert [subset[i] for i in range(3)] == [14, 10, 19] and len(subset) == 3

    class Letters(hdata.Dataset):
        def __getitem__(self, i):
            return "abc"[i]

        def __len__(self):
            return 3

    both = Letters() + Letters()
    assert isinstance(both, hdata.ConcatDataset)
    assert [both[i] for i in range(6)] == list("abcabc") and both[-1] == "c"
    assert len(hdata.ConcatDataset([data, [1, 2]])) == 12
    with pytest.raises(ValueError, match="absolute value of index should not exceed"):
        both[-7]


@pytest.mark.parametrize("n,lengths", [(10, [3, 7]), (10, [0.3, 0.7]), (11, [0.5, 0.5]),
                                       (30, [0.3, 0.3, 0.4]), (7, [0.1, 0.1, 0.8]),
                                       (5, [1.0])])
def test_random_split_sizes_equal_torch(n, lengths):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = hdata.random_split(range(n), lengths, generator=hg.Generator().manual_seed(0))
        theirs = tdata.random_split(range(n), lengths, generator=torch.Generator().manual_seed(0))
    assert [len(s) for s in ours] == [len(s) for s in theirs]
    everything = sorted(i for split in ours for i in (split[j] for j in range(len(split))))
    assert everything == list(range(n))


def test_random_split_is_reproducible_with_a_generator():
    def split(seed):
        parts = hdata.random_split(range(20), [5, 15], generator=hg.Generator().manual_seed(seed))
        return [list(p.indices) for p in parts]
    assert split(3) == split(3)
    assert split(3) != split(4)


def test_random_split_warns_about_an_empty_split_like_torch():
    for module in (tdata, hdata):
        with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
            module.random_split(range(3), [0.1, 0.1, 0.8])


# ----------------------------------------------------------------------------------------------
# Errors a user can make, with torch's types and messages
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda m: m.DataLoader(range(5), sampler=[0, 1], shuffle=True),
    lambda m: m.DataLoader(range(5), batch_sampler=[[0]], batch_size=2),
    lambda m: m.DataLoader(range(5), batch_sampler=[[0]], drop_last=True),
    lambda m: m.DataLoader(range(5), batch_size=None, drop_last=True),
    lambda m: m.DataLoader(range(5), num_workers=-1),
    lambda m: m.DataLoader(range(5), timeout=-1),
    lambda m: m.DataLoader(range(5), prefetch_factor=2),
    lambda m: m.DataLoader(range(5), persistent_workers=True),
    lambda m: m.DataLoader(make_stream(m, 3), shuffle=True),
    lambda m: m.DataLoader(make_stream(m, 3), sampler=[0]),
    lambda m: m.DataLoader(make_stream(m, 3), batch_sampler=[[0]]),
    lambda m: m.BatchSampler(range(3), 0, False),
    lambda m: m.BatchSampler(range(3), 2, 1),
    lambda m: m.RandomSampler(range(3), num_samples=0),
    lambda m: m.RandomSampler(range(3), replacement=1),
    lambda m: m.WeightedRandomSampler([1.0, 2.0], num_samples=0),
    lambda m: m.WeightedRandomSampler([1.0, 2.0], num_samples=2, replacement=None),
    lambda m: m.WeightedRandomSampler([[1.0, 2.0]], num_samples=2),
    lambda m: m.random_split(range(5), [2, 2]),
    lambda m: m.random_split(range(5), [1.5, -0.5]),
    lambda m: m.ConcatDataset([]),
    lambda m: list(m.DataLoader([object(), object()], batch_size=2)),
    lambda m: list(m.DataLoader([[1, 2], [3]], batch_size=2)),
    lambda m: m.Dataset()[0],
])
def test_errors_match_torch(make):
    errors = []
    for module in (tdata, hdata):
        with pytest.raises(Exception) as info:
            make(module)
        errors.append(info.value)
    theirs, ours = errors
    assert type(ours) is type(theirs)
    text = str(ours).replace("hypergrad.utils.data", "torch.utils.data")
    assert text.split(" at 0x")[0] == str(theirs).split(" at 0x")[0]


def test_a_training_loop_reads_every_sample_once_per_epoch():
    x = hg.tensor(np.arange(20.0).reshape(10, 2))
    y = hg.tensor(np.arange(10))
    loader = hdata.DataLoader(hdata.TensorDataset(x, y), batch_size=3, shuffle=True,
                              generator=hg.Generator().manual_seed(0))
    for _ in range(2):
        seen = []
        for xb, yb in loader:
            assert xb.shape[1:] == (2,) and xb.dtype == hg.float64 and yb.dtype == hg.int64
            np.testing.assert_array_equal(xb.numpy()[:, 0], 2 * yb.numpy())
            seen.extend(yb.tolist())
        assert sorted(seen) == list(range(10))
