"""Inference: the :class:`Segmenter` API (running the networks, HU lung, post-processing)
behind ``covidseg predict`` (:mod:`covidseg.batch`) and the GUI."""

from covidseg.inference.config import LUNG_METHODS, OUTPUTS, SegmenterConfig
from covidseg.inference.engine import TRAINING_HU_WINDOW, InferenceMemoryError
from covidseg.inference.prediction import PredictionData
from covidseg.inference.segmenter import Prediction, Segmenter

__all__ = ["Segmenter", "SegmenterConfig", "Prediction", "PredictionData", "OUTPUTS", "LUNG_METHODS", "TRAINING_HU_WINDOW",
           "InferenceMemoryError"]
