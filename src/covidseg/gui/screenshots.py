"""Take the documentation screenshots of the real window (docs/images/gui-*.png).

Run under a real (virtual) X server so fonts and styles are those users see::

    xvfb-run -s "-screen 0 1366x768x24" python -m covidseg.gui.screenshots \\
        --model MODEL_FOLDER --slice SLICE.jpg --volume SCAN.nii.gz --out docs/images [--lang zh_CN]

Without ``--model`` the shipped weights are used. Each input is opened, segmented through
the normal worker thread, and the whole window is grabbed (``QWidget.grab``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m covidseg.gui.screenshots")
    parser.add_argument("--model", default=None, help="model folder (default: shipped weights)")
    parser.add_argument("--slice", required=True, type=Path, help="a COVID-19 CT slice (JPG/PNG)")
    parser.add_argument("--volume", required=True, type=Path, help="a CT volume (NIfTI or DICOM folder)")
    parser.add_argument("--out", default=Path("docs/images"), type=Path)
    parser.add_argument("--size", default="1366x728", help="window size WxH (default: 1366x768 less a taskbar)")
    parser.add_argument("--lang", default="en", choices=["en", "zh_CN"])
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))

    import tempfile

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from covidseg.gui import settings as st
    from covidseg.gui.app import MainWindow, install_translator

    app = QApplication(sys.argv[:1])
    translators = install_translator(app, args.lang)  # noqa: F841
    tmp = tempfile.TemporaryDirectory()
    window = MainWindow(st.open_settings(Path(tmp.name) / "settings.ini"), model=args.model)
    window.resize(width, height)
    window.show()
    args.out.mkdir(parents=True, exist_ok=True)
    suffix = "" if args.lang == "en" else f"-{args.lang}"
    steps = [("open", args.slice), ("segment", None), ("grab", args.out / f"gui-slice{suffix}.png"),
             ("open", args.volume), ("segment", None), ("planes", None),
             ("grab", args.out / f"gui-volume{suffix}.png"),
             ("edit", None), ("grab", args.out / f"gui-edit{suffix}.png"),
             ("report", args.out / f"gui-report{suffix}.png")]
    failures: list[str] = []

    def next_step(*_):
        if not steps:
            app.quit()
            return
        what, arg = steps.pop(0)
        if what == "open":
            window.open_path(arg)
        elif what == "segment":
            window.segment()
        elif what == "planes":
            window.act_planes.setChecked(True)
            window.act_side.setChecked(False)  # overlay + coronal + sagittal: more room each
            v = window.viewer
            k = v.index
            lesion = window.prediction.lesion
            if lesion is not None and lesion[k].any():  # crosshair on the slice's lesion
                ys, xs = np.nonzero(lesion[k])
                v.set_cursor(y=int(np.median(ys)), x=int(np.median(xs)))
            QTimer.singleShot(300, next_step)
        elif what == "edit":
            edit_demo(window)
            QTimer.singleShot(300, next_step)
        elif what == "report":
            report_page(window, arg)
            QTimer.singleShot(100, next_step)
        else:
            app.processEvents()
            save_small(window.grab().toImage(), arg)
            print(f"wrote {arg}")
            QTimer.singleShot(300, next_step)

    def job_done(name: str, outcome: str) -> None:
        if outcome != "finished":
            failures.append(f"{name}: {outcome}: {window.banner.text()}")
            app.quit()
            return
        QTimer.singleShot(500, next_step)  # let the layout settle before the next step

    window.jobFinished.connect(job_done)
    QTimer.singleShot(500, next_step)
    app.exec()
    for f in failures:
        print(f, file=sys.stderr)
    return 1 if failures else 0


def edit_demo(window) -> None:
    """Paint a consolidation stroke inside the lung of the shown slice, as a user would, and
    leave the brush over it (the picture shows the tool, the changed numbers and the status)."""
    from PySide6.QtCore import QPointF
    from scipy import ndimage as ndi

    v = window.viewer
    k = v.index
    lung = window.prediction.lung[k] if window.prediction.lung.ndim == 3 else window.prediction.lung
    inner = ndi.binary_erosion(lung, iterations=3)
    ys, xs = np.nonzero(inner)
    if not ys.size:
        return
    window.edit_label.setCurrentIndex(window.edit_label.findData("consolidation"))
    window.brush_size.setValue(5)
    window.act_brush.setChecked(True)
    i = ys.size // 3
    r, c = float(ys[i]) + 0.5, float(xs[i]) + 0.5
    window.viewer.stroke.emit("begin", 0, k, r, c)
    for dc in range(1, 8):
        window.viewer.stroke.emit("move", 0, k, r, c + dc)
    window.viewer.stroke.emit("end", 0, k, r, c + 7)
    v.overlay._mouse = QPointF(v.overlay.viewport_point(r, c + 7))  # the brush outline where it stopped
    v.overlay.viewport().update()


def report_page(window, png: Path) -> None:
    """The PDF report's page as a picture (needs pdftoppm from poppler-utils)."""
    import shutil
    import subprocess
    import tempfile

    if shutil.which("pdftoppm") is None:
        print("pdftoppm not found: no report picture", file=sys.stderr)
        return
    with tempfile.TemporaryDirectory() as tmp:
        pdf = Path(tmp) / "report.pdf"
        window.export_report(pdf)
        subprocess.run(["pdftoppm", "-r", "70", "-png", "-singlefile", str(pdf), str(Path(tmp) / "page")], check=True)
        from PIL import Image

        save_small(Image.open(Path(tmp) / "page.png"), png)
    print(f"wrote {png}")


def save_small(image, path: Path, limit: int = 200_000) -> None:
    """Save a QImage or PIL image as PNG; palette-quantised when it would exceed ``limit`` bytes."""
    import io

    from PIL import Image

    if not isinstance(image, Image.Image):
        from PySide6.QtCore import QBuffer, QByteArray, QIODevice

        data = QByteArray()
        buf = QBuffer(data)
        buf.open(QIODevice.OpenModeFlag.WriteOnly)
        image.save(buf, "PNG")
        image = Image.open(io.BytesIO(bytes(data.data()))).convert("RGB")
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    from covidseg.gui import overlay as ov

    fixed = [ov.LUNG_COLOUR, ov.GGO_COLOUR, ov.CONSOLIDATION_COLOUR, ov.LESION_COLOUR]
    for colours in (256, 192, 128, 96, 64):
        if out.tell() <= limit:
            break
        # A palette of the picture's main colours plus the overlay colours exactly, so the
        # legend swatches and the masks keep their true colours.
        base = image.quantize(colours - len(fixed), method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        palette = base.getpalette()[: 3 * (colours - len(fixed))] + [v for c in fixed for v in c]
        pal = Image.new("P", (1, 1))
        pal.putpalette(palette)
        out = io.BytesIO()
        image.quantize(palette=pal, dither=Image.Dither.NONE).save(out, "PNG", optimize=True)
    Path(path).write_bytes(out.getvalue())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
