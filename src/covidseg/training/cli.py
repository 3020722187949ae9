"""``covidseg train``: a thin layer over :class:`covidseg.training.Trainer`.

Settings are resolved as: TrainConfig defaults ← ``--config FILE`` (YAML/JSON) ← flags.
"""

from __future__ import annotations

import argparse
import json

BOOL_SWITCHES = {
    "attention": "CBAM attention after every encoder stage (MA-UNet)",
    "aspp": "ASPP at the bottleneck (MA-UNet)",
    "multiscale": "multi-scale aggregation of decoder features (MA-UNet)",
    "deep_supervision": "auxiliary losses at coarser decoder scales (MA-UNet)",
    "channels_last": "channels-last memory format (often faster on CPU)",
    "augment": "data augmentation (flip, rotation, scale, elastic, intensity)",
    "export": "export the best model with save_pretrained at the end",
}


def configure(parser: argparse.ArgumentParser) -> None:
    from covidseg.tasks import TASKS
    from covidseg.devices import DEVICE_HELP
    from covidseg.training.config import AMP_MODES, MODELS, SCHEDULES

    g = parser.add_argument_group("run")
    g.add_argument("--task", choices=sorted(TASKS), default=None,
                   help="lesion (binary infection), classes (GGO/consolidation), lung, or all (one network for all three) [lesion]")
    g.add_argument("--data", metavar="DIR", default=None, help="training folder: images/ + infection/ classes/ lung/ (see docs/training.md)")
    g.add_argument("--out", metavar="RUN", default=None, help="run folder to create (checkpoints, logs, exported model)")
    g.add_argument("--config", metavar="FILE", default=None, help="YAML or JSON file of settings (flags override it)")
    g.add_argument("--resume", metavar="RUN", default=None,
                   help="continue the run in RUN where it stopped (--epochs may extend it)")
    g.add_argument("--seed", type=int, default=None, help="seed of split, order, augmentation and init [0]")
    g.add_argument("--device", default=None, help=f"{DEVICE_HELP} [auto]")
    g.add_argument("--threads", type=int, default=None, help="torch CPU threads (0: torch default) [0]")
    g.add_argument("--num-workers", type=int, default=None, help="data-loader worker processes [0]")
    g.add_argument("--quiet", action="store_true", help="no progress output")
    m = parser.add_argument_group("model")
    m.add_argument("--model", choices=MODELS, default=None, help="maunet or the plain unet baseline [maunet]")
    m.add_argument("--base-channels", type=int, default=None, help="channels of the first stage [32]")
    m.add_argument("--depth", type=int, default=None, help="number of down-sampling stages [4]")
    m.add_argument("--model-opt", action="append", default=[], metavar="KEY=VALUE",
                   help="any other model config field, e.g. norm=instance, aspp_dilations=[2,4,6] (JSON values)")
    o = parser.add_argument_group("optimisation")
    o.add_argument("--input-size", type=int, default=None, help="square training size in pixels [352]")
    o.add_argument("--epochs", type=int, default=None, help="[100]")
    o.add_argument("--batch-size", type=int, default=None, help="slices per step (per process under torchrun) [8]")
    o.add_argument("--steps-per-epoch", type=int, default=None, help="0: one pass over the data [0]")
    o.add_argument("--lr", type=float, default=None, help="AdamW peak learning rate [1e-3]")
    o.add_argument("--weight-decay", type=float, default=None, help="[1e-4]")
    o.add_argument("--schedule", choices=SCHEDULES, default=None, help="after warm-up [poly]")
    o.add_argument("--warmup-epochs", type=float, default=None, help="[2]")
    o.add_argument("--grad-clip", type=float, default=None, help="max gradient norm, 0 = off [1.0]")
    o.add_argument("--loss-dice", type=float, default=None, help="weight of the Dice loss [1]")
    o.add_argument("--loss-ce", type=float, default=None, help="weight of the cross-entropy loss [1]")
    o.add_argument("--ds-weights", default=None, metavar="W0,W1,..", help="deep-supervision weights, main output first")
    o.add_argument("--amp", choices=AMP_MODES, default=None, help="mixed precision: auto = float16 on CUDA only [auto]")
    o.add_argument("--val-count", type=int, default=None, help="training slices held out for validation [10]")
    o.add_argument("--folds", type=int, default=None,
                   help="k-fold cross-validation: validate on fold --fold of k (replaces --val-count) [0: off]")
    o.add_argument("--fold", type=int, default=None, help="which fold (0..k-1) is this run's validation [0]")
    o.add_argument("--folds-file", metavar="JSON", default=None,
                   help="fixed folds (e.g. configs/folds.json); default: made from the slice names with --folds-seed")
    o.add_argument("--folds-seed", type=int, default=None, help="seed of the folds, independent of --seed [0]")
    o.add_argument("--train-count", type=int, default=None,
                   help="train on a seeded subset of this many of the non-validation slices, 0 = all (learning "
                        "curves; the validation slices do not change) [0]")
    o.add_argument("--checkpoint", choices=("best", "last"), default=None,
                   help="weights exported to RUN/model: best validation Dice or the last epoch; may be changed "
                        "with --resume on a finished run to re-export [best]")
    o.add_argument("--val-every", type=int, default=None, help="validate every N epochs [1]")
    o.add_argument("--init", metavar="MODEL", default=None,
                   help="start from the weights of this model folder (same architecture and config), "
                        "e.g. a student fine-tuned from its teacher [random initialisation]")
    s = parser.add_argument_group("semi-supervised")
    s.add_argument("--unlabeled", metavar="DIR", default=None, help="folder with images/ + pseudo-infection/ (machine labels)")
    s.add_argument("--pseudo-epochs", type=int, default=None, help="first N epochs also use pseudo-labels, then fine-tune [0]")
    s.add_argument("--pseudo-weight", type=float, default=None, help="loss weight of pseudo-labelled slices [0.5]")
    s.add_argument("--pseudo-kind", choices=("infection", "teacher"), default=None,
                   help="infection: binary machine lesion masks (Inf-Net's); teacher: label maps of this task "
                        "written by covidseg pseudolabel (255 = ignored pixel) [infection]")
    s.add_argument("--pseudo-folder", default=None, metavar="NAME",
                   help="subfolder of --unlabeled holding the pseudo-labels [pseudo-infection]")
    s.add_argument("--pseudo-per-epoch", type=int, default=None, help="pseudo-labelled slices drawn per epoch, 0 = all [200]")
    for name, help_text in BOOL_SWITCHES.items():
        flag = name.replace("_", "-")
        target = parser if name not in ("attention", "aspp", "multiscale", "deep_supervision") else m
        target.add_argument(f"--{flag}", dest=name, action=argparse.BooleanOptionalAction, default=None, help=help_text)
    _show_defaults(parser)


def _show_defaults(parser: argparse.ArgumentParser) -> None:
    """Write TrainConfig's defaults into the ``[default]`` of each flag's help: the flags
    default to None (a config file may set them), so the dataclass stays the one source."""
    import re
    from dataclasses import MISSING, fields

    from covidseg.training.config import TrainConfig

    defaults = {f.name: f.default for f in fields(TrainConfig) if f.default is not MISSING}
    for action in parser._actions:
        if action.dest in defaults and action.help:
            value = defaults[action.dest]
            action.help = re.sub(r"\[[^\]:]*(:[^\]]*)?\]$", lambda m: f"[{value}{m.group(1) or ''}]", action.help)


def _parse_value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def overrides_from_args(args: argparse.Namespace) -> dict:
    """Settings given explicitly on the command line (flags left at None are not overrides)."""
    from covidseg.errors import ConfigError

    keys = ["task", "data", "out", "seed", "device", "threads", "num_workers", "model", "base_channels", "depth",
            "input_size", "epochs", "batch_size", "steps_per_epoch", "lr", "weight_decay", "schedule", "warmup_epochs",
            "grad_clip", "loss_dice", "loss_ce", "amp", "val_count", "folds", "fold", "folds_file", "folds_seed", "train_count", "val_every", "unlabeled", "pseudo_epochs",
            "pseudo_weight", "pseudo_per_epoch", "pseudo_kind", "pseudo_folder", "attention", "aspp", "multiscale", "deep_supervision",
            "channels_last", "export", "checkpoint", "init"]
    out = {k: getattr(args, k) for k in keys if getattr(args, k, None) is not None}
    if getattr(args, "augment", None) is not None:
        out["augment"] = {"enabled": args.augment}
    if getattr(args, "ds_weights", None):
        try:
            out["ds_weights"] = [float(w) for w in args.ds_weights.split(",")]
        except ValueError:
            raise ConfigError(f"--ds-weights: expected comma-separated numbers, got {args.ds_weights!r}") from None
    opts = {}
    for item in getattr(args, "model_opt", []) or []:
        if "=" not in item:
            raise ConfigError(f"--model-opt: expected KEY=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        opts[k.strip()] = _parse_value(v.strip())
    if opts:
        out["model_options"] = opts
    return out


def main(args: argparse.Namespace) -> int:
    from covidseg.training.config import TrainConfig, merge, read_config_file
    from covidseg.training.trainer import Trainer

    overrides = overrides_from_args(args)
    if args.resume:
        if args.config:
            from covidseg.errors import ConfigError

            raise ConfigError("--config cannot be combined with --resume (the run's config.json is used)")
        overrides.pop("out", None)
        trainer = Trainer.resume(args.resume, overrides, verbose=not args.quiet)
    else:
        base = read_config_file(args.config) if args.config else {}
        cfg = TrainConfig.from_dict(merge(base, overrides), source=args.config or "command line")
        trainer = Trainer(cfg, verbose=not args.quiet)
    result = trainer.fit()
    return 0 if result.status == "completed" else 130
