"""Time covidseg's full pipeline (per 512x512 slice, the 79-slice scan, a synthetic 300x512x512
volume) and peak memory, beside MONAI BasicUNet and lungmask's R231 U-Net architecture.

    .venv/bin/python benchmarks/bench_predict.py --threads 2 [--model FOLDER] [--json out.json]

Same as ``covidseg bench``; see src/covidseg/bench.py for the scenarios.
"""

import sys

from covidseg.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
