"""GUI test fixtures: offscreen Qt, a tiny random model, small real inputs of every format."""

from __future__ import annotations

import os

# Before anything imports Qt: no display is needed or used.
os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

SLICE_CASE = "Data-1_coronacases_org_001_{}.jpg"
SLICE_NUMBERS = range(13, 20)  # seven consecutive slices of one volume, all 319x237


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A random 4-class MA-UNet (stands in for the shipped weights; outputs are meaningless)."""
    import torch

    from covidseg.models import MAUNet, MAUNetConfig

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("model") / "tiny-all"
    MAUNet(MAUNetConfig(base_channels=4, num_classes=4)).save_pretrained(
        folder, metadata={"task": "all", "labels": ["background", "lung", "ggo", "consolidation"],
                          "activation": "softmax", "input_size": 64, "threshold": 0.5})
    return folder


@pytest.fixture(scope="session")
def slices_folder(semiseg, tmp_path_factory) -> Path:
    """A folder of same-size JPG slices (links into the read-only data)."""
    folder = tmp_path_factory.mktemp("slices") / "case001"
    folder.mkdir()
    for n in SLICE_NUMBERS:
        name = SLICE_CASE.format(n)
        (folder / name).symlink_to(semiseg / "unlabeled" / "images" / name)
    return folder


@pytest.fixture(scope="session")
def inputs(semiseg, ct_examples, slices_folder) -> dict[str, Path]:
    """One input per supported kind, keyed like CTImage.kind."""
    return {
        "image": semiseg / "test" / "images" / "69.jpg",
        "slices": slices_folder,
        "nifti": ct_examples / "cip-ct64.nii.gz",
        "dicom-series": ct_examples / "cip-ct64-dicom",
        "dicom-file": ct_examples / "cip-chest-512-dicom" / "slice001.dcm",
    }


@pytest.fixture(scope="session")
def cli_outputs(inputs, tiny_model, tmp_path_factory) -> dict[str, Path]:
    """`covidseg predict` on every input once: kind -> the case's output folder."""
    from covidseg.cli import main

    out = tmp_path_factory.mktemp("predict")
    folders = {}
    for kind, path in inputs.items():
        target = out / kind.replace("-", "_")
        assert main(["predict", str(path), "-o", str(target), "--model", str(tiny_model), "-q"]) == 0
        (case,) = [p for p in target.iterdir() if p.is_dir()]
        folders[kind] = case
    return folders


@pytest.fixture()
def window(qtbot, tmp_path, tiny_model):
    """The main window with its own settings file and the tiny model."""
    from covidseg.gui import settings as st
    from covidseg.gui.app import MainWindow

    store = st.open_settings(tmp_path / "settings.ini")
    # Same batch size as `covidseg predict`, so both runs do exactly the same arithmetic.
    st.save(store, st.Preferences(batch_size=8))
    w = MainWindow(store, model=str(tiny_model))
    qtbot.addWidget(w)
    w.resize(1200, 760)
    w.show()
    yield w
    if w.busy:
        w.cancel()
        qtbot.waitUntil(lambda: not w.busy, timeout=20000)


def _run_job(qtbot, window, start, timeout=30000) -> tuple[str, str]:
    with qtbot.waitSignal(window.jobFinished, timeout=timeout) as blocker:
        assert start() is not False
    return tuple(blocker.args)


@pytest.fixture()
def run_job():
    """``run_job(qtbot, window, start)``: start a job, wait for jobFinished, return its args."""
    return _run_job


@pytest.fixture()
def opened(qtbot, window):
    def _open(path) -> None:
        name, outcome = _run_job(qtbot, window, lambda: window.open_path(path))
        assert (name, outcome) == ("read", "finished"), window.banner.text()
    return _open
