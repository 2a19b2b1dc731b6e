"""What LeCun, Bottou, Bengio and Haffner (1998) report for LeNet-5 on MNIST, the numbers
the course's runs are compared with. Plain constants, no Keras: ``shipped_runs`` reads
the shipped runs without loading TensorFlow.

Example:
    >>> from lenet_course.paper_numbers import PAPER_TEST_ERROR
    >>> f"{PAPER_TEST_ERROR[False]:.2%} without distortions, {PAPER_TEST_ERROR[True]:.2%} with"
    '0.95% without distortions, 0.80% with'
"""

# Test error on the official 10,000 test digits, without / with distorted training digits.
PAPER_TEST_ERROR = {False: 0.0095, True: 0.0080}
# Section III.C, without distortions: "The test error rate stabilizes after around 10 passes
# through the training set at 0.95%. The error rate on the training set reaches 0.35% after
# 19 passes."
PAPER_LEARNING_CURVE = {"passes": 19, "training_error": 0.0035, "test_error": 0.0095}
# Passes through the training set (figure 5 and the eta stages of appendix C).
PAPER_PASSES = 20
