"""Temperature scaling of a probability map for the published protocol only.

The COVID-SemiSeg protocol min-max normalises a map and averages Dice over 256 thresholds, so
it rewards maps that are saturated (near 0 or 1) and punishes a wide band of mid
probabilities, even when the mask at the operating threshold is the same. ``sharpen`` is a
monotone map of each probability,

    p' = sigmoid((logit(p) - logit(centre)) / temperature),

centred on the operating threshold: ``p > centre`` exactly when ``p' > 0.5``, so no mask that
covidseg writes changes; only the ordering-preserving spread of the map does. The
temperature is chosen out-of-fold (``benchmarks/cv.py oof``), never on ``test/``, and the
model card shows the raw and the calibrated published numbers side by side.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, logit

_EPS = 1e-7


def sharpen(prob: np.ndarray, temperature: float, centre: float = 0.5) -> np.ndarray:
    """``prob`` (any shape, values in [0, 1]) scaled by ``temperature`` about ``centre``.

    ``temperature`` < 1 saturates the map, > 1 flattens it, 1 with centre 0.5 is the identity.
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if not 0 < centre < 1:
        raise ValueError(f"centre must be in (0, 1), got {centre}")
    # float64 throughout: a float32 sigmoid ties distinct probabilities at 0 or 1 for small temperatures
    p = np.clip(np.asarray(prob, np.float64), _EPS, 1 - _EPS)
    return expit((logit(p) - logit(centre)) / temperature).astype(np.float32)
