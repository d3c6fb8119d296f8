"""Train an MLP and a small CNN on the scikit-learn digits with HyperGrad.

    python examples/train_digits.py                       # both models, into ./digits-output
    python examples/train_digits.py --model cnn --epochs 5 --out /tmp/digits

The digits are 1797 grey 8x8 images of the numbers 0 to 9 (`sklearn.datasets.load_digits`,
shipped with scikit-learn, nothing to download). They are split, with a fixed seed, into a
training set, a validation set watched after every epoch, and a test set looked at once, at
the end. Each model is trained with a DataLoader, Adam (its learning rate annealed along a
cosine) and cross entropy; the per-epoch loss and accuracy are drawn with
`hypergrad.viz.plot_history`; the trained weights are saved with `hypergrad.save`, loaded into
a fresh model, and that model is tested again. Both reach 97% test accuracy or more.

Everything here runs unchanged with `torch` in place of `hypergrad` (except the plot).
A progress bar is shown with tqdm or rich when one of them is installed.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import hypergrad as hg
import hypergrad.nn.functional as F
from hypergrad import nn
from hypergrad.utils.data import DataLoader, TensorDataset

# Epochs, learning rate and batch size per model: enough for at least 97% test accuracy.
SETTINGS = {"mlp": {"epochs": 40, "lr": 3e-3, "batch_size": 32},
            "cnn": {"epochs": 25, "lr": 5e-3, "batch_size": 32}}


def build_model(name):
    """A fresh, randomly initialised network: `mlp` or `cnn`. Both take N x 1 x 8 x 8 images."""
    if name == "mlp":
        return nn.Sequential(
            nn.Flatten(),                                            # N x 64
            nn.Linear(64, 256), nn.ReLU(), nn.Dropout(0.2),
            nn.Linear(256, 128), nn.ReLU(), nn.Dropout(0.2),
            nn.Linear(128, 10),
        )
    if name == "cnn":
        return nn.Sequential(
            nn.Conv2d(1, 16, kernel_size=3, padding=1), nn.ReLU(),   # N x 16 x 8 x 8
            nn.MaxPool2d(2),                                         # N x 16 x 4 x 4
            nn.Conv2d(16, 32, kernel_size=3, padding=1), nn.ReLU(),  # N x 32 x 4 x 4
            nn.MaxPool2d(2),                                         # N x 32 x 2 x 2
            nn.Flatten(),                                            # N x 128
            nn.Linear(128, 10),
        )
    raise ValueError(f"unknown model {name!r}: expected 'mlp' or 'cnn'")


def load_digits(seed):
    """Train, validation and test TensorDatasets (70% / 10% / 20%), images scaled to [0, 1]."""
    from sklearn.datasets import load_digits as sklearn_digits

    digits = sklearn_digits()
    images = (digits.images / 16.0).astype(np.float32)[:, None]      # N x 1 x 8 x 8
    labels = digits.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(images))
    n_test, n_val = len(images) // 5, len(images) // 10
    parts = np.split(order, [n_test, n_test + n_val])
    test, val, train = (TensorDataset(hg.tensor(images[idx]), hg.tensor(labels[idx]))
                        for idx in parts)
    return train, val, test


def progress(iterable, description, enabled):
    """Wrap `iterable` in a progress bar: tqdm if installed, else rich, else none."""
    if not enabled:
        return iterable
    try:
        from tqdm import tqdm
        return tqdm(iterable, desc=description, leave=False)
    except ImportError:
        pass
    try:
        from rich.progress import track
        return track(iterable, description=description, transient=True)
    except ImportError:
        return iterable


def evaluate(model, dataset, batch_size=256):
    """Mean cross-entropy loss and accuracy of `model` on `dataset`, without building a graph."""
    model.eval()
    total_loss, correct = 0.0, 0
    with hg.no_grad():
        for images, labels in DataLoader(dataset, batch_size=batch_size):
            logits = model(images)
            total_loss += F.cross_entropy(logits, labels, reduction="sum").item()
            correct += (logits.argmax(dim=1) == labels).sum().item()
    model.train()
    return total_loss / len(dataset), correct / len(dataset)


def train(model, train_set, val_set, epochs, lr, batch_size, seed, show_progress):
    """Train `model` in place; returns the history: one number per epoch under each key."""
    loader = DataLoader(train_set, batch_size=batch_size, shuffle=True,
                        generator=hg.Generator().manual_seed(seed))
    optimizer = hg.optim.Adam(model.parameters(), lr=lr)
    # the learning rate falls from `lr` to 0 along half a cosine: big steps first, fine ones last
    scheduler = hg.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    history = {"train_loss": [], "val_loss": [], "train_acc": [], "val_acc": []}
    for epoch in range(1, epochs + 1):
        total_loss, correct = 0.0, 0
        for images, labels in progress(loader, f"epoch {epoch}/{epochs}", show_progress):
            optimizer.zero_grad()                     # clear the last step's gradients
            logits = model(images)                    # forward: records the graph
            loss = F.cross_entropy(logits, labels)
            loss.backward()                           # backward: fills every p.grad
            optimizer.step()                          # update the parameters in place
            total_loss += loss.item() * len(labels)
            correct += (logits.argmax(dim=1) == labels).sum().item()
        scheduler.step()
        val_loss, val_acc = evaluate(model, val_set)
        history["train_loss"].append(total_loss / len(train_set))
        history["train_acc"].append(correct / len(train_set))
        history["val_loss"].append(val_loss)
        history["val_acc"].append(val_acc)
        print(f"  epoch {epoch:3d}  train loss {history['train_loss'][-1]:.4f} "
              f"acc {history['train_acc'][-1]:.2%}   val loss {val_loss:.4f} acc {val_acc:.2%}",
              flush=True)
    return history


def run(name, datasets, epochs, out, seed, show_progress):
    """Train, plot, save, reload and test one model; returns its test accuracy."""
    from hypergrad.viz import plot_history

    train_set, val_set, test_set = datasets
    settings = dict(SETTINGS[name])
    settings["epochs"] = epochs if epochs is not None else settings["epochs"]
    hg.manual_seed(seed)                              # the same initial weights on every run
    model = build_model(name)
    print(f"{name}: {sum(p.numel() for p in model.parameters())} parameters, {settings}")

    start = time.perf_counter()
    history = train(model, train_set, val_set, seed=seed, show_progress=show_progress,
                    **settings)
    print(f"{name}: trained in {time.perf_counter() - start:.1f} s")
    _, accuracy = evaluate(model, test_set)
    print(f"{name}: test accuracy {accuracy:.2%}")

    plot_history(history, out / f"{name}_history.png")
    weights = out / f"{name}.safetensors"
    hg.save(model.state_dict(), weights)

    reloaded = build_model(name)
    reloaded.load_state_dict(hg.load(weights))
    _, reloaded_accuracy = evaluate(reloaded, test_set)
    print(f"{name}: reloaded from {weights}, test accuracy {reloaded_accuracy:.2%}")
    if reloaded_accuracy != accuracy:
        raise RuntimeError(f"{name}: the reloaded model scores {reloaded_accuracy:.2%}, "
                           f"the trained one {accuracy:.2%}")
    return accuracy


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=None,
                        help=f"epochs per model (default: mlp {SETTINGS['mlp']['epochs']}, "
                             f"cnn {SETTINGS['cnn']['epochs']})")
    parser.add_argument("--out", type=Path, default=Path("digits-output"),
                        help="where the plots and weights go (default: ./digits-output)")
    parser.add_argument("--model", choices=["mlp", "cnn", "both"], default="both")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.epochs is not None and args.epochs < 1:
        parser.error("--epochs must be at least 1")

    args.out.mkdir(parents=True, exist_ok=True)
    datasets = load_digits(args.seed)
    print("digits: " + ", ".join(f"{part} {len(d)}" for part, d in
                                 zip(("train", "val", "test"), datasets)))
    names = ["mlp", "cnn"] if args.model == "both" else [args.model]
    accuracies = {name: run(name, datasets, args.epochs, args.out, args.seed,
                            not args.no_progress) for name in names}
    print("test accuracy: " + ", ".join(f"{name} {acc:.2%}" for name, acc in accuracies.items()))
    return accuracies


if __name__ == "__main__":
    main()
