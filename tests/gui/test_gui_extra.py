"""PySide6 is an extra (issue 16): core and predict never import it; `covidseg gui` without it
says in one line how to install it."""

from __future__ import annotations

import subprocess
import sys


def _run(code: str):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": ":".join(sys.path)})


def test_core_and_predict_do_not_import_pyside6():
    proc = _run(
        "import sys, contextlib, io\n"
        "import covidseg, covidseg.io, covidseg.inference, covidseg.quantify, covidseg.models, covidseg.tasks\n"
        "from covidseg.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        "        main(['predict', '--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'PySide6'))\n")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "[]"


def test_gui_without_pyside6_says_how_to_install_it():
    # None in sys.modules makes every `import PySide6...` fail as if it were not installed
    proc = _run("import sys; sys.modules['PySide6'] = None\n"
                "from covidseg.cli import main; sys.exit(main(['gui']))\n")
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "pip install 'covidseg[gui]'" in proc.stderr and "PySide6" in proc.stderr
