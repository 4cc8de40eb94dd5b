"""Collection rules for the whole suite: modules and test files that need an optional library
are left out when it is not installed (the NumPy-only run of the README's test command)."""

from __future__ import annotations

import importlib.util

_NEEDS = {
    "src/nearly/backends/jax.py": "jax",
    "src/nearly/backends/pandas.py": "pandas",
    "src/nearly/backends/scipy.py": "scipy",
    "src/nearly/backends/tensorflow.py": "tensorflow",
    "src/nearly/backends/torch.py": "torch",
    "src/nearly/backends/xarray.py": "xarray",
    "src/nearly/keras.py": "tensorflow",
    "src/nearly/torch.py": "torch",
}

collect_ignore = [
    path for path, module in _NEEDS.items() if importlib.util.find_spec(module) is None
]
