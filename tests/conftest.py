"""Shared fixtures. The real data lives read-only in ../shared/data beside the project."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def pytest_configure(config):
    # Two cores are shared by the suite; intra-op threads beyond 1 only add contention.
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"real data not found at {SHARED}")
    return SHARED


@pytest.fixture(scope="session")
def semiseg(shared_data) -> Path:
    return shared_data / "covid-semiseg"


@pytest.fixture(scope="session")
def ct_examples(shared_data) -> Path:
    return shared_data / "ct-examples"
