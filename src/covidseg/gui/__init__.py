"""The covidseg desktop application (``covidseg gui``), a thin Qt layer over the Segmenter.

Qt is imported only by the submodules that need it: :mod:`covidseg.gui.overlay` (the
numpy side of the overlays) and :mod:`covidseg.gui.export` file writers stay usable and
testable without a display. See ``docs/gui.md``.
"""
