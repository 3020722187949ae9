"""Fixtures for the io tests: paths to the real example scans, and small builders."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def ct64_nifti(ct_examples) -> Path:
    return ct_examples / "cip-ct64.nii.gz"


@pytest.fixture(scope="session")
def ct64_lung(ct_examples) -> Path:
    return ct_examples / "cip-ct64-lung.nii.gz"


@pytest.fixture(scope="session")
def ct64_dicom(ct_examples) -> Path:
    return ct_examples / "cip-ct64-dicom"


@pytest.fixture(scope="session")
def chest512(ct_examples) -> Path:
    return ct_examples / "cip-chest-512-dicom"


@pytest.fixture
def dicom_copy(ct64_dicom, tmp_path) -> Path:
    """A writable copy of the 79-file cip-ct64 DICOM series."""
    dst = tmp_path / "series"
    shutil.copytree(ct64_dicom, dst)
    for p in dst.iterdir():
        p.chmod(0o644)
    return dst
