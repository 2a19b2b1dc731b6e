"""How curved the loss is along each weight: the ``h`` of stochastic diagonal Levenberg-Marquardt.

The paper's optimiser (appendix C, ``lenet_course.paper_recipe.DiagonalLevenbergMarquardt``)
steps each weight by ``eta / (mu + h)``, ``h`` an estimate of the loss's second derivative
along that weight, re-estimated on a few hundred digits before every pass. Two estimates:

* ``backpropagated_curvature`` -- the paper's own: diagonal second derivatives propagated
  backwards layer by layer like gradients, with squared weights and squared slopes
  (Becker and LeCun, 1989), dropping every off-diagonal term. One cheap backward pass.
* ``gauss_newton_curvature`` -- the exact diagonal of the Gauss-Newton matrix, estimated
  without bias by random signs: what the paper's estimate approximates.

``CurvatureEstimator`` (a ``keras.callbacks.Callback``) sets ``h`` before every pass with
either.
"""

import time

import keras
import numpy as np

PAPER_CURVATURE_DIGITS = 500  # "a few hundred": appendix C re-estimates h on 500 patterns
OUTPUT_CURVATURE = 2.0  # d2/dx2 of |x - code|^2, the loss's first term, in every F6 output x


def backpropagated_curvature(model, inputs, *, chunk=500, feature_layer=-1):
    """The paper's estimate of the loss's second derivative along every trainable weight.

    Appendix C of the paper: second derivatives travel backwards through the network
    as gradients do, keeping only the diagonal terms. For a layer computing
    ``x_out = f(a)``, ``a = sum_j w_j x_j + b`` (a weight shared by several
    connections sums over them):

        h(a)   = f'(a)^2 h(x_out)                 (the Gauss-Newton term only)
        h(w)   = sum over w's connections of x_j^2 h(a)
        h(x_j) = sum over x_j's connections of w^2 h(a)

    starting from ``h = 2`` at F6's outputs (the loss's first term is
    ``|x - code|^2``). These are the gradient equations of the same layer with
    squared weights on squared inputs, so any layer whose pre-activation is linear
    in its weights and inputs works: Conv2D, Dense, ``PartialConv2D``,
    ``Subsampling``, Flatten. ``h`` is the average over the digits.

    Args:
        model: a LeNet-5 from ``build_lenet5("paper")`` (its last layer the RBF output).
        inputs: network inputs ``(n, 32, 32, 1)``, e.g. ``preprocess(x, "paper")``.
        chunk: digits per backward pass (memory vs speed).
        feature_layer: index of the layer before the loss's distances (F6).

    Returns:
        A list of NumPy arrays, one per ``model.trainable_variables``.

    Example:
        >>> from lenet_course.models import build_lenet5
        >>> model = build_lenet5("paper", seed=0)
        >>> h = backpropagated_curvature(model, np.zeros((4, 32, 32, 1), "float32"))
        >>> len(h) == len(model.trainable_variables), bool(min(x.min() for x in h) >= 0)
        (True, True)
    """
    import tensorflow as tf  # the backward pass needs the backend's gradients

    inputs = _check_inputs(inputs)
    layers = _layers_before_loss(model, feature_layer)
    linear = [_without_activation(layer) for layer in layers]
    totals = {id(v): np.zeros(tuple(v.shape), "float64") for v in model.trainable_variables}
    for start in range(0, len(inputs), chunk):
        features, seen = tf.constant(inputs[start:start + chunk]), []
        for layer, twin in zip(layers, linear):
            if twin is None:  # Flatten
                seen.append((features, None))
                features = layer(features)
                continue
            values = [v.value for v in layer.trainable_variables]
            pre_activation = twin.stateless_call(values, [], features)[0]
            with tf.GradientTape() as tape:
                tape.watch(pre_activation)
                output = layer.activation(pre_activation)
            seen.append((features, tape.gradient(output, pre_activation)))  # f'(a), elementwise
            features = output
        h = tf.fill(tf.shape(features), OUTPUT_CURVATURE)
        for layer, twin, (layer_input, slope) in zip(layers[::-1], linear[::-1], seen[::-1]):
            if twin is None:  # Flatten: h moves as the values did
                h = tf.reshape(h, tf.shape(layer_input))
                continue
            h = h * tf.square(slope)  # h(a) = f'(a)^2 h(x_out)
            squared = [tf.square(v.value) for v in layer.trainable_variables]
            squared_input = tf.square(layer_input)
            with tf.GradientTape() as tape:
                tape.watch(squared + [squared_input])
                total = tf.reduce_sum(twin.stateless_call(squared, [], squared_input)[0] * h)
            *weight_h, h = tape.gradient(total, squared + [squared_input])
            for variable, part in zip(layer.trainable_variables, weight_h):
                totals[id(variable)] += part.numpy()
    return [(totals[id(v)] / len(inputs)).astype("float32") for v in model.trainable_variables]


def _layers_before_loss(model, feature_layer):
    """The layers from the input up to ``feature_layer`` (F6), whose outputs the loss reads."""
    return model.layers[:feature_layer] if feature_layer != 0 else model.layers


def _without_activation(layer):
    """A copy of ``layer`` that stops before its activation (None for a layer without weights)."""
    if not layer.trainable_variables:
        return None
    twin = type(layer).from_config({**layer.get_config(), "activation": None})
    twin.build(layer.input.shape)
    return twin


def _check_inputs(inputs):
    inputs = np.asarray(inputs, dtype="float32")
    if inputs.ndim != 4 or len(inputs) == 0:
        raise ValueError(f"Expected network inputs of shape (n, height, width, 1). Received: shape={inputs.shape}")
    return inputs


def gauss_newton_curvature(model, inputs, *, seed=0, chunk=100, feature_layer=-1):
    """The exact diagonal of the Gauss-Newton matrix of every trainable weight, on ``inputs``.

    With ``x`` the 84 outputs of F6 and the paper's loss, whose first term is
    ``|x - code_D|^2`` (second derivative 2 in every ``x_j``), the Gauss-Newton
    approximation of ``d2E/dw_k^2`` for one digit is ``2 * sum_j (dx_j/dw_k)^2``.
    It keeps only the diagonal and only this positive term, as the paper does,
    but not the paper's further approximations (see ``backpropagated_curvature``):
    it estimates the sum without bias by random signs: for ``v`` of independent +-1, ``E[(v . dx/dw_k)^2] =
    sum_j (dx_j/dw_k)^2``, one backward pass per digit. ``h`` is the average
    over the digits.

    Args:
        model: a LeNet-5 from ``build_lenet5("paper")`` (its last layer the RBF output).
        inputs: network inputs ``(n, 32, 32, 1)``, e.g. ``preprocess(x, "paper")``.
        seed: for the random signs.
        chunk: digits per vectorised backward pass (memory vs speed).
        feature_layer: index of the layer before the loss's distances (F6).

    Returns:
        A list of NumPy arrays, one per ``model.trainable_variables``.

    Example:
        >>> from lenet_course.models import build_lenet5
        >>> model = build_lenet5("paper", seed=0)
        >>> h = gauss_newton_curvature(model, np.zeros((4, 32, 32, 1), "float32"))
        >>> len(h) == len(model.trainable_variables), bool(min(x.min() for x in h) >= 0)
        (True, True)
    """
    import tensorflow as tf  # per-digit gradients need the backend's vectorised Jacobian

    layers = _layers_before_loss(model, feature_layer)
    variables = model.trainable_variables
    inputs = _check_inputs(inputs)
    rng = np.random.default_rng(seed)
    totals = [np.zeros(tuple(v.shape), "float64") for v in variables]

    @tf.function(reduce_retracing=True)
    def squared_projections(x, signs):
        with tf.GradientTape() as tape:
            features = x
            for layer in layers:
                features = layer(features, training=False)
            projections = tf.reduce_sum(features * signs, axis=-1)  # one number per digit
        jacobians = tape.jacobian(projections, [v.value for v in variables])
        return [tf.reduce_sum(tf.square(j), axis=0) for j in jacobians]

    for start in range(0, len(inputs), chunk):
        x = inputs[start:start + chunk]
        signs = rng.choice(np.array([-1.0, 1.0], "float32"), size=(len(x), layers[-1].output.shape[-1]))
        for total, part in zip(totals, squared_projections(tf.constant(x), tf.constant(signs))):
            total += part.numpy()
    return [(2.0 * total / len(inputs)).astype("float32") for total in totals]


CURVATURE_METHODS = ("backpropagated", "gauss-newton")


def _check_method(method):
    if method not in CURVATURE_METHODS:
        raise ValueError(f"Expected method to be one of {CURVATURE_METHODS}. Received: method={method!r}")


def estimate_curvature(model, inputs, *, method="backpropagated", seed=0):
    """``h`` of every trainable weight by ``method``: "backpropagated" (the paper's) or
    "gauss-newton" (exact diagonal, by random signs; ``seed`` draws them).

    Example:
        >>> from lenet_course.models import build_lenet5
        >>> model = build_lenet5("paper", seed=0)
        >>> len(estimate_curvature(model, np.zeros((2, 32, 32, 1), "float32"))) == len(model.trainable_variables)
        True
    """
    _check_method(method)
    if method == "gauss-newton":
        return gauss_newton_curvature(model, inputs, seed=seed)
    return backpropagated_curvature(model, inputs)


class CurvatureEstimator(keras.callbacks.Callback):
    """Re-estimates the optimizer's ``h`` on ``digits`` random inputs before every pass.

    For a model compiled with ``DiagonalLevenbergMarquardt`` (appendix C: 500
    patterns before each pass). The digits are drawn afresh each pass from
    ``inputs``, reproducibly from ``seed``; ``method`` as in ``estimate_curvature``.

    Example:
        >>> callback = CurvatureEstimator(np.zeros((10, 32, 32, 1), "float32"), digits=4)
        >>> model.fit(x, y, callbacks=[callback])  # doctest: +SKIP
    """

    def __init__(self, inputs, digits=PAPER_CURVATURE_DIGITS, seed=0, method="backpropagated"):
        super().__init__()
        if int(digits) < 1:
            raise ValueError(f"Expected digits >= 1. Received: digits={digits}")
        _check_method(method)
        self.inputs, self.digits, self.seed, self.method = inputs, int(digits), seed, method
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        if not hasattr(optimizer, "set_curvature"):
            raise ValueError("Expected a model compiled with DiagonalLevenbergMarquardt. "
                             f"Received: {type(optimizer).__name__}")
        start = time.perf_counter()
        rng = np.random.default_rng([self.seed, epoch])
        chosen = rng.choice(len(self.inputs), size=min(self.digits, len(self.inputs)), replace=False)
        h = estimate_curvature(self.model, self.inputs[np.sort(chosen)], method=self.method,
                               seed=int(rng.integers(2**31)))
        optimizer.set_curvature(self.model.trainable_variables, h)
        self.seconds.append(time.perf_counter() - start)
