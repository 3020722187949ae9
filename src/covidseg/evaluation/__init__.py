"""Evaluation: metrics, the ``binary`` and ``published`` (COVID-SemiSeg benchmark) protocols.

The ``evaluate`` subcommand is :mod:`covidseg.evaluation.cli`.
"""

from covidseg.evaluation.evaluate import (
    EvaluationResult,
    GroundTruth,
    evaluate,
    load_ground_truth,
    masks_from_probabilities,
    predict_probabilities,
)
from covidseg.evaluation.metrics import (
    binary_metrics,
    confusion,
    e_measure,
    hd95,
    normalize_map,
    published_image,
    published_summary,
    s_measure,
    summarize_binary,
    thresholds,
)

__all__ = [
    "EvaluationResult", "GroundTruth", "evaluate", "load_ground_truth", "masks_from_probabilities",
    "predict_probabilities", "binary_metrics", "confusion", "e_measure", "hd95", "normalize_map",
    "published_image", "published_summary", "s_measure", "summarize_binary", "thresholds",
]
