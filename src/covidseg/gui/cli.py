"""``covidseg gui``: open the desktop application (optionally with an image)."""

from __future__ import annotations

import argparse
import os
import sys

from covidseg.devices import DEVICE_HELP, device_option
from covidseg.errors import ConfigError


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", nargs="?", metavar="INPUT",
                        help="image, folder of slices, NIfTI volume or DICOM series to open at start")
    parser.add_argument("--model", metavar="FOLDER",
                        help="model folder (or folder of model folders) for this session "
                             "(default: the Preferences setting, else the shipped weights)")
    parser.add_argument("--device", default=None, help=f"{DEVICE_HELP}, for this session")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for torch for this session")
    parser.add_argument("--lang", choices=["system", "en", "zh_CN"], default=None,
                        help="interface language (default: the saved choice, else the system locale)")
    parser.add_argument("--settings", metavar="FILE", default=None,
                        help="INI file for preferences instead of the per-user one")


GUI_INSTALL = "pip install 'covidseg[gui]'"


def _check_qt() -> None:
    """PySide6 is an extra: say in one line how to get it instead of a traceback."""
    try:
        import PySide6.QtWidgets  # noqa: F401
    except ModuleNotFoundError as exc:
        if (exc.name or "PySide6").split(".")[0] != "PySide6":
            raise
        raise ConfigError(f"the desktop application needs PySide6, which is not installed: {GUI_INSTALL}") from None
    except ImportError as exc:  # installed but its Qt libraries cannot load (e.g. libEGL missing)
        raise ConfigError(f"PySide6 is installed but cannot be loaded ({' '.join(str(exc).split())}); "
                          f"reinstall it with {GUI_INSTALL} or install the system's OpenGL/EGL libraries") from None


def _check_display() -> None:
    # Without a display Qt aborts the whole process with a C++ fatal error; say it in one line.
    if sys.platform.startswith("linux") and not os.environ.get("QT_QPA_PLATFORM"):
        if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            raise ConfigError("no display found (DISPLAY/WAYLAND_DISPLAY unset); run covidseg gui on a desktop, "
                              "under xvfb-run, or with QT_QPA_PLATFORM=offscreen")


def main(args: argparse.Namespace) -> int:
    if args.threads is not None and args.threads < 1:
        raise ConfigError(f"--threads must be >= 1, got {args.threads}")
    if args.device is not None:
        args.device = device_option(args.device)
    _check_qt()
    _check_display()
    from PySide6.QtWidgets import QApplication

    from covidseg import __version__
    from covidseg.gui import settings as st
    from covidseg.gui.app import MainWindow, install_translator

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("covidseg")
    app.setOrganizationName("covidseg")
    app.setApplicationVersion(__version__)
    store = st.open_settings(args.settings)
    prefs = st.load(store)
    language = args.lang or prefs.language
    translators = install_translator(app, language)  # noqa: F841 - must outlive the window
    window = MainWindow(store, model=args.model, device=args.device, threads=args.threads)
    window.show()
    if args.input:
        window.open_path(args.input)
    return int(app.exec())
