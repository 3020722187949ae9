"""Take the documentation screenshots of the real window (docs/images/gui-*.png).

Run under a real (virtual) X server so fonts and styles are those users see::

    xvfb-run -s "-screen 0 1400x900x24" python -m covidseg.gui.screenshots \\
        --model MODEL_FOLDER --slice SLICE.jpg --volume SCAN.nii.gz --out docs/images

Without ``--model`` the shipped weights are used. Each input is opened, segmented through
the normal worker thread, and the whole window is grabbed (``QWidget.grab``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m covidseg.gui.screenshots")
    parser.add_argument("--model", default=None, help="model folder (default: shipped weights)")
    parser.add_argument("--slice", required=True, type=Path, help="a COVID-19 CT slice (JPG/PNG)")
    parser.add_argument("--volume", required=True, type=Path, help="a CT volume (NIfTI or DICOM folder)")
    parser.add_argument("--out", default=Path("docs/images"), type=Path)
    parser.add_argument("--size", default="1360x820", help="window size WxH")
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
             ("open", args.volume), ("segment", None), ("grab", args.out / f"gui-volume{suffix}.png")]
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
        else:
            app.processEvents()
            window.grab().save(str(arg), "PNG")
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
