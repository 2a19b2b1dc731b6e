import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("LENET_COURSE_QUIET", "1")

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def sample():
    from lenet_course.data import load_mnist

    return load_mnist(source="sample")
