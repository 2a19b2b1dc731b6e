"""Pictures for the chapters: digits, feature maps, kernels, tables, curves.

Every function draws one figure with matplotlib and returns it. In a notebook,
assign the result (``fig = plot_history(history)``) so the figure shows once.

Example:
    >>> fig = show_digits(np.zeros((3, 28, 28), np.uint8), labels=[0, 1, 2])
    >>> len(fig.axes)
    3
"""

import matplotlib.pyplot as plt
import numpy as np


def _grid(n, ncols, size=1.2):
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + 0.3), squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    return fig, axes.flat


def show_digits(images, labels=None, predictions=None, *, ncols=10, title=None):
    """A grid of digits, captioned by label (and prediction, in red when wrong)."""
    images = np.asarray(images)
    fig, axes = _grid(len(images), ncols)
    for i, (ax, image) in enumerate(zip(axes, images)):
        ax.imshow(np.squeeze(image), cmap="gray_r")
        if predictions is not None:
            wrong = labels is not None and predictions[i] != labels[i]
            text = f"pred {predictions[i]}" + (f" (true {labels[i]})" if wrong else "")
            ax.set_title(text, fontsize=8, color="crimson" if wrong else "black")
        elif labels is not None:
            ax.set_title(str(labels[i]), fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def show_digits_per_class(images, labels, *, per_class=10):
    """One row per digit 0-9, the first ``per_class`` examples of each."""
    labels = np.asarray(labels)
    chosen = np.concatenate([np.flatnonzero(labels == d)[:per_class] for d in range(10)])
    fig, axes = _grid(len(chosen), per_class, size=0.8)
    for ax, index in zip(axes, chosen):
        ax.imshow(images[index], cmap="gray_r")
    fig.tight_layout()
    return fig


def show_maps(maps, *, title=None, ncols=8, cmap="RdBu_r"):
    """Feature maps ``(height, width, maps)`` side by side, on one shared colour scale."""
    maps = np.asarray(maps)
    if maps.ndim == 2:
        maps = maps[..., None]
    limit = float(np.abs(maps).max()) or 1.0
    fig, axes = _grid(maps.shape[-1], ncols, size=1.3)
    for i, ax in enumerate(axes):
        if i >= maps.shape[-1]:
            break
        ax.imshow(maps[..., i], cmap=cmap, vmin=-limit, vmax=limit)
        ax.set_title(str(i), fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def show_kernels(kernels, *, title=None, ncols=8):
    """Convolution kernels ``(k, k, 1, maps)`` or ``(k, k, maps)`` as small images."""
    kernels = np.asarray(kernels)
    if kernels.ndim == 4:
        kernels = kernels[:, :, 0, :]
    return show_maps(kernels, title=title, ncols=ncols, cmap="PuOr_r")


def plot_connection_table(table, *, title="C3 connection table (Table I of the paper)"):
    """A boolean table ``(input maps, output maps)`` as a heat map with an X per connection."""
    table = np.asarray(table, dtype=bool)
    fig, ax = plt.subplots(figsize=(0.45 * table.shape[1] + 1.5, 0.45 * table.shape[0] + 1.2))
    ax.imshow(table, cmap="Blues", vmin=0, vmax=1.4)
    for i, j in zip(*np.nonzero(table)):
        ax.text(j, i, "X", ha="center", va="center", fontsize=9)
    ax.set_xticks(range(table.shape[1]))
    ax.set_yticks(range(table.shape[0]))
    ax.set_xlabel("output map")
    ax.set_ylabel("input map")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_history(history, *, title=None):
    """Accuracy and loss per epoch, training and validation, as the seed tutorial plots them."""
    logs = history.history if hasattr(history, "history") else history
    metric = next(name for name in logs if name.endswith("accuracy") and not name.startswith("val_"))
    epochs = np.arange(1, len(logs["loss"]) + 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, name, label in ((left, metric, "accuracy"), (right, "loss", "loss")):
        ax.plot(epochs, logs[name], "o-", label="training")
        if "val_" + name in logs:
            ax.plot(epochs, logs["val_" + name], "s--", label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    left.set_title("accuracy")
    right.set_title("loss")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def confusion_matrix(labels, predictions, classes=10):
    """Counts: row = true digit, column = predicted digit."""
    matrix = np.zeros((classes, classes), dtype=int)
    np.add.at(matrix, (np.asarray(labels), np.asarray(predictions)), 1)
    return matrix


def plot_confusion_matrix(labels, predictions, *, title="Confusion matrix"):
    """The confusion matrix as a heat map with its counts written in."""
    matrix = confusion_matrix(labels, predictions)
    fig, ax = plt.subplots(figsize=(6, 5.2))
    image = ax.imshow(np.log1p(matrix), cmap="Blues")
    for i in range(10):
        for j in range(10):
            if matrix[i, j]:
                color = "white" if matrix[i, j] > matrix.max() / 3 else "black"
                ax.text(j, i, matrix[i, j], ha="center", va="center", fontsize=7, color=color)
    ax.set_xticks(range(10))
    ax.set_yticks(range(10))
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("true digit")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, label="log(1 + count)")
    fig.tight_layout()
    return fig


def show_bitmaps(bitmaps, *, title="The ten RBF output codes (7x12, +1 dark, -1 light)"):
    """The RBF output layer's ten 12x7 codes, one per digit."""
    bitmaps = np.asarray(bitmaps).reshape(-1, 12, 7)
    fig, axes = _grid(len(bitmaps), 10, size=0.9)
    for digit, (ax, bitmap) in enumerate(zip(axes, bitmaps)):
        ax.imshow(bitmap, cmap="gray_r", vmin=-1, vmax=1)
        ax.set_title(str(digit), fontsize=9)
    fig.suptitle(title)
    fig.tight_layout()
    return fig
