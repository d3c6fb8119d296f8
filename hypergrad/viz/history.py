"""Training pictures: `plot_history(history, path)` draws loss and accuracy per epoch.

`history` is a dict of lists, one number per epoch, with any of these keys:

    ==============  ============================================  ===================
    key             what                                          also accepted
    ==============  ============================================  ===================
    train_loss      mean training loss of the epoch               loss
    val_loss        loss on the validation set                    valid_loss, test_loss
    train_acc       training accuracy (a fraction or a percent)   acc, accuracy, train_accuracy
    val_acc         validation accuracy                           val_accuracy, valid_acc,
                                                                  test_acc
    epoch           the epoch numbers (default 1, 2, 3, ...)
    ==============  ============================================  ===================

Losses go in the left panel, accuracies in the right one (left out if there are none).
Another key is an error, so a misspelt key is not silently left out of the picture.
Validation lists may be shorter (e.g. validated only on later epochs); they are aligned to
the last epochs. `None` or NaN entries leave gaps.
"""

from __future__ import annotations

import math
from pathlib import Path

__all__ = ["HISTORY_KEYS", "plot_history"]

# canonical key -> (other names accepted, legend label, panel)
HISTORY_KEYS = {
    "train_loss": (("loss",), "train", "loss"),
    "val_loss": (("valid_loss", "test_loss"), "validation", "loss"),
    "train_acc": (("acc", "accuracy", "train_accuracy"), "train", "accuracy"),
    "val_acc": (("val_accuracy", "valid_acc", "test_acc"), "validation", "accuracy"),
}
_STYLE = {"train": {"color": "#1f6fc5", "marker": "o"},
          "validation": {"color": "#e4572e", "marker": "s"}}


def _canonical(history):
    """`{canonical key: list of floats}` and the epoch numbers, checking every key."""
    if not isinstance(history, dict):
        raise TypeError(f"history must be a dict of lists, got {type(history).__name__}")
    alias = {name: key for key, (others, _, _) in HISTORY_KEYS.items()
             for name in (key, *others)}
    series, epochs = {}, None
    for name, values in history.items():
        if name == "epoch":
            epochs = list(values)
            continue
        key = alias.get(name)
        if key is None:
            accepted = ", ".join(["epoch", *alias])
            raise ValueError(f"plot_history: unknown key {name!r}; accepted keys: {accepted}")
        if key in series:
            raise ValueError(f"plot_history: {name!r} and another key both mean {key!r}")
        series[key] = [math.nan if value is None else float(value) for value in values]
    if not any(series.values()):
        raise ValueError("plot_history: the history has no values to plot")
    length = max(len(values) for values in series.values())
    if epochs is None:
        epochs = list(range(1, length + 1))
    elif len(epochs) < length:
        raise ValueError(f"plot_history: 'epoch' has {len(epochs)} entries but a series has "
                         f"{length}")
    return series, epochs


def plot_history(history, path, title=None, dpi=110):
    """Draw loss (and accuracy, if present) per epoch, train and validation, to `path`.

    The format follows the extension: `.png`, `.svg`, `.pdf`. Uses matplotlib's Agg canvas
    directly (no pyplot, so no global state changes and no window). Returns the matplotlib
    Figure. See the module doc for the keys `history` may have.

    >>> fig = plot_history({"train_loss": [0.9, 0.5, 0.3], "val_loss": [1.0, 0.7, 0.5]},
    ...                    "history.png")
    """
    series, epochs = _canonical(history)
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("plot_history needs matplotlib: pip install 'hypergrad[viz]'") \
            from None
    panels = [panel for panel in ("loss", "accuracy")
              if any(HISTORY_KEYS[key][2] == panel for key in series)]
    figure = Figure(figsize=(5.2 * len(panels), 3.6), dpi=dpi, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, len(panels), squeeze=False)[0]
    for ax, panel in zip(axes, panels):
        for key, values in series.items():
            if HISTORY_KEYS[key][2] != panel or not values:
                continue
            label = HISTORY_KEYS[key][1]
            xs = epochs[len(epochs) - len(values):] if len(values) < len(epochs) else \
                epochs[:len(values)]
            ax.plot(xs, values, label=label, linewidth=1.8, markersize=4, **_STYLE[label])
        ax.set_xlabel("epoch")
        ax.set_ylabel(panel)
        ax.set_title(panel.capitalize() + " per epoch", fontsize=11)
        ax.grid(True, alpha=0.3)
        ax.legend(frameon=False)
        if len(epochs) <= 20:
            ax.set_xticks(epochs)
    if title:
        figure.suptitle(title)
    path = Path(path)
    figure.savefig(path, format=path.suffix.lstrip(".").lower() or "png")
    return figure
