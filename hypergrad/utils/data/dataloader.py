"""DataLoader: iterate over a dataset in batches (torch/utils/data/dataloader.py).

    loader = DataLoader(dataset, batch_size=32, shuffle=True)
    for x, y in loader:          # one epoch; iterate again for the next (a new shuffle)
        ...

How one batch is made, for a map-style dataset:
    1. the *batch sampler* yields a list of indices (BatchSampler over a Sequential- or
       RandomSampler, built from batch_size / shuffle / drop_last unless you pass your own);
    2. the *fetcher* reads those samples: `dataset.__getitems__(indices)` if the dataset has
       it, else `[dataset[i] for i in indices]`;
    3. `collate_fn` (default_collate) stacks the samples into tensors.
For an IterableDataset, step 1 and 2 become "take the next batch_size samples of the stream".
With `batch_size=None` there is no batching: each sample goes through `default_convert`.

HyperGrad loads data in the calling process: `num_workers` is accepted, so scripts written for
torch run unchanged, but no worker processes are started (the batches are the same).
"""

from __future__ import annotations

import math

from .collate import default_collate, default_convert
from .dataset import IterableDataset
from .sampler import BatchSampler, RandomSampler, SequentialSampler

__all__ = ["DataLoader", "get_worker_info"]


def get_worker_info():
    """Information about the worker process loading data: always None in HyperGrad, which
    loads in the calling process (torch returns None there too). An IterableDataset that
    splits its stream between workers therefore yields all of it."""
    return None


class DataLoader:
    """Batches of samples from `dataset` (`torch.utils.data.DataLoader`).

    Args: `dataset`; `batch_size` (1; None turns batching off); `shuffle` (False; True draws
    a new order every epoch from `generator`, or from the default generator, which
    `hypergrad.manual_seed` seeds); `sampler` (an iterable of indices, instead of `shuffle`);
    `batch_sampler` (an iterable of lists of indices, instead of `batch_size`, `shuffle`,
    `sampler` and `drop_last`); `collate_fn`; `drop_last` (False: keep a final short batch);
    `generator`. `num_workers`, `pin_memory`, `timeout`, `worker_init_fn`,
    `prefetch_factor` and `persistent_workers` are checked like torch's and otherwise have
    no effect: HyperGrad loads in the calling process.
    """

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor=None, persistent_workers=False):
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to "
                             "disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in "
                             "multiprocessing.let num_workers > 0 to enable multiprocessing, "
                             "otherwise set prefetch_factor to None.")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")

        self.dataset = dataset
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.prefetch_factor = prefetch_factor
        self.persistent_workers = persistent_workers
        self._is_iterable = isinstance(dataset, IterableDataset)

        if self._is_iterable:
            if shuffle not in {False, None}:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle "
                                 f"option, but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified sampler "
                                 f"option, but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                 f"batch_sampler option, but got batch_sampler={batch_sampler}")
        else:
            shuffle = bool(shuffle)

        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")

        if sampler is None and not self._is_iterable:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else \
                SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None and not self._is_iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn

    @property
    def _auto_collation(self):
        """Whether samples are grouped into batches (batch_size or batch_sampler given)."""
        return self.batch_size is not None or self.batch_sampler is not None

    def __iter__(self):
        if self._is_iterable:
            return self._iterate_stream()
        return self._iterate_map()

    def _iterate_map(self):
        if not self._auto_collation:
            for index in self.sampler:
                yield self.collate_fn(self.dataset[index])
            return
        get_many = getattr(self.dataset, "__getitems__", None)
        for indices in self.batch_sampler:
            samples = get_many(indices) if get_many else [self.dataset[i] for i in indices]
            yield self.collate_fn(samples)

    def _iterate_stream(self):
        stream = iter(self.dataset)
        if not self._auto_collation:
            for sample in stream:
                yield self.collate_fn(sample)
            return
        while True:
            samples = []
            for sample in stream:
                samples.append(sample)
                if len(samples) == self.batch_size:
                    break
            if not samples or (self.drop_last and len(samples) < self.batch_size):
                return
            yield self.collate_fn(samples)
            if len(samples) < self.batch_size:
                return

    def __len__(self):
        """The number of batches in one epoch (for an IterableDataset: from its `__len__`)."""
        if self._is_iterable:
            length = len(self.dataset)
            if self.batch_size is None:
                return length
            return length // self.batch_size if self.drop_last else \
                math.ceil(length / self.batch_size)
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.sampler)
