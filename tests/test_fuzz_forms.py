"""Hypothesis drives every page form of the tablet and of the dashboard, logged in with a
session cookie and the form's CSRF token, against real servers: text with control characters,
zero-width and CJK characters, huge strings, unicode digits, dates in and out of range, ids
that exist and ids that do not, bodies that are not UTF-8. Whatever is typed, the answer is
never a 5xx, and an answer that is not a redirect is a page (HTML with `<html lang>`), never
JSON and never a traceback."""

from __future__ import annotations

import os
import re
from collections import Counter
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.browser import csrf_on, signed_in
from tests.helpers import MANAGER, EdgeServer, HubServer, cases_as_requests

# per service: about 20 forms each, so 10-20 cases per form; more (and another seed) for a soak:
# FUZZ_EXAMPLES=5000 FUZZ_SEED=7 pytest tests/test_fuzz_forms.py
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "300"))
SEED = int(os.environ.get("FUZZ_SEED", "1212"))

# ---- what people type ------------------------------------------------------------------------

CONTROL = "".join(chr(c) for c in range(32)) + "\x7f\u200b\u200c\u200d\u2060\ufeff\u202e"
DAYS = [
    "0001-01-01",
    "9999-12-31",
    "1999-12-31",
    "2000-01-01",
    "2100-12-31",
    "2101-01-01",
    "2026-02-30",
    "2026-13-01",
    "20261122",
    "2026-W47-1",
    "2026-11-22T15:04:05",
    "today",
]
MONTHS = ["9999-12", "0001-01", "2026-13", "2026-00", "2026-1", "2000-01", "2100-12", "2026-11"]


def texts() -> st.SearchStrategy[str]:
    """Anything a keyboard, a scanner or an attacker sends as a form value."""
    return st.one_of(
        st.text(max_size=40),  # any unicode, control characters and CJK included
        st.text(alphabet=CONTROL, min_size=1, max_size=10),
        st.text(alphabet="0123456789²³¹٣੩〇", max_size=12),  # digits of other scripts
        st.integers(min_value=200, max_value=100_000).map(lambda n: "字" * n),  # huge
        st.integers(min_value=4_000, max_value=6_000).map(lambda n: "9" * n),  # past int()
        st.sampled_from(
            [
                "",
                " ",
                "0",
                "-1",
                "51",
                "1e9",
                "NaN",
                "null",
                "[]",
                "{}",
                "<script>alert(1)</script>",
                "=1+1",
                "陳大文",
                "12A",
                *DAYS,
                *MONTHS,
            ]
        ),
        st.dates().map(lambda d: d.isoformat()),
    )


def field(choices: list[str]) -> st.SearchStrategy[str]:
    """A value from the form's own options, mostly, or anything else."""
    return st.one_of(st.sampled_from(choices), texts())


def form(**fields: st.SearchStrategy[str]) -> st.SearchStrategy[dict[str, str]]:
    """A posted form: each field filled or left out."""
    return st.fixed_dictionaries({}, optional=fields)


class Ask:
    """One request a browser could send: method, path (with query) and form fields, or a raw
    body that is not a proper form (not UTF-8, say). Not a dataclass: Hypothesis would print
    a huge value whole."""

    def __init__(
        self,
        method: str,
        path: str,
        fields: dict[str, str] | None = None,
        raw: bytes | None = None,
        label: str = "",
    ) -> None:
        # httpx refuses a URL over 64 KiB; a cut may leave half a %XX, which is fine here
        self.method, self.path, self.fields, self.raw = method, path[:60_000], fields, raw
        self.label = f"{method} {label or path.split('?')[0]}{' (raw body)' if raw else ''}"

    def __repr__(self) -> str:  # a huge value is shown by its start and its length
        fields = {
            k: v if len(v) < 80 else f"{v[:40]!r}... ({len(v)} characters)"
            for k, v in (self.fields or {}).items()
        }
        return f"Ask({self.method} {self.path[:200]!r} {fields} raw={self.raw!r})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # Hypothesis' printer
        printer.text(repr(self))

    def send(self, client: httpx.Client, csrf: str) -> httpx.Response:
        if self.method == "GET":
            return client.get(self.path)
        if self.raw is not None:
            return client.post(
                self.path,
                content=b"csrf=" + csrf.encode() + b"&" + self.raw,
                headers={"content-type": "application/x-www-form-urlencoded"},
            )
        return client.post(self.path, data={"csrf": csrf, **(self.fields or {})})


def get(
    path: str, query: st.SearchStrategy[dict[str, str]], label: str = ""
) -> st.SearchStrategy[Ask]:
    return query.map(lambda q: Ask("GET", f"{path}?{urlencode(q)}" if q else path, label=label))


def post(
    path: st.SearchStrategy[str] | str, fields: st.SearchStrategy[dict[str, str]], label: str = ""
) -> st.SearchStrategy[Ask]:
    paths = st.just(path) if isinstance(path, str) else path
    return st.builds(lambda p, f: Ask("POST", p, f, label=label), paths, fields)


def raw_posts(paths: list[str]) -> st.SearchStrategy[Ask]:
    """A body that is not UTF-8, or not a form at all."""
    return st.builds(
        lambda p, b: Ask("POST", p, raw=b), st.sampled_from(paths), st.binary(max_size=64)
    )


def record_path(template: str, ids: list[str]) -> st.SearchStrategy[str]:
    """A record's path with a real id, or with any text in its place."""
    return st.one_of(st.sampled_from(ids), texts().filter(bool)).map(
        lambda i: template.format(quote(i, safe=""))
    )


# ---- what a page must answer -------------------------------------------------------------------


def check_page(ask: Ask, answer: httpx.Response, json_ok: bool = False) -> None:
    where = repr(ask)
    assert answer.status_code < 500, f"{answer.status_code} for {where}: {answer.text[:500]}"
    assert "Traceback" not in answer.text, where
    kind = answer.headers.get("content-type", "")
    if answer.status_code in (302, 303) or json_ok:
        return
    if answer.status_code == 200 and kind.startswith(("text/csv", "application/pdf")):
        return  # a report asked for as a file
    assert kind.startswith("text/html"), (
        f"{answer.status_code} {kind} for {where}: {answer.text[:300]}"
    )
    assert re.search(r'<html lang="(en|zh-Hant|zh-Hans)"', answer.text), where


def run(
    asks: st.SearchStrategy[Ask],
    client: httpx.Client,
    csrf: str,
    counts: Counter[str],
    json_paths: tuple[str, ...] = (),
) -> None:
    """EXAMPLES asks, seeded, each sent and checked; no shrinking (each step is a request)."""

    @cases_as_requests(EXAMPLES, SEED)
    @given(ask=asks)
    def ask_and_check(ask: Ask) -> None:
        counts[ask.label] += 1
        try:
            answer = ask.send(client, csrf)
        except httpx.HTTPError as exc:
            raise AssertionError(f"no answer to {ask!r}: {exc!r}") from exc
        check_page(ask, answer, json_ok=ask.path.startswith(json_paths))

    ask_and_check()


def report(capsys: pytest.CaptureFixture[str], name: str, counts: Counter[str]) -> None:
    with capsys.disabled():  # the counts go on the terminal, also under -q
        print(
            f"\nhypothesis {name}: {sum(counts.values())} cases over {len(counts)} "
            f"forms and pages, seed {SEED}"
        )


def logged_in(url: str, login: dict[str, str], csrf_page: str) -> tuple[httpx.Client, str]:
    client = signed_in(url, login, timeout=60)
    return client, csrf_on(client, csrf_page)


# ---- the tablet ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def post_server(shared_post: EdgeServer) -> EdgeServer:
    return shared_post


def tablet_asks(visit_ids: list[str], incident_ids: list[str]) -> st.SearchStrategy[Ask]:
    categories = ["guest", "contractor", "delivery", "repair", "other"]
    severities = ["minor", "medium", "severe"]

    def visit(action: str) -> tuple[st.SearchStrategy[str], str]:
        return record_path("/visits/{}/" + action, visit_ids), "/visits/{id}/" + action

    def incident(action: str) -> tuple[st.SearchStrategy[str], str]:
        return (record_path("/incidents/{}/" + action, incident_ids), "/incidents/{id}/" + action)

    return st.one_of(
        post(
            "/visits/new",
            form(
                visitor_name=texts(),
                unit=field(["12A", "12B", "3C"]),
                category=field(categories),
                id_number=texts(),
                phone=texts(),
                company=texts(),
                purpose=texts(),
                party_size=field(["1", "2", "50"]),
                vehicle_plate=texts(),
                notes=texts(),
                preapproval_code=texts(),
            ),
        ),
        post(visit("override")[0], form(reason=texts()), visit("override")[1]),
        post(visit("checkout")[0], form(), visit("checkout")[1]),
        post(visit("undo-checkout")[0], form(), visit("undo-checkout")[1]),
        post(visit("suspicious")[0], form(), visit("suspicious")[1]),
        post(
            "/incidents/new",
            form(
                category=field(["complaint", "emergency", "security", "other"]),
                severity=field(severities),
                title=texts(),
                description=texts(),
                location=texts(),
                visit_id=field(visit_ids),
                channel=field(["in_person", "phone", "patrol"]),
            ),
        ),
        post(
            incident("entries")[0],
            form(kind=field(["note", "action", "follow_up", "summary"]), text=texts()),
            incident("entries")[1],
        ),
        post(
            incident("status")[0],
            form(status=field(["acknowledged", "in_progress", "resolved", "closed"])),
            incident("status")[1],
        ),
        post(
            "/door-events/new",
            form(
                door=texts(),
                kind=field(["guard_override", "forced", "held_open", "closed"]),
                reason=texts(),
                visit_id=field(visit_ids),
                occurred_at=texts(),
                duration_s=texts(),
            ),
        ),
        post("/shift", form(text=texts())),
        post("/panic", form(confirm=field(["yes", "", "no"]), note=texts())),
        post("/patrol", form(code=texts())),
        post("/visits/lookup", form(id_number=texts())),
        post("/login", form(badge=texts().filter(lambda b: b.strip() != "1001"), pin=texts())),
        raw_posts(
            ["/visits/new", "/incidents/new", "/door-events/new", "/shift", "/panic", "/login"]
        ),
        get("/visits", form(date=field(DAYS), unit=texts(), on_site=field(["true"]), q=texts())),
        get("/logbook", form(date=field(DAYS))),
        get("/incidents", form(status=texts())),
        record_path("/visits/{}", visit_ids).map(lambda p: Ask("GET", p, label="/visits/{id}")),
        record_path("/incidents/{}", incident_ids).map(
            lambda p: Ask("GET", p, label="/incidents/{id}")
        ),
        record_path("/panic/{}", incident_ids).map(lambda p: Ask("GET", p, label="/panic/{id}")),
        get("/", form(lang=field(["en", "zh-Hant", "zh-Hans"]))),
    )


def test_no_tablet_form_gets_a_5xx_or_json(
    post_server: EdgeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    with post_server.client(post_server.login()) as api:
        visit_ids = [
            api.post(
                "/visits", json={"visitor_name": "陳小明", "unit": unit, "category": "guest"}
            ).json()["id"]
            for unit in ("12A", "12B")
        ]
        incident_ids = [
            api.post(
                "/incidents", json={"category": category, "severity": "minor", "title": "Noise"}
            ).json()["id"]
            for category in ("complaint", "security")
        ]
    client, csrf = logged_in(post_server.url, {"badge": "1001", "pin": "2468"}, "/incidents/new")
    counts: Counter[str] = Counter()
    try:
        run(
            tablet_asks(visit_ids, incident_ids),
            client,
            csrf,
            counts,
            json_paths=("/visits/lookup",),
        )
    finally:
        client.close()
    report(capsys, "tablet", counts)
    assert sum(counts.values()) >= EXAMPLES // 2


# ---- the dashboard ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hub_server(shared_hub: HubServer) -> HubServer:
    return shared_hub


def dashboard_asks(rule_ids: list[str], entry_ids: list[str]) -> st.SearchStrategy[Ask]:
    sites = ["harbour-view", "nowhere"]
    formats = ["html", "csv"]  # pdf: the same page, printed; slow, and tested in test_reports
    return st.one_of(
        post(
            "/login",
            form(username=texts().filter(lambda u: u.strip() != "manager"), password=texts()),
        ),
        post(
            record_path("/incidents/{}/entries", ["nope"]),
            form(kind=field(["note", "follow_up"]), text=texts()),
            "/incidents/{id}/entries",
        ),
        post(
            "/rules",
            form(
                severity=field(["minor", "severe"]),
                site=field(sites),
                url=field(["mailto://a:b@example.com", "tgram://bot/chat"]),
                events=field(["opened", "overdue"]),
            ),
        ),
        post(record_path("/rules/{}/remove", rule_ids), form(), "/rules/{id}/remove"),
        post(
            "/watchlist",
            form(
                id_number=texts(), name=texts(), reason=texts(), severity=field(["minor", "severe"])
            ),
        ),
        post(record_path("/watchlist/{}/remove", entry_ids), form(), "/watchlist/{id}/remove"),
        raw_posts(["/rules", "/watchlist", "/login"]),
        get(
            "/search",
            form(q=texts(), site=field(sites), **{"from": field(DAYS), "to": field(DAYS)}),
        ),
        record_path("/visits/{}", ["nope"]).map(lambda p: Ask("GET", p, label="/visits/{id}")),
        record_path("/sites/{}", sites).flatmap(
            lambda p: get(p, form(date=field(DAYS)), "/sites/{site}")
        ),
        get("/reports/daily", form(site=field(sites), date=field(DAYS), format=field(formats))),
        get(
            "/reports/monthly", form(site=field(sites), month=field(MONTHS), format=field(formats))
        ),
        get(
            "/incidents",
            form(site=field(sites), status=texts(), severity=texts(), overdue=field(["true"])),
        ),
        get("/", form(lang=field(["en", "zh-Hant", "zh-Hans"]))),
        *fleet_asks(sites),
        *patrol_asks(sites),
        st.sampled_from(["/audit", "/rules", "/watchlist", "/reports", "/sites"]).map(
            lambda p: Ask("GET", p)
        ),
    )


def patrol_asks(sites: list[str]) -> list[st.SearchStrategy[Ask]]:
    """A site's patrol runs and the manager's checkpoints and rounds (ids that do not exist)."""
    minutes = ["1", "0", "60", "1441", "abc", "١٥"]
    return [
        record_path("/sites/{}/patrols", sites).flatmap(
            lambda p: get(p, form(date=field(DAYS)), "/sites/{site}/patrols")
        ),
        post(
            record_path("/sites/{}/patrols/checkpoints", sites),
            form(name=texts(), location=texts()),
            "/sites/{site}/patrols/checkpoints",
        ),
        post(
            record_path("/sites/{}/patrols/rounds", sites),
            form(
                name=texts(),
                checkpoints=texts(),
                every_minutes=field(minutes),
                window_minutes=field(minutes),
                **{"from": field(["22:00", "24:00", "7pm"]), "to": texts()},
            ),
            "/sites/{site}/patrols/rounds",
        ),
        post(
            st.sampled_from(
                [
                    f"/sites/{s}/patrols/{k}/nope"
                    for s in sites
                    for k in ("checkpoints", "rounds", "x")
                ]
            ),
            form(name=texts(), location=texts()),
            "/sites/{site}/patrols/{kind}/{id}",
        ),
        post(
            st.sampled_from(
                [
                    f"/sites/{s}/patrols/{k}/nope/remove"
                    for s in sites
                    for k in ("checkpoints", "rounds")
                ]
            ),
            form(),
            "/sites/{site}/patrols/{kind}/{id}/remove",
        ),
    ]


def fleet_asks(sites: list[str]) -> list[st.SearchStrategy[Ask]]:
    """The fleet's forms: a site's record and settings, its directory, the guards."""
    hours = ["1", "0", "8760", "8761", "NaN", "1e9", "-1", "2.5"]

    def of_site(action: str) -> st.SearchStrategy[str]:
        return record_path("/sites/{}/" + action, sites)

    record = {"name": texts(), "timezone": field(["Asia/Hong_Kong", "Mars/Base"]), "kind": texts()}
    return [
        post("/sites", form(site=field(["new-site", "Bad Site", *sites]), **record)),
        post(of_site("record"), form(**record), "/sites/{site}/record"),
        post(
            of_site("settings"),
            form(
                **{f"deadlines_h.{grade}": field(hours) for grade in ("minor", "severe")},
                retention_days=field(["1", "3650", "3651", "0"]),
                held_open_s=field(["0", "86400", "86401"]),
                idle_minutes=field(["0", "1440", "10"]),
                default_lang=field(["", "en", "zh-Hant", "fr"]),
                patrol_missed_severity=field(["", "severe", "huge"]),
            ),
            "/sites/{site}/settings",
        ),
        post(
            of_site("units"),
            form(csv=field(["unit,intercom,residents\n1A,,\n", "unit\n1A\n", ""])),
            "/sites/{site}/units",
        ),
        post(
            "/guards",
            form(
                badge=texts(),
                name=texts(),
                pin=field(["1234", "12", "123456789"]),
                role=field(["guard", "supervisor"]),
                sites=field(sites),
            ),
        ),
        post(record_path("/guards/{}/disable", ["7001"]), form(reason=texts()), "/guards/{b}"),
        raw_posts(["/sites", "/guards", "/sites/harbour-view/settings"]),
        of_site("settings").map(lambda p: Ask("GET", p, label="/sites/{site}/settings")),
        of_site("units").map(lambda p: Ask("GET", p, label="/sites/{site}/units")),
        get("/guards", form(site=field(sites))),
    ]


def test_no_dashboard_form_gets_a_5xx_or_json(
    hub_server: HubServer, capsys: pytest.CaptureFixture[str]
) -> None:
    client, csrf = logged_in(hub_server.url, MANAGER, "/watchlist")
    try:
        client.post(
            "/rules",
            data={
                "csrf": csrf,
                "severity": "severe",
                "url": "mailto://a:b@example.com",
                "events": "opened",
            },
        )
        client.post(
            "/watchlist",
            data={"csrf": csrf, "name": "陳大文", "reason": "banned", "severity": "severe"},
        )
        with hub_server.client() as api:
            rule_ids = [r["id"] for r in api.get("/notify-rules").json()["rules"]]
            entry_ids = [e["id"] for e in api.get("/watchlist").json()["entries"]]
        assert rule_ids and entry_ids
        counts: Counter[str] = Counter()
        run(dashboard_asks(rule_ids, entry_ids), client, csrf, counts)
    finally:
        client.close()
    report(capsys, "dashboard", counts)
    assert sum(counts.values()) >= EXAMPLES // 2
