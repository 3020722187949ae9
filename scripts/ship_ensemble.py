"""Combine trained model folders into one ensemble model folder (mean of their probabilities).

    python scripts/ship_ensemble.py src/covidseg/weights/maunet-all runs/final/all50-e300/model \
        src/covidseg/weights/maunet-ens --threshold 0.35 --chosen-by benchmarks/results/cv/ens.json

Each member is loaded with its checksum verified; they must agree on task, labels, input size,
HU window and slice axes (``covidseg.models.combine``). The result is saved with float16
storage like ``scripts/ship_model.py`` and re-loaded (checksum, shapes) before it replaces DEST.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("members", type=Path, nargs="+", help="two or more model folders, then DEST")
    ap.add_argument("--dtype", default="float16", choices=("float16", "float32"))
    ap.add_argument("--threshold", type=float, required=True, help="operating threshold chosen out-of-fold")
    ap.add_argument("--published-temperature", type=float, default=None,
                    help="temperature for the published protocol only, chosen out-of-fold")
    ap.add_argument("--chosen-by", default=None, help="where the threshold / temperature come from")
    args = ap.parse_args(argv)
    *members, dest = args.members
    if len(members) < 2:
        sys.exit("give at least two member model folders and a destination")
    if not 0 < args.threshold < 1:
        sys.exit(f"--threshold: must be in (0, 1), got {args.threshold}")
    from covidseg.errors import CovidsegError
    from covidseg.models import combine, load_pretrained

    extra = {"threshold": args.threshold}
    if args.published_temperature is not None:
        extra["published_temperature"] = args.published_temperature
    if args.chosen_by:
        extra["operating_point_chosen_by"] = args.chosen_by
    try:
        ens = combine(members, extra)
    except (CovidsegError, ValueError) as exc:
        sys.exit(f"ship_ensemble: {exc}")
    tmp = dest.with_name(dest.name + ".new")
    shutil.rmtree(tmp, ignore_errors=True)
    ens.save_pretrained(tmp, dtype=args.dtype)
    load_pretrained(tmp)
    if dest.exists():
        shutil.rmtree(dest)
    tmp.rename(dest)
    print(f"{dest}: Ensemble of {len(members)}, {sum(p.numel() for p in ens.parameters()) / 1e6:.2f} M parameters, "
          f"{(dest / 'model.safetensors').stat().st_size / 1e6:.1f} MB ({args.dtype})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
