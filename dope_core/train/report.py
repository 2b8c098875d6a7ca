"""Side-by-side table of validation reports (``dope-train validate --out``), e.g. with and without distillation.

One Markdown row per run and part: the student's agreement with the experts on the
held-out pseudo-labelled images (PCK, recall, precision, mean 3D distance in mm) and,
when the report has it, its accuracy on the annotated samples (detection rate, 2D PCK,
root-aligned MPJPE in mm, face NME), from the totals over all annotated sets (``all/``).
When the report splits the agreement by kind of image (``by_kind``), one more row per part
and kind (``body, whole images (N)``, ``body, crops (N)``) follows, agreement columns only.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Optional

from dope_core.keypoints import Part

_HEADER = ("| run | mode | step | part | agreement PCK | recall | precision | 3D to experts mm "
           "| annotated det. rate | annotated PCK | MPJPE mm | NME |")


def _fmt(value: Optional[float], pattern: str) -> str:
    """``value`` formatted, or ``-`` when absent or NaN (e.g. the precision of a part never detected)."""
    return "-" if value is None or math.isnan(value) else pattern.format(value)


def _pck(accuracy: Mapping[str, float], part: Part) -> Optional[float]:
    prefix = f"all/{part.value}/pck@"
    return next((v for k, v in accuracy.items() if k.startswith(prefix)), None)


def comparison_table(reports: Mapping[str, Mapping[str, Any]]) -> str:
    """Markdown table of validation reports, keyed by run name.

    Each report is what ``dope-train validate`` prints: ``step``, ``mode``,
    ``agreement`` (``alpha``, ``parts``: part -> ``pck``, ``recall``, ``precision``,
    ``mpjpe_3d_mm``) and ``accuracy`` (flat metrics of :func:`dope_core.evaluation.evaluate`,
    or ``None``).
    """
    lines = [_HEADER, "|" + "---|" * (_HEADER.count("|") - 1)]
    for name, report in reports.items():
        agreement = report.get("agreement") or {}
        accuracy = report.get("accuracy") or {}
        alpha = agreement.get("alpha")
        head = [f"| {name}", str(report.get("mode", "-")), str(report.get("step", "-"))]

        def cells(a: Mapping[str, Any]) -> list[str]:
            return [_fmt(a.get("pck"), "{:.3f}") + (f" @{alpha:g}" if alpha is not None else ""),
                    _fmt(a.get("recall"), "{:.2f}"), _fmt(a.get("precision"), "{:.2f}"),
                    _fmt(a.get("mpjpe_3d_mm"), "{:.0f}")]

        for part in Part:
            a = (agreement.get("parts") or {}).get(part.value)
            if a is None:
                continue
            lines.append(" | ".join([
                *head, part.value, *cells(a),
                _fmt(accuracy.get(f"all/{part.value}/detection_rate"), "{:.2f}"),
                _fmt(_pck(accuracy, part), "{:.3f}"),
                _fmt(accuracy.get(f"all/{part.value}/mpjpe_mm"), "{:.0f}"),
                _fmt(accuracy.get(f"all/{part.value}/nme"), "{:.3f}"),
            ]) + " |")
        for part in Part:
            for kind, split in (agreement.get("by_kind") or {}).items():
                a = (split.get("parts") or {}).get(part.value)
                if a is not None:
                    what = "whole images" if kind == "whole" else kind
                    lines.append(" | ".join([*head, f"{part.value}, {what} ({split.get('images', '-')})", *cells(a),
                                             "-", "-", "-", "-"]) + " |")
    return "\n".join(lines)
