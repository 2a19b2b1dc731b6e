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


MAX_MAPS_PER_ROW = 8
"""Longer rows of maps wrap: at the book's column width a ninth map would be too small to read."""

MIN_FONT_PT = 8
"""The smallest text any figure here uses. At matplotlib's 100 dpi that is 11 pixels,
so text stays at 8 pixels or more as long as a page shows the figure at 72% of its
natural width or more (``tools/check_book_in_browser.py`` fails a page otherwise)."""


def _grid(n, ncols, size=0.85):
    ncols = max(1, min(ncols, n))
    size = min(size, 9.0 / ncols)  # at most 9 inches wide: legible at the book's column width
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + 0.3), squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    return fig, axes.flat


def show_digits(images, labels=None, predictions=None, *, ncols=10, title=None):
    """A grid of digits, captioned by label (and prediction, in red when wrong)."""
    images = np.asarray(images)
    fig, axes = _grid(len(images), ncols, size=1.15 if predictions is not None else 0.85)
    for i, (ax, image) in enumerate(zip(axes, images)):
        ax.imshow(np.squeeze(image), cmap="gray_r")
        if predictions is not None:
            wrong = labels is not None and predictions[i] != labels[i]
            text = f"read {predictions[i]}" + (f"\ntrue {labels[i]}" if wrong else "")
            ax.set_title(text, fontsize=11, color="crimson" if wrong else "black")
        elif labels is not None:
            ax.set_title(str(labels[i]), fontsize=11)
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


def show_maps(maps, *, title=None, ncols=MAX_MAPS_PER_ROW, cmap="RdBu_r"):
    """Feature maps ``(height, width, maps)`` side by side, on one shared colour scale (with its bar)."""
    maps = np.asarray(maps)
    if maps.ndim == 2:
        maps = maps[..., None]
    fig = compare_maps({"": maps}, cmap=cmap, size=1.1, ncols=ncols)
    if title:
        fig.suptitle(title)
    return fig


def show_kernels(kernels, *, title=None, ncols=8):
    """Convolution kernels ``(k, k, 1, maps)`` or ``(k, k, maps)`` as small images (red positive, blue negative)."""
    kernels = np.asarray(kernels)
    if kernels.ndim == 4:
        kernels = kernels[:, :, 0, :]
    return show_maps(kernels, title=title, ncols=ncols)


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
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4))
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
                ax.text(j, i, matrix[i, j], ha="center", va="center", fontsize=8, color=color)
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


def show_f6_output(image, features, distances, *, title=None):
    """One digit, F6's 84 outputs drawn as a 7x12 picture, the nearest RBF code, and all ten distances.

    F6 has 84 units because the paper's output codes are 7x12 bitmaps: a well
    trained F6 draws (roughly) the bitmap of the digit it reads. Both pictures
    use the codes' scale, -1 light to +1 dark.

    Example:
        >>> from lenet_course.layers import rbf_bitmaps
        >>> codes = rbf_bitmaps().reshape(10, 84)
        >>> fig = show_f6_output(np.zeros((28, 28), np.uint8), codes[3], ((codes - codes[3]) ** 2).sum(1))
        >>> [ax.get_title() for ax in fig.axes[:3]]
        ['input digit', 'F6 output (7x12)', 'nearest code: 3']

    Args:
        image: the input digit, ``(28, 28)``, ``(32, 32)`` or with a channel axis.
        features: F6's output for it, 84 values.
        distances: the RBF output for it, 10 values (smallest = the digit read).
    """
    features = np.asarray(features, dtype=float).reshape(-1)
    distances = np.asarray(distances, dtype=float).reshape(-1)
    if features.size != 84:
        raise ValueError(f"Expected features with 84 values (F6's output). Received: {features.size} values")
    if distances.size != 10:
        raise ValueError(f"Expected distances with 10 values (one per digit). Received: {distances.size} values")
    from .layers import rbf_bitmaps

    nearest = int(np.argmin(distances))
    fig = plt.figure(figsize=(9, 2.9))
    grid = fig.add_gridspec(1, 4, width_ratios=[1.3, 1, 1, 3.2])
    panels = [
        (np.squeeze(np.asarray(image)), "input digit", {}),
        (features.reshape(12, 7), "F6 output (7x12)", {"vmin": -1, "vmax": 1}),
        (rbf_bitmaps()[nearest], f"nearest code: {nearest}", {"vmin": -1, "vmax": 1}),
    ]
    for column, (picture, name, scale) in enumerate(panels):
        ax = fig.add_subplot(grid[0, column])
        ax.imshow(picture, cmap="gray_r", **scale)
        ax.set_title(name, fontsize=9)
        ax.set_axis_off()
    ax = fig.add_subplot(grid[0, 3])
    colors = ["crimson" if digit == nearest else "steelblue" for digit in range(10)]
    ax.bar(range(10), distances, color=colors)
    ax.set_xticks(range(10))
    ax.set_xlabel("digit")
    ax.set_title("distance to each code (smallest wins)", fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_bars(panels, *, highlight=None, fmt=None, title=None, xlabel=None):
    """Bar charts side by side, one per panel: ``{panel title: {bar label: value}}``.

    A panel may also be a plain sequence of values, labelled 0, 1, 2, ...
    (ten class scores, say). ``highlight`` colours one bar label in every
    panel; ``fmt`` (e.g. ``"{:.1%}"``, or ``{panel title: format}`` for a format
    per panel) writes each value above its bar.

    Example:
        >>> fig = plot_bars({"parameters": {"paper": 60000, "seed": 61706}}, fmt="{:,}")
        >>> [float(patch.get_height()) for patch in fig.axes[0].patches]
        [60000.0, 61706.0]
    """
    from matplotlib.ticker import StrMethodFormatter

    if not isinstance(panels, dict) or not panels:
        raise ValueError(f"Expected panels as a non-empty dict {{title: values}}. Received: {type(panels).__name__}")
    fig, axes = plt.subplots(1, len(panels), figsize=(min(4.2 * len(panels), 9), 3.4), squeeze=False)
    for ax, (name, values) in zip(axes[0], panels.items()):
        if not isinstance(values, dict):
            values = dict(enumerate(np.asarray(values).reshape(-1).tolist()))
        labels = [str(label) for label in values]
        heights = [float(value) for value in values.values()]
        colors = ["crimson" if highlight is not None and str(highlight) == label else "steelblue" for label in labels]
        bars = ax.bar(labels, heights, color=colors)
        panel_fmt = fmt.get(name) if isinstance(fmt, dict) else fmt
        if panel_fmt:
            ax.bar_label(bars, [panel_fmt.format(value) for value in values.values()], fontsize=8, padding=2)
            ax.margins(y=0.15)
        ax.set_title(name, fontsize=10)
        ax.grid(axis="y", alpha=0.3)
        if max(heights, default=0) >= 10_000:
            ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))  # 50,000 rather than 50000
        if xlabel:
            ax.set_xlabel(xlabel)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def per_class_accuracy(labels, predictions, classes=10):
    """Fraction of each true class read correctly (NaN for a class with no examples)."""
    matrix = confusion_matrix(labels, predictions, classes)
    totals = matrix.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(matrix) / np.maximum(totals, 1), np.nan)


def _label_fractions_as_percent(axis):
    """Tick labels of an axis of fractions as percentages: 0.975 reads 97.5%, 1.0 reads 100%."""
    axis.set_major_formatter(plt.FuncFormatter(lambda value, _: f"{100 * value:g}%"))


def plot_per_class_accuracy(labels, predictions, *, title="Accuracy per digit"):
    """One bar per digit: the fraction of its examples read correctly; a line at the overall accuracy.

    Example:
        >>> fig = plot_per_class_accuracy([0, 0, 1, 1], [0, 1, 1, 1])
        >>> [float(patch.get_height()) for patch in fig.axes[0].patches][:2]
        [0.5, 1.0]
    """
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    if labels.shape != predictions.shape or labels.ndim != 1:
        raise ValueError(f"Expected labels and predictions of the same shape (n,). "
                         f"Received: {labels.shape} and {predictions.shape}")
    scores = per_class_accuracy(labels, predictions)
    overall = float(np.mean(labels == predictions))
    fig, ax = plt.subplots(figsize=(7, 3.4))
    bars = ax.bar(range(10), np.nan_to_num(scores), color="steelblue")
    ax.bar_label(bars, [f"{s:.1%}" if np.isfinite(s) else "n/a" for s in scores], fontsize=8, padding=2)
    ax.axhline(overall, color="crimson", linestyle="--", label=f"all digits: {overall:.2%}")  # as chapters print it
    low = np.nanmin(scores) if np.isfinite(scores).any() else 0.0
    ax.set_ylim(max(0.0, low - 0.1), 1.02)
    _label_fractions_as_percent(ax.yaxis)  # as the bars' labels
    ax.set_xticks(range(10))
    ax.set_xlabel("true digit")
    ax.set_ylabel("accuracy")
    ax.set_title(title)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False)  # below: bars stay clear
    fig.tight_layout()
    return fig


def plot_learning_rates(schedules, *, title="Learning rate per epoch"):
    """Step plots of learning-rate schedules ``{name: [rate of epoch 1, rate of epoch 2, ...]}``, log scale.

    Example:
        >>> fig = plot_learning_rates({"paper": [5e-4, 5e-4, 2e-4]})
        >>> fig.axes[0].get_yscale()
        'log'
    """
    if not isinstance(schedules, dict) or not schedules:
        raise ValueError(f"Expected schedules as a non-empty dict {{name: rates}}. Received: {type(schedules).__name__}")
    fig, ax = plt.subplots(figsize=(7, 3.4))
    for name, rates in schedules.items():
        rates = np.asarray(rates, dtype=float)
        if rates.ndim != 1 or not (rates > 0).all():
            raise ValueError(f"Expected positive rates, one per epoch, for {name!r}. Received: {rates}")
        epochs = np.arange(1, len(rates) + 1)
        ax.step(epochs, rates, where="mid", marker="o", markersize=3, label=name)
    ax.set_yscale("log")
    ax.set_xlabel("epoch (pass through the training set)")
    ax.set_ylabel("learning rate")
    ax.set_xticks(np.arange(1, max(len(r) for r in schedules.values()) + 1))
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    ax.set_title(title)
    fig.tight_layout()
    return fig


# ---- Chapters 1-6 (the data and the layers C1-C5) ----------------------------------------


def plot_class_counts(labels, *, classes=10, title="Digits per class"):
    """A bar chart of how many examples each class has, each bar labelled with its count.

    Example:
        >>> fig = plot_class_counts([0, 1, 1, 9])
        >>> [int(bar.get_height()) for bar in fig.axes[0].patches][:3]
        [1, 2, 0]
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise ValueError(f"Expected labels as a 1D integer array. Received: shape={labels.shape}, dtype={labels.dtype}")
    counts = np.bincount(labels, minlength=classes)
    fig, ax = plt.subplots(figsize=(7, 3.2))
    bars = ax.bar(range(len(counts)), counts, color="tab:blue")
    ax.bar_label(bars, labels=[f"{c:,}" for c in counts], fontsize=8, padding=2)
    ax.axhline(counts.mean(), color="gray", linestyle="--", linewidth=1, label=f"mean {counts.mean():,.0f}")
    ax.set_xticks(range(len(counts)))
    ax.set_xlabel("digit")
    ax.set_ylabel("examples")
    ax.set_ylim(0, counts.max() * 1.15)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_value_histograms(named_arrays, *, bins=40, title=None):
    """One histogram per named array, side by side, each titled with its mean and standard deviation.

    Meant for pixel values: the same images under two scalings, say. The counts
    axis is logarithmic, since most pixels of a digit are background.

    Example:
        >>> fig = plot_value_histograms({"a": np.zeros(4), "b": np.arange(4.0)})
        >>> len(fig.axes)
        2
    """
    if not named_arrays:
        raise ValueError("Expected at least one named array. Received: an empty mapping")
    fig, axes = plt.subplots(1, len(named_arrays), figsize=(min(4.2 * len(named_arrays), 9), 3.2), squeeze=False)
    for ax, (name, values) in zip(axes.flat, named_arrays.items()):
        values = np.asarray(values, dtype=float).ravel()
        ax.hist(values, bins=bins, color="tab:blue", log=True)
        ax.axvline(values.mean(), color="crimson", linewidth=1.2)
        ax.set_title(f"{name}\nmean {values.mean():.3f}, std {values.std():.3f}", fontsize=9)
        ax.set_xlabel("pixel value")
        ax.set_ylabel("pixels (log scale)")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def show_images(named_images, *, cmap="gray_r", title=None):
    """A few 2D images side by side, each with its name and a colour bar of its values.

    Unlike ``show_digits`` every image keeps its own size and value range, so a
    28x28 digit in 0..1 and the same digit padded to 32x32 in -0.1..1.175 can be
    compared pixel for pixel.

    Example:
        >>> fig = show_images({"zeros": np.zeros((28, 28)), "ones": np.ones((32, 32))})
        >>> len(fig.axes)  # two images, two colour bars
        4
    """
    if not named_images:
        raise ValueError("Expected at least one named image. Received: an empty mapping")
    fig, axes = plt.subplots(1, len(named_images), figsize=(min(3.4 * len(named_images), 9), 3.2), squeeze=False)
    for ax, (name, image) in zip(axes.flat, named_images.items()):
        image = np.squeeze(np.asarray(image))
        if image.ndim != 2:
            raise ValueError(f"Expected 2D images. Received: {name!r} with shape {image.shape}")
        shown = ax.imshow(image, cmap=cmap)
        ax.set_title(f"{name}\n{image.shape[0]}x{image.shape[1]}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.04)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def show_convolution_step(image, kernel, output, position, *, title=None):
    """One step of a convolution: the k x k window on the input, the kernel, and the output pixel it makes.

    Args:
        image: 2D input ``(h, w)``.
        kernel: 2D kernel ``(k, k)``.
        output: 2D output map ``(h - k + 1, w - k + 1)``.
        position: ``(y, x)`` of the output pixel; its window starts at the same ``(y, x)`` of the input.

    Example:
        >>> fig = show_convolution_step(np.zeros((8, 8)), np.ones((5, 5)), np.zeros((4, 4)), (1, 2))
        >>> len(fig.axes)
        3
    """
    from matplotlib.patches import Rectangle

    image, kernel, output = (np.squeeze(np.asarray(a, dtype=float)) for a in (image, kernel, output))
    k = kernel.shape[0]
    y, x = position
    if not (0 <= y < output.shape[0] and 0 <= x < output.shape[1]):
        raise ValueError(f"Expected a position inside the output map {output.shape}. Received: position={position}")
    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(9, 3.4), gridspec_kw={"width_ratios": [1, 1, 1]})
    left.imshow(image, cmap="gray_r")
    left.add_patch(Rectangle((x - 0.5, y - 0.5), k, k, fill=False, edgecolor="crimson", linewidth=2))
    left.set_title(f"input {image.shape[0]}x{image.shape[1]}:\nwindow at ({y}, {x})", fontsize=10)
    limit = float(np.abs(kernel).max()) or 1.0
    middle.imshow(kernel, cmap="RdBu_r", vmin=-limit, vmax=limit)
    for (i, j), value in np.ndenumerate(kernel):
        strong = abs(value) > 0.6 * limit  # white on the darkest cells
        middle.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=MIN_FONT_PT + 1,
                    color="white" if strong else "black")
    middle.set_title(f"kernel {k}x{k}\n(red positive, blue negative)", fontsize=10)
    limit = float(np.abs(output).max()) or 1.0
    right.imshow(output, cmap="RdBu_r", vmin=-limit, vmax=limit)
    right.add_patch(Rectangle((x - 0.5, y - 0.5), 1, 1, fill=False, edgecolor="black", linewidth=2))
    right.set_title(f"output {output.shape[0]}x{output.shape[1]}:\npixel ({y}, {x}) = {output[y, x]:.3f}",
                    fontsize=10)
    for ax in (left, middle, right):
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def compare_maps(named_maps, *, titles=None, cmap="RdBu_r", size=1.0, title=None, colorbar=True,
                 ncols=MAX_MAPS_PER_ROW):
    """Rows of feature maps, one row per name, each row on its own colour scale.

    A row of more than ``MAX_MAPS_PER_ROW`` (8) maps wraps onto several lines;
    each row has a colour bar, since rows do not share a scale.

    Args:
        named_maps: ``{row name: maps (height, width, maps) or one map (height, width)}``;
            rows may differ in size and number of maps.
        titles: optional ``{row name: [title of each map]}``; default the map indices.
        cmap: a colour map for every row, or ``{row name: colour map}`` (rows not
            named get ``"RdBu_r"``: red positive, blue negative). Rows in grey
            (``"gray_r"``, for input images) span their own min..max; the others a
            scale symmetric around 0, so that white means 0.
        size: the side of one map, in inches (shrunk so the figure fits the page).
        colorbar: draw each row's colour bar.
        ncols: maps per line, at most ``MAX_MAPS_PER_ROW``.

    Example:
        >>> fig = compare_maps({"C1": np.ones((28, 28, 6)), "C3": np.ones((10, 10, 16))})
        >>> len([ax for ax in fig.axes if ax.images])  # 6 + 16 maps, the 16 on two lines
        22
    """
    if not named_maps:
        raise ValueError("Expected at least one row of maps. Received: an empty mapping")
    rows = {}
    for name, maps in named_maps.items():
        maps = np.asarray(maps, dtype=float)
        maps = maps[..., None] if maps.ndim == 2 else maps
        if maps.ndim != 3:
            raise ValueError(f"Expected maps of shape (height, width, maps). Received: {name!r} with shape {maps.shape}")
        rows[name] = maps
    ncols = min(ncols, MAX_MAPS_PER_ROW, max(maps.shape[-1] for maps in rows.values()))
    lines = {name: int(np.ceil(maps.shape[-1] / ncols)) for name, maps in rows.items()}
    label_width, bar_width = 1.4, 0.7 if colorbar else 0.0
    size = min(size, (9.0 - label_width - bar_width) / ncols)   # at most 9 inches wide
    nlines = sum(lines.values())
    fig, axes = plt.subplots(nlines, ncols, squeeze=False, layout="constrained",
                             figsize=(size * ncols + label_width + bar_width, (size + 0.3) * nlines + 0.3))
    line = 0
    for name, maps in rows.items():
        row_cmap = cmap.get(name, "RdBu_r") if isinstance(cmap, dict) else cmap
        if row_cmap in ("gray", "gray_r", "Greys", "binary"):
            scale = {"vmin": float(maps.min()), "vmax": float(maps.max())}
        else:
            limit = float(np.abs(maps).max()) or 1.0
            scale = {"vmin": -limit, "vmax": limit}
        names = (titles or {}).get(name) or [str(i) for i in range(maps.shape[-1])]
        row_axes = axes[line:line + lines[name]]
        shown = None
        for c, ax in enumerate(row_axes.flat):
            ax.set_xticks([])
            ax.set_yticks([])
            if c >= maps.shape[-1]:
                ax.set_axis_off()
                continue
            shown = ax.imshow(maps[..., c], cmap=row_cmap, **scale)
            if names[c]:
                ax.set_title(names[c], fontsize=9, pad=2)
        row_axes[0][0].set_ylabel(name, fontsize=9, rotation=0, ha="right", va="center", labelpad=6)
        if colorbar:
            bar = fig.colorbar(shown, ax=row_axes.ravel().tolist(), shrink=0.9, aspect=12 * lines[name],
                               pad=0.02)
            bar.ax.tick_params(labelsize=MIN_FONT_PT)
        line += lines[name]
    if title:
        fig.suptitle(title)
    return fig


def show_receptive_fields(image, boxes=(), points=(), *, box_labels=None, point_label="centres", title=None):
    """An image with receptive fields drawn on it: squares as boxes, their centres as dots.

    Args:
        image: 2D image.
        boxes: ``(top, left, size)`` squares in pixel coordinates (``top``/``left``
            is the first pixel inside).
        points: ``(y, x)`` centres, drawn as small dots.
        box_labels: optional text for each box, shown in the legend.
        point_label: legend text for the dots.

    Example:
        >>> fig = show_receptive_fields(np.zeros((32, 32)), boxes=[(0, 0, 16)], points=[(7.5, 7.5)])
        >>> len(fig.axes[0].patches)
        1
    """
    from matplotlib.patches import Rectangle

    image = np.squeeze(np.asarray(image, dtype=float))
    if image.ndim != 2:
        raise ValueError(f"Expected a 2D image. Received: shape={image.shape}")
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    fig, ax = plt.subplots(figsize=(4.6, 4.6))
    ax.imshow(image, cmap="gray_r")
    for i, (top, left, size) in enumerate(boxes):
        label = box_labels[i] if box_labels is not None else None
        ax.add_patch(Rectangle((left - 0.5, top - 0.5), size, size, fill=False,
                               edgecolor=colors[i % len(colors)], linewidth=2, label=label))
    if len(points):
        ys, xs = np.asarray(points, dtype=float).T
        ax.scatter(xs, ys, s=9, color="crimson", zorder=3, label=point_label)
    ax.set_xlim(-1.0, image.shape[1])  # half a pixel of margin: boxes on the border stay visible
    ax.set_ylim(image.shape[0], -1.0)
    ax.set_xticks(range(0, image.shape[1], 4))
    ax.set_yticks(range(0, image.shape[0], 4))
    ax.tick_params(labelsize=7)
    if box_labels is not None or len(points):
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.06), ncol=2, fontsize=8, frameon=False)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_error_per_epoch(histories, *, reference=None, reference_label="reference",
                         title="Validation error per epoch"):
    """Validation error (1 - accuracy, in %) per epoch for one or more training runs, log scale.

    Args:
        histories: ``{run name: history}``, each a Keras ``History`` or its
            ``.history`` dict with a ``val_...accuracy`` entry.
        reference: an error rate (a fraction, e.g. 0.0095) drawn as a dashed line.
        reference_label: the legend text of that line.

    Example:
        >>> fig = plot_error_per_epoch({"run": {"val_accuracy": [0.9, 0.95]}}, reference=0.0095)
        >>> [round(float(v), 1) for v in fig.axes[0].lines[0].get_ydata()]
        [10.0, 5.0]
    """
    from matplotlib.ticker import LogLocator, NullFormatter

    if not isinstance(histories, dict) or not histories:
        raise ValueError(f"Expected histories as a non-empty dict {{name: history}}. "
                         f"Received: {type(histories).__name__}")
    fig, ax = plt.subplots(figsize=(7, 3.6))
    longest = 1
    for name, history in histories.items():
        logs = history.history if hasattr(history, "history") else history
        metric = next((key for key in logs if key.startswith("val_") and key.endswith("accuracy")), None)
        if metric is None:
            raise ValueError(f"Expected a validation accuracy in the history of {name!r}. "
                             f"Received: {sorted(logs)}")
        errors = 100 * (1 - np.asarray(logs[metric], dtype=float))
        epochs = np.arange(1, len(errors) + 1)
        longest = max(longest, len(errors))
        ax.plot(epochs, errors, "o-", markersize=4, label=name)
    if reference is not None:
        ax.axhline(100 * reference, color="crimson", linestyle="--", label=f"{reference_label}: {reference:.2%}")
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))  # 0.5%, 1%, 2%, 5%, 10%, ...
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda value, _: f"{value:g}%"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_xticks(np.arange(1, longest + 1, 1 if longest <= 20 else 5))
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation error")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    return fig


# ---- The network as a whole and its squashing function ---------------------------------

LENET5_LAYERS = (
    # (name, maps or units, side or None for a vector, what it is)
    ("input", 1, 32, "32x32"),
    ("C1", 6, 28, "6@28x28"),
    ("S2", 6, 14, "6@14x14"),
    ("C3", 16, 10, "16@10x10"),
    ("S4", 16, 5, "16@5x5"),
    ("C5", 120, None, "120"),
    ("F6", 84, None, "84"),
    ("output", 10, None, "10 (RBF)"),
)
"""LeNet-5's layers as ``draw_lenet5`` draws them (Figure 2 of the paper, in numbers)."""

_LAYER_KINDS = {"input": "", "C1": "convolution", "S2": "subsampling", "C3": "convolution",
                "S4": "subsampling", "C5": "convolution", "F6": "full", "output": "RBF"}


def draw_lenet5(highlight=None, *, title=None):
    """LeNet-5 as a row of boxes, input to output, with one layer highlighted ("you are here").

    Feature maps are drawn as a stack of squares whose side grows with the map's,
    vectors as a bar whose height grows with the number of units; under each,
    the layer's name and shape.

    Example:
        >>> fig = draw_lenet5("C3")
        >>> fig.axes[0].get_title()
        'you are here: C3'

    Args:
        highlight: a layer name from ``LENET5_LAYERS`` (``"C1"``, ..., ``"output"``),
            or a list of names, or None for no highlight.
    """
    from matplotlib.patches import FancyArrowPatch, Rectangle

    names = [layer[0] for layer in LENET5_LAYERS]
    chosen = [highlight] if isinstance(highlight, str) else list(highlight or [])
    unknown = [name for name in chosen if name not in names]
    if unknown:
        raise ValueError(f"Expected layer names among {names}. Received: {unknown}")
    fig, ax = plt.subplots(figsize=(9, 2.5))
    x, gap = 0.0, 0.55
    for name, count, side, shape in LENET5_LAYERS:
        on = name in chosen
        face = "#f4a582" if on else "#e6e6e6"
        edge = "#b2182b" if on else "#666666"
        if side is not None:                         # a stack of maps
            height = 0.5 + 1.5 * side / 32
            layers = min(count, 5)
            step = 0.09
            for i in range(layers - 1, -1, -1):
                ax.add_patch(Rectangle((x + i * step, i * step), height, height, facecolor=face,
                                       edgecolor=edge, linewidth=1.5 if on else 0.8))
            width, top = height + (layers - 1) * step, height + (layers - 1) * step
        else:                                        # a vector of units
            width, top = 0.22, 0.4 + 1.6 * count / 120
            x += 0.45                                # room for the labels under a thin bar
            ax.add_patch(Rectangle((x, 0), width, top, facecolor=face, edgecolor=edge,
                                   linewidth=1.5 if on else 0.8))
        centre = x + width / 2
        weight = "bold" if on else "normal"
        ax.text(centre, -0.18, name, ha="center", va="top", fontsize=11, weight=weight, color=edge)
        ax.text(centre, -0.5, shape, ha="center", va="top", fontsize=MIN_FONT_PT + 2)
        if _LAYER_KINDS[name]:
            ax.text(centre, -0.84, _LAYER_KINDS[name], ha="center", va="top", fontsize=MIN_FONT_PT + 1,
                    color="#555555")
        if name != names[-1]:
            end = x + width + gap + (0.45 if side is None or names.index(name) >= 4 else 0.0)
            ax.add_patch(FancyArrowPatch((x + width + 0.06, 0.35), (end - 0.06, 0.35),
                                         arrowstyle="-|>", mutation_scale=10, color="#444444"))
        x += width + gap + (0.45 if side is None else 0.0)
    ax.set_xlim(-0.1, x - gap - 0.2)
    ax.set_ylim(-1.25, 2.4)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title(title or ("you are here: " + ", ".join(chosen) if chosen else "LeNet-5"), fontsize=10)
    fig.tight_layout()
    return fig


def show_distortions(images, distortion, *, copies=5, title=None):
    """Each image (a row) next to ``copies`` random distortions of it by ``distortion``.

    Args:
        images: network inputs ``(n, height, width, 1)`` (e.g. ``preprocess(x, "paper")``).
        distortion: a layer called with ``training=True``, e.g. ``PaperDistortion(seed=0)``.

    Example:
        >>> from lenet_course.distortions import PaperDistortion
        >>> fig = show_distortions(np.zeros((2, 32, 32, 1), "float32"), PaperDistortion(seed=0), copies=3)
        >>> len(fig.axes)
        8
    """
    import keras

    images = np.asarray(images, dtype="float32")
    if images.ndim != 4 or images.shape[-1] != 1:
        raise ValueError(f"Expected network inputs of shape (n, height, width, 1). Received: shape={images.shape}")
    rows = [images] + [keras.ops.convert_to_numpy(distortion(images, training=True)) for _ in range(copies)]
    fig, axes = plt.subplots(len(images), copies + 1, figsize=(1.1 * (copies + 1), 1.15 * len(images) + 0.4),
                             squeeze=False)
    for i in range(len(images)):
        for k in range(copies + 1):
            ax = axes[i, k]
            ax.imshow(rows[k][i, :, :, 0], cmap="gray_r")
            ax.set_axis_off()
            if i == 0:
                ax.set_title("original" if k == 0 else f"distorted {k}", fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


SCALED_TANH_A, SCALED_TANH_S = 1.7159, 2 / 3
"""The paper's squashing function f(a) = A tanh(S a), with A = 1.7159 and S = 2/3 (appendix A)."""


def plot_scaled_tanh(*, span=4.0):
    """The scaled tanh f(a) = 1.7159 tanh(2a/3) and its slope, with the points the paper chose it by.

    Left, f with its asymptotes ±1.7159 and the points f(±1) = ±1; right, its
    derivative f'(a) = 1.7159 · 2/3 · (1 - tanh²(2a/3)), whose maximum (at 0) is
    about 1.14 and which at ±1 is still about two thirds of that.

    Example:
        >>> fig = plot_scaled_tanh()
        >>> [ax.get_title() for ax in fig.axes]
        ['f(a) = 1.7159 tanh(2a/3)', "slope f'(a)"]
    """
    a = np.linspace(-span, span, 401)
    f = SCALED_TANH_A * np.tanh(SCALED_TANH_S * a)
    slope = SCALED_TANH_A * SCALED_TANH_S * (1 - np.tanh(SCALED_TANH_S * a) ** 2)
    at_one = SCALED_TANH_A * SCALED_TANH_S * (1 - np.tanh(SCALED_TANH_S) ** 2)
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.3))
    left.plot(a, f, color="#2166ac", linewidth=2)
    left.plot(a, np.tanh(a), color="gray", linestyle=":", label="plain tanh(a)")
    for level in (SCALED_TANH_A, -SCALED_TANH_A):
        left.axhline(level, color="gray", linestyle="--", linewidth=0.8)
    left.plot([-1, 1], [-1, 1], "o", color="#b2182b", label="f(±1) = ±1: the targets")
    left.text(-span, SCALED_TANH_A - 0.08, " asymptotes ±1.7159", va="top", fontsize=MIN_FONT_PT + 1)
    left.set_title("f(a) = 1.7159 tanh(2a/3)", fontsize=10)
    left.legend(fontsize=MIN_FONT_PT + 1, loc="lower right")
    right.plot(a, slope, color="#2166ac", linewidth=2)
    right.plot([-1, 1], [at_one, at_one], "o", color="#b2182b",
               label=f"at ±1: {at_one:.2f} ({at_one / slope.max():.0%} of the maximum)")
    right.axhline(slope.max(), color="gray", linestyle="--", linewidth=0.8,
                  label=f"at 0: {slope.max():.2f} (gain near 1)")
    right.set_ylim(0, 1.75)  # room above the maximum for the legend
    right.set_title("slope f'(a)", fontsize=10)
    right.legend(fontsize=MIN_FONT_PT + 1, loc="upper center")
    for ax in (left, right):
        ax.set_xlabel("weighted sum a")
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=MIN_FONT_PT + 1)
    fig.tight_layout()
    return fig


def plot_runs(runs, *, title=None, ylabel="held-out accuracy", fmt="{:.1%}"):
    """Repeated runs side by side: each run a dot, each group's mean a line, and its range.

    Meant for the same training repeated with several random seeds, so that a
    difference between two groups can be read against the spread within each.

    Args:
        runs: ``{group name: [value of each run]}``.
        ylabel: the axis label; ``fmt`` writes each group's mean above it.

    Example:
        >>> fig = plot_runs({"paper": [0.95, 0.96, 0.97], "seed": [0.90, 0.92, 0.91]})
        >>> [round(float(y), 2) for y in fig.axes[0].collections[0].get_segments()[0][:, 1]]
        [0.96, 0.96]
    """
    if not isinstance(runs, dict) or not runs:
        raise ValueError(f"Expected runs as a non-empty dict {{name: values}}. Received: {type(runs).__name__}")
    fig, ax = plt.subplots(figsize=(min(1.6 * len(runs) + 1.5, 9), 3.6))
    names = list(runs)
    for i, name in enumerate(names):
        values = np.asarray(runs[name], dtype=float)
        mean = values.mean()
        ax.hlines(mean, i - 0.3, i + 0.3, color="#2166ac", linewidth=3)   # the mean
        ax.vlines(i, values.min(), values.max(), color="#2166ac", linewidth=1.5)  # the range
        ax.scatter(np.full(values.shape, i) + np.linspace(-0.12, 0.12, len(values)), values,
                   color="#b2182b", s=18, zorder=3)
        ax.text(i, values.max(), fmt.format(mean) + "\n", ha="center", va="bottom", fontsize=9)
    low = min(np.min(v) for v in runs.values())
    high = max(np.max(v) for v in runs.values())
    pad = (high - low) * 0.25 or 0.01
    ax.set_ylim(low - pad, high + 2 * pad)
    if fmt.format(0.5).endswith("%"):  # the axis as the means written above it
        _label_fractions_as_percent(ax.yaxis)
    ax.set_xticks(range(len(names)), names, fontsize=9)
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(title or f"mean (wide line), range and each run (dots), {len(runs[names[0]])} runs each",
                 fontsize=10)
    fig.tight_layout()
    return fig


def plot_reproduction(runs, *, reference=None, reference_label="the paper", title=None,
                      held_out="validation"):
    """Error per pass of full-data reproduction runs (``lenet_course.reproduce`` history).

    Each run's error on its held-out digits (``"validation_error"``, labelled
    ``held_out``) is a solid line; its training error, where the history has one,
    a dashed line of the same colour.

    Args:
        runs: ``{name: run}``, each run a dict with ``"passes"``: a list of
            ``{"pass": n, "validation_error": e}``, optionally with ``"training_error"``
            (as ``--history-out`` writes them).
        reference: an error rate drawn as a dashed line -- only for runs that are
            like for like with it (full training data, 20 passes).
        held_out: what the held-out digits are, for the legend: ``"validation"``,
            ``"test"``, ``"held-out sample"``.

    Example:
        >>> run = {"passes": [{"pass": 1, "validation_error": 0.03}, {"pass": 2, "validation_error": 0.02}]}
        >>> fig = plot_reproduction({"seed 0": run})
        >>> [round(float(v), 1) for v in fig.axes[0].lines[0].get_ydata()]
        [3.0, 2.0]
    """
    from matplotlib.ticker import LogLocator, MaxNLocator, NullFormatter

    if not isinstance(runs, dict) or not runs:
        raise ValueError(f"Expected runs as a non-empty dict {{name: run}}. Received: {type(runs).__name__}")
    fig, ax = plt.subplots(figsize=(7, 4.6), layout="constrained")
    for name, run in runs.items():
        passes = [row["pass"] for row in run["passes"]]
        validation = [100 * row["validation_error"] for row in run["passes"]]
        (line,) = ax.plot(passes, validation, "o-", markersize=4, label=f"{name}, {held_out}")
        if all("training_error" in row for row in run["passes"]):
            training = [100 * row["training_error"] for row in run["passes"]]
            ax.plot(passes, training, "--", color=line.get_color(), label=f"{name}, training")
    if reference is not None:
        ax.axhline(100 * reference, color="crimson", linestyle="--", label=f"{reference_label}: {reference:.2%}")
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 3.0, 5.0)))  # 1%, 2%, 3%, 5%, 10%, ...
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda value, _: f"{value:g}%"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # passes are whole
    ax.set_xlabel("pass")
    ax.set_ylabel("error")
    ax.grid(alpha=0.3, which="both")
    # Below the axes: the lines stay clear of it, also at a phone's width.
    fig.legend(fontsize=8, loc="outside lower center", frameon=False)
    if title:
        ax.set_title(title, fontsize=10)
    return fig
