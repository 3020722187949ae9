"""Reporting one case: the report (report.json), its pictures (overlay, montage, lesion
curve) and the DICOM-SEG, shared by ``covidseg predict`` and the GUI.

``model`` (the report built from a Prediction), ``render`` (the overlay painter, legend,
montage, curve), ``pictures`` (a case folder's pictures), ``dicom_seg``. Nothing here runs a
network or imports torch.
"""
