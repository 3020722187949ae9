"""Typed training configuration: defaults ← config file (YAML/JSON) ← command-line flags."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from covidseg.data.augment import AugmentConfig
from covidseg.tasks import TASKS
from covidseg.devices import parse_device
from covidseg.errors import ConfigError, FileMissingError

MODELS = ("maunet", "unet")
SCHEDULES = ("poly", "cosine", "constant")
CHECKPOINTS = ("best", "last")
AMP_MODES = ("auto", "on", "off")
PSEUDO_KINDS = ("infection", "teacher")


@dataclass
class TrainConfig:
    # what and where
    task: str = "lesion"
    data: str = ""  # training folder (images/ + mask folders); validation is carved out of it
    out: str = ""  # run folder
    # model (every MA-UNet switch; other MAUNetConfig/UNetConfig fields go in model_options)
    model: str = "maunet"
    base_channels: int = 32
    depth: int = 4
    attention: bool = True
    aspp: bool = True
    multiscale: bool = True
    deep_supervision: bool = True
    model_options: dict = field(default_factory=dict)
    # data
    input_size: int = 352
    val_count: int = 10
    # k-fold cross-validation (folds > 0): validation = fold ``fold`` of the labelled slices,
    # val_count is then unused; folds from folds_file, or made from the names with folds_seed
    folds: int = 0
    fold: int = 0
    folds_seed: int = 0
    folds_file: str = ""
    train_count: int = 0  # 0: every non-validation slice; N: a seeded subset of N (learning curves)
    num_workers: int = 0
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    # HU [low, high] mapped onto the 8-bit grey of NIfTI training volumes; saved in the model's
    # metadata so predict/evaluate/GUI map HU the same way (default: covidseg.io.MODEL_WINDOW)
    hu_window: list = field(default_factory=lambda: [-1100.0, 250.0])
    # optimisation
    epochs: int = 100
    batch_size: int = 8  # per process under torchrun
    steps_per_epoch: int = 0  # 0: one pass over the training slices
    lr: float = 1e-3
    weight_decay: float = 1e-4
    schedule: str = "poly"
    warmup_epochs: float = 2.0
    min_lr: float = 1e-6
    grad_clip: float = 1.0  # max gradient norm; 0 disables
    loss_dice: float = 1.0
    loss_ce: float = 1.0
    ds_weights: list | None = None  # deep-supervision weights, main first; None: 1, 1/2, 1/4, ... normalised
    amp: str = "auto"  # auto: float16 on CUDA only; on: also bfloat16 on CPU
    channels_last: bool = True  # ~1.5x faster MA-UNet training on CPU (measured, 352 px)
    # semi-supervised (pseudo-labels of unlabeled/, weighted, then fine-tuning on radiologist labels)
    unlabeled: str | None = None
    pseudo_folder: str = "pseudo-infection"
    # "infection": binary machine lesion masks (the benchmark's Inf-Net labels, supervise
    # p(infection) only); "teacher": label maps of this task from `covidseg pseudolabel`
    # (own teacher; 255 = unsure pixel, left out of the loss)
    pseudo_kind: str = "infection"
    pseudo_weight: float = 0.5
    pseudo_epochs: int = 0  # first N epochs use pseudo-labels; the rest fine-tune on labels only
    pseudo_per_epoch: int = 200  # pseudo-labelled slices drawn per epoch (0: all)
    # warm start: a model folder (save_pretrained) whose weights initialise the network; its
    # architecture and config must equal this run's (e.g. a student fine-tuned from its teacher)
    init: str = ""
    # run
    seed: int = 0
    device: str = "auto"
    threads: int = 0  # torch intra-op threads; 0 keeps torch's default
    val_every: int = 1
    log_every: int = 10
    export: bool = True
    # which weights become RUN/model: "best" validation Dice, or "last" (the end of the decayed
    # schedule; not the maximum of a noisy 10-slice curve, which favours lucky epochs)
    checkpoint: str = "best"

    def __post_init__(self):
        if isinstance(self.augment, dict):
            self.augment = _from_dict(AugmentConfig, self.augment, "augment")
        self.validate()

    def validate(self) -> None:
        def bad(name: str, why: str):
            raise ConfigError(f"{name}: {why} (got {getattr(self, name)!r})")

        try:
            self.device = parse_device(self.device)
        except ValueError as exc:
            raise ConfigError(f"device: {exc}") from None
        if self.task not in TASKS:
            bad("task", f"must be one of {sorted(TASKS)}")
        if self.model not in MODELS:
            bad("model", f"must be one of {MODELS}")
        if self.schedule not in SCHEDULES:
            bad("schedule", f"must be one of {SCHEDULES}")
        if self.checkpoint not in CHECKPOINTS:
            bad("checkpoint", f"must be one of {CHECKPOINTS}")
        if self.amp not in AMP_MODES:
            bad("amp", f"must be one of {AMP_MODES}")
        for name in ("base_channels", "depth", "input_size", "epochs", "batch_size", "val_every", "log_every"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                bad(name, "must be a positive integer")
        for name in ("val_count", "train_count", "num_workers", "steps_per_epoch", "threads", "pseudo_epochs",
                     "pseudo_per_epoch", "seed", "folds", "fold", "folds_seed"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                bad(name, "must be a non-negative integer")
        if self.folds == 1:
            bad("folds", "must be 0 (no cross-validation) or >= 2")
        if self.folds and self.fold >= self.folds:
            bad("fold", f"must be in 0..{self.folds - 1} for {self.folds} folds")
        if self.folds_file and not self.folds:
            bad("folds_file", "needs folds > 0 (--folds)")
        from covidseg.models.pretrained import MAX_BATCH_SIZE, MAX_INPUT_SIZE

        if self.input_size > MAX_INPUT_SIZE:
            bad("input_size", f"must be <= {MAX_INPUT_SIZE}")
        if self.batch_size > MAX_BATCH_SIZE:
            bad("batch_size", f"must be <= {MAX_BATCH_SIZE}")
        if self.input_size % 2 ** self.depth:
            bad("input_size", f"must be a multiple of 2**depth = {2 ** self.depth}")
        for name in ("lr", "weight_decay", "warmup_epochs", "min_lr", "grad_clip", "loss_dice", "loss_ce", "pseudo_weight"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0:
                bad(name, "must be a non-negative number")
        if self.lr == 0:
            bad("lr", "must be > 0")
        if self.loss_dice == 0 and self.loss_ce == 0:
            bad("loss_dice", "loss_dice and loss_ce cannot both be 0")
        if self.ds_weights is not None and (
            not isinstance(self.ds_weights, (list, tuple)) or not self.ds_weights or any(float(w) < 0 for w in self.ds_weights)
        ):
            bad("ds_weights", "must be a non-empty list of non-negative numbers")
        if (not isinstance(self.hu_window, (list, tuple)) or len(self.hu_window) != 2
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in self.hu_window)
                or not float(self.hu_window[1]) > float(self.hu_window[0])):
            bad("hu_window", "must be [low, high] HU with high > low")
        if not isinstance(self.model_options, dict):
            bad("model_options", "must be a mapping")
        if self.pseudo_kind not in PSEUDO_KINDS:
            bad("pseudo_kind", f"must be one of {PSEUDO_KINDS}")
        if self.unlabeled and self.task == "lung" and self.pseudo_kind == "infection":
            bad("unlabeled", "pseudo-labels only mark infection; semi-supervised training is not available for task 'lung'")
        if self.pseudo_epochs and not self.unlabeled:
            bad("pseudo_epochs", "needs an unlabeled folder (--unlabeled)")
        if self.pseudo_epochs > self.epochs:
            bad("pseudo_epochs", f"must be <= epochs ({self.epochs})")

    # --- (de)serialisation -------------------------------------------------------------
    def to_dict(self) -> dict:
        d = asdict(self)
        d["augment"] = asdict(self.augment)
        return d

    @classmethod
    def from_dict(cls, d: dict, source: str = "config") -> "TrainConfig":
        return _from_dict(cls, d, source)

    def model_config(self, num_classes: int):
        """The MAUNetConfig/UNetConfig of this run."""
        from covidseg.models import MAUNetConfig, UNetConfig

        base = dict(in_channels=1, num_classes=num_classes, base_channels=self.base_channels, depth=self.depth)
        if self.model == "maunet":
            cls = MAUNetConfig
            base.update(attention=self.attention, aspp=self.aspp, multiscale=self.multiscale,
                        deep_supervision=self.deep_supervision)
        else:
            cls = UNetConfig
        known = {f.name for f in fields(cls)}
        for key, value in self.model_options.items():
            if key not in known or key in ("in_channels", "num_classes"):
                raise ConfigError(f"model_options: {key!r} is not a settable {cls.__name__} field "
                                  f"(settable: {sorted(known - {'in_channels', 'num_classes'})})")
            base[key] = value
        try:
            model_cfg = cls(**base)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"model: {exc}") from None
        from covidseg.models import MAUNet, UNet
        from covidseg.models.pretrained import MAX_PARAMETERS, planned_parameters

        # Counted on the meta device: an oversized base_channels/depth is a config error, not
        # a process the kernel kills while it allocates the network.
        n = planned_parameters(MAUNet if self.model == "maunet" else UNet, model_cfg)
        if n > MAX_PARAMETERS:
            raise ConfigError(f"base_channels: a network of {n:,} parameters is over the limit of {MAX_PARAMETERS:,} "
                              f"(got base_channels={self.base_channels}, depth={self.depth})")
        return model_cfg


def _from_dict(cls, d: dict, source: str):
    if not isinstance(d, dict):
        raise ConfigError(f"{source}: expected a mapping, got {type(d).__name__}")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(d) - known)
    if unknown:
        raise ConfigError(f"{source}: unknown key(s) {unknown} (known: {sorted(known)})")
    try:
        return cls(**d)
    except ValueError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    except TypeError as exc:
        raise ConfigError(f"{source}: {exc}") from None


def read_config_file(path: str | Path) -> dict:
    """A YAML (.yaml/.yml) or JSON (.json) mapping of TrainConfig fields."""
    path = Path(path)
    if not path.is_file():
        raise FileMissingError("config file does not exist", path)
    text = path.read_text()
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text) or {}
        elif path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            raise ConfigError("config file must end in .yaml, .yml or .json", path)
    except (ValueError, ImportError) as exc:  # yaml.YAMLError derives from Exception; see below
        raise ConfigError(f"cannot parse config file ({exc})", path) from None
    except Exception as exc:  # yaml.YAMLError
        raise ConfigError(f"cannot parse config file ({exc})", path) from None
    if not isinstance(data, dict):
        raise ConfigError("config file must hold a mapping of settings", path)
    return data


def merge(base: dict, override: dict[str, Any]) -> dict:
    """``base`` updated with ``override`` (nested dicts such as ``augment`` merged key by key)."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out
