"""The seed tutorial's LeNet-5, written as the tutorial writes it: the yardstick.

Plain Keras and NumPy, nothing from ``lenet_course``: a ``Sequential`` of
Conv2D / AveragePooling2D / Dense with tanh, ``compile("sgd",
"categorical_crossentropy")`` and ``fit`` on NumPy float arrays with one-hot
labels. ``benchmarks/train_speed.py`` times it against the package's training
path, and ``tests/test_train.py`` checks that the package's fast path reaches the
same accuracy after the same number of epochs.

The tutorial's batch size is 32 (also Keras's default for ``fit``, and the
course's): at 32 this code trains at the speed the performance issue quotes for
it, 2,000-2,500 images/s on 2 CPU cores.
"""

import keras

BATCH_SIZE = 32


def tutorial_inputs(images, labels):
    """Raw uint8 digits (n, 28, 28) and labels 0-9 -> the tutorial's float images and one-hot labels."""
    x_train = images.reshape(-1, 28, 28, 1).astype("float32") / 255
    y_train = keras.utils.to_categorical(labels, 10)
    return x_train, y_train


def tutorial_model():
    """The tutorial's model, compiled as it compiles it."""
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        keras.layers.Conv2D(6, kernel_size=5, padding="same", activation="tanh"),
        keras.layers.AveragePooling2D(pool_size=2),
        keras.layers.Conv2D(16, kernel_size=5, activation="tanh"),
        keras.layers.AveragePooling2D(pool_size=2),
        keras.layers.Conv2D(120, kernel_size=5, activation="tanh"),
        keras.layers.Flatten(),
        keras.layers.Dense(84, activation="tanh"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def train_tutorial(images, labels, *, epochs, verbose=0):
    """The whole tutorial: inputs, model, ``fit``. Returns the trained model."""
    x_train, y_train = tutorial_inputs(images, labels)
    model = tutorial_model()
    model.fit(x_train, y_train, batch_size=BATCH_SIZE, epochs=epochs, verbose=verbose)
    return model
