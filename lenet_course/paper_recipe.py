"""LeCun et al.'s own training recipe for LeNet-5, piece by piece, as Keras 3 objects.

Section II.B, III.C and appendices A and C of the paper (LeCun, Bottou, Bengio and
Haffner, 1998):

* ``PaperUniform`` -- the initialisation: every weight uniform in
  ``[-2.4 / F, 2.4 / F]``, ``F`` the fan-in of the unit it feeds, or with
  ``sqrt=True`` in ``[-2.4 / sqrt(F), 2.4 / sqrt(F)]`` (a
  ``keras.initializers.Initializer``).
* ``PaperMAPLoss`` -- the loss, equation 9: the maximum a posteriori criterion
  ``E = y_D + log(exp(-j) + sum_i exp(-y_i))`` on the RBF distances ``y``
  (a ``keras.losses.Loss``).
* ``DiagonalLevenbergMarquardt`` -- the optimiser, appendix C: each parameter
  ``w_k`` steps by ``eta / (mu + h_k)`` times its gradient, ``h_k`` an estimate
  of the diagonal Gauss-Newton second derivative (a ``keras.optimizers.Optimizer``).
* ``CurvatureEstimator`` -- ``h`` re-estimated on a few hundred digits before
  every pass (a ``keras.callbacks.Callback``; the estimates live in
  ``lenet_course.curvature``); ``effective_learning_rates`` -- the steps
  ``eta / (mu + h)`` they give, to set beside the range the paper reports;
  ``first_steps`` -- how far the first updates move the weights, and how stale
  that leaves ``h``.
* ``sdlm_learning_rate_schedule`` -- the paper's ``eta`` stages, 0.0005, 0.0002,
  0.0001, 0.00005, 0.00001 over passes 1-2, 3-5, 6-8, 9-12, 13-20.
* ``build_paper_recipe`` -- LeNet-5 compiled with any combination of these
  (each piece switchable, for the ablations of chapter 13).

The output codes are the 7x12 bitmaps of ``lenet_course.layers.rbf_bitmaps``.
The distortions live in ``lenet_course.distortions``.

Batching: the paper updates after every digit (``batch_size=1`` here). Keras
averages the loss over a batch; see ``sdlm_learning_rate_schedule`` for what
that does to the paper's rates.
"""

import keras
import numpy as np
from keras import ops

from .curvature import (  # noqa: F401 (part of the recipe's interface)
    CURVATURE_METHODS,
    PAPER_CURVATURE_DIGITS,
    CurvatureEstimator,
    backpropagated_curvature,
    estimate_curvature,
    gauss_newton_curvature,
)
from .layers import PACKAGE, RBFLoss, rbf_accuracy

PAPER_MU = 0.02
# (passes, eta) from section III.C; the last eta holds for every later pass.
PAPER_ETA_STAGES = ((2, 0.0005), (3, 0.0002), (3, 0.0001), (4, 0.00005), (None, 0.00001))
PAPER_INIT_SCALE = 2.4
# Equation 9's j: the paper calls it a positive constant and gives no value. Our choice:
# distances between two digits' codes are about 100 (each differing pixel adds 4), and
# a few units near the right code, so 10 lets only close competitors be pushed away.
# Checked on the validation split (seed 0, 20 passes): j = 5 1.22%, 10 1.11%, 30 1.57%.
DEFAULT_J = 10.0


@keras.saving.register_keras_serializable(package=PACKAGE)
class PaperUniform(keras.initializers.Initializer):
    """The paper's initialisation: uniform in ``[-2.4 / F, 2.4 / F]``, ``F`` the fan-in.

    Section III.C / appendix A: small weights keep the scaled tanh in its
    linear range at the start, and dividing by the fan-in keeps each unit's
    total input about the same size whatever its number of inputs.

    ``F`` is the number of inputs of one unit: for a kernel of shape
    ``(k, k, in, out)`` it is ``k * k * in``, for a Dense kernel ``(in, out)``
    it is ``in``. ``PartialConv2D`` passes each C3 map's own fan-in (75, 100 or
    150, by Table I). Pass ``fan_in`` to fix it.

    The paper's reason asks for more than its formula gives: a unit's total input
    ``sum_j w_j x_j`` over ``F`` inputs of unit spread has a spread of
    ``sqrt(F)`` times the weights', so only weights ``~ 1 / sqrt(F)`` give every
    unit the same; weights ``~ 1 / F`` shrink it as ``F`` grows. ``sqrt=True``
    reads the formula that way: uniform in ``[-2.4 / sqrt(F), 2.4 / sqrt(F)]``
    (the spread LeCun et al.'s "Efficient BackProp" recommends, 1998).

    Example:
        >>> w = PaperUniform(seed=0)((5, 5, 1, 6))
        >>> bool(float(ops.max(ops.abs(w))) <= 2.4 / 25)
        True
        >>> w = PaperUniform(seed=0, sqrt=True)((5, 5, 1, 6))
        >>> bool(2.4 / 25 < float(ops.max(ops.abs(w))) <= 2.4 / 5)
        True

    Args:
        fan_in: the fan-in ``F``; default from the shape, as above.
        seed: as in Keras's random initializers.
        sqrt: divide by ``sqrt(F)`` instead of ``F`` (above).
    """

    per_unit_fan_in = True  # PartialConv2D gives every output map its own fan-in

    def __init__(self, fan_in=None, seed=None, sqrt=False):
        if fan_in is not None and not (isinstance(fan_in, (int, float)) and fan_in > 0):
            raise ValueError(f"Expected fan_in as a number > 0 or None. Received: fan_in={fan_in!r}")
        if not isinstance(sqrt, bool):
            raise ValueError(f"Expected sqrt as True or False. Received: sqrt={sqrt!r}")
        self.fan_in = fan_in
        self.seed = seed
        self.sqrt = sqrt
        self._generator = keras.random.SeedGenerator(seed) if seed is not None else None

    def __call__(self, shape, dtype=None, fan_in=None):
        if fan_in is None:
            fan_in = self.fan_in
        if fan_in is None:
            if len(shape) < 2:
                raise ValueError(f"Expected a kernel shape with a fan-in axis, or fan_in. Received: shape={shape}")
            fan_in = int(np.prod(shape[:-1]))
        fan_in = np.asarray(fan_in, dtype="float32")
        limit = PAPER_INIT_SCALE / (np.sqrt(fan_in) if self.sqrt else fan_in)
        unit = keras.random.uniform(shape, -1.0, 1.0, dtype=dtype, seed=self._generator)
        return unit * ops.cast(limit, unit.dtype)

    def get_config(self):
        return {"fan_in": self.fan_in, "seed": self.seed, "sqrt": self.sqrt}


@keras.saving.register_keras_serializable(package=PACKAGE)
class PaperMAPLoss(keras.losses.Loss):
    """The paper's loss (equation 9): ``E = y_D + log(exp(-j) + sum_i exp(-y_i))``.

    ``y_i`` is the RBF distance of the output to class ``i``'s code and ``D``
    the right class. The first term pulls the output towards the right code (on
    its own it is the mean squared error to the code); the second pushes the
    other classes' codes away, but only those closer than about ``j``: the
    ``exp(-j)`` keeps it from pushing distances that are already large. Labels
    are integers 0-9.

    Example:
        >>> loss = PaperMAPLoss(j=10.0)
        >>> y = np.array([[1.0, 100.0]])
        >>> round(float(loss(np.array([0]), y)), 4)  # 1 + log(e^-10 + e^-1 + e^-100)
        0.0001

    Args:
        j: the positive constant of equation 9 (the paper gives no value).
    """

    def __init__(self, j=DEFAULT_J, name="paper_map_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        if isinstance(j, bool) or not isinstance(j, (int, float)) or not j > 0:
            raise ValueError(f"Expected j as a number > 0. Received: j={j!r}")
        self.j = float(j)

    def call(self, y_true, y_pred):
        distances = ops.convert_to_tensor(y_pred)
        labels = ops.cast(ops.reshape(y_true, (-1, 1)), "int32")
        right = ops.take_along_axis(distances, labels, axis=-1)[:, 0]
        constant = ops.full_like(distances[:, :1], -self.j)
        return right + ops.logsumexp(ops.concatenate([constant, -distances], axis=-1), axis=-1)

    def get_config(self):
        return {**super().get_config(), "j": self.j}


@keras.saving.register_keras_serializable(package=PACKAGE)
class DiagonalLevenbergMarquardt(keras.optimizers.Optimizer):
    """Stochastic diagonal Levenberg-Marquardt (the paper's appendix C).

        w_k <- w_k - learning_rate / (mu + h_k) * dE/dw_k

    ``h_k`` is an estimate of the diagonal Gauss-Newton second derivative of the
    loss with respect to ``w_k``, held by the optimizer and set with
    ``set_curvature`` (``CurvatureEstimator`` does it before every pass); it
    starts at 0, i.e. a step of ``learning_rate / mu``. ``mu`` keeps the step
    bounded where the curvature is tiny.

    Example:
        >>> w = keras.Variable([1.0, 1.0])
        >>> optimizer = DiagonalLevenbergMarquardt(learning_rate=0.1, mu=0.02)
        >>> optimizer.build([w])
        >>> optimizer.set_curvature([w], [np.array([0.0, 1.98])])
        >>> optimizer.apply([np.array([0.02, 1.0])], [w])
        >>> [round(float(v), 3) for v in keras.ops.convert_to_numpy(w)]
        [0.9, 0.95]

    Args:
        learning_rate: the global rate ``eta`` (times the batch size when Keras
            averages the loss over a batch), a float or a schedule.
        mu: the paper's 0.02.
    """

    def __init__(self, learning_rate=PAPER_ETA_STAGES[0][1], mu=PAPER_MU,
                 name="diagonal_levenberg_marquardt", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        if isinstance(mu, bool) or not isinstance(mu, (int, float)) or not mu > 0:
            raise ValueError(f"Expected mu as a number > 0. Received: mu={mu!r}")
        self.mu = float(mu)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._curvatures = [self.add_variable_from_reference(v, "curvature") for v in variables]

    def set_curvature(self, variables, curvatures):
        """Set ``h`` of each variable (any order; arrays shaped like the variables, >= 0)."""
        if not self.built:
            self.build(variables)
        for variable, value in zip(variables, curvatures, strict=True):
            value = np.asarray(value, dtype="float32")
            if value.shape != tuple(variable.shape) or (value < 0).any() or not np.isfinite(value).all():
                raise ValueError(
                    f"Expected a finite curvature >= 0 of shape {tuple(variable.shape)} for "
                    f"{variable.path}. Received: shape={value.shape}"
                )
            self._curvatures[self._get_variable_index(variable)].assign(value)

    def curvature(self, variable):
        """The ``h`` the optimizer holds for ``variable`` (NumPy)."""
        return ops.convert_to_numpy(self._curvatures[self._get_variable_index(variable)])

    def update_step(self, gradient, variable, learning_rate):
        h = self._curvatures[self._get_variable_index(variable)]
        rate = ops.cast(learning_rate, variable.dtype)
        self.assign_sub(variable, ops.multiply(gradient, ops.divide(rate, ops.add(h, self.mu))))

    def get_config(self):
        return {**super().get_config(), "mu": self.mu}


# Section III.C: "the resulting effective learning rate during the first pass varied
# between approximately 7 x 10^-5 and 0.016 over the set of parameters".
PAPER_FIRST_PASS_RATES = (7e-5, 0.016)


def effective_learning_rates(curvatures, eta=PAPER_ETA_STAGES[0][1], mu=PAPER_MU):
    """Every weight's step per unit of gradient, ``eta / (mu + h)``, in one flat array.

    ``curvatures`` are the ``h`` of the weights (e.g. from ``estimate_curvature``).
    The paper reports the range of these rates in its first pass
    (``PAPER_FIRST_PASS_RATES``): a check of how its network started.

    Example:
        >>> rates = effective_learning_rates([np.array([0.0, 0.48]), np.array([[4.98]])])
        >>> [round(float(r), 4) for r in rates]
        [0.025, 0.001, 0.0001]
    """
    parts = [np.ravel(np.asarray(part, dtype="float64")) for part in curvatures]
    h = np.concatenate(parts) if parts else np.empty(0)
    if h.size == 0 or (h < 0).any() or not np.isfinite(h).all():
        raise ValueError("Expected finite curvatures >= 0, at least one.")
    return eta / (mu + h)


def first_steps(x, y, *, batch_size, digits=1000, seed=0, curvature_digits=PAPER_CURVATURE_DIGITS,
                initializer="glorot"):
    """What the recipe's first ``digits`` training digits do to its network, layer by layer.

    Builds ``build_paper_recipe(seed=seed, initializer=initializer)``, estimates ``h`` on
    ``curvature_digits`` of ``x`` (as before a pass), trains on ``digits`` digits at the
    paper's first ``eta`` with ``batch_size`` digits per update (``eta`` on their mean),
    and measures two things per layer with weights: how far its weights moved,
    ``|w - w0| / |w0|``, and its median ``h`` estimated again on the same digits, as a
    fraction of the ``h`` the steps were taken with. ``x`` are network inputs
    (``preprocess(..., "paper")``), ``y`` labels.

    Returns:
        ``{layer name: (weights moved, h now / h before)}``.

    Example:
        >>> x = np.random.default_rng(0).normal(size=(16, 32, 32, 1)).astype("float32")
        >>> steps = first_steps(x, np.arange(16) % 10, batch_size=8, digits=16, curvature_digits=8)
        >>> list(steps)[:2], all(moved >= 0 for moved, _ in steps.values())
        (['C1', 'C3'], True)
    """
    x = np.asarray(x, dtype="float32")
    if not 1 <= digits <= len(x) or not 1 <= curvature_digits <= len(x) or batch_size < 1:
        raise ValueError(f"Expected 1 <= digits, curvature_digits <= {len(x)} and batch_size >= 1. "
                         f"Received: digits={digits}, curvature_digits={curvature_digits}, "
                         f"batch_size={batch_size}")
    keras.utils.set_random_seed(seed)
    model = build_paper_recipe(seed=seed, initializer=initializer)
    rng = np.random.default_rng(seed)
    probe = x[np.sort(rng.choice(len(x), curvature_digits, replace=False))]
    before = backpropagated_curvature(model, probe)
    model.optimizer.set_curvature(model.trainable_variables, before)
    model.optimizer.learning_rate = PAPER_ETA_STAGES[0][1]
    kernels = {layer.name: layer.trainable_variables[0] for layer in model.layers
               if layer.trainable_variables and len(layer.trainable_variables[0].shape) > 1}
    start = {name: ops.convert_to_numpy(kernel) for name, kernel in kernels.items()}
    chosen = rng.permutation(len(x))[:digits]
    model.fit(x[chosen], np.asarray(y)[chosen], batch_size=batch_size, epochs=1, shuffle=False, verbose=0)
    after = backpropagated_curvature(model, probe)
    index = {id(v): i for i, v in enumerate(model.trainable_variables)}
    result = {}
    for name, kernel in kernels.items():
        moved = np.linalg.norm(ops.convert_to_numpy(kernel) - start[name]) / np.linalg.norm(start[name])
        i = index[id(kernel)]
        result[name] = (float(moved), float(np.median(after[i]) / np.median(before[i])))
    return result


def sdlm_eta(epoch):
    """The paper's global rate ``eta`` for a (0-based) pass.

    Example:
        >>> [sdlm_eta(p) for p in (0, 2, 5, 8, 12, 19)]
        [0.0005, 0.0002, 0.0001, 5e-05, 1e-05, 1e-05]
    """
    if epoch < 0:
        raise ValueError(f"Expected epoch >= 0. Received: epoch={epoch}")
    end = 0
    for passes, eta in PAPER_ETA_STAGES:
        if passes is None:
            return eta
        end += passes
        if epoch < end:
            return eta


def sdlm_learning_rate_schedule(factor=1.0, *, verbose=0):
    """The paper's ``eta`` stages (times ``factor``) for ``DiagonalLevenbergMarquardt``, as a callback.

    With one digit per update (``batch_size=1``) and ``factor=1`` these are the
    paper's own steps. Keras averages the loss over a batch, so with a batch
    of ``B`` digits ``factor=B`` would take the sum of the ``B`` per-digit steps
    at once; measured on the sample, that diverges already at ``B=8`` (the steps
    of the first pass are far too large for the curvature estimated before it),
    while ``factor`` 1 or 2 trains about as well per digit seen as the paper's
    per-digit updates (``lenet_course.reproduce`` uses 1 with batches of 8,
    chosen on the full-data validation split).

    Example:
        >>> sdlm_learning_rate_schedule().schedule(0, None)
        0.0005
        >>> sdlm_learning_rate_schedule(2).schedule(19, None)
        2e-05
    """
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not factor > 0:
        raise ValueError(f"Expected factor as a number > 0. Received: factor={factor!r}")
    return keras.callbacks.LearningRateScheduler(
        lambda epoch, rate=None: float(f"{sdlm_eta(epoch) * factor:.12g}"), verbose=verbose)


INGREDIENTS = {
    "optimizer": ("sdlm", "sgd"),
    "initializer": ("paper", "paper-sqrt", "glorot"),
    "loss": ("map", "rbf"),
    "codes": ("bitmaps", "random"),
}


def build_paper_recipe(*, seed=0, optimizer="sdlm", initializer="paper", loss="map", codes="bitmaps",
                       j=DEFAULT_J):
    """LeNet-5 (``build_lenet5("paper")``) compiled with the paper's recipe, each piece switchable.

    Args:
        seed: for the initial weights (and the random codes).
        optimizer: ``"sdlm"`` (``DiagonalLevenbergMarquardt``; train it with
            ``CurvatureEstimator`` and ``sdlm_learning_rate_schedule``) or ``"sgd"``
            (chapter 9's SGD with momentum 0.9 at 0.01; ``paper_learning_rate_schedule``).
        initializer: ``"paper"`` (``PaperUniform``), ``"paper-sqrt"``
            (``PaperUniform(sqrt=True)``) or ``"glorot"`` (Keras's default).
        loss: ``"map"`` (``PaperMAPLoss``) or ``"rbf"`` (``RBFLoss``, distances / 16).
        codes: ``"bitmaps"`` (the paper's 7x12 digit drawings) or ``"random"``
            (random +-1 codes, the paper's choice for classes without a drawing).

    Example:
        >>> model = build_paper_recipe(seed=0)
        >>> type(model.optimizer).__name__, type(model.loss).__name__
        ('DiagonalLevenbergMarquardt', 'PaperMAPLoss')
    """
    from .models import build_lenet5

    chosen = {"optimizer": optimizer, "initializer": initializer, "loss": loss, "codes": codes}
    for name, value in chosen.items():
        if value not in INGREDIENTS[name]:
            raise ValueError(f"Expected {name} to be one of {INGREDIENTS[name]}. Received: {name}={value!r}")
    random_codes = None
    if codes == "random":
        random_codes = np.random.default_rng(seed).choice([-1.0, 1.0], size=(10, 84)).astype("float32")
    model = build_lenet5(
        "paper", seed=seed, codes=random_codes,
        kernel_initializer=None if initializer == "glorot" else PaperUniform(sqrt=initializer == "paper-sqrt"),
    )
    if optimizer == "sdlm":
        opt = DiagonalLevenbergMarquardt()
    else:
        from .models import LEARNING_RATES

        opt = keras.optimizers.SGD(LEARNING_RATES["paper"], momentum=0.9)
    model.compile(opt, PaperMAPLoss(j) if loss == "map" else RBFLoss(), metrics=[rbf_accuracy])
    return model
