"""lenet_course: the companion package of "LeNet-5, layer by layer".

Modules, one job each: ``data`` (MNIST, offline sample), ``layers`` (C3, subsampling,
RBF output), ``reference`` (the same layers in NumPy), ``models`` (LeNet-5 variants,
layer table), ``train``, ``plots``.
"""

__version__ = "0.1.0"
