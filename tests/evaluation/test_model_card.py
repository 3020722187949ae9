"""The default model's card (docs/models.md) states what `covidseg evaluate` measures today.

Every "published ..." / "binary ..." row of the default model's test table is re-measured on
the 48 COVID-SemiSeg test slices with the shipped weights (rows whose protocol cell says
"TTA" with mirror test-time augmentation) and must agree to the card's three decimals.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from covidseg.evaluation import evaluate
from covidseg.inference.models import shipped_models

CARD = Path(__file__).resolve().parents[2] / "docs" / "models.md"
COLUMNS = {
    "published": ("mean_dice", "mean_sensitivity", "mean_specificity", "mean_iou", "s_measure", "mean_e_measure", "mae"),
    "binary": ("dice", "sensitivity", "specificity", "iou", "s_measure", "e_measure", "mae"),
}
TARGETS = {"infection": "infection", "GGO": "ggo", "consolidation": "consolidation", "lung": "lung"}


def card_rows() -> list[tuple[str, bool, str, list[float]]]:
    """(protocol, tta, target, numbers) of the default model's test table."""
    text = CARD.read_text()
    section = re.search(r"^## `[^`]+` \(default\).*?(?=^## |\Z)", text, re.S | re.M)
    assert section, "docs/models.md has no section marked (default)"
    rows = []
    protocol = None
    for line in section.group(0).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 9 or cells[1] not in TARGETS:
            continue
        first = cells[0].split()[0] if cells[0] else ""
        if first in COLUMNS:
            protocol = first
        tta = "TTA" in cells[0] or (not first and rows and rows[-1][1])
        rows.append((protocol, bool(tta), TARGETS[cells[1]], [float(c) for c in cells[2:]]))
    assert rows, "the default model's card has no test table"
    return rows


@pytest.fixture(scope="module")
def measured(semiseg):
    model = shipped_models()[0]
    cache = {}

    def get(tta: bool):
        if tta not in cache:
            cache[tta] = evaluate(semiseg / "test", model=model, tta=tta)
        return cache[tta]

    return get


def test_card_numbers_are_what_evaluate_prints(measured):
    rows = card_rows()
    assert any(p == "published" and t == "infection" and not tta for p, tta, t, _ in rows)
    for protocol, tta, target, numbers in rows:
        res = measured(tta)
        mean = getattr(res, protocol)[target]["mean"]
        for key, stated in zip(COLUMNS[protocol], numbers):
            assert round(float(mean[key]), 3) == pytest.approx(stated, abs=1e-9), (protocol, tta, target, key)
