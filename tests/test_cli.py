import subprocess
import sys

import pytest

from covidseg import __version__
from covidseg.cli import COMMANDS, main


def test_help_lists_every_subcommand(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    for name in ("train", "evaluate", "predict", "gui", "bench"):
        assert name in out
    assert set(COMMANDS) == {"train", "evaluate", "predict", "gui", "bench", "pseudolabel"}


def test_version_flag(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"covidseg {__version__}"


def test_console_script_runs_as_module():
    proc = subprocess.run([sys.executable, "-m", "covidseg", "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    assert "predict" in proc.stdout


def test_help_does_not_import_torch():
    code = "import sys; from covidseg.cli import build_parser; build_parser(); print('torch' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "False"


def test_user_error_is_one_line_and_exit_2(monkeypatch, capsys):
    import types

    from covidseg.errors import UnreadableFileError

    def boom(args):
        raise UnreadableFileError("truncated gzip stream", "/data/scan.nii.gz")

    fake = types.SimpleNamespace(configure=lambda p: None, main=boom)
    monkeypatch.setattr("covidseg.cli._load", lambda name: fake)
    assert main(["predict"]) == 2
    err = capsys.readouterr().err
    assert err == "covidseg: error: /data/scan.nii.gz: truncated gzip stream\n"


def test_error_messages_stay_on_one_line_whatever_the_file_name(tmp_path, capsys):
    from covidseg.errors import UnreadableFileError

    bad = tmp_path / "scan\nINJECTED\r\x1b[31m.png"
    err = UnreadableFileError("not a readable PNG image\nsecond line", bad)
    assert "\n" not in str(err) and "\r" not in str(err) and "\x1b" not in str(err)
    assert "\\x0a" in str(err) and "INJECTED" in str(err) and "second line" in str(err)
    bad.write_bytes(b"")
    from covidseg.cli import main

    assert main(["predict", str(bad), "-o", str(tmp_path / "out"), "--quiet"]) == 2
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert any("INJECTED" in ln and ln.startswith("covidseg: error:") for ln in lines)
    assert not any(ln.startswith("INJECTED") for ln in lines)
