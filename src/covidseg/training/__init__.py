"""Training: :class:`Trainer` and :class:`TrainConfig` (the ``covidseg train`` subcommand is :mod:`covidseg.training.cli`)."""

from covidseg.training.config import TrainConfig, read_config_file
from covidseg.training.losses import SegLoss
from covidseg.training.trainer import Trainer, TrainResult, code_version

__all__ = ["TrainConfig", "Trainer", "TrainResult", "SegLoss", "read_config_file", "code_version"]
