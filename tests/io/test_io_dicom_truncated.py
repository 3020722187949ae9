"""A DICOM slice cut short before its pixel data is called truncated, not "missing a tag"."""

from __future__ import annotations

from pathlib import Path

import pytest

from covidseg.errors import UnreadableFileError
from covidseg.io import read_image

SLICE = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ct-examples" / "cip-chest-512-dicom" / "slice001.dcm"


@pytest.mark.skipif(not SLICE.is_file(), reason="needs ../shared/data")
def test_file_cut_before_the_pixel_data_is_truncated(tmp_path):
    data = SLICE.read_bytes()
    at = data.rfind(b"\xe0\x7f\x10\x00")  # the (7FE0,0010) Pixel Data element
    assert at > 0
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(data[:at])
    with pytest.raises(UnreadableFileError, match=r"cut\.dcm: truncated or corrupt DICOM file"):
        read_image(cut)
