"""Inference: the :class:`Segmenter` API behind ``covidseg predict`` and the GUI."""

from covidseg.inference.config import LUNG_METHODS, OUTPUTS, SegmenterConfig
from covidseg.inference.engine import TRAINING_HU_WINDOW, InferenceMemoryError
from covidseg.inference.segmenter import Prediction, Segmenter

__all__ = ["Segmenter", "SegmenterConfig", "Prediction", "OUTPUTS", "LUNG_METHODS", "TRAINING_HU_WINDOW",
           "InferenceMemoryError"]
