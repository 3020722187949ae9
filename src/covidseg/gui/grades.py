"""One primary severity grade and what each grade means, for the panel and the reports.

The primary grade is the MosMed CT grade (CT-0 … CT-4): a published scale, the one
``docs/severity.md`` recommends for comparisons. The lesion/lung ratio grade (the
project's own convention) and the zone score are shown as secondary, named for what they
are. Texts go through ``QCoreApplication.translate`` (context "Grades"), which is
thread-safe, so worker threads write reports in the interface language too.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication

translate = QCoreApplication.translate

MOSMED_COLOURS = {"CT-0": "#2e7d32", "CT-1": "#f9a825", "CT-2": "#ef6c00", "CT-3": "#c62828", "CT-4": "#6a1b9a"}


def tr(text: str, context: str = "Grades") -> str:
    """Translate a text that is not a literal here (lupdate finds the literals of translate())."""
    return QCoreApplication.translate(context, text)


def _pct(v: float) -> str:
    return f"{v:g} %"


def mosmed_text(grade: str | None) -> str:
    """The badge: e.g. "CT-2 · moderate"."""
    if grade is None:
        return translate("Grades", "no lung found")
    words = {"CT-0": translate("Grades", "no lesion"), "CT-1": translate("Grades", "mild"), "CT-2": translate("Grades", "moderate"), "CT-3": translate("Grades", "severe"),
             "CT-4": translate("Grades", "critical")}
    return f"{grade} · {words.get(grade, '')}".rstrip(" ·")


def mosmed_definition(grade: str | None, thresholds=(25.0, 50.0, 75.0)) -> str:
    """What the primary grade means (hover text and report)."""
    a, b, c = thresholds
    scale = translate("Grades", "MosMed CT grade (Morozov et al. 2020), from the share of lung involved: CT-0 none, "
               "CT-1 < %1, CT-2 %1 – < %2, CT-3 %2 – < %3, CT-4 ≥ %3.")
    scale = scale.replace("%1", _pct(a)).replace("%2", _pct(b)).replace("%3", _pct(c))
    if grade is None:
        return translate("Grades", "No lung was found, so no share of lung and no grade.") + " " + scale
    return scale


def ratio_line(grade: str | None, thresholds=(10.0, 30.0)) -> str:
    if grade is None:
        return ""
    a, b = thresholds
    names = {"none": translate("Grades", "none"), "mild": translate("Grades", "mild"), "moderate": translate("Grades", "moderate"), "severe": translate("Grades", "severe")}
    return (translate("Grades", "Lesion/lung ratio grade (covidseg convention: mild < %1, moderate %1 – < %2, severe ≥ %2): %3")
            .replace("%1", _pct(a)).replace("%2", _pct(b)).replace("%3", names.get(grade, grade)))


def zone_line(total: int | None) -> str:
    if total is None:
        return ""
    return (translate("Grades", "Zone score: %1 / 24 (each lung in upper, middle and lower thirds, each zone 0–4 by its share "
               "involved)").replace("%1", str(total)))


def lung_source_words(source: str) -> str:
    """The report's plain-words version of Prediction.lung_source."""
    return {
        "hu": translate("Grades", "Lung from Hounsfield-unit thresholds (classical method)."),
        "hu+lesion": translate("Grades", "Lung from Hounsfield-unit thresholds, with lesions found next to it added."),
        "hu+model": translate("Grades", "Lung from Hounsfield-unit thresholds combined with the lung network."),
        "model": translate("Grades", "Lung from the lung network."),
        "none": translate("Grades", "No lung mask."),
    }.get(source, source)
