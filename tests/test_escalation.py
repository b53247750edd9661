"""Escalation by grade: rules per severity and site send mail through Apprise to a real SMTP
server (aiosmtpd) when an incident opens and when it passes its deadline unresolved; exactly
one mail per rule and event (with two hub processes on one database too), each on the
incident's timeline at the hub and at the post."""

from __future__ import annotations

import time

from tests.bodies import new_incident
from tests.conftest import both_engines
from tests.helpers import Company, add_user, wait_until
from tests.mail import Sink


@both_engines
def test_an_overdue_severe_incident_mails_each_rule_once(company: Company, sink: Sink) -> None:
    add_user(
        company.hub_data,
        {"username": "wong", "password": "wong-pass-1"},
        "supervisor",
        "harbour-view",
    )
    post = company.add_post("harbour-view", "lobby-1")
    post.env = {"GUARDPOST_DEADLINE_SEVERE_H": "0.001"}  # severe is due 3.6 s after it opens
    company.broker.start()
    for worker in ("a", "b"):  # two hub processes on one database: each mail still goes once
        hub = company.hub()
        hub.env = {
            "GUARDPOST_HUB_ESCALATION_CHECK_S": "0.5",
            "GUARDPOST_HUB_PUBLIC_URL": "https://hub.example.com",
            "GUARDPOST_HUB_SHARED_SUBSCRIPTION": "true",
            "GUARDPOST_HUB_CLIENT_ID": f"guardpost-hub-{worker}",
        }
        company.extra.append(hub.start())
    post.start()
    with hub.client() as manager:
        rules = [
            manager.post("/notify-rules", json=body)
            for body in (
                {"severity": "severe", "events": ["overdue"], "url": sink.url("boss@example.com")},
                {
                    "severity": "severe",
                    "events": ["opened"],
                    "site": "harbour-view",
                    "url": sink.url("duty@example.com"),
                },
                {
                    "severity": "severe",
                    "site": "sunrise-court",
                    "url": sink.url("other@example.com").replace("//", "//hub:s3cret-pass@"),
                },
                {"severity": "medium", "url": sink.url("sup@example.com")},
            )
        ]
        assert [r.status_code for r in rules] == [201] * 4
        assert rules[0].json()["url"].startswith("mailto://127.0.0.1")
        assert "s3cret-pass" not in str(manager.get("/notify-rules").json())  # masked
        bad = manager.post("/notify-rules", json={"severity": "severe", "url": "nonsense"})
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "url"
    with hub.client({"username": "wong", "password": "wong-pass-1"}) as supervisor:
        assert (
            supervisor.post(
                "/notify-rules", json={"severity": "minor", "url": sink.url("x@example.com")}
            ).status_code
            == 403
        )

    with post.client(post.login()) as api:
        lift = new_incident("emergency", "severe", "Lift B entrapment 升降機困人")
        incident = api.post("/incidents", json=lift).json()
        api.post(
            "/incidents", json={"category": "equipment", "severity": "minor", "title": "Light out"}
        )
    wait_until(lambda: sink.to("duty@example.com"), 30, "the 'opened' mail")
    wait_until(lambda: sink.to("boss@example.com"), 30, "the 'overdue' mail")
    time.sleep(2.5)  # several more rounds: nothing is sent twice
    assert sink.to("duty@example.com") == [
        "[severe] harbour-view: incident opened: Lift B entrapment 升降機困人"
    ]
    assert sink.to("boss@example.com") == [
        "[severe] harbour-view: incident overdue: Lift B entrapment 升降機困人"
    ]
    assert sink.to("other@example.com") == [] and sink.to("sup@example.com") == []
    body = sink.mails[0].get_payload(0).get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert f"https://hub.example.com/incidents/{incident['id']}" in body

    with company.extra[0].client() as manager:  # an entry made through hub A ...
        note = {"kind": "note", "text": "經 A 加入"}
        assert manager.post(f"/incidents/{incident['id']}/entries", json=note).status_code == 201

    def on_hub_b() -> bool:  # ... is on hub B at once
        with hub.session() as manager:
            kept = manager.get(f"/incidents/{incident['id']}").json()["entries"]
        return any(e["text"] == "經 A 加入" for e in kept)

    wait_until(on_hub_b, 3, "hub B to show the entry made through hub A")
    with hub.client() as manager:
        entries = manager.get(f"/incidents/{incident['id']}").json()["entries"]
    notes = sorted(e["text"] for e in entries if e["author"] == "hub:escalation")
    assert len(notes) == 2 and all(n.startswith("Notified mailto://") for n in notes)

    def at_the_post() -> bool:
        with post.client(post.token()) as api:
            kept = api.get(f"/incidents/{incident['id']}").json()["entries"]
        return sum(e["author"] == "hub:escalation" for e in kept) == 2

    wait_until(at_the_post, 30, "the notifications on the post's timeline")
