"""Hostile-input tests: a generated corpus of strange files (``corpus.py``) that every
reader and the ``covidseg predict`` command must refuse cleanly or read correctly."""
