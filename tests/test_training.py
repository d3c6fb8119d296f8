"""Training end to end: the same network trained by HyperGrad and by torch gives the same losses.

Each test builds one architecture in both libraries, copies torch's initial weights into the
HyperGrad model (through numpy), and feeds both the same float64 batches of the scikit-learn
digits (8x8 images, 10 classes). After every one of 20 optimizer steps the two losses agree to
1e-8, relative: forward, cross entropy, backward through Linear/Conv2d/MaxPool2d and the
optimizer's update all match torch's.

The last tests run examples/train_digits.py end to end in a subprocess.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import hypergrad as hg

sklearn_datasets = pytest.importorskip("sklearn.datasets")

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "train_digits.py"
STEPS = 20
BATCH = 32


def digits_batches(steps=STEPS, batch=BATCH, seed=0):
    """`steps` float64 batches (images scaled to [0, 1], labels), drawn without replacement."""
    digits = sklearn_datasets.load_digits()
    images = (digits.images / 16.0).astype(np.float64)[:, None]   # N x 1 x 8 x 8
    order = np.random.default_rng(seed).permutation(len(images))[:steps * batch]
    return [(images[idx], digits.target[idx]) for idx in order.reshape(steps, batch)]


def mlp(nn):
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))


def cnn(nn):
    return nn.Sequential(
        nn.Conv2d(1, 8, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 2 * 2, 10),
    )


OPTIMIZERS = {
    "sgd_momentum": lambda lib, params: lib.optim.SGD(params, lr=0.1, momentum=0.9,
                                                      nesterov=False, weight_decay=1e-4),
    "adam": lambda lib, params: lib.optim.Adam(params, lr=1e-2),
}


def twin_models(architecture):
    """The architecture in torch (seeded init) and in HyperGrad with torch's weights, float64."""
    torch.manual_seed(0)
    torch_model = architecture(torch.nn).double()
    hg_model = architecture(hg.nn).double()
    hg_model.load_state_dict({name: hg.tensor(value.detach().numpy().copy())
                              for name, value in torch_model.state_dict().items()})
    return torch_model, hg_model


def train_losses(lib, model, optimizer, batches):
    losses = []
    for images, labels in batches:
        optimizer.zero_grad()
        loss = lib.nn.functional.cross_entropy(model(lib.tensor(images)), lib.tensor(labels))
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return np.array(losses)


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
@pytest.mark.parametrize("architecture", [mlp, cnn], ids=["mlp", "cnn"])
def test_losses_match_torch_for_20_steps(architecture, optimizer):
    batches = digits_batches()
    torch_model, hg_model = twin_models(architecture)
    make_optimizer = OPTIMIZERS[optimizer]
    expected = train_losses(torch, torch_model, make_optimizer(torch, torch_model.parameters()),
                            batches)
    actual = train_losses(hg, hg_model, make_optimizer(hg, hg_model.parameters()), batches)

    np.testing.assert_allclose(actual, expected, rtol=1e-8, atol=0)
    assert expected[-1] < expected[0], "the networks did not learn: the comparison is vacuous"
    for name, value in torch_model.state_dict().items():
        np.testing.assert_allclose(hg_model.state_dict()[name].numpy(), value.numpy(),
                                   rtol=1e-7, atol=1e-10, err_msg=name)


def test_same_initial_weights_give_same_outputs():
    torch_model, hg_model = twin_models(cnn)
    images, _ = digits_batches(steps=1)[0]
    np.testing.assert_allclose(hg_model(hg.tensor(images)).detach().numpy(),
                               torch_model(torch.tensor(images)).detach().numpy(),
                               rtol=1e-12, atol=1e-14)


# --------------------------------------------------------------------------------------------
def run_example(tmp_path, *args):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    result = subprocess.run([sys.executable, str(EXAMPLE), "--out", str(tmp_path), *args],
                            capture_output=True, text=True, env=env, timeout=600,
                            check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_example_runs_end_to_end(tmp_path):
    out = run_example(tmp_path, "--epochs", "1", "--model", "both", "--no-progress")
    for name in ("mlp", "cnn"):
        assert (tmp_path / f"{name}_history.png").stat().st_size > 0
        assert (tmp_path / f"{name}.safetensors").stat().st_size > 0
        assert re.search(rf"{name}: test accuracy \d+\.\d+%", out), out
        assert re.search(rf"{name}: reloaded from .*, test accuracy \d+\.\d+%", out), out


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("HYPERGRAD_SLOW") != "1",
                    reason="full training run: set HYPERGRAD_SLOW=1")
def test_example_reaches_97_percent(tmp_path):
    out = run_example(tmp_path, "--model", "both", "--no-progress")
    accuracies = {name: float(value) for name, value in
                  re.findall(r"^(\w+): test accuracy (\d+\.\d+)%", out, re.MULTILINE)}
    assert set(accuracies) == {"mlp", "cnn"}, out
    assert min(accuracies.values()) >= 97.0, out
