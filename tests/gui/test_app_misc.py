"""Settings persistence, translations, the `covidseg gui` command line."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from covidseg.gui import settings as st
from covidseg.gui.app import I18N_DIR


def test_preferences_roundtrip(qapp, tmp_path):
    store = st.open_settings(tmp_path / "s.ini")
    prefs = st.Preferences(model_folder="/models/x", device="cpu", threads=2, batch_size=3, language="zh_CN",
                           opacity=70, tta=True).with_recent(tmp_path / "a.nii.gz").with_recent(tmp_path / "b")
    st.save(store, prefs)
    again = st.load(st.open_settings(tmp_path / "s.ini"))
    assert again == prefs
    assert again.recent == (str((tmp_path / "b").resolve()), str((tmp_path / "a.nii.gz").resolve()))


def test_recent_list_is_unique_and_bounded(tmp_path):
    prefs = st.Preferences()
    for k in range(st.MAX_RECENT + 3):
        prefs = prefs.with_recent(tmp_path / f"{k}.png")
    prefs = prefs.with_recent(tmp_path / "5.png")
    assert len(prefs.recent) == st.MAX_RECENT and prefs.recent[0].endswith("5.png")
    assert len(set(prefs.recent)) == len(prefs.recent)


def test_one_bad_setting_keeps_the_others(qapp, tmp_path):
    path = tmp_path / "s.ini"
    path.write_text("[General]\nlanguage=klingon\nthreads=abc\nbatch_size=6\ndevice=cuda:1\n")
    prefs = st.load(st.open_settings(path))
    assert (prefs.language, prefs.threads, prefs.batch_size, prefs.device) == ("system", 0, 6, "cuda:1")


@pytest.mark.parametrize("kwargs,word", [(dict(language="fr"), "language"), (dict(threads=-1), "threads"),
                                         (dict(batch_size=0), "batch_size"), (dict(opacity=101), "opacity"),
                                         (dict(device="tpu"), "device")])
def test_bad_preferences_raise(kwargs, word):
    with pytest.raises(ValueError, match=word):
        st.Preferences(**kwargs)


def test_preferences_dialog_returns_edits(qtbot):
    d = st.PreferencesDialog(st.Preferences(batch_size=2))
    qtbot.addWidget(d)
    d.model_edit.setText(" /some/model ")
    d.batch_spin.setValue(5)
    assert not d.tta_check.isChecked()
    d.tta_check.setChecked(True)
    p = d.preferences()
    assert (p.model_folder, p.batch_size, p.device, p.tta) == ("/some/model", 5, "cpu", True)


def test_translation_file_is_complete_and_compiled(qapp):
    import xml.etree.ElementTree as ET

    from PySide6.QtCore import QTranslator

    ts_path = I18N_DIR / "covidseg_zh_CN.ts"
    root = ET.parse(ts_path).getroot()
    messages = [(ctx.findtext("name"), m.findtext("source"), m.find("translation"))
                for ctx in root.iter("context") for m in ctx.iter("message")]
    assert len(messages) > 100
    assert all(t.get("type") is None and t.text for _, _, t in messages), "unfinished or obsolete entries"
    # The committed .qm is compiled from this .ts: it gives every translation.
    qm = QTranslator()
    assert qm.load(str(I18N_DIR / "covidseg_zh_CN.qm"))
    stale = [(c, s) for c, s, t in messages if qm.translate(c, s) != t.text]
    assert not stale, f"run pyside6-lrelease: {stale[:3]}"
    # Every self.tr() string of the sources is in the .ts.
    sources = "".join(p.read_text(encoding="utf-8") for p in I18N_DIR.parent.glob("*.py"))
    used = set(re.findall(r'self\.tr\(\s*"([^"\\]+)"\s*[,)]', sources))  # single literals
    known = {s for _, s, _ in messages}
    assert used and not used - known, f"run pyside6-lupdate: {sorted(used - known)[:3]}"


def test_chinese_interface(qapp, qtbot, tmp_path, tiny_model):
    from covidseg.gui.app import MainWindow, install_translator

    translators = install_translator(qapp, "zh_CN")
    try:
        assert translators, "covidseg_zh_CN.qm did not load"
        w = MainWindow(st.open_settings(tmp_path / "s.ini"), model=str(tiny_model))
        qtbot.addWidget(w)
        assert w.act_segment.text() == "分割(&S)"
        assert w.results.badge.text() == "未分割"
        assert w.viewer.preset_combo.itemText(0) == "肺窗"
        assert [a.isChecked() for a in w.language_actions.values()] == [True, False, False]
        w.set_language("en")
        assert st.load(w.store).language == "en" and "语言" in w.banner.text()
    finally:
        for t in translators:
            qapp.removeTranslator(t)


def test_english_installs_nothing(qapp):
    from covidseg.gui.app import install_translator

    assert install_translator(qapp, "en") == []


def test_cli_help_and_options():
    from covidseg.cli import build_parser

    args = build_parser("gui").parse_args(["gui", "scan.nii.gz", "--model", "m", "--lang", "zh_CN",
                                           "--threads", "2"])
    assert (args.input, args.model, args.lang, args.threads) == ("scan.nii.gz", "m", "zh_CN", 2)


@pytest.mark.parametrize("argv,message", [
    (["gui", "--threads", "0"], "--threads"),
    (["gui", "--device", "gpu"], "--device"),
])
def test_cli_rejects_bad_flags(argv, message, capsys):
    from covidseg.cli import main

    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_cli_without_display_says_so(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "covidseg", "gui"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2
    assert "no display" in proc.stderr and "Traceback" not in proc.stderr


def test_cli_starts_the_window_offscreen(tmp_path, inputs):
    """`covidseg gui INPUT` starts, reads the input, and quits cleanly (offscreen)."""
    script = (
        "import sys\n"
        "from PySide6.QtCore import QTimer\n"
        "from PySide6.QtWidgets import QApplication\n"
        "from covidseg.cli import main\n"
        "app = QApplication(sys.argv[:1])  # main() reuses it; timers need it first\n"
        "def check():\n"
        "    w = [x for x in app.topLevelWidgets() if type(x).__name__ == 'MainWindow'][0]\n"
        "    if w.image is None or w.busy: QTimer.singleShot(100, check); return\n"
        "    print('OPENED', w.image.kind, w.viewer.slice_count, flush=True); w.close(); app.quit()\n"
        "QTimer.singleShot(200, check)\n"
        "QTimer.singleShot(60000, app.quit)\n"
        f"sys.exit(main(['gui', {str(inputs['nifti'])!r}, '--settings', {str(tmp_path / 's.ini')!r}]))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "QT_QPA_PLATFORM": "offscreen",
           "XDG_RUNTIME_DIR": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "OPENED nifti 79" in proc.stdout
    assert Path(tmp_path / "s.ini").exists()


def test_window_size_is_remembered(qtbot, tmp_path, tiny_model):
    from covidseg.gui.app import MainWindow

    store = st.open_settings(tmp_path / "s.ini")
    w = MainWindow(store, model=str(tiny_model))
    qtbot.addWidget(w)
    w.resize(700, 650)  # the offscreen screen is 800 x 800; Qt enforces the minimum width
    w.show()
    qtbot.waitExposed(w)
    size = (w.width(), w.height())
    assert size != (1280, 800)  # differs from the default size of a new window
    w.close()
    again = MainWindow(st.open_settings(tmp_path / "s.ini"), model=str(tiny_model))
    qtbot.addWidget(again)
    again.show()
    qtbot.waitExposed(again)
    assert (again.width(), again.height()) == size


def test_default_preferences_run_the_pipeline_like_predict(qtbot, tmp_path):
    """With default preferences the window runs the Segmenter with the CLI's settings (batch 8
    before: 4, which made the GUI slower than `covidseg predict` for no gain)."""
    import dataclasses

    from covidseg.gui.app import MainWindow
    from covidseg.inference import SegmenterConfig

    w = MainWindow(st.open_settings(tmp_path / "fresh.ini"))
    qtbot.addWidget(w)
    mine = dataclasses.asdict(w._segmenter_config())
    cli = dataclasses.asdict(SegmenterConfig())
    mine.pop("keep_probabilities"), cli.pop("keep_probabilities")  # the window shows no probability maps
    assert mine == cli


def test_report_and_grade_texts_are_translated(qapp):
    """Every literal the reports and grades pass to translate() has a Chinese translation."""
    import ast

    from covidseg.gui.app import install_translator

    sources = "".join(p.read_text(encoding="utf-8") for p in I18N_DIR.parent.glob("*.py"))
    used = re.findall(r'translate\(\s*"(\w+)",\s*((?:"(?:[^"\\]|\\.)*"\s*)+)\)', sources)
    assert len(used) > 40
    translators = install_translator(qapp, "zh_CN")
    try:
        from PySide6.QtCore import QCoreApplication

        for context, literal in used:
            text = "".join(ast.literal_eval(f'"{piece}"') for piece in re.findall(r'"((?:[^"\\]|\\.)*)"', literal))
            assert QCoreApplication.translate(context, text) != text or text.strip() in ("", "%1"), (context, text)
    finally:
        for t in translators:
            qapp.removeTranslator(t)
