"""Time covidseg's full pipeline (per 512x512 slice, the 79-slice scan, a synthetic 300x512x512
volume) and peak memory, beside MONAI BasicUNet and lungmask's R231 U-Net architecture.

    .venv/bin/python benchmarks/bench_predict.py --threads 2 [--model FOLDER] [--json out.json]

Same as ``covidseg bench``, plus ``--ct-examples ../shared/data/ct-examples`` when that folder
is beside the checkout (the real cip-ct64 scan, as docs/predict.md measured); see
src/covidseg/bench.py for the scenarios.
"""

import sys
from pathlib import Path

from covidseg.cli import main

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ct-examples"

if __name__ == "__main__":
    argv = sys.argv[1:]
    if "--ct-examples" not in argv and (SHARED / "cip-ct64.nii.gz").is_file():
        argv += ["--ct-examples", str(SHARED)]
    sys.exit(main(["bench", *argv]))
