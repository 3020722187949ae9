"""Library warnings never reach the terminal by default (issue 15, point 7).

nibabel's overflow RuntimeWarning for ``scl_slope = 1e38`` and pydicom's UserWarnings for
over-long LO/PN values printed multi-line Python warnings between covidseg's one-line
messages. They now go into the log (shown with ``--verbose``). The whole hostile corpus runs
in the same process, so any other library (nibabel, pydicom, PIL, SimpleITK, numpy, torch)
that warns on a strange file is caught too. Run in a fresh process: pytest itself captures
warnings in-process.
"""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from .corpus import make_corpus, write_dicom
from .test_predict_support import predict_argv, run_cli, synthetic_ct, tiny_model


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return tiny_model(tmp_path_factory.mktemp("model") / "tiny-all")


@pytest.fixture(scope="module")
def warning_inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("warn")
    vol = np.full((48, 48, 3), 1000, np.int16)
    img = nib.Nifti1Image(vol, np.diag([0.8, 0.8, 2.5, 1]))
    img.header.set_slope_inter(1e38, 0)  # scaled values overflow float32: a RuntimeWarning in nibabel
    nib.save(img, str(root / "slope.nii.gz"))
    with pytest.warns(UserWarning):  # pydicom warns already while writing the file
        write_dicom(root / "long.dcm", rows=48, cols=48, SeriesDescription="x" * 70, PatientName="y" * 80,
                    InstitutionName="z" * 90)
    return [root / "slope.nii.gz", root / "long.dcm", synthetic_ct(root / "good.nii.gz")]


def _stray(err: str) -> list[str]:
    """Lines that are not covidseg's own (errors, notes, the closing count)."""
    return [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("covidseg")]


def test_no_library_warning_on_the_terminal(tmp_path, model, warning_inputs):
    corpus = [c.path for c in make_corpus(tmp_path / "corpus")]
    proc = run_cli(predict_argv([*warning_inputs, *corpus], tmp_path / "out", model, "--no-pictures"))
    assert proc.returncode == 2
    assert _stray(proc.stderr) == [], proc.stderr
    assert "Warning" not in proc.stderr
    assert f"covidseg: error: {warning_inputs[0]}: " in proc.stderr  # the refusal itself is still there


def test_verbose_shows_library_warnings_from_the_log(tmp_path, model, warning_inputs):
    proc = run_cli(predict_argv(warning_inputs, tmp_path / "out", model, "--no-pictures", "--verbose"))
    assert proc.returncode == 2
    assert "overflow" in proc.stderr and "exceeds the maximum" in proc.stderr
    # Still one line per record: a warning's source-code line does not follow it.
    assert not any(ln.startswith("  ") for ln in proc.stderr.splitlines()), proc.stderr


def test_dicom_library_messages_do_not_quote_header_values():
    import logging

    from covidseg import logs

    record = logging.LogRecord("pydicom", logging.WARNING, __file__, 1, "Invalid value for VR DA: 'Zqx19010203'.",
                               None, None)
    shown = logs._OneLine().format(record)
    assert "Zqx19010203" not in shown and shown.startswith("covidseg: warning (pydicom): Invalid value for VR DA")
    assert logs.redact('PN "Doe^Jane" and \'x\'') == "PN '…' and '…'"


def test_training_keeps_library_warnings_in_train_log_not_on_the_terminal(tmp_path):
    """Sibling: ``covidseg train`` — a library warning during the run (here one raised from
    inside the epoch loop, as torch/numpy would) is written to the run's train.log."""
    import json

    from covidseg.data.synthetic import make_split

    split = make_split(tmp_path / "train", n=6)
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"base_channels": 4, "depth": 2, "input_size": 32, "batch_size": 2, "val_count": 2,
                                  "threads": 1, "task": "lesion", "epochs": 1, "steps_per_epoch": 1,
                                  "export": False}))
    prelude = """
import warnings, covidseg.training.trainer as tr
_orig = tr.Trainer._run_epoch
def _warn(self, *a, **kw):
    warnings.warn("zqx library warning", RuntimeWarning)
    return _orig(self, *a, **kw)
tr.Trainer._run_epoch = _warn
"""
    run = tmp_path / "run"
    proc = run_cli(["train", "--config", str(config), "--data", str(split), "--out", str(run), "--quiet"], prelude)
    assert proc.returncode == 0, proc.stderr
    assert "zqx" not in proc.stderr and _stray(proc.stderr) == [], proc.stderr
    log = (run / "train.log").read_text()
    assert "RuntimeWarning" in log and "zqx library warning" in log
