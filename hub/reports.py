"""The reports management asks for (the manuals' management report has a security section):
the daily activity report of a site and the monthly management report of a site or the whole
company. Each is a page with server-rendered SVG charts, a CSV (one row per visit after a
header row) and a PDF (WeasyPrint, with the CJK fonts of Debian's fonts-noto-cjk). The numbers
come from `Store.report_rows`, counted in SQL; personal data is what the hub holds: masked ID
numbers only, names gone after retention."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import date, timedelta
from html import escape
from typing import Any
from urllib.parse import quote

from schemas.ids import parse_time

from . import rounds
from .store import Store

CATEGORIES = ("guest", "contractor", "delivery", "repair", "other")
SEVERITIES = ("minor", "medium", "severe")
CSV_COLUMNS = (
    "site",
    "device",
    "checked_in_at",
    "checked_out_at",
    "unit",
    "category",
    "visitor_name",
    "id_number_masked",
    "company",
    "party_size",
    "confirmation",
    "guard",
)


def period(store: Store, first: date, days: int) -> tuple[str, str]:
    """[start, end) in UTC of `days` local days from `first`, in the hub's time zone."""
    start = store.day_bounds(first)[0]
    end = store.day_bounds(first + timedelta(days=days - 1))[1]
    return start, end


def daily(store: Store, site: str, day: date) -> dict[str, Any]:
    start, end = period(store, day, 1)
    rows = store.report_rows([site], start, end)
    hours = Counter(
        parse_time(v["checked_in_at"]).astimezone(store.zone).hour for v in rows["visits"]
    )
    return {
        "kind": "daily",
        "title_site": site,
        "period": day.isoformat(),
        **rows,
        "by_category": _ordered(rows["visits_by_category"], CATEGORIES),
        "by_hour": [(f"{h:02d}", hours.get(h, 0)) for h in range(24)],
        "patrols": rounds.report_figures(store, [site], day, 1),
    }


def monthly(
    store: Store, sites: list[str] | None, month: date, visits: bool = False
) -> dict[str, Any]:
    """The month's management report; each visit only if `visits` (the CSV), else counts."""
    next_month = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    days = (next_month - month).days
    start, end = period(store, month, days)
    rows = store.report_rows(sites, start, end, visits=visits)
    uptimes = store.uptimes(sites, start, end)
    incidents = rows["incidents"]
    complaints = [i for i in incidents if i["category"] == "complaint"]
    closed = [i for i in complaints if i["status"] == "closed"]
    with_follow_up = [i for i in closed if {"follow_up", "summary"} <= set(i["entry_kinds"])]
    timing = []
    for severity in SEVERITIES:
        graded = [i for i in incidents if i["severity"] == severity]
        acknowledged = [
            _minutes(i["opened_at"], i["milestones"]["acknowledged"])
            for i in graded
            if "acknowledged" in i["milestones"]
        ]
        resolved = [
            (i, i["milestones"]["resolved"]) for i in graded if "resolved" in i["milestones"]
        ]
        timing.append(
            {
                "severity": severity,
                "count": len(graded),
                "ack_minutes": _median(acknowledged),
                "resolve_minutes": _median([_minutes(i["opened_at"], at) for i, at in resolved]),
                "in_time": sum(1 for i, at in resolved if at <= i["due_at"]),
                "resolved": len(resolved),
            }
        )
    return {
        "kind": "monthly",
        "title_site": ", ".join(sites) if sites else None,
        "period": month.strftime("%Y-%m"),
        **rows,
        "by_category": _ordered(rows["visits_by_category"], CATEGORIES),
        "by_severity": _ordered(Counter(i["severity"] for i in incidents), SEVERITIES),
        "incident_categories": sorted(Counter(i["category"] for i in incidents).items()),
        "timing": timing,
        "complaints": {
            "total": len(complaints),
            "closed": len(closed),
            "closed_with_follow_up": len(with_follow_up),
            "closed_without": len(closed) - len(with_follow_up),
        },
        "overdue": [i for i in incidents if i["overdue"]],
        "devices": [
            {**d, "uptime": uptimes.get((d["site"], d["device"]))}
            for d in store.list_devices(sites)
        ],
        "patrols": rounds.report_figures(store, sites or store.site_names(), month, days),
    }


def visits_csv(report: dict[str, Any]) -> str:
    """One row per visit after a header row (UTF-8 with BOM, so spreadsheet programs show
    Chinese right)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for visit in report["visits"]:
        row = {**visit, "confirmation": visit["confirmation"]["status"]}
        writer.writerow([csv_cell(row.get(column)) for column in CSV_COLUMNS])
    return out.getvalue()


# A spreadsheet program reads a cell that starts with one of these as a formula (`=HYPERLINK(...)`
# in a visitor's name would be a live link, `@SUM(...)` a calculation): OWASP's list.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    """One cell of a CSV the hub writes: empty for None, and text that a spreadsheet would run
    as a formula prefixed with `'` (OWASP, CSV injection) so it shows as typed."""
    if value is None:
        return ""
    if isinstance(value, str):
        return "'" + value if value.startswith(FORMULA_STARTS) else value
    return str(value)


def content_disposition(filename: str) -> str:
    """`Content-Disposition` of a download (RFC 6266): an ASCII fallback name with only
    letters, digits, `.`, `_` and `-` (a quote or a Chinese site name cannot break the header
    or add a second `filename`), and the name itself as UTF-8 in `filename*` (RFC 5987)."""
    fallback = (
        "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in filename).lstrip(
            "."
        )
        or "download"
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def bar_chart(bars: list[tuple[str, int]], title: str, width: int = 640, height: int = 180) -> str:
    """A small bar chart as inline SVG (no script, no external service)."""
    top = max((value for _, value in bars), default=0) or 1
    gap = 4
    slot = (width - 20) / max(len(bars), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height + 40}" '
        f'role="img" aria-label="{escape(title)}" class="chart">',
        f"<title>{escape(title)}</title>",
    ]
    for n, (label, value) in enumerate(bars):
        bar_height = (height - 20) * value / top
        x = 10 + n * slot
        y = height - bar_height
        parts.append(
            f'<rect x="{x + gap / 2:.1f}" y="{y:.1f}" width="{slot - gap:.1f}" '
            f'height="{bar_height:.1f}" fill="#0b5cad"/>'
        )
        if value:
            parts.append(
                f'<text x="{x + slot / 2:.1f}" y="{y - 4:.1f}" font-size="12" '
                f'text-anchor="middle">{value}</text>'
            )
        parts.append(
            f'<text x="{x + slot / 2:.1f}" y="{height + 16}" font-size="11" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def pdf(html: str) -> bytes:
    """The report page as a printable PDF."""
    # imported here: only the hub's PDF export needs WeasyPrint and Pango
    from weasyprint import HTML  # type: ignore[import-untyped]

    return bytes(HTML(string=html).write_pdf())


def _ordered(counts: dict[str, int], order: tuple[str, ...]) -> list[tuple[str, int]]:
    """Counts in the given order, zeros included."""
    return [(k, counts.get(k, 0)) for k in order]


def _minutes(start: str, end: str) -> float:
    return (parse_time(end) - parse_time(start)).total_seconds() / 60


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
