"""The panic button (CONTRACT section 9), against a real broker, hub and post and a local SMTP
server: a guard's panic opens a severe security incident titled with the guard's name and the
last checkpoint they scanned, and the hub mails every severe rule of the site as soon as it
arrives (not at its next look, not after a deadline); only a guard may press it."""

from __future__ import annotations

import time
from datetime import timedelta

from schemas.ids import parse_time
from tests.bodies import new_incident
from tests.helpers import SUPERVISOR, Company, error_fields, wait_until
from tests.mail import Sink

HARBOUR = "harbour-view"
NOTE = "兩個人喺停車場閘口打架 two men fighting at the car park gate"
PANIC_MAIL = (
    "[severe] harbour-view: PANIC, help called: Help called by 陳大文; last checkpoint: 天台 Roof"
)


def test_panic_opens_a_severe_incident_that_the_hub_mails_at_once(
    company: Company, sink: Sink
) -> None:
    post = company.add_post(HARBOUR, "lobby-1")
    company.broker.start()
    hub = company.hub()
    # the hub's own look comes only every 2 minutes: a mail within seconds is the panic's wake
    hub.env = {"GUARDPOST_HUB_ESCALATION_CHECK_S": "120"}
    hub.start()
    company.extra = [hub]
    post.start()
    with hub.client() as manager:
        for body in (
            {"severity": "severe", "events": ["overdue"], "site": HARBOUR, "url": "duty"},
            {"severity": "severe", "events": ["opened"], "url": "boss"},
            {"severity": "severe", "site": "sunrise-court", "url": "other"},
            {"severity": "medium", "url": "sup"},
        ):
            body["url"] = sink.url(f"{body['url']}@example.com")
            assert manager.post("/notify-rules", json=body).status_code == 201
        roof = manager.post(f"/sites/{HARBOUR}/checkpoints", json={"name": "天台 Roof"}).json()

    with post.client(post.login()) as guard:
        wait_until(
            lambda: guard.post("/patrols/scans", json={"code": roof["code"]}).status_code == 201,
            30,
            "the checkpoint to reach the post and its scan",
        )
        lift = guard.post("/incidents", json=new_incident("emergency", "severe", "Lift B stuck"))
        assert lift.status_code == 201
        refused = guard.post("/panic", json={"note": "x" * 2001})
        assert (refused.status_code, error_fields(refused)) == (422, ["note"])
        answer = guard.post("/panic", json={"note": NOTE})
        pressed = time.monotonic()
    assert answer.status_code == 201, answer.text
    panic = answer.json()
    assert {k: panic[k] for k in ("category", "severity", "status", "title", "location")} == {
        "category": "security",
        "severity": "severe",
        "status": "open",
        "title": "Panic: 陳大文, last checkpoint 天台 Roof",
        "location": "天台 Roof",
    }
    assert (panic["title_code"], panic["description"], panic["guard"]) == ("panic", NOTE, "1001")
    deadline = parse_time(panic["due_at"]) - parse_time(panic["opened_at"])
    assert deadline == timedelta(hours=1)  # the severe deadline

    wait_until(lambda: sink.to("duty@example.com"), 20, "the panic's mail to the site's rule")
    assert time.monotonic() - pressed < 20
    wait_until(lambda: len(sink.to("boss@example.com")) == 2, 20, "the manager's two mails")
    time.sleep(1)  # nothing more comes
    assert sink.to("duty@example.com") == [PANIC_MAIL]  # an overdue-only rule, mailed at once
    assert sorted(sink.to("boss@example.com")) == [
        PANIC_MAIL,  # once: as the panic, not also as an opened incident
        "[severe] harbour-view: incident opened: Lift B stuck",
    ]
    assert sink.to("other@example.com") == [] and sink.to("sup@example.com") == []

    with hub.client() as manager:
        at_hub = manager.get(f"/incidents/{panic['id']}").json()
    assert (at_hub["title"], at_hub["title_code"], at_hub["severity"]) == (
        panic["title"],
        "panic",
        "severe",
    )
    notified = [e["text"] for e in at_hub["entries"] if e["author"] == "hub:escalation"]
    assert len(notified) == 2 and all(t.endswith(": incident panic (severe)") for t in notified)

    # another guard who scanned nothing: the title names them alone
    with post.client(post.login(SUPERVISOR)) as supervisor:
        alone = supervisor.post("/panic", json={})
    assert alone.status_code == 201
    assert (alone.json()["title"], alone.json()["location"]) == ("Panic: Supervisor Wong", None)
    assert alone.json()["description"] is None

    with post.client(post.keys["door"]) as door:  # type: ignore[attr-defined]
        assert door.post("/panic", json={"note": "x"}).status_code == 403
    with post.client(post.keys["intercom"]) as intercom:  # type: ignore[attr-defined]
        assert intercom.post("/panic", json={}).status_code == 403
    with post.client() as nobody:
        assert nobody.post("/panic", json={}).status_code == 401
    with post.client(post.login()) as guard:
        titles = [i["title"] for i in guard.get("/incidents").json()["incidents"]]
    assert titles.count("Panic: 陳大文, last checkpoint 天台 Roof") == 1
