"""Compare candidate models on the validation slices only, to choose what ships.

    python benchmarks/select_on_val.py --split runs/long/all-e400/split.json \
        src/covidseg/weights/maunet-all runs/long/all-e400/model runs/long/all-e400-light/model

The validation slices named in ``split.json`` (held out of training by ``covidseg train``)
are linked into a temporary split folder and every model is evaluated there with
:func:`covidseg.evaluation.evaluate` under both protocols. A model whose own run folder
holds a ``split.json`` with different validation slices is refused: it may have trained on
them. The test split is never read here. ``--tta`` adds each model with mirror test-time
augmentation; ``--out FILE`` keeps the numbers as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRAIN = ROOT.parent / "shared" / "data" / "covid-semiseg" / "train"
COLUMNS = [("published", "infection", "mean_dice"), ("published", "infection", "mean_sensitivity"),
           ("published", "infection", "mean_specificity"), ("binary", "infection", "dice"),
           ("binary", "ggo", "dice"), ("binary", "consolidation", "dice"), ("binary", "lung", "dice")]


def val_names(split_file: Path) -> list[str]:
    names = json.loads(split_file.read_text()).get("val") or []
    if not names:
        sys.exit(f"{split_file}: no validation slices listed")
    return [str(n) for n in names]


def link_view(train: Path, names: list[str], dest: Path) -> Path:
    """A split folder holding only ``names`` (symlinks into ``train``)."""
    wanted = set(names)
    for sub in sorted(p for p in train.iterdir() if p.is_dir()):
        (dest / sub.name).mkdir(parents=True)
        for f in sub.iterdir():
            if f.stem in wanted:
                (dest / sub.name / f.name).symlink_to(f.resolve())
    found = {f.stem for f in (dest / "images").iterdir()}
    if found != wanted:
        sys.exit(f"{train}: validation slices missing from images/: {sorted(wanted - found)}")
    return dest


def check_split(model: Path, names: list[str]) -> None:
    own = model.parent / "split.json"
    if own.is_file() and sorted(val_names(own)) != sorted(names):
        sys.exit(f"{model}: trained with a different validation split ({own}); its numbers here would be biased")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="+", type=Path, help="model folders (save_pretrained format)")
    ap.add_argument("--split", type=Path, required=True, help="split.json of a training run (its 'val' list)")
    ap.add_argument("--train", type=Path, default=TRAIN, help=f"labelled training split folder [{TRAIN}]")
    ap.add_argument("--tta", action="store_true", help="also evaluate every model with mirror TTA")
    ap.add_argument("--out", type=Path, default=None, help="write the numbers here as JSON")
    args = ap.parse_args(argv)

    from covidseg.evaluation import evaluate

    names = val_names(args.split)
    for m in args.models:
        check_split(m, names)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        view = link_view(args.train, names, Path(tmp) / "val")
        for m in args.models:
            for tta in (False, True) if args.tta else (False,):
                result = evaluate(view, model=m, tta=tta)
                res = result.to_dict()["protocols"]
                row = {"model": str(m) + (" +TTA" if tta else ""), "threshold": result.threshold}
                for proto, target, key in COLUMNS:
                    row[f"{proto}.{target}.{key}"] = res[proto].get(target, {}).get("mean", {}).get(key, float("nan"))
                rows.append(row)
    head = ["model", "thr"] + [f"{p[:3]}.{t[:4]}.{k.replace('mean_', '')[:4]}" for p, t, k in COLUMNS]
    print(f"{len(names)} validation slices: {', '.join(names)}")
    print(" | ".join(head))
    for r in rows:
        vals = [f"{r[f'{p}.{t}.{k}']:.3f}" for p, t, k in COLUMNS]
        print(" | ".join([r["model"], f"{r['threshold']:.2f}", *vals]))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"split": str(args.split), "val": names, "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
