"""Combine trained model folders into one ensemble model folder (mean of their probabilities).

    python scripts/ship_ensemble.py src/covidseg/weights/maunet-all all50-e300 \
        src/covidseg/weights/maunet-all-ens --threshold 0.35 --published-temperature 0.1 \
        --chosen-by benchmarks/results/cv/ens-shipped-e300-thr035.json

Each member is loaded with its checksum verified; they must agree on task, labels, input size,
HU window and slice axes (``covidseg.models.combine``). The result is saved and re-loaded
(checksum, shapes) before it replaces DEST, as ``scripts/ship_model.py`` does (float16 storage
by default).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ship_model import add_operating_point_args, install, operating_point  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("members", type=Path, nargs="+", help="two or more model folders, then DEST")
    add_operating_point_args(ap, threshold_required=True)
    args = ap.parse_args(argv)
    *members, dest = args.members
    if len(members) < 2:
        sys.exit("give at least two member model folders and a destination")
    extra = operating_point(args)
    from covidseg.errors import CovidsegError
    from covidseg.models import combine

    try:
        ens = combine(members, extra)
    except (CovidsegError, ValueError) as exc:
        sys.exit(f"ship_ensemble: {exc}")
    install(ens, dest, None, args.dtype)
    print(f"{dest}: Ensemble of {len(members)}, {sum(p.numel() for p in ens.parameters()) / 1e6:.2f} M parameters, "
          f"{(dest / 'model.safetensors').stat().st_size / 1e6:.1f} MB ({args.dtype})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
