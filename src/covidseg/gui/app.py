"""The main window: open, view, segment (in a worker thread), read the numbers, export."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path

from PySide6.QtCore import (QEvent, QLibraryInfo, QLocale, QObject, QSettings, QThread, QTimer, QTranslator, Qt,
                            Signal, Slot)
from PySide6.QtGui import QAction, QActionGroup, QColor, QDragEnterEvent, QDropEvent, QIcon, QKeySequence, QPixmap
from PySide6.QtWidgets import (QAbstractSpinBox, QApplication, QCheckBox, QComboBox, QDockWidget, QFileDialog, QFrame, QGroupBox,
                               QHBoxLayout, QInputDialog, QLabel, QMainWindow, QMessageBox, QProgressBar, QScrollArea,
                               QSlider, QSpinBox, QStyle, QToolButton, QVBoxLayout, QWidget)

from covidseg import __version__
from covidseg.gui import overlay as ov
from covidseg.gui import settings as st
from covidseg.gui.editing import Brush, MaskEditor
from covidseg.gui.results import ResultsPanel
from covidseg.gui.viewer import ViewerPanel
from covidseg.gui.worker import Job, start
from covidseg.io.formats import dialog_filter

log = logging.getLogger("covidseg.gui")

I18N_DIR = Path(__file__).resolve().parent / "i18n"
IMAGE_FILTER = dialog_filter()


def install_translator(app: QApplication, language: str) -> list[QTranslator]:
    """Install covidseg's (and Qt's own, for standard dialogs) translation for ``language``
    ("system", "en", "zh_CN"). Returns the installed translators (empty for English)."""
    locale = QLocale.system() if language == "system" else QLocale(language)
    if language == "en" or locale.language() == QLocale.Language.English:
        return []
    installed = []
    for name, folder in (("covidseg", str(I18N_DIR)),
                         ("qtbase", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath))):
        translator = QTranslator(app)
        if translator.load(locale, name, "_", folder):
            app.installTranslator(translator)
            installed.append(translator)
    return installed


@dataclass(frozen=True)
class SeriesChoice:
    """A folder holding several CT series: the user picks one (uid, label), largest first."""

    folder: Path
    series: tuple[tuple[str, str], ...]


def dicom_series_choices(folder: Path) -> list[tuple[str, str]]:
    """(SeriesInstanceUID, label) of every CT series with pixels in ``folder``, largest first.
    Empty when the folder is not DICOM or cannot be scanned (reading then reports why)."""
    try:
        from covidseg.io import scan_dicom_folder

        found = [s for s in scan_dicom_folder(folder) if s.is_ct and s.has_pixels]
    except Exception:  # noqa: BLE001 - read_image gives the proper message afterwards
        return []
    found.sort(key=lambda s: -len(s.files))
    out = []
    for s in found:
        number = f"#{s.number} " if s.number is not None else ""
        label = f"{number}{s.description or 'CT'} — {len(s.files)} images ({s.uid[-12:]})"
        out.append((s.uid, label))
    return out


class Banner(QFrame):
    """A message strip above the images: errors stay readable without a modal dialog."""

    STYLES = {"error": ("#fdecea", "#b71c1c"), "info": ("#e8f4fd", "#0d47a1"), "warning": ("#fff8e1", "#e65100")}

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("messageBanner")
        self.kind = ""
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.clicked.connect(self.hide)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 4, 4, 4)
        lay.addWidget(self.label, 1)
        lay.addWidget(close)
        self.hide()

    def show_message(self, kind: str, text: str) -> None:
        bg, fg = self.STYLES[kind]
        self.kind = kind
        self.setStyleSheet(f"#messageBanner {{ background: {bg}; border: 1px solid {fg}; border-radius: 4px; }}"
                           f"QLabel {{ color: {fg}; }}")
        self.label.setText(text)
        self.show()

    def text(self) -> str:
        return "" if self.isHidden() else self.label.text()


class KeepKeys(QObject):
    """Lets number boxes and lists keep their own keys (Up/Down, Home/End, PgUp/PgDn, letters)
    instead of the window's slice and tool shortcuts, when they have the focus."""

    KEYS = {Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown, Qt.Key.Key_Home, Qt.Key.Key_End}

    def eventFilter(self, obj, event) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.ShortcutOverride:
            plain = not (event.modifiers() & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier))
            if plain and (event.key() in self.KEYS or event.text().isprintable() and event.text()):
                event.accept()  # the widget gets the key press
        return False


def _swatch(colour: tuple[int, int, int]) -> QIcon:
    pm = QPixmap(14, 14)
    pm.fill(QColor(*colour))
    return QIcon(pm)


class MainWindow(QMainWindow):
    # a background job ended: (job name "read" | "segment" | "export", outcome "finished" | "failed" | "cancelled")
    jobFinished = Signal(str, str)

    def __init__(self, store: QSettings | None = None, *, model: str | None = None, device: str | None = None,
                 threads: int | None = None):
        super().__init__()
        self.store = store if store is not None else st.open_settings()
        prefs = st.load(self.store)
        # Command-line choices win for this session and are not saved.
        overrides = {k: v for k, v in (("model_folder", model), ("device", device), ("threads", threads))
                     if v is not None}
        self.prefs = replace(prefs, **overrides)
        self.image = None  # covidseg.io.CTImage
        self.prediction = None  # covidseg.inference.Prediction (re-measured after each edit)
        self.editor: MaskEditor | None = None  # hand corrections of the prediction's masks
        self._segmenter = None
        self._segmenter_key = None
        self._job: Job | None = None
        self._thread: QThread | None = None
        self._t0 = 0.0
        self.last_export: list[Path] = []
        self._outcome = ""
        self._job_label = ""

        self.setWindowTitle("covidseg")
        self.setAcceptDrops(True)
        self.resize(1280, 800)

        self.banner = Banner()
        self.viewer = ViewerPanel()
        self.viewer.setAcceptDrops(False)
        self.placeholder = QLabel(self.tr(
            "Open a CT image, a folder of slices, a NIfTI volume or a DICOM series\n(File ▸ Open, or drop it here)."))
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setStyleSheet("color: palette(mid); font-size: 13pt;")
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(self.banner)
        lay.addWidget(self.placeholder, 1)
        lay.addWidget(self.viewer, 1)
        self.viewer.hide()
        self.setCentralWidget(central)

        self.results = ResultsPanel()
        self._build_side_panel()
        self._build_actions()
        self._build_menus_and_toolbar()
        self.progress = QProgressBar()
        self.progress.setObjectName("progressBar")
        self.progress.setMaximumWidth(260)
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.statusBar().addPermanentWidget(self.progress)

        self.viewer.sliceChanged.connect(self.results.curve.set_current)
        self.viewer.stroke.connect(self._stroke)
        self.results.sliceRequested.connect(self.viewer.set_index)
        self._keep_keys = KeepKeys(self)
        for w in self.findChildren(QAbstractSpinBox) + self.findChildren(QComboBox):
            w.installEventFilter(self._keep_keys)
        self._update_actions()
        geometry, state = self.store.value("window/geometry"), self.store.value("window/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)

    # ------------------------------------------------------------------ construction
    def _build_side_panel(self) -> None:
        box = QGroupBox(self.tr("Overlay"))
        self.show_lung = QCheckBox(self.tr("Lung outline"))
        self.show_ggo = QCheckBox(self.tr("Ground-glass opacity (GGO)"))
        self.show_consolidation = QCheckBox(self.tr("Consolidation"))
        for cb, colour, name in ((self.show_lung, ov.LUNG_COLOUR, "showLung"),
                                 (self.show_ggo, ov.GGO_COLOUR, "showGgo"),
                                 (self.show_consolidation, ov.CONSOLIDATION_COLOUR, "showConsolidation")):
            cb.setObjectName(name)
            cb.setChecked(True)
            cb.setIcon(_swatch(colour))  # the check boxes double as the legend
            cb.toggled.connect(self._overlay_changed)
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setObjectName("opacitySlider")
        self.opacity.setRange(0, 100)
        self.opacity.setValue(self.prefs.opacity)
        self.opacity.valueChanged.connect(self._overlay_changed)
        self.opacity_label = QLabel()
        op = QHBoxLayout()
        op.addWidget(QLabel(self.tr("Opacity")))
        op.addWidget(self.opacity, 1)
        op.addWidget(self.opacity_label)
        v = QVBoxLayout(box)
        v.addWidget(self.show_lung)
        v.addWidget(self.show_ggo)
        v.addWidget(self.show_consolidation)
        v.addLayout(op)

        side = QWidget()
        s = QVBoxLayout(side)
        s.setContentsMargins(4, 4, 4, 4)
        s.addWidget(box)
        s.addWidget(self._build_edit_box())
        s.addWidget(self.results, 1)
        # Scrolls rather than forcing a tall window (1366 x 768 screens with a taskbar).
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(side)
        dock = QDockWidget(self.tr("Results"), self)
        dock.setObjectName("resultsDock")
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        dock.setWidget(scroll)
        dock.setMinimumWidth(340)
        self.dock = dock
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.resizeDocks([dock], [420], Qt.Orientation.Horizontal)
        self._overlay_changed()

    def _build_edit_box(self) -> QGroupBox:
        """Brush / eraser for correcting the masks on the current slice of any plane."""
        box = QGroupBox(self.tr("Correct masks"))
        box.setObjectName("editBox")
        self.edit_label = QComboBox()
        self.edit_label.setObjectName("editLabel")
        for key, text, colour in (("ggo", self.tr("GGO"), ov.GGO_COLOUR),
                                  ("consolidation", self.tr("Consolidation"), ov.CONSOLIDATION_COLOUR),
                                  ("lung", self.tr("Lung"), ov.LUNG_COLOUR)):
            self.edit_label.addItem(_swatch(colour), text, key)
        self.brush_size = QSpinBox()
        self.brush_size.setObjectName("brushSize")
        self.brush_size.setRange(1, 99)
        self.brush_size.setValue(9)
        self.brush_size.setSuffix(self.tr(" px"))
        self.brush_size.setToolTip(self.tr("Brush diameter in pixels ([ and ] change it)"))
        self.brush_size.valueChanged.connect(lambda _: self._tool_changed())
        self.edit_status = QLabel()
        self.edit_status.setObjectName("editStatus")
        self.edit_status.setWordWrap(True)
        row1 = QHBoxLayout()
        self.edit_buttons = QHBoxLayout()
        row1.addWidget(self.edit_label, 1)
        row1.addWidget(QLabel(self.tr("Size")))
        row1.addWidget(self.brush_size)
        v = QVBoxLayout(box)
        v.setContentsMargins(6, 4, 6, 4)
        v.addLayout(self.edit_buttons)
        v.addLayout(row1)
        v.addWidget(self.edit_status)
        return box

    def _action(self, text: str, slot, shortcut=None, icon: QStyle.StandardPixmap | None = None,
                tip: str = "") -> QAction:
        a = QAction(text, self)
        if shortcut is not None:
            a.setShortcut(QKeySequence(shortcut))
        if icon is not None:
            a.setIcon(self.style().standardIcon(icon))
        if tip:
            a.setStatusTip(tip)
            a.setToolTip(tip)
        a.triggered.connect(slot)
        return a

    def _build_actions(self) -> None:
        SP = QStyle.StandardPixmap
        self.act_open = self._action(self.tr("&Open file…"), self.choose_file, QKeySequence.StandardKey.Open,
                                     SP.SP_DialogOpenButton, self.tr("Open an image, NIfTI volume or DICOM file"))
        self.act_open_folder = self._action(self.tr("Open &folder…"), self.choose_folder, "Ctrl+Shift+O",
                                            SP.SP_DirOpenIcon, self.tr("Open a DICOM series or a folder of slices"))
        self.act_segment = self._action(self.tr("&Segment"), self.segment, "Ctrl+R", SP.SP_MediaPlay,
                                        self.tr("Segment lung, lesions and lesion types"))
        self.act_cancel = self._action(self.tr("&Cancel"), self.cancel, "Esc", SP.SP_MediaStop,
                                       self.tr("Stop the running job"))
        self.act_export_report = self._action(self.tr("&Report (PDF, HTML, JSON, CSV)…"), self.choose_report,
                                              "Ctrl+E", SP.SP_DialogSaveButton, self.tr("Save the report"))
        self.act_export_view = self._action(self.tr("Current &view as PNG…"), self.choose_view_png)
        self.act_masks = {
            "png": self._action(self.tr("Masks as &PNG…"), lambda: self.choose_masks("png")),
            "nifti": self._action(self.tr("Masks as &NIfTI…"), lambda: self.choose_masks("nifti")),
            "dicom-seg": self._action(self.tr("Masks as &DICOM-SEG…"), lambda: self.choose_masks("dicom-seg")),
        }
        self.act_quit = self._action(self.tr("&Quit"), self.close, QKeySequence.StandardKey.Quit)
        self.act_prefs = self._action(self.tr("&Preferences…"), self.edit_preferences,
                                      QKeySequence.StandardKey.Preferences)
        self.act_fit = self._action(self.tr("&Fit to window"), self._fit, "Ctrl+0")
        self.act_side = QAction(self.tr("Show &original beside the overlay"), self)
        self.act_side.setCheckable(True)
        self.act_side.setChecked(True)
        self.act_side.toggled.connect(self._side_by_side)
        self.act_prev = self._action(self.tr("Previous slice"), lambda: self.viewer.step(-1))
        self.act_prev.setShortcuts([QKeySequence("Down"), QKeySequence("PgDown")])
        self.act_next = self._action(self.tr("Next slice"), lambda: self.viewer.step(1))
        self.act_next.setShortcuts([QKeySequence("Up"), QKeySequence("PgUp")])
        self.act_first = self._action(self.tr("First slice"), lambda: self.viewer.set_index(0), "Home")
        self.act_last = self._action(self.tr("Last slice"), lambda: self.viewer.set_index(self.viewer.slice_count - 1),
                                     "End")
        self.act_overlay = QAction(self.tr("Show &overlay"), self)
        self.act_overlay.setCheckable(True)
        self.act_overlay.setChecked(True)
        self.act_overlay.setShortcut(QKeySequence("O"))
        self.act_overlay.toggled.connect(self.viewer.set_overlay_visible)
        self.act_planes = QAction(self.tr("&Coronal and sagittal planes"), self)
        self.act_planes.setCheckable(True)
        self.act_planes.setShortcut(QKeySequence("Ctrl+3"))
        self.act_planes.toggled.connect(self.viewer.set_planes)
        self.act_about = self._action(self.tr("&About covidseg"), self.about)
        # editing
        group = QActionGroup(self)
        self.act_navigate = QAction(self.tr("&Navigate"), self)
        self.act_navigate.setShortcut(QKeySequence("N"))
        self.act_navigate.setToolTip(self.tr("Drag pans, click moves the crosshair (N)"))
        self.act_brush = QAction(self.tr("&Brush"), self)
        self.act_brush.setShortcut(QKeySequence("B"))
        self.act_brush.setToolTip(self.tr("Paint the chosen label on the slice (B)"))
        self.act_eraser = QAction(self.tr("&Eraser"), self)
        self.act_eraser.setShortcut(QKeySequence("E"))
        self.act_eraser.setToolTip(self.tr("Erase the chosen label from the slice (E)"))
        for a in (self.act_navigate, self.act_brush, self.act_eraser):
            a.setCheckable(True)
            group.addAction(a)
            a.toggled.connect(lambda _=False: self._tool_changed())
        self.act_navigate.setChecked(True)
        self.act_undo = self._action(self.tr("&Undo edit"), self.undo_edit, QKeySequence.StandardKey.Undo)
        self.act_redo = self._action(self.tr("&Redo edit"), self.redo_edit, QKeySequence.StandardKey.Redo)
        self.act_smaller = self._action(self.tr("Smaller brush"), lambda: self.brush_size.stepBy(-2), "[")
        self.act_larger = self._action(self.tr("Larger brush"), lambda: self.brush_size.stepBy(2), "]")
        self.act_fit.setShortcuts([QKeySequence("Ctrl+0"), QKeySequence("F")])
        self.addActions([self.act_prev, self.act_next, self.act_first, self.act_last, self.act_overlay,
                         self.act_planes, self.act_navigate, self.act_brush, self.act_eraser, self.act_smaller,
                         self.act_larger])
        for a in (self.act_navigate, self.act_brush, self.act_eraser, self.act_undo, self.act_redo):
            b = QToolButton()
            b.setDefaultAction(a)
            b.setObjectName(f"{a.text().replace('&', '').split()[0].lower()}Button")
            self.edit_buttons.addWidget(b)
        self.edit_buttons.addStretch(1)

    def _build_menus_and_toolbar(self) -> None:
        mb = self.menuBar()
        file_menu = mb.addMenu(self.tr("&File"))
        file_menu.addAction(self.act_open)
        file_menu.addAction(self.act_open_folder)
        self.recent_menu = file_menu.addMenu(self.tr("Open &recent"))
        self._fill_recent()
        file_menu.addSeparator()
        export_menu = file_menu.addMenu(self.tr("&Export"))
        export_menu.addAction(self.act_export_report)
        for a in self.act_masks.values():
            export_menu.addAction(a)
        export_menu.addAction(self.act_export_view)
        file_menu.addSeparator()
        file_menu.addAction(self.act_quit)

        view_menu = mb.addMenu(self.tr("&View"))
        view_menu.addAction(self.act_side)
        view_menu.addAction(self.act_planes)
        view_menu.addAction(self.act_overlay)
        view_menu.addAction(self.act_fit)
        self.dock.toggleViewAction().setText(self.tr("&Results panel"))
        self.dock.toggleViewAction().setShortcut(QKeySequence("F9"))
        view_menu.addAction(self.dock.toggleViewAction())
        wl = view_menu.addMenu(self.tr("&Window preset"))
        for name, text in (("lung", self.tr("Lung (L -600, W 1500)")),
                           ("mediastinum", self.tr("Mediastinum (L 40, W 400)"))):
            wl.addAction(text, lambda n=name: self.viewer.set_preset(n) if self.viewer.is_hu else None)
        view_menu.addSeparator()
        view_menu.addAction(self.act_prev)
        view_menu.addAction(self.act_next)
        view_menu.addAction(self.act_first)
        view_menu.addAction(self.act_last)
        edit_menu = mb.addMenu(self.tr("&Edit"))
        for a in (self.act_undo, self.act_redo, None, self.act_navigate, self.act_brush, self.act_eraser, None,
                  self.act_smaller, self.act_larger):
            edit_menu.addSeparator() if a is None else edit_menu.addAction(a)

        seg_menu = mb.addMenu(self.tr("&Segmentation"))
        seg_menu.addAction(self.act_segment)
        seg_menu.addAction(self.act_cancel)

        settings_menu = mb.addMenu(self.tr("Se&ttings"))
        settings_menu.addAction(self.act_prefs)
        lang_menu = settings_menu.addMenu(self.tr("&Language"))
        group = QActionGroup(self)
        self.language_actions: dict[str, QAction] = {}
        for code, text in (("system", self.tr("System default")), ("en", "English"), ("zh_CN", "简体中文")):
            a = lang_menu.addAction(text)
            a.setCheckable(True)
            a.setChecked(code == self.prefs.language)
            a.triggered.connect(lambda _=False, c=code: self.set_language(c))
            group.addAction(a)
            self.language_actions[code] = a

        help_menu = mb.addMenu(self.tr("&Help"))
        help_menu.addAction(self.act_about)

        tb = self.addToolBar(self.tr("Main"))
        tb.setObjectName("mainToolbar")
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        tb.addAction(self.act_open)
        tb.addAction(self.act_open_folder)
        tb.addSeparator()
        tb.addAction(self.act_segment)
        tb.addAction(self.act_cancel)
        tb.addSeparator()
        tb.addAction(self.act_export_report)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for path in self.prefs.recent:
            self.recent_menu.addAction(path, lambda p=path: self.open_path(p))
        self.recent_menu.setEnabled(bool(self.prefs.recent))

    # ------------------------------------------------------------------ state
    @property
    def busy(self) -> bool:
        return self._job is not None

    def _update_actions(self) -> None:
        busy = self.busy
        self.act_open.setEnabled(not busy)
        self.act_open_folder.setEnabled(not busy)
        self.recent_menu.setEnabled(not busy and bool(self.prefs.recent))
        self.act_segment.setEnabled(not busy and self.image is not None)
        self.act_cancel.setEnabled(busy)
        have = self.prediction is not None and not busy
        self.act_export_report.setEnabled(have)
        for fmt, a in self.act_masks.items():
            a.setEnabled(have and (fmt != "dicom-seg" or self.image.kind in ("dicom-series", "dicom-file")))
        self.act_export_view.setEnabled(self.image is not None)
        self.act_prefs.setEnabled(not busy)
        editing = self.editor is not None and not busy
        for a in (self.act_brush, self.act_eraser):
            a.setEnabled(editing)
        self.act_undo.setEnabled(editing and self.editor.can_undo())
        self.act_redo.setEnabled(editing and self.editor.can_redo())
        if not editing and not self.act_navigate.isChecked():
            self.act_navigate.setChecked(True)
        self.act_planes.setEnabled(self.image is not None and self.image.array.ndim == 3)

    def _save_prefs(self) -> None:
        st.save(self.store, replace(st.load(self.store), recent=self.prefs.recent, opacity=self.prefs.opacity,
                                    language=self.prefs.language))

    def show_error(self, text: str) -> None:
        self.banner.show_message("error", text)
        self.statusBar().showMessage(text, 10000)

    def show_info(self, text: str) -> None:
        self.banner.show_message("info", text)
        self.statusBar().showMessage(text, 10000)

    # ------------------------------------------------------------------ jobs
    def _run(self, job: Job, finished_slot, label: str) -> bool:
        if self.busy:
            self.banner.show_message("warning", self.tr("Please wait: another task is running (or cancel it)."))
            return False
        self._job = job
        self._outcome = "failed"
        job.progress.connect(self._on_progress)
        job.finished.connect(finished_slot)
        job.failed.connect(self._on_failed)
        job.cancelled.connect(self._on_cancelled)
        job.done.connect(self._on_done)
        self._job_label = label
        self.progress.setRange(0, 0)  # busy until the first real progress report
        self.progress.setFormat(label)
        self.progress.show()
        self.statusBar().showMessage(label)
        self._t0 = time.perf_counter()
        self._thread = start(job, self)
        self._update_actions()
        return True

    @Slot(int, int)
    def _on_progress(self, done: int, total: int) -> None:
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
            if self._job is not None and not self._job.is_cancelled:  # keep "Cancelling…" visible
                self.progress.setFormat(f"{self._job_label} %v / %m")

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.show_error(message)

    @Slot()
    def _on_cancelled(self) -> None:
        self._outcome = "cancelled"
        self.show_info(self.tr("Cancelled."))

    @Slot()
    def _on_done(self) -> None:
        name = self._job.name if self._job is not None else ""
        self._job = None
        self._thread = None
        self.progress.hide()
        self._update_actions()
        self.jobFinished.emit(name, self._outcome)

    @Slot()
    def cancel(self) -> None:
        if self._job is not None:
            self._job.cancel()
            self.progress.setFormat(self.tr("Cancelling…"))

    def wait_idle(self, timeout_ms: int = 30000) -> bool:
        """Block until the running job's thread ends (used on close; not in normal operation)."""
        thread = self._thread
        if thread is None:
            return True
        try:
            return thread.wait(timeout_ms)
        except RuntimeError:  # the C++ thread is already deleted: it has finished
            return True

    # ------------------------------------------------------------------ opening
    @Slot()
    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Open CT image"), self._start_dir(), IMAGE_FILTER)
        if path:
            self.open_path(path)

    @Slot()
    def choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, self.tr("Open a DICOM series or a folder of slices"),
                                                self._start_dir())
        if path:
            self.open_path(path)

    def _export_dir(self) -> str:
        """Where save dialogs start: the folder of the last export, else next to the input."""
        last = self.store.value("export/folder")
        if last and Path(str(last)).is_dir():
            return str(last)
        return self._start_dir()

    def _start_dir(self) -> str:
        return str(Path(self.prefs.recent[0]).parent) if self.prefs.recent else str(Path.home())

    def open_path(self, path: str | Path, series: str | None = None) -> bool:
        """Read ``path`` in the background; the image shows when it is read. False if busy."""
        from covidseg.io import read_image

        path = Path(path).expanduser()

        def work(progress):
            if series is None and path.is_dir():
                choices = dicom_series_choices(path)
                if len(choices) > 1:
                    return SeriesChoice(path, tuple(choices))
            return read_image(path, series=series)

        job = Job("read", work)
        return self._run(job, self._on_opened, self.tr("Reading %1").replace("%1", path.name))

    @Slot(object)
    def _on_opened(self, image) -> None:
        self._outcome = "finished"
        if isinstance(image, SeriesChoice):
            self._ask_series(image)
            return
        self.image = image
        self.prediction = None
        self.editor = None
        self.banner.hide()
        self.placeholder.hide()
        self.viewer.show()
        self.viewer.set_image(image.array, image.is_hu, image.spacing, image.orientation, image.affine)
        self.viewer.overlay.setFocus()  # the slice keys work at once
        self.results.clear()
        self.prefs = self.prefs.with_recent(image.source)
        self._fill_recent()
        self._save_prefs()
        name = Path(str(image.source)).name
        self.setWindowTitle(f"covidseg — {name}")
        shape = " × ".join(str(s) for s in image.shape)
        hu = self.tr("Hounsfield units") if image.is_hu else self.tr("grey levels")
        self.statusBar().showMessage(self.tr("Opened %1 (%2, %3, %4)").replace("%1", name).replace("%2", image.kind)
                                     .replace("%3", shape).replace("%4", hu), 10000)

    def _ask_series(self, choice: SeriesChoice) -> None:
        """Non-blocking list of the folder's series; choosing one reads it."""
        dialog = QInputDialog(self)
        dialog.setWindowTitle(self.tr("Choose a series"))
        dialog.setLabelText(self.tr("This folder holds several CT series. Open:"))
        dialog.setComboBoxItems([label for _, label in choice.series])
        dialog.setComboBoxEditable(False)
        uids = {label: uid for uid, label in choice.series}
        dialog.textValueSelected.connect(lambda label: self.open_path(choice.folder, series=uids[label]))
        dialog.finished.connect(dialog.deleteLater)
        self.series_dialog = dialog
        dialog.open()

    # ------------------------------------------------------------------ segmenting
    def _segmenter_config(self):
        from covidseg.inference import SegmenterConfig

        p = self.prefs
        # The window never shows probability maps: do not keep them (1 byte per voxel per map).
        return SegmenterConfig(device=p.device, threads=p.threads or None, batch_size=p.batch_size,
                               tta=p.tta, keep_probabilities=False)

    @Slot()
    def segment(self) -> bool:
        if self.image is None:
            self.show_error(self.tr("Open an image first."))
            return False
        key = (self.prefs.model_folder, self.prefs.device, self.prefs.threads, self.prefs.batch_size, self.prefs.tta)
        cached = self._segmenter if key == self._segmenter_key else None
        config = self._segmenter_config()
        image = self.image
        model = self.prefs.model_folder or None

        def work(progress):
            from covidseg.inference import Segmenter

            seg = cached or Segmenter(model, config)  # loading weights also stays off the GUI thread
            progress(0, 0)
            return key, seg, seg.predict(image, progress=progress)

        return self._run(Job("segment", work), self._on_segmented, self.tr("Segmenting"))

    @Slot(object)
    def _on_segmented(self, result) -> None:
        self._outcome = "finished"
        key, seg, pred = result
        self._segmenter, self._segmenter_key = seg, key
        if pred.image is not self.image:  # a new image was opened meanwhile (cannot happen while busy)
            return
        self.show_prediction(pred)
        seconds = time.perf_counter() - self._t0
        self.statusBar().showMessage(self.tr("Segmented in %1 s").replace("%1", f"{seconds:.1f}"), 10000)

    def show_prediction(self, pred) -> None:
        self.editor = MaskEditor(pred)
        self.prediction = pred
        self.banner.hide()
        # The viewer shows the editor's arrays: a stroke shows at once, without copies.
        self.viewer.set_masks(self.editor.lung, self.editor.lesion, self.editor.classes)
        self.results.show_prediction(pred)
        self._show_edit_status()
        typed = pred.classes is not None
        i = self.edit_label.findData("ggo")
        self.edit_label.setItemText(i, self.tr("GGO") if typed else self.tr("Lesion"))
        self.edit_label.setItemIcon(i, _swatch(ov.GGO_COLOUR if typed else ov.LESION_COLOUR))
        cons = self.edit_label.model().item(self.edit_label.findData("consolidation"))
        cons.setEnabled(typed)
        if not typed and self.edit_label.currentData() == "consolidation":
            self.edit_label.setCurrentIndex(i)
        self.show_ggo.setText(self.tr("Ground-glass opacity (GGO)") if typed else self.tr("Lesion"))
        self.show_ggo.setIcon(_swatch(ov.GGO_COLOUR if typed else ov.LESION_COLOUR))
        self.show_consolidation.setEnabled(typed)
        if pred.image.array.ndim == 3:
            from covidseg.gui.export import most_affected_slice

            self.viewer.set_index(most_affected_slice(pred))
        self.results.curve.set_current(self.viewer.index)
        self._update_actions()

    # ------------------------------------------------------------------ editing
    @Slot()
    def _tool_changed(self) -> None:
        tool = "paint" if (self.act_brush.isChecked() or self.act_eraser.isChecked()) else "navigate"
        self.viewer.set_tool(tool, self.brush_size.value())

    def current_brush(self, axis: int = 0) -> Brush:
        return Brush(label=self.edit_label.currentData(), erase=self.act_eraser.isChecked(),
                     diameter=self.brush_size.value(), aspect=self.viewer.plane_aspect(axis))

    @Slot(str, int, int, float, float)
    def _stroke(self, phase: str, axis: int, index: int, row: float, col: float) -> None:
        """A brush stroke from the viewer: paint as the mouse moves, re-measure when it ends."""
        ed = self.editor
        if ed is None or self.busy or self.viewer.tool != "paint":
            return
        if phase == "begin":
            ed.begin(axis, index, self.current_brush(axis))
        if ed._stroke is None:  # a move or release without a begin (e.g. the tool changed midway)
            return
        ed.add(row, col)
        self.viewer.refresh()
        if phase == "end" and ed.end():
            self._after_edit()

    def undo_edit(self) -> None:
        if self.editor is not None and not self.busy and self.editor.undo() is not None:
            self._after_edit()

    def redo_edit(self) -> None:
        if self.editor is not None and not self.busy and self.editor.redo() is not None:
            self._after_edit()

    def _after_edit(self) -> None:
        """Re-measure the edited masks (covidseg.quantify, as predict does) and show them."""
        t0 = time.perf_counter()
        self.prediction = self.editor.prediction()
        self.results.show_prediction(self.prediction, edited=self.editor.edited)
        self.viewer.refresh()
        self._show_edit_status()
        self._update_actions()
        log.debug("re-measured after an edit in %.3f s", time.perf_counter() - t0)

    def _show_edit_status(self) -> None:
        ed = self.editor
        if ed is None or not ed.edited:
            self.edit_status.setText(self.tr("Masks as segmented."))
        else:
            self.edit_status.setText(self.tr("Edited by hand (edits: %1). Numbers, grades, curve and exports use "
                                             "the edited masks.").replace("%1", str(ed.strokes)))

    def export_prediction(self):
        """The prediction to export: independent copies when edited (exports run in a worker
        while the user may keep painting)."""
        if self.editor is not None and self.editor.edited:
            return self.editor.prediction(copy=True)
        return self.prediction

    def edit_info(self) -> dict | None:
        ed = self.editor
        return {"strokes": ed.strokes} if ed is not None and ed.edited else None

    # ------------------------------------------------------------------ overlay
    @Slot()
    def _overlay_changed(self, *_) -> None:
        self.opacity_label.setText(f"{self.opacity.value()} %")
        self.prefs = replace(self.prefs, opacity=self.opacity.value())
        self.viewer.set_options(ov.OverlayOptions(lung=self.show_lung.isChecked(), ggo=self.show_ggo.isChecked(),
                                                  consolidation=self.show_consolidation.isChecked(),
                                                  opacity=self.opacity.value() / 100.0))

    @Slot(bool)
    def _side_by_side(self, on: bool) -> None:
        self.viewer.splitter.widget(0).setVisible(on)

    @Slot()
    def _fit(self) -> None:
        for view in (self.viewer.original, *self.viewer.views.values()):
            view.fit()

    # ------------------------------------------------------------------ export
    def _ask_save(self, title: str, name: str, filters: str) -> str:
        start = Path(self._export_dir()) / name
        path, _ = QFileDialog.getSaveFileName(self, title, str(start), filters)
        if path:
            self.store.setValue("export/folder", str(Path(path).parent))  # the next dialog starts here
        return path

    def _case_name(self) -> str:
        from covidseg.io import safe_name

        src = Path(str(self.image.source)) if self.image is not None else Path("case")
        return safe_name(src.name.split(".")[0] or "case")

    @Slot()
    def choose_report(self) -> None:
        path = self._ask_save(self.tr("Save report"), f"{self._case_name()}-report.pdf",
                              "PDF (*.pdf);;HTML (*.html);;JSON (*.json);;CSV (*.csv)")
        if path:
            self.export_report(path)

    def choose_masks(self, fmt: str) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Save masks into folder"), self._export_dir())
        if folder:
            self.store.setValue("export/folder", folder)
        if folder:
            self.export_masks(Path(folder) / f"{self._case_name()}-masks", fmt)

    @Slot()
    def choose_view_png(self) -> None:
        path = self._ask_save(self.tr("Save view"), f"{self._case_name()}-view.png", "PNG (*.png)")
        if path:
            self.export_view(path)

    def export_report(self, path: str | Path) -> bool:
        from covidseg.gui.export import write_report

        if self.prediction is None:
            return False
        pred, index, edits = self.export_prediction(), self.viewer.index, self.edit_info()
        if Path(path).suffix.lower() == ".pdf":
            # QTextDocument is a GUI object: the (fast) PDF is laid out in the GUI thread.
            return self._export_now(lambda: [write_report(pred, path, index, edits=edits)])
        return self._run(Job("export", lambda progress: [write_report(pred, path, index, edits=edits)]),
                         self._on_exported, self.tr("Saving report"))

    def export_masks(self, folder: str | Path, fmt: str) -> bool:
        from covidseg.gui.export import export_masks

        if self.prediction is None:
            return False
        pred = self.export_prediction()
        return self._run(Job("export", lambda progress: export_masks(pred, folder, fmt)), self._on_exported,
                         self.tr("Saving masks"))

    def export_view(self, path: str | Path) -> bool:
        """Save what the viewer shows (both panes when side by side) as a PNG."""
        pm = self.viewer.splitter.grab()
        from covidseg.io import atomic_write

        path = Path(path)
        try:
            with atomic_write(path) as tmp:
                if not pm.save(str(tmp), "PNG"):
                    raise OSError(f"cannot write {path}")
        except OSError as exc:
            self.show_error(str(exc))
            return False
        self._on_exported([path])
        return True

    def _export_now(self, fn) -> bool:
        from covidseg.gui.worker import describe_error

        try:
            written = fn()
        except Exception as exc:  # noqa: BLE001 - shown in the window
            self.show_error(describe_error(exc))
            return False
        self._on_exported(written)
        return True

    @Slot(object)
    def _on_exported(self, written) -> None:
        self._outcome = "finished"
        self.last_export = [Path(p) for p in written]

        where = ", ".join(str(p) for p in self.last_export[:3]) + (" …" if len(self.last_export) > 3 else "")
        self.show_info(self.tr("Saved %1").replace("%1", where))

    # ------------------------------------------------------------------ settings, language, about
    @Slot()
    def edit_preferences(self) -> None:
        dialog = st.PreferencesDialog(self.prefs, self)
        if dialog.exec():
            self.apply_preferences(dialog.preferences())

    def apply_preferences(self, prefs: st.Preferences) -> None:
        self.prefs = prefs
        st.save(self.store, prefs)
        self._segmenter = self._segmenter_key = None  # reloaded on the next run

    def set_language(self, code: str) -> None:
        if code == self.prefs.language:
            return
        self.prefs = replace(self.prefs, language=code)
        self._save_prefs()
        self.language_actions[code].setChecked(True)
        self.show_info(self.tr("The language changes the next time covidseg starts."))

    @Slot()
    def about(self) -> None:
        QMessageBox.about(self, self.tr("About covidseg"),
                          self.tr("<b>covidseg %1</b><br>Finds and measures COVID-19 pneumonia in chest CT.<br>"
                                  "Research software, not a medical device.").replace("%1", __version__))

    # ------------------------------------------------------------------ drag and drop, closing
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if not paths:
            return
        # Several files of one folder (e.g. a DICOM series' slices): open the folder.
        target = paths[0].parent if len(paths) > 1 and len({p.parent for p in paths}) == 1 else paths[0]
        event.acceptProposedAction()
        QTimer.singleShot(0, lambda: self.open_path(target))

    def closeEvent(self, event) -> None:  # noqa: N802
        if self._job is not None:
            self._job.cancel()
            self.wait_idle(15000)
        self._save_prefs()
        self.store.setValue("window/geometry", self.saveGeometry())
        self.store.setValue("window/state", self.saveState())
        super().closeEvent(event)
