"""What every benchmark prints about the machine it ran on, so that numbers say where they come from.

    >>> describe()            # doctest: +SKIP
    'Intel(R) Xeon(R) Processor, 2 logical CPUs, Linux 6.18.44, Python 3.11.7'
    >>> load_average()        # doctest: +SKIP
    '0.80 1.71 1.89'
"""

import os
import platform
from pathlib import Path


def describe():
    """The CPU model, the number of logical CPUs, the system and the Python version."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}")


def load_average():
    """The 1, 5 and 15-minute load averages, or 'n/a' where the system does not tell."""
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except (AttributeError, OSError):
        return "n/a"
