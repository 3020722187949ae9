"""``covidseg evaluate``: a thin layer over :func:`covidseg.evaluation.evaluate`."""

from __future__ import annotations

import argparse

from covidseg.devices import DEVICE_HELP


def configure(parser: argparse.ArgumentParser) -> None:
    src = parser.add_mutually_exclusive_group()
    src.add_argument("--model", metavar="DIR",
                     help="trained model folder (save_pretrained format) or a training run folder (uses RUN/model); "
                          "default: the model shipped with covidseg")
    src.add_argument("--predictions", metavar="DIR",
                     help="folder of predicted maps (PNG, named like the ground truth; optional infection/ ggo/ "
                          "consolidation/ lung/ subfolders)")
    data = parser.add_mutually_exclusive_group(required=True)
    data.add_argument("--data", metavar="SPLIT", help="labelled split folder, e.g. ../shared/data/covid-semiseg/test")
    data.add_argument("--volumes", metavar="PAIRS",
                      help="whole-volume evaluation: a folder with images/ (NIfTI in HU) and infection/ or classes/ "
                           "[+ lung/] label maps, or a CSV with columns image,infection[,classes,lung,case] "
                           "(docs/evaluation.md)")
    parser.add_argument("--out", metavar="DIR", default=None, help="write results.json, summary.csv, per_image.csv, results.md here")
    parser.add_argument("--targets", default=None, help="comma-separated subset of infection,ggo,consolidation,lung")
    parser.add_argument("--threshold", type=float, default=None,
                        help="binary-protocol operating point (default: the model's metadata threshold, 0.5 for maps)")
    parser.add_argument("--no-quantize", dest="quantize", action="store_false",
                        help="published protocol without the 8-bit rounding of the reference's PNG round-trip")
    parser.add_argument("--tta", action="store_true",
                        help="test-time augmentation: average with the left-right mirrored image (as predict --tta)")
    parser.add_argument("--temperature", type=float, default=None,
                        help="also score the published protocol on the infection map sharpened by this temperature "
                             "about the threshold, which changes no mask (default: the model's published_temperature, "
                             "chosen out-of-fold; 0: off)")
    parser.add_argument("--device", default="cpu", help=f"{DEVICE_HELP} (default: cpu)")
    # fp32 by default: reported numbers must not depend on whether the CPU has bf16 units
    # (predict's --precision auto picks bf16 there, which moves Dice at the third decimal)
    parser.add_argument("--precision", choices=["auto", "fp32", "bf16"], default="fp32",
                        help="network arithmetic of the predict path, as predict --precision (default: fp32, "
                             "so numbers are the same on every CPU)")


def main(args: argparse.Namespace) -> int:
    from rich.console import Console

    from covidseg.errors import ConfigError
    from covidseg.evaluation.evaluate import TARGETS, evaluate

    targets = None
    if args.targets:
        targets = [t.strip() for t in args.targets.split(",") if t.strip()]
        bad = [t for t in targets if t not in TARGETS]
        if bad:
            raise ConfigError(f"--targets: unknown target(s) {bad} (choose from {list(TARGETS)})")
    if args.temperature is not None and args.temperature < 0:
        raise ConfigError(f"--temperature: must be >= 0, 0 for off (got {args.temperature})")
    if args.threshold is not None and not 0 <= args.threshold <= 1:
        raise ConfigError(f"--threshold: must be in [0, 1] (got {args.threshold})")
    from covidseg.devices import resolve_device

    device = str(resolve_device(args.device))  # ConfigError naming --device if CUDA is absent
    if args.model is None and args.predictions is None:
        from covidseg.inference.loading import shipped_models

        args.model = str(shipped_models()[0])
    console = Console(stderr=False)
    if args.volumes is not None:
        return _volumes(args, device, console)
    result = evaluate(args.data, model=args.model, predictions=args.predictions, targets=targets,
                      threshold=args.threshold, quantize=args.quantize, tta=args.tta, temperature=args.temperature,
                      device=device,
                      precision=args.precision, out=args.out)
    result.print_table(console)
    if args.out:
        console.print(f"results written to {args.out}/ (results.json, summary.csv, per_image.csv, results.md)")
    return 0


def _volumes(args: argparse.Namespace, device: str, console) -> int:
    from covidseg.errors import ConfigError
    from covidseg.evaluation.volumes import evaluate_volumes

    if args.predictions is not None:
        raise ConfigError("--volumes runs the Segmenter on the volumes; it takes --model, not --predictions")
    if args.threshold is not None or args.targets:
        raise ConfigError("--volumes scores the masks as predict writes them: --threshold/--targets do not apply")
    result = evaluate_volumes(args.volumes, model=args.model, tta=args.tta, device=device,
                              precision=args.precision, out=args.out)
    result.print_table(console)
    if args.out:
        console.print(f"results written to {args.out}/ (per_case.csv, summary.csv, results.json, results.md)")
    return 0
