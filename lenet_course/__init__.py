"""lenet_course: the companion package of "LeNet-5, layer by layer".

Modules, one job each:

* the network: ``data`` (MNIST, its local copies, the offline sample), ``layers`` (C3,
  subsampling, RBF output), ``reference`` (the same layers in NumPy), ``backprop`` (their
  gradients in NumPy), ``models`` (LeNet-5 variants, layer table), ``train``, ``plots``;
* the paper's recipe: ``paper_numbers`` (what the paper reports), ``paper_recipe`` (SDLM,
  initialisation, loss, codes), ``curvature``, ``distortions``, ``reproduce``
  (``python -m lenet_course.reproduce``), ``shipped_runs`` (its shipped full-data runs),
  ``export`` (the Draw-a-digit weights);
* the book: ``book`` (``glue``, harmless outside a book build);
* exercises and grading: ``checks`` and ``questions`` (the graded questions), ``exercises``
  (exercise notebooks from solutions), ``grading`` (a class), ``kernel`` (one submission's run),
  ``sandbox`` (bubblewrap), ``answers``, ``reports``, ``cli`` (``lenet-course``).
"""

__version__ = "0.1.0"
