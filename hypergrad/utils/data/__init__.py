"""hypergrad.utils.data: datasets, samplers and the DataLoader (`torch.utils.data`).

    from hypergrad.utils.data import DataLoader, TensorDataset, random_split

    dataset = TensorDataset(x, y)
    train, valid = random_split(dataset, [0.8, 0.2], generator=hg.Generator().manual_seed(0))
    for xb, yb in DataLoader(train, batch_size=32, shuffle=True):
        ...

dataset.py (what samples are), sampler.py (in which order), collate.py (how samples become a
batch), dataloader.py (the loop that puts them together).
"""

from .collate import default_collate, default_convert
from .dataloader import DataLoader, get_worker_info
from .dataset import (ChainDataset, ConcatDataset, Dataset, IterableDataset, Subset,
                      TensorDataset, random_split)
from .sampler import (BatchSampler, RandomSampler, Sampler, SequentialSampler,
                      SubsetRandomSampler, WeightedRandomSampler)

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "ConcatDataset", "ChainDataset",
           "Subset", "random_split", "DataLoader", "get_worker_info", "Sampler",
           "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
           "BatchSampler", "default_collate", "default_convert"]
