"""Training benchmarks: one epoch on the digits, HyperGrad against torch in the same run.

    python benchmarks/bench_train.py            # both
    python benchmarks/bench_train.py cnn        # one

One epoch over the scikit-learn digits training set (1259 images of 8x8, batch 32, float32,
one thread), with the architectures of examples/train_digits.py: forward, cross entropy,
backward and an Adam step for every batch. Both libraries get the same initial weights and
the same batches.

1. mlp - 64 -> 256 -> 128 -> 10 with ReLU (no dropout).         Target: at most 1.5x torch.
2. cnn - two 3x3 Conv2d (16, 32 channels) with ReLU and 2x2 MaxPool2d, then Linear.
                                                                 Target: at most 3x torch.

Each timing is the best of several repeats, the two libraries interleaved (as in
bench_core.py), so that load on the machine hits both alike. The ratio is the result.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import functools
import sys
from pathlib import Path

import numpy as np

import hypergrad as hg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_core import best_of

try:
    import torch
except ImportError:  # pragma: no cover
    sys.exit("these benchmarks compare against torch: pip install torch==2.13.0")
try:
    from sklearn.datasets import load_digits
except ImportError:  # pragma: no cover
    sys.exit("the digits come with scikit-learn: pip install scikit-learn")

torch.set_num_threads(1)

TARGETS = {"mlp": 1.5, "cnn": 3.0}
BATCH = 32


def mlp(nn):
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 128),
                         nn.ReLU(), nn.Linear(128, 10))


def cnn(nn):
    return nn.Sequential(
        nn.Conv2d(1, 16, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(128, 10),
    )


def digits_batches(seed=0):
    """The example's training set (70% of the digits), shuffled once, cut into float32 batches."""
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[:, None]
    order = np.random.default_rng(seed).permutation(len(images))
    order = order[len(images) // 5 + len(images) // 10:]
    return [(images[idx], digits.target[idx]) for idx in
            np.array_split(order, range(BATCH, len(order), BATCH))]


def epoch(lib, model, optimizer, batches):
    for images, labels in batches:
        optimizer.zero_grad()
        loss = lib.nn.functional.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
    return loss.item()


def bench(architecture, repeats=5):
    batches = digits_batches()
    torch.manual_seed(0)
    torch_model = architecture(torch.nn)
    hg_model = architecture(hg.nn)
    hg_model.load_state_dict({name: hg.tensor(value.detach().numpy().copy())
                              for name, value in torch_model.state_dict().items()})
    fns = {}
    for name, lib, model in (("torch", torch, torch_model), ("hypergrad", hg, hg_model)):
        lib_batches = [(lib.tensor(x), lib.tensor(y)) for x, y in batches]
        optimizer = lib.optim.Adam(model.parameters(), lr=1e-3)
        fns[name] = functools.partial(epoch, lib, model, optimizer, lib_batches)
    return best_of(fns, repeats=repeats)


def main(argv=None):
    which = (argv if argv is not None else sys.argv[1:]) or ["mlp", "cnn"]
    architectures = {"mlp": mlp, "cnn": cnn}
    print(f"hypergrad {hg.__version__}, torch {torch.__version__}, numpy {np.__version__}, "
          f"1 thread each; one epoch of {len(digits_batches())} batches of {BATCH}")
    print(f"{'benchmark':10} {'torch':>12} {'hypergrad':>12} {'ratio':>7} {'target':>7}")
    ratios = {}
    for name in which:
        result = bench(architectures[name])
        ratio = result["hypergrad"] / result["torch"]
        ratios[name] = ratio
        verdict = "ok" if ratio <= TARGETS[name] else "OVER"
        print(f"{name:10} {result['torch'] * 1e3:9.1f} ms{result['hypergrad'] * 1e3:10.1f} ms"
              f"{ratio:7.2f}x {TARGETS[name]:5.1f}x  {verdict}")
    return ratios


if __name__ == "__main__":
    main()
