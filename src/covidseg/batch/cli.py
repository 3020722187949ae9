"""``covidseg predict``: segment and measure every case found in the inputs.

One folder per case (``OUT/<case>/``: masks, pictures, report.json), each renamed into place
only when complete, plus ``OUT/summary.csv`` (rebuilt from the case reports after each case,
under a lock, so concurrent runs into one folder and interrupted runs keep what finished).
A bad case prints one line naming its input and the others still run; the exit status is 2
if any case failed or the run could not start, 0 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from pathlib import Path

from covidseg.errors import ConfigError, CovidsegError, escape_control


def configure(parser: argparse.ArgumentParser) -> None:
    # Defaults come from the config dataclasses (the one source the API and the GUI also use).
    from covidseg.devices import DEVICE_HELP
    from covidseg.inference.config import LUNG_METHODS, OUTPUTS, SegmenterConfig
    from covidseg.inference.engine import PRECISIONS
    from covidseg.inference.lung_hu import HULungConfig
    from covidseg.inference.postprocess import LesionFilterConfig
    from covidseg.quantify import SeverityConfig

    seg, sev, flt, hul = SegmenterConfig(), SeverityConfig(), LesionFilterConfig(), HULungConfig()
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="image (JPG/PNG), folder of images, NIfTI, DICOM file or series folder, "
                             "or a folder holding many of them (processed case by case)")
    parser.add_argument("-o", "--output", required=True, metavar="OUT", help="output folder")
    parser.add_argument("--model", nargs="+", metavar="FOLDER",
                        help="model folder(s), or a folder of model folders (default: shipped weights)")
    parser.add_argument("--tasks", nargs="+", choices=[*OUTPUTS, "all"], default=["all"],
                        help="masks to produce (default: all)")
    parser.add_argument("--device", default=seg.device, help=f"{DEVICE_HELP} (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=seg.batch_size,
                        help="slices per network batch (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=seg.threads, help="CPU threads for torch (default: torch's)")
    parser.add_argument("--inference-size", type=int, default=seg.inference_size,
                        help="side of the square the network sees (default: the model's input_size)")
    parser.add_argument("--precision", choices=PRECISIONS, default=seg.precision,
                        help="network arithmetic: auto = bfloat16 on CPUs with native support, else fp32 "
                             "(default: %(default)s)")
    parser.add_argument("--tta", action=argparse.BooleanOptionalAction, default=seg.tta,
                        help="test-time augmentation: also run the left-right mirrored slice and average "
                             "(twice the network time; default: %(default)s)")
    parser.add_argument("--lung-method", choices=LUNG_METHODS, default=seg.lung_method,
                        help="lung mask: auto (HU input: classical HU segmentation; images: network), "
                             "hu, model or union (default: %(default)s)")
    parser.add_argument("--min-lesion-mm3", type=float, default=seg.min_lesion_mm3,
                        help="drop lesion components smaller than this in volumes (default: %(default)s mm^3)")
    parser.add_argument("--min-lesion-mm2", type=float, default=seg.min_lesion_mm2,
                        help="drop lesion components smaller than this in slices (default: %(default)s mm^2)")
    parser.add_argument("--min-lesion-px", type=int, default=seg.min_lesion_px,
                        help="same, when no spacing is known (default: %(default)s pixels)")
    parser.add_argument("--noise-floor-percent", type=float, default=sev.noise_floor_percent,
                        help="grade as no lesion (CT-0, none) when the lesion is below this %% of the lung and no "
                             "connected lesion reaches the sizes below; 0 turns the floor off (default: %(default)s)")
    parser.add_argument("--noise-floor-ml", type=float, default=sev.noise_floor_ml,
                        help="largest connected lesion under the noise floor, volumes (default: %(default)s mL)")
    parser.add_argument("--noise-floor-mm2", type=float, default=sev.noise_floor_mm2,
                        help="same for slices with a pixel spacing (default: %(default)s mm^2)")
    parser.add_argument("--noise-floor-px", type=float, default=sev.noise_floor_px,
                        help="same without a known spacing (default: %(default)s pixels/voxels)")
    parser.add_argument("--vessel-filter", action=argparse.BooleanOptionalAction, default=flt.vessels,
                        help="HU input: remove lesions on vessels in aerated lung (default: %(default)s)")
    parser.add_argument("--dependent-filter", action=argparse.BooleanOptionalAction, default=flt.dependent,
                        help="HU input: remove thin dependent bands along the pleura (default: %(default)s)")
    parser.add_argument("--dependent-side", choices=["P", "A", "L", "R"], default=flt.dependent_side,
                        help="gravity-dependent side of the lungs: P for a supine patient, A prone "
                             "(default: %(default)s)")
    parser.add_argument("--airless-lung", action=argparse.BooleanOptionalAction, default=hul.airless.enabled,
                        help="HU volumes: count an airless lung with air bronchograms (on the side of a missing or "
                             "small lung) as lung and consolidation, with a warning (default: %(default)s)")
    parser.add_argument("--series", default=None, help="DICOM series to read (UID, number or description)")
    parser.add_argument("--dicom-seg", action="store_true", help="also write a DICOM-SEG for DICOM input")
    parser.add_argument("--no-pictures", action="store_true", help="skip overlay/montage/curve pictures")
    parser.add_argument("--resume", action="store_true",
                        help="skip cases whose output folder is complete and was written for the same input, "
                             "model and settings; redo the others")
    parser.add_argument("--overwrite", action="store_true",
                        help="redo every case, replacing existing case folders (default: refuse to start "
                             "if a case folder exists)")
    parser.add_argument("--include-phi", action="store_true",
                        help="add the DICOM patient/study identifiers (name, ID, birth date, accession number, "
                             "institution ...) to report.json; without it no output carries them")
    parser.add_argument("--num-parts", type=int, default=1, metavar="N",
                        help="split the cases into N parts run by N processes or cluster jobs into one "
                             "output folder (with --part-id; default: 1)")
    parser.add_argument("--part-id", type=int, default=0, metavar="K",
                        help="the part this process runs, 0..N-1 (e.g. $SLURM_ARRAY_TASK_ID; default: 0)")
    parser.add_argument("--no-overlap", action="store_true",
                        help="read, run and write one case at a time (default: read the next case and "
                             "write the previous ones in background threads while the network runs)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def _config(args):
    from covidseg.inference.airless import AirlessConfig
    from covidseg.inference.config import OUTPUTS, SegmenterConfig
    from covidseg.inference.lung_hu import HULungConfig
    from covidseg.inference.postprocess import LesionFilterConfig
    from covidseg.quantify import SeverityConfig

    tasks = OUTPUTS if "all" in args.tasks else tuple(args.tasks)
    try:
        severity = SeverityConfig(noise_floor_percent=args.noise_floor_percent, noise_floor_ml=args.noise_floor_ml,
                                  noise_floor_mm2=args.noise_floor_mm2, noise_floor_px=args.noise_floor_px)
        filters = LesionFilterConfig(vessels=args.vessel_filter, dependent=args.dependent_filter,
                                     dependent_side=args.dependent_side)
        return SegmenterConfig(
            severity=severity, lesion_filters=filters,
            hu_lung=HULungConfig(airless=AirlessConfig(enabled=args.airless_lung)),
            tasks=tasks, lung_method=args.lung_method, device=args.device, batch_size=args.batch_size,
            threads=args.threads, inference_size=args.inference_size, min_lesion_mm3=args.min_lesion_mm3,
            min_lesion_mm2=args.min_lesion_mm2, min_lesion_px=args.min_lesion_px, keep_probabilities=False,
            precision=args.precision, tta=args.tta,
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


class _Progress:
    """A rich progress bar over cases and over the slices of the current case (stderr)."""

    def __init__(self, total_cases: int, quiet: bool):
        self.bar = None
        if quiet:
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), console=Console(stderr=True), transient=False)
        self.cases = self.bar.add_task("cases", total=total_cases)
        self.slices = self.bar.add_task("slices", total=1, visible=False)

    def __enter__(self):
        if self.bar:
            self.bar.start()
        return self

    def __exit__(self, *exc):
        if self.bar:
            self.bar.stop()

    def start_case(self, name: str) -> None:
        if self.bar:
            self.bar.update(self.cases, description=f"cases ({name})")
            self.bar.reset(self.slices, total=1, visible=True, description="  slices")

    def slices_done(self, done: int, total: int) -> None:
        if self.bar:
            self.bar.update(self.slices, completed=done, total=max(total, 1))

    def case_done(self) -> None:
        if self.bar:
            self.bar.advance(self.cases)

    def log(self, message: str) -> None:
        if self.bar:
            self.bar.console.print(message, markup=False, highlight=False, soft_wrap=True)
        else:
            print(message, file=sys.stderr)


def main(args: argparse.Namespace) -> int:
    with _sigterm_as_exit(), contextlib.ExitStack() as cleanup:
        return _main(args, cleanup)


@contextlib.contextmanager
def _sigterm_as_exit():
    """SIGTERM (a scheduler's stop, ``kill``) unwinds like Ctrl-C: the case being written is
    removed from its staging folder instead of waiting for the next run to clean it."""
    def stop(signum, frame):
        raise SystemExit(128 + signum)

    try:
        previous = signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _main(args: argparse.Namespace, cleanup: contextlib.ExitStack) -> int:
    from covidseg.batch import outputs
    from covidseg.batch.case import run_settings
    from covidseg.batch.pipeline import BatchJob, run_cases
    from covidseg.batch.pipeline import reason as _reason
    from covidseg.batch.pipeline import series_of as _series_of
    from covidseg.inference.segmenter import Segmenter
    from covidseg.io import find_cases

    from covidseg.batch import parts

    config = _config(args)
    if args.resume and args.overwrite:
        raise ConfigError("--resume and --overwrite exclude each other")
    parts.check_parts(args.num_parts, args.part_id)
    out = Path(args.output).expanduser()
    lock = outputs.check_output_folder(out)  # an unwritable OUT stops here, before any work (exit 2)
    cleanup.callback(lock.close)
    segmenter = Segmenter(args.model, config)  # model problems stop the run here (exit 2)

    cases = []  # (name, Case | None, error, source)
    for item in args.inputs:
        try:
            found = find_cases(item)
        except CovidsegError as exc:
            cases.append((Path(item).name.split(".")[0] or "input", None, _reason(exc, item), item))
            continue
        if args.series is not None:
            # --series picks one series per DICOM folder: its folder is one case, not one per series.
            by_uid = [c for c in found if c.series == args.series]
            if by_uid:
                found = by_uid
            else:
                seen_paths: set = set()
                found = [c for c in found if not (c.kind == "dicom-series" and (c.path in seen_paths
                                                                                  or seen_paths.add(c.path)))]
        for case in found:
            cases.append((case.name, case, "", case.path))
    # Names are sanitised again here (whatever discovery gave) and made unique across INPUTs
    # and against what OUT already holds: an input finds its own case folder again; a name
    # used by another input's case (or by anything covidseg did not write) is never reused.
    keys = [None if case is None else outputs.input_key(case.path, _series_of(case, args.series))
            for _, case, _, _ in cases]
    if args.num_parts > 1:  # every part names and splits the same list, whatever order inputs came in
        cases, keys = parts.in_split_order(cases, keys, [c[3] for c in cases])
    names = outputs.assign_names([(c[0], k) for c, k in zip(cases, keys)], outputs.existing_owners(out))
    named = [(n, *rest) for n, (_, *rest) in zip(names, cases)]
    key_of = dict(zip(names, keys))  # all parts' names: a renamed case never takes another part's
    if args.num_parts > 1:
        total = len(named)
        named = named[args.part_id::args.num_parts]
        print(f"covidseg predict: part {args.part_id} of {args.num_parts}: {len(named)} of {total} cases",
              file=sys.stderr)

    with lock:
        for stale in outputs.clean_stale(out):
            print(f"covidseg: removed {stale} left by an interrupted run", file=sys.stderr)
    if not (args.resume or args.overwrite):
        existing = [n for n, case, _, _ in named if case is not None and (out / n).exists()]
        if existing:
            shown = ", ".join(existing[:3]) + (", ..." if len(existing) > 3 else "")
            raise ConfigError(f"{len(existing)} case folder(s) already exist ({escape_control(shown)}); pass --resume to "
                              f"keep the finished ones or --overwrite to redo them", out)

    precision = segmenter.runner.precision if segmenter.runner is not None else None
    settings = run_settings(config, precision, dicom_seg=args.dicom_seg, pictures=not args.no_pictures,
                            include_phi=args.include_phi)
    job = BatchJob(out=out, lock=lock, segmenter=segmenter, models=[m.describe() for m in segmenter.models],
                   settings=settings, key_of=key_of, series=args.series, resume=args.resume,
                   overwrite=args.overwrite, dicom_seg=args.dicom_seg, pictures=not args.no_pictures,
                   include_phi=args.include_phi)
    with _Progress(len(named), args.quiet) as progress:
        done = run_cases(job, named, progress, overlap=not args.no_overlap)
    print(f"covidseg predict: {done.ok} ok, {len(done.failures)} failed, {done.skipped} skipped; "
          f"summary: {out / 'summary.csv'}", file=sys.stderr)
    return 2 if done.failures or done.summary_error else 0
