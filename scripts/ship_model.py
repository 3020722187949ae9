"""Copy a finished training run's model into the package as shipped weights.

    python scripts/ship_model.py runs/shipped_maunet_all src/covidseg/weights/maunet-all \
        --config configs/shipped_maunet_all.yaml

Re-saves ``RUN/model`` with float16 storage (half the file; loading gives float32; for maunet-all
no infection or lung number moved at three decimals, GGO/consolidation ones by at most 0.001) and
adds provenance to its metadata: the committed config, the exact training command(s) from
``RUN/run.json`` (resumes included) and the training wall time summed from ``metrics.csv``.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
from pathlib import Path


def add_operating_point_args(ap: argparse.ArgumentParser, threshold_required: bool = False) -> None:
    """--dtype, --threshold, --published-temperature, --chosen-by (shared with ship_ensemble.py)."""
    ap.add_argument("--dtype", default="float16", choices=("float16", "float32"))
    ap.add_argument("--threshold", type=float, default=None, required=threshold_required,
                    help="operating threshold chosen out-of-fold (benchmarks/cv.py oof); default: the run's")
    ap.add_argument("--published-temperature", type=float, default=None,
                    help="temperature for the published protocol only, chosen out-of-fold (evaluation/calibration.py)")
    ap.add_argument("--chosen-by", default=None,
                    help="where --threshold / --published-temperature come from, e.g. benchmarks/results/cv/all-e300.json")


def operating_point(args) -> dict:
    """The metadata keys the operating-point flags set; exits on a value out of range."""
    meta = {}
    if args.threshold is not None:
        if not 0 < args.threshold < 1:
            sys.exit(f"--threshold: must be in (0, 1), got {args.threshold}")
        meta["threshold"] = args.threshold
    if args.published_temperature is not None:
        if not args.published_temperature > 0:
            sys.exit(f"--published-temperature: must be > 0, got {args.published_temperature}")
        meta["published_temperature"] = args.published_temperature
    if args.chosen_by:
        meta["operating_point_chosen_by"] = args.chosen_by
    return meta


def install(model, dest: Path, metadata: dict | None, dtype: str) -> None:
    """Save ``model`` beside ``dest``, re-load it (checksum, shapes), then replace ``dest``."""
    from covidseg.models import load_pretrained

    tmp = dest.with_name(dest.name + ".new")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp, metadata=metadata, dtype=dtype)
    load_pretrained(tmp)  # verifies the checksum and that the weights fit before replacing anything
    if dest.exists():
        shutil.rmtree(dest)
    tmp.rename(dest)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", type=Path, help="training run folder (holds model/, run.json, metrics.csv)")
    ap.add_argument("dest", type=Path, help="destination model folder, e.g. src/covidseg/weights/maunet-all")
    ap.add_argument("--config", type=Path, required=True, help="the committed config the run was trained with")
    add_operating_point_args(ap)
    args = ap.parse_args(argv)
    extra = operating_point(args)

    from covidseg.models import load_pretrained

    for need in (args.run / "model", args.run / "run.json", args.run / "metrics.csv", args.config):
        if not need.exists():
            sys.exit(f"{need}: missing")
    model = load_pretrained(args.run / "model")
    run = json.loads((args.run / "run.json").read_text())
    with open(args.run / "metrics.csv", newline="") as f:
        epochs = list(csv.DictReader(f))
    meta = dict(model.metadata)
    meta.update({
        "config_file": args.config.as_posix(),
        "train_commands": run.get("commands", []),
        "train_wall_time_min": round(sum(float(r["epoch_time_s"]) for r in epochs) / 60, 1),
        "trained_epochs": len(epochs),
        "torch": run.get("torch"),
    })
    meta.update(extra)
    install(model, args.dest, meta, args.dtype)
    print(f"{args.dest}: {model.architecture}, {sum(p.numel() for p in model.parameters()) / 1e6:.2f} M parameters, "
          f"{(args.dest / 'model.safetensors').stat().st_size / 1e6:.1f} MB ({args.dtype}), "
          f"trained {meta['train_wall_time_min']} min over {len(epochs)} epochs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
