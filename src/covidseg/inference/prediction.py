"""What is predicted for one case, as data: :class:`PredictionData`.

The report and batch rooms (:mod:`covidseg.report`, :mod:`covidseg.batch`) and the GUI take
this record; it imports nothing from the pipeline, so they never import the networks and no
import circle runs through them. :class:`covidseg.inference.Prediction` (what
``Segmenter.predict`` returns) is this record plus ``report()`` and ``save()``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from covidseg.inference.config import SegmenterConfig
    from covidseg.quantify import Measurements

__all__ = ["PredictionData"]


@dataclass
class PredictionData:
    """Everything predicted for one case, in the input's own grid (2-D or 3-D like ``image.array``).

    Masks are None when not requested/available. ``probabilities`` maps ``lung``, ``lesion``,
    ``ggo``, ``consolidation`` to uint8 maps (probability x 255) of the channels the networks
    gave. ``sides``: 1 right lung, 2 left lung, 0 elsewhere.
    """

    image: Any  # covidseg.io.CTImage
    lung: np.ndarray | None
    lesion: np.ndarray | None
    classes: np.ndarray | None
    sides: np.ndarray | None
    probabilities: dict[str, np.ndarray]
    measurements: Measurements
    models: list[dict]
    lung_source: str  # "hu", "model", "hu+lesion", "hu+model", "none"
    tasks: tuple[str, ...]
    timings: dict[str, float] = field(default_factory=dict)
    config: SegmenterConfig | None = None
    precision: str | None = None  # "fp32" / "bf16" as the networks actually ran
    # lesion removed by the HU false-positive filters, in ``measurements.unit`` (None: not run)
    lesion_filtered: dict[str, float] | None = None
    warnings: list[str] = field(default_factory=list)  # implausible lung (lung_hu.lung_warnings)
    # the patient's midline: index along the lateral in-plane axis (HU input: the body's centre)
    # that split the lung into right and left; None: not known (split by the lungs' gap)
    midline: float | None = None
