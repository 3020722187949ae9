"""The GUI under the hostile-input corpus (tests/hostile/corpus.py): every file the CLI refuses
is refused in the window with the same one-line reason, and the window keeps working."""

from __future__ import annotations

import re

import pytest

from hostile.corpus import make_corpus



@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return {c.name: c for c in make_corpus(tmp_path_factory.mktemp("hostile"))}


def _case_names() -> list[tuple[str, str]]:
    # parametrization needs the names at collection time; the corpus is generated in < 1 s
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        return [(c.name, c.expect) for c in make_corpus(Path(tmp))]


ALL = _case_names()


@pytest.mark.parametrize("name, expect", ALL, ids=[n for n, _ in ALL])
def test_hostile_input_in_the_window(qtbot, run_job, window, opened, inputs, corpus, name, expect):
    case = corpus[name]
    opened(inputs["image"])
    before = window.image
    outcome = run_job(qtbot, window, lambda: window.open_path(case.path))
    if expect == "ok":
        assert outcome == ("read", "finished"), window.banner.text()
        assert window.image is not before and window.image.array.size > 1
        return
    assert outcome == ("read", "failed")
    text = window.banner.text()
    assert window.banner.isVisible() and window.banner.kind == "error"
    assert case.path.name in text, text
    assert re.search(case.match, text), f"{text!r} does not match {case.match!r}"
    assert "internal error" not in text and "Traceback" not in text
    assert window.image is before  # the previous image stays on screen
    opened(inputs["nifti"])  # and the window still opens the next file
    assert not window.banner.isVisible()
