"""Persistent preferences (QSettings) and the Preferences dialog.

Stored per user by Qt (``~/.config/covidseg/covidseg.conf`` on Linux); tests and
``covidseg gui --settings FILE`` use an explicit INI file instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout,
                               QLineEdit, QPushButton, QSpinBox, QWidget)

from covidseg.devices import parse_device
from covidseg.inference.config import SegmenterConfig

_SEGMENTER = SegmenterConfig()
LANGUAGES = ("system", "en", "zh_CN")
MAX_RECENT = 10


@dataclass(frozen=True)
class Preferences:
    """What the user chose. ``model_folder`` "" means the weights shipped with covidseg;
    ``threads`` 0 means torch's default."""

    model_folder: str = ""
    device: str = _SEGMENTER.device  # the Segmenter's defaults, as `covidseg predict` (docs/gui.md)
    threads: int = 0
    batch_size: int = _SEGMENTER.batch_size
    language: str = "system"
    recent: tuple[str, ...] = field(default_factory=tuple)
    opacity: int = 45  # percent
    tta: bool = _SEGMENTER.tta  # mirror test-time augmentation (twice the network time)

    def __post_init__(self) -> None:
        if self.language not in LANGUAGES:
            raise ValueError(f"language must be one of {LANGUAGES}, got {self.language!r}")
        if self.threads < 0:
            raise ValueError(f"threads must be >= 0, got {self.threads!r}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size!r}")
        if not 0 <= self.opacity <= 100:
            raise ValueError(f"opacity must be within 0..100, got {self.opacity!r}")
        object.__setattr__(self, "device", parse_device(self.device))

    def with_recent(self, path: str | os.PathLike) -> "Preferences":
        """Most recent first, no duplicates, at most :data:`MAX_RECENT`."""
        p = str(Path(path).expanduser().resolve())
        recent = (p,) + tuple(r for r in self.recent if r != p)
        return replace(self, recent=recent[:MAX_RECENT])


def open_settings(path: str | os.PathLike | None = None) -> QSettings:
    if path is not None:
        return QSettings(str(path), QSettings.Format.IniFormat)
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "covidseg", "covidseg")


def _int(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def load(store: QSettings) -> Preferences:
    """Read preferences; anything missing or invalid falls back to its default."""
    d = Preferences()
    recent = store.value("recent", [])
    if isinstance(recent, str):  # QSettings returns a bare string for one-element lists
        recent = [recent]
    values = dict(
        model_folder=str(store.value("model_folder", d.model_folder) or ""),
        device=str(store.value("device", d.device) or "cpu"),
        threads=_int(store.value("threads", d.threads), d.threads),
        batch_size=_int(store.value("batch_size", d.batch_size), d.batch_size),
        language=str(store.value("language", d.language) or "system"),
        recent=tuple(str(r) for r in (recent or []))[:MAX_RECENT],
        opacity=_int(store.value("opacity", d.opacity), d.opacity),
        tta=str(store.value("tta", d.tta)).lower() in ("true", "1"),
    )
    try:
        return Preferences(**values)
    except ValueError:
        # One bad hand-edited entry must not lose the others.
        good = {}
        for k, v in values.items():
            try:
                Preferences(**{k: v})
                good[k] = v
            except ValueError:
                pass
        return Preferences(**good)


def save(store: QSettings, prefs: Preferences) -> None:
    store.setValue("model_folder", prefs.model_folder)
    store.setValue("device", prefs.device)
    store.setValue("threads", prefs.threads)
    store.setValue("batch_size", prefs.batch_size)
    store.setValue("language", prefs.language)
    store.setValue("recent", list(prefs.recent))
    store.setValue("opacity", prefs.opacity)
    store.setValue("tta", prefs.tta)
    store.sync()


def available_devices() -> list[str]:
    devices = ["cpu"]
    try:
        import torch

        devices += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    except Exception:  # noqa: BLE001 - a broken CUDA install must not break the dialog
        pass
    return devices


class PreferencesDialog(QDialog):
    """Model folder, device, threads, batch size, test-time augmentation."""

    def __init__(self, prefs: Preferences, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(self.tr("Preferences"))
        self._prefs = prefs
        form = QFormLayout(self)

        self.model_edit = QLineEdit(prefs.model_folder)
        self.model_edit.setPlaceholderText(self.tr("shipped models"))
        browse = QPushButton(self.tr("Browse…"))
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.model_edit, 1)
        row.addWidget(browse)
        form.addRow(self.tr("Model folder:"), row)

        self.device_combo = QComboBox()
        devices = available_devices()
        if prefs.device not in devices:
            devices.append(prefs.device)
        self.device_combo.addItems(devices)
        self.device_combo.setCurrentText(prefs.device)
        form.addRow(self.tr("Device:"), self.device_combo)

        self.threads_spin = QSpinBox()
        self.threads_spin.setRange(0, max(1, os.cpu_count() or 1))
        self.threads_spin.setSpecialValueText(self.tr("automatic"))
        self.threads_spin.setValue(min(prefs.threads, self.threads_spin.maximum()))
        form.addRow(self.tr("CPU threads:"), self.threads_spin)

        self.batch_spin = QSpinBox()
        self.batch_spin.setRange(1, 64)
        self.batch_spin.setValue(prefs.batch_size)
        form.addRow(self.tr("Slices per batch:"), self.batch_spin)

        self.tta_check = QCheckBox(self.tr("Also run the mirrored image and average (twice as slow)"))
        self.tta_check.setChecked(prefs.tta)
        form.addRow(self.tr("Test-time augmentation:"), self.tta_check)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Choose a model folder"), self.model_edit.text())
        if folder:
            self.model_edit.setText(folder)

    def preferences(self) -> Preferences:
        return replace(self._prefs, model_folder=self.model_edit.text().strip(),
                       device=self.device_combo.currentText(), threads=self.threads_spin.value(),
                       batch_size=self.batch_spin.value(), tta=self.tta_check.isChecked())
