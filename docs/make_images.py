"""Make the pictures of docs/visualize.md (docs/images/) from real runs.

    python docs/make_images.py

Every picture comes from running HyperGrad: the graphs are drawn by `hypergrad.viz.draw_graph`
and rendered by the Graphviz program, the step-by-step page is written by `explain_backward`
and photographed in headless Chromium, the training curves come from training a small network.
Needs the `viz` extra and Graphviz (`apt-get install graphviz`); the screenshot also needs
Playwright and Debian's chromium (`pip install playwright`, `apt-get install chromium`) and is
skipped with a message without them. Seeds are fixed, so a rerun draws the same pictures.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import numpy as np

import hypergrad as hg
import hypergrad.nn.functional as F
from hypergrad import nn, viz

IMAGES = Path(__file__).resolve().parent / "images"
CHROMIUM = "/usr/bin/chromium"


def small_graph():
    """docs/images/graph_small.svg: a two-input expression whose paths meet."""
    x = hg.tensor([1.0, 2.0], requires_grad=True)
    w = hg.tensor([0.5, -1.0], requires_grad=True)
    loss = (x * w + x.exp()).sum()
    graph = viz.draw_graph({"loss": loss}, params={"x": x, "w": w})
    return viz.render_graph(graph, IMAGES / "graph_small.svg")


def saved_graph():
    """docs/images/graph_saved.svg: the same, with saved tensors and attributes."""
    x = hg.tensor([1.0, 2.0], requires_grad=True)
    w = hg.tensor([0.5, -1.0], requires_grad=True)
    loss = (x * w + x.exp()).sum()
    graph = viz.draw_graph({"loss": loss}, params={"x": x, "w": w}, show_saved=True,
                           show_attrs=True)
    return viz.render_graph(graph, IMAGES / "graph_saved.svg")


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(2, 16)
        self.act = nn.Tanh()
        self.out = nn.Linear(16, 2)

    def forward(self, x):
        return self.out(self.act(self.hidden(x)))


def model_graph():
    """docs/images/graph_model.svg: a classifier and its loss, framed by module."""
    hg.manual_seed(0)
    model, loss_fn = Classifier(), nn.CrossEntropyLoss()
    with viz.record_modules(model, loss_fn) as modules:
        loss = loss_fn(model(hg.randn(8, 2)), hg.randint(0, 2, (8,)))
    graph = viz.draw_graph({"loss": loss}, params=dict(model.named_parameters()),
                           modules=modules)
    return viz.render_graph(graph, IMAGES / "graph_model.svg")


def explain_screenshot():
    """docs/images/explain_backward.png: the step-by-step page where two paths meet."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("skipped explain_backward.png: Playwright is not installed", file=sys.stderr)
        return None
    if not os.path.exists(CHROMIUM):
        print(f"skipped explain_backward.png: no Chromium at {CHROMIUM}", file=sys.stderr)
        return None
    x = hg.tensor([1.0, 2.0], requires_grad=True)
    w = hg.tensor([0.5, -1.0], requires_grad=True)
    loss = (x * w + x.exp()).sum()
    with tempfile.TemporaryDirectory() as folder:
        trace = viz.explain_backward(loss, Path(folder) / "backward.html",
                                     params={"x": x, "w": w})
        meeting = next(i for i, step in enumerate(trace.steps)
                       if step["kind"] == "send" and "the two are added" in step["text"])
        path = IMAGES / "explain_backward.png"
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                str(Path(folder) / "profile"), executable_path=CHROMIUM, headless=True,
                viewport={"width": 1180, "height": 640},
                args=["--no-sandbox", "--headless", "--disable-gpu",
                      "--disable-background-networking", "--disable-component-update",
                      "--disable-sync", "--no-first-run", "--disable-quic"])
            page = context.new_page()
            page.goto(trace.path.as_uri())
            page.keyboard.press("Home")
            for _ in range(meeting):
                page.keyboard.press("ArrowRight")
            page.screenshot(path=str(path))
            context.close()
    return path


def two_moons(n, rng):
    """Two interleaved half circles with noise: a small problem a line cannot separate."""
    angle = rng.uniform(0, np.pi, n)
    label = rng.integers(0, 2, n)
    x = np.where(label == 0, np.cos(angle), 1 - np.cos(angle))
    y = np.where(label == 0, np.sin(angle), 0.5 - np.sin(angle))
    points = np.stack([x, y], axis=1) + rng.normal(0, 0.15, (n, 2))
    return hg.tensor(points.astype(np.float32)), hg.tensor(label)


def history_plot():
    """docs/images/history.png: training a Classifier on two moons, 20 epochs."""
    rng = np.random.default_rng(0)
    hg.manual_seed(0)
    train_x, train_y = two_moons(240, rng)
    val_x, val_y = two_moons(80, rng)
    model = Classifier()
    optimizer = hg.optim.Adam(model.parameters(), lr=0.02)
    history = {"train_loss": [], "val_loss": [], "train_acc": [], "val_acc": []}
    for _ in range(20):
        order = rng.permutation(len(train_y))
        losses, correct = [], 0
        for start in range(0, len(order), 32):
            batch = hg.tensor(order[start:start + 32])
            logits = model(train_x[batch])
            loss = F.cross_entropy(logits, train_y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item() * len(batch))
            correct += (logits.argmax(1) == train_y[batch]).sum().item()
        history["train_loss"].append(sum(losses) / len(order))
        history["train_acc"].append(correct / len(order))
        with hg.no_grad():
            logits = model(val_x)
            history["val_loss"].append(F.cross_entropy(logits, val_y).item())
            history["val_acc"].append((logits.argmax(1) == val_y).float().mean().item())
    path = IMAGES / "history.png"
    viz.plot_history(history, path, dpi=90)
    return path


def main():
    IMAGES.mkdir(exist_ok=True)
    if not viz.graphviz_available():
        sys.exit("docs/make_images.py needs the Graphviz program: apt-get install graphviz")
    for make in (small_graph, saved_graph, model_graph, explain_screenshot, history_plot):
        path = make()
        if path is not None:
            print(f"wrote {path.relative_to(IMAGES.parent.parent)} "
                  f"({path.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
