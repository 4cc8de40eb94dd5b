"""Write the seed example: a model check where two "identical" outputs fail.

A classifier's predictions are saved as ``model_outputs.npz`` and the reference
values as ``expected.npz``. Printed side by side they look the same, yet a
strict equality check fails, for two separate reasons:

* ``predicted_class``: the model's argmax was cast to float32, while the
  expected labels are int64. Same numbers, different dtypes.
* ``probabilities``: one of the 24 float32 values differs by exactly one unit
  in the last place (ULP), which no printout at the default precision shows.

Try::

    nearly compare examples/seed/model_outputs.npz examples/seed/expected.npz
    nearly compare examples/seed/model_outputs.npz examples/seed/expected.npz --ulps 0
    nearly compare examples/seed/model_outputs.npz examples/seed/expected.npz --check-dtype

The first passes (the default float32 tolerances absorb one ULP), the second
fails on the one-ULP difference, the third fails on float32 versus int64.
Running this script again rewrites both files with the same contents.
"""

from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "seed"

LABELS = [0, 2, 1, 1, 0, 2, 1, 0]

# Rounded softmax outputs, one row per sample; each row sums to 1.
PROBABILITIES = [
    [0.7212, 0.1654, 0.1134],
    [0.0931, 0.2270, 0.6799],
    [0.1825, 0.6402, 0.1773],
    [0.2048, 0.5531, 0.2421],
    [0.8836, 0.0712, 0.0452],
    [0.1517, 0.3096, 0.5387],
    [0.2605, 0.4978, 0.2417],
    [0.5523, 0.2764, 0.1713],
]

# The one element that differs, by exactly one float32 ULP.
CHANGED = (3, 1)


def main() -> None:
    probabilities = np.array(PROBABILITIES, dtype=np.float32)
    predicted_class = probabilities.argmax(axis=1).astype(np.float32)
    assert predicted_class.tolist() == LABELS

    expected_probabilities = probabilities.copy()
    expected_probabilities[CHANGED] = np.nextafter(
        probabilities[CHANGED], np.float32(np.inf), dtype=np.float32
    )

    OUT.mkdir(exist_ok=True)
    np.savez(
        OUT / "model_outputs.npz",
        predicted_class=predicted_class,
        probabilities=probabilities,
    )
    np.savez(
        OUT / "expected.npz",
        predicted_class=np.array(LABELS, dtype=np.int64),
        probabilities=expected_probabilities,
    )
    print(f"wrote {OUT / 'model_outputs.npz'} and {OUT / 'expected.npz'}")


if __name__ == "__main__":
    main()
