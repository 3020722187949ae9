"""``covidseg predict``: segment and measure every case found in the inputs.

One folder per case (``OUT/<case>/``: masks, pictures, report.json) plus ``OUT/summary.csv``
(one row per case, rewritten after each case so an interrupted run keeps what finished).
A bad case prints one line and the others still run; the exit status is 1 if any failed.
"""

from __future__ import annotations

import argparse
import csv
import io as _io
import sys
import time
from pathlib import Path

from covidseg.errors import ConfigError, CovidsegError

SUMMARY_FIELDS = [
    "case", "status", "error", "input", "kind", "unit", "lung", "lesion", "ggo", "consolidation",
    "lesion_percent", "right_lesion_percent", "left_lesion_percent", "ratio_grade", "mosmed_grade",
    "zone_total", "seconds", "output",
]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="image (JPG/PNG), folder of images, NIfTI, DICOM file or series folder, "
                             "or a folder holding many of them (processed case by case)")
    parser.add_argument("-o", "--output", required=True, metavar="OUT", help="output folder")
    parser.add_argument("--model", nargs="+", metavar="FOLDER",
                        help="model folder(s), or a folder of model folders (default: shipped weights)")
    parser.add_argument("--tasks", nargs="+", choices=["lung", "lesion", "classes", "all"], default=["all"],
                        help="masks to produce (default: all)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default: cpu)")
    parser.add_argument("--batch-size", type=int, default=8, help="slices per network batch (default: 8)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: torch's)")
    parser.add_argument("--inference-size", type=int, default=None,
                        help="side of the square the network sees (default: the model's input_size)")
    parser.add_argument("--precision", choices=["auto", "fp32", "bf16"], default="auto",
                        help="network arithmetic: auto = bfloat16 on CPUs with native support, else fp32")
    parser.add_argument("--lung-method", choices=["auto", "hu", "model", "union"], default="auto",
                        help="lung mask: auto (HU input: classical HU segmentation; images: network), "
                             "hu, model or union (default: auto)")
    parser.add_argument("--min-lesion-mm3", type=float, default=10.0,
                        help="drop lesion components smaller than this in volumes (default: 10 mm^3)")
    parser.add_argument("--min-lesion-mm2", type=float, default=5.0,
                        help="drop lesion components smaller than this in slices (default: 5 mm^2)")
    parser.add_argument("--min-lesion-px", type=int, default=10,
                        help="same, when no spacing is known (default: 10 pixels)")
    parser.add_argument("--series", default=None, help="DICOM series to read (UID, number or description)")
    parser.add_argument("--dicom-seg", action="store_true", help="also write a DICOM-SEG for DICOM input")
    parser.add_argument("--no-pictures", action="store_true", help="skip overlay/montage/curve pictures")
    parser.add_argument("--overwrite", action="store_true",
                        help="redo cases whose output folder already has a report.json (default: skip them)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def _config(args):
    from covidseg.inference.config import TASKS, SegmenterConfig

    tasks = TASKS if "all" in args.tasks else tuple(args.tasks)
    try:
        return SegmenterConfig(
            tasks=tasks, lung_method=args.lung_method, device=args.device, batch_size=args.batch_size,
            threads=args.threads, inference_size=args.inference_size, min_lesion_mm3=args.min_lesion_mm3,
            min_lesion_mm2=args.min_lesion_mm2, min_lesion_px=args.min_lesion_px, keep_probabilities=False,
            precision=args.precision,
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _row(case_name: str, status: str, *, error: str = "", source="", kind="", pred=None, seconds=0.0,
         output="") -> dict:
    row = dict.fromkeys(SUMMARY_FIELDS, "")
    row.update(case=case_name, status=status, error=error, input=str(source), kind=kind,
               seconds=f"{seconds:.2f}", output=str(output))
    if pred is not None:
        m = pred.measurements

        def fmt(v, digits=3):
            return "" if v is None else f"{v:.{digits}f}"

        row.update(unit=m.unit, lung=fmt(m.whole.lung), lesion=fmt(m.whole.lesion), ggo=fmt(m.whole.ggo),
                   consolidation=fmt(m.whole.consolidation), lesion_percent=fmt(m.whole.lesion_percent, 2),
                   right_lesion_percent=fmt(m.right.lesion_percent, 2) if m.right else "",
                   left_lesion_percent=fmt(m.left.lesion_percent, 2) if m.left else "",
                   ratio_grade=m.severity.ratio_grade or "", mosmed_grade=m.severity.mosmed_grade or "",
                   zone_total="" if m.severity.zone_total is None else str(m.severity.zone_total))
    return row


def _write_summary(rows: list[dict], path: Path) -> None:
    from covidseg.io import atomic_write

    buf = _io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=SUMMARY_FIELDS)
    writer.writeheader()
    writer.writerows(rows)
    with atomic_write(path) as tmp:
        tmp.write_text(buf.getvalue(), encoding="utf-8")


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, CovidsegError):
        return text
    return f"internal error ({type(exc).__name__}): {text}"  # a bug, but other cases still run


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
            self.bar.console.print(message, markup=False, highlight=False)
        else:
            print(message, file=sys.stderr)


def main(args: argparse.Namespace) -> int:
    from covidseg.io import find_cases, read_case, safe_name
    from covidseg.inference.segmenter import Segmenter

    config = _config(args)
    out = Path(args.output).expanduser()
    if out.exists() and not out.is_dir():
        raise ConfigError("the output path exists and is not a folder", out)
    segmenter = Segmenter(args.model, config)  # model problems stop the run here (exit 2)
    out.mkdir(parents=True, exist_ok=True)

    rows: list[dict] = []
    cases = []  # (name, Case | None, error)
    used: set[str] = {"summary"}
    for item in args.inputs:
        try:
            found = find_cases(item)
        except CovidsegError as exc:
            name = safe_name(Path(item).name.split(".")[0] or "input")
            cases.append((name, None, _one_line(exc), item))
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
    named = []
    for name, case, error, source in cases:
        unique, n = name, 1
        while unique.lower() in used:  # clashes across inputs get a suffix too
            n += 1
            unique = f"{name}_{n}"
        used.add(unique.lower())
        named.append((unique, case, error, source))

    failures = 0
    with _Progress(len(named), args.quiet) as progress:
        for name, case, error, source in named:
            progress.start_case(name)
            t0 = time.perf_counter()
            folder = out / name
            if case is None:
                failures += 1
                progress.log(f"covidseg: error: {name}: {error}")
                rows.append(_row(name, "failed", error=error, source=source))
            elif (folder / "report.json").exists() and not args.overwrite:
                progress.log(f"covidseg: {name}: output exists, skipped (pass --overwrite to redo)")
                rows.append(_row(name, "skipped", error="output exists", source=source, kind=case.kind,
                                 output=folder))
            else:
                try:
                    use_series = args.series is not None and case.kind == "dicom-series"
                    image = _read_series(case, args.series) if use_series else read_case(case)
                    read_s = time.perf_counter() - t0
                    pred = segmenter.predict(image, progress=progress.slices_done)
                    pred.timings["read"] = round(read_s, 4)
                    pred.save(folder, dicom_seg=args.dicom_seg, pictures=not args.no_pictures)
                    rows.append(_row(name, "ok", source=source, kind=case.kind, pred=pred,
                                     seconds=time.perf_counter() - t0, output=folder))
                except Exception as exc:  # noqa: BLE001 - one bad case must not stop the batch
                    failures += 1
                    msg = _one_line(exc)
                    progress.log(f"covidseg: error: {name}: {msg}")
                    rows.append(_row(name, "failed", error=msg, source=source, kind=case.kind,
                                     seconds=time.perf_counter() - t0))
            _write_summary(rows, out / "summary.csv")
            progress.case_done()
    ok = sum(r["status"] == "ok" for r in rows)
    print(f"covidseg predict: {ok} ok, {failures} failed, {len(rows) - ok - failures} skipped; "
          f"summary: {out / 'summary.csv'}", file=sys.stderr)
    return 1 if failures else 0


def _read_series(case, series):
    from covidseg.io import read_image

    return read_image(case.path, series=series)
