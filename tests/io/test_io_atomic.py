"""atomic_write: all or nothing under the final name."""

from __future__ import annotations

import os
import stat

import pytest

from covidseg.io import atomic_write


def test_success_renames_into_place(tmp_path):
    target = tmp_path / "sub" / "report.nii.gz"
    with atomic_write(target) as tmp:
        assert tmp.parent == target.parent and tmp != target
        assert tmp.name.endswith(".nii.gz")  # libraries pick the format from the extension
        assert not target.exists()
        tmp.write_bytes(b"data")
    assert target.read_bytes() == b"data"
    assert os.listdir(target.parent) == ["report.nii.gz"]


def test_error_leaves_nothing_and_keeps_the_old_file(tmp_path):
    target = tmp_path / "mask.png"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("disk full")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["mask.png"]


def test_new_file_gets_normal_permissions(tmp_path):
    target = tmp_path / "out.txt"
    old = os.umask(0o022)
    try:
        with atomic_write(target) as tmp:
            tmp.write_text("x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_replaced_file_keeps_its_mode(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    target.chmod(0o600)
    with atomic_write(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new" and stat.S_IMODE(target.stat().st_mode) == 0o600
