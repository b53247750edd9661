"""The reports' form and the daily and monthly reports as a page, a CSV or a PDF."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from schemas.ids import utc_now
from service.pages_text import asked_day, asked_month

from .. import reports
from ..actions import audit_read
from .base import HubPage

router = APIRouter(include_in_schema=False)


@router.get("/reports", response_class=HTMLResponse)
def reports_page(request: Request) -> Response:
    page = HubPage.of_user(request)
    return _reports_page(page)


def _reports_page(page: HubPage, status_code: int = 200, **context: Any) -> Response:
    """The reports' form; again with what was typed and the message next to a bad date or
    month (422)."""
    today = utc_now().astimezone(page.store.zone).date()
    sites = sorted({d["site"] for d in page.store.list_devices(page.me.sites)})
    return page.render(
        "reports.html",
        status_code,
        sites=sites,
        today=today.isoformat(),
        month=today.strftime("%Y-%m"),
        **{"typed": {}, "problems": {}, **context},
    )


@router.get("/reports/daily", response_model=None)
def daily_report(
    request: Request, site: str = "", date: str = "", format: str = "html"
) -> Response:  # noqa: A002 - the contract's name
    page = HubPage.of_user(request)
    if not site or not page.me.may_see(site):
        return page.not_found()
    today = utc_now().astimezone(page.store.zone).date()
    day, date_error = asked_day(page._, date, today)
    if date_error:
        return _reports_page(
            page, 422, typed={"site": site, "date": date}, problems={"daily-date": date_error}
        )
    report = reports.daily(page.store, site, day)
    return _report_answer(page, report, format, f"daily-{site}-{report['period']}")


@router.get("/reports/monthly", response_model=None)
def monthly_report(
    request: Request, site: str = "", month: str = "", format: str = "html"
) -> Response:  # noqa: A002
    page = HubPage.of_user(request)
    if site and not page.me.may_see(site):
        return page.not_found()
    today = utc_now().astimezone(page.store.zone).date()
    first, month_error = asked_month(page._, month, today.replace(day=1))
    if month_error:
        return _reports_page(
            page, 422, typed={"site": site, "month": month}, problems={"month": month_error}
        )
    sites = [site] if site else page.me.sites  # a manager without a site: the whole company
    report = reports.monthly(page.store, sites, first, visits=format == "csv")
    return _report_answer(page, report, format, f"monthly-{site or 'all'}-{report['period']}")


def _report_answer(
    page: HubPage,
    report: dict[str, Any],
    format: str,  # noqa: A002
    name: str,
) -> Response:
    """The report as a page, a CSV or a PDF; each view or export goes into the audit log."""
    audit_read(page.store, page.me, f"report {report['kind']}", report=name, format=format)
    if format == "csv":
        return Response(
            reports.visits_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": reports.content_disposition(f"{name}.csv")},
        )
    charts = {
        "by_category": reports.bar_chart(
            [(page.labels()["categories"][k], v) for k, v in report["by_category"]],
            page._("Visitors by category"),
        ),
    }
    if report["kind"] == "daily":
        charts["by_hour"] = reports.bar_chart(report["by_hour"], page._("Visitors by hour"))
    else:
        charts["by_severity"] = reports.bar_chart(
            [(page.labels()["severities"][k], v) for k, v in report["by_severity"]],
            page._("Incidents by severity"),
        )
    if format == "pdf":
        html = page.render_text("report_print.html", report=report, charts=charts)
        return Response(
            reports.pdf(html),
            media_type="application/pdf",
            headers={"Content-Disposition": reports.content_disposition(f"{name}.pdf")},
        )
    query = urlencode({k: v for k, v in page.request.query_params.items() if k != "format"})
    return page.render("report.html", report=report, charts=charts, request_query=query)
