"""Supervisors act on incidents from the hub (CONTRACT section 8), against a real broker, hub
and post: the hub answers 202 with a command, the post carries it out as its own event (or
refuses it with `command.rejected`), once, in order, even after days away; and the manuals'
grading decides who closes what, at the post and at the hub alike."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
from playwright.sync_api import Browser, Page, expect

from schemas.ids import parse_time
from tests.browser import hub_log_in, log_in, serious_axe_violations, shot, tab
from tests.helpers import (
    GUARD,
    Company,
    EdgeServer,
    HubServer,
    Tap,
    add_user,
    error_fields,
    wait_until,
)
from tests.helpers import SUPERVISOR as POST_SUPERVISOR

SITE = "harbour-view"
HUB_SUPERVISOR = {"username": "sup", "password": "sup-pass-123"}
OTHER_SUPERVISOR = {"username": "sup2", "password": "sup2-pass-123"}
AUDITOR = {"username": "audit", "password": "audit-pass-123"}


def hub_users(company: Company) -> None:
    add_user(company.hub_data, HUB_SUPERVISOR, "supervisor", SITE)
    add_user(company.hub_data, OTHER_SUPERVISOR, "supervisor", "sky-tower")
    add_user(company.hub_data, AUDITOR, "auditor", SITE)


def resolved_incident(post: EdgeServer, severity: str, category: str = "noise") -> str:
    """An incident a guard reported and took to `resolved`: all that is left is to close it."""
    with post.client(post.login()) as guard:
        made = guard.post(
            "/incidents", json={"category": category, "severity": severity, "title": "漏水"}
        )
        assert made.status_code == 201, made.text
        incident_id = str(made.json()["id"])
        for step in ("acknowledged", "in_progress", "resolved"):
            moved = guard.post(f"/incidents/{incident_id}/status", json={"status": step})
            assert moved.status_code == 200, moved.text
    return incident_id


def at_hub(hub: HubServer, incident_id: str) -> dict[str, Any] | None:
    with hub.session() as manager:
        answer = manager.get(f"/incidents/{incident_id}")
    return dict(answer.json()) if answer.status_code == 200 else None


def settled(hub: HubServer, command_id: str) -> dict[str, Any] | None:
    with hub.session() as manager:
        command = manager.get(f"/commands/{command_id}").json()
    return None if command["state"] == "pending" else dict(command)


def sent(answer: httpx.Response) -> str:
    assert answer.status_code == 202, answer.text
    assert answer.json()["state"] == "pending"
    return str(answer.json()["command_id"])


def at_post(post: EdgeServer, incident_id: str) -> dict[str, Any]:
    with post.client(post.login()) as guard:
        return dict(guard.get(f"/incidents/{incident_id}").json())


def test_commands_sent_while_a_post_is_away_apply_once_in_order(company: Company) -> None:
    hub_users(company)
    post, hub = company.start_with_post(SITE)
    with post.client(post.login()) as guard:
        made = guard.post(
            "/incidents", json={"category": "lift", "severity": "medium", "title": "升降機故障"}
        )
        incident = made.json()
    wait_until(lambda: at_hub(hub, incident["id"]), 30, "the incident at the hub")

    post.stop()  # the building's line is down while the hub acts
    with hub.client(HUB_SUPERVISOR) as supervisor:
        commands = [
            sent(supervisor.post(f"/incidents/{incident['id']}/status", json=body))
            for body in ({"status": "acknowledged"}, {"status": "in_progress", "reason": "已報修"})
        ]
        commands.append(
            sent(supervisor.post(f"/incidents/{incident['id']}/assign", json={"assignee": "sup"}))
        )
        commands.append(
            sent(
                supervisor.post(
                    f"/incidents/{incident['id']}/severity",
                    json={"severity": "severe", "reason": "有住戶被困"},
                )
            )
        )
        assert supervisor.get(f"/commands/{commands[0]}").json()["state"] == "pending"
        shown = supervisor.get(f"/incidents/{incident['id']}").json()
        assert [(c["action"], c["state"]) for c in shown["commands"]] == [
            ("status", "pending"),
            ("status", "pending"),
            ("assign", "pending"),
            ("severity", "pending"),
        ]
        assert shown["status"] == "open"  # the hub shows a change when the post has made it

    tap = Tap(company, company.hub_account["username"], company.hub_account["password"])
    try:
        post.start()
        for command_id in commands:
            done = wait_until(lambda c=command_id: settled(hub, c), 30, "the command to settle")
            assert done["state"] == "applied", done

        here = at_post(post, incident["id"])
        assert (here["status"], here["severity"], here["assignee"]) == (
            "in_progress",
            "severe",
            "sup",
        )
        opened = parse_time(here["opened_at"])
        assert parse_time(here["due_at"]) - opened == timedelta(hours=1)  # severe's deadline
        history = [(h["change"], h["value"], h["author"], h["command_id"]) for h in here["history"]]
        assert history == [
            ("status", "acknowledged", "hub:sup", commands[0]),
            ("status", "in_progress", "hub:sup", commands[1]),
            ("assignee", "sup", "hub:sup", commands[2]),
            ("severity", "severe", "hub:sup", commands[3]),
        ]
        assert here["history"][1]["reason"] == "已報修"

        def hub_caught_up() -> dict[str, Any] | None:
            there = at_hub(hub, incident["id"])
            return there if there and there["severity"] == "severe" else None

        there = wait_until(hub_caught_up, 30, "the hub to show the post's changes")
        assert (there["status"], there["assignee"], there["due_at"]) == (
            "in_progress",
            "sup",
            here["due_at"],
        )
        assert [(h["change"], h["value"]) for h in there["history"]] == [
            (c, v) for c, v, _, _ in history
        ]
        with hub.client(HUB_SUPERVISOR) as supervisor:
            mine = supervisor.get("/incidents", params={"assignee": "me"}).json()["incidents"]
            assert [i["id"] for i in mine] == [incident["id"]]
        with hub.client() as manager:
            assert manager.get("/incidents", params={"assignee": "me"}).json()["incidents"] == []

        # the same commands again (a broker's redelivery, the hub's resend): nothing changes
        down = f"guardpost/v1/{SITE}/down"
        with hub.client() as manager:
            assert manager.get(f"/commands/{commands[0]}").status_code == 200
        for command_id, action, value in (
            (commands[0], "status", "acknowledged"),
            (commands[3], "severity", "severe"),
        ):
            field = {"status": "status", "severity": "severity"}[action]
            again = {
                "type": "command",
                "id": command_id,
                "site": SITE,
                "device": "lobby-1",
                "incident_id": incident["id"],
                "action": action,
                field: value,
                "reason": "x",
                "by": "hub:sup",
                "role": "supervisor",
            }
            tap.publish(down, json.dumps(again).encode())
        # a marker after them: once it is applied, the repeats were read before it
        with hub.client() as manager:
            marker = sent(
                manager.post(f"/incidents/{incident['id']}/status", json={"status": "resolved"})
            )
        assert wait_until(lambda: settled(hub, marker), 30, "the marker")["state"] == "applied"
        here = at_post(post, incident["id"])
        assert [h["command_id"] for h in here["history"]] == [*commands, marker]
        with post.client(post.login()) as guard:
            lines = guard.get("/logbook").json()["entries"]
        assert [e["type"] for e in lines if e["record_id"] == incident["id"]] == [
            "incident.opened",
            "incident.status",
            "incident.status",
            "incident.assigned",
            "incident.severity",
            "incident.status",
        ]
    finally:
        tap.close()
        company.stop_all(hub)


def test_a_step_the_post_refuses_comes_back_rejected_with_the_reason(company: Company) -> None:
    hub_users(company)
    post, hub = company.start_with_post(SITE)
    complaint = resolved_incident(post, "minor", category="complaint")
    with post.client(post.login()) as guard:
        fresh = guard.post(
            "/incidents", json={"category": "noise", "severity": "minor", "title": "噪音"}
        ).json()
    wait_until(lambda: at_hub(hub, fresh["id"]), 30, "the incidents at the hub")
    with hub.client(HUB_SUPERVISOR) as supervisor:
        skip = sent(supervisor.post(f"/incidents/{fresh['id']}/status", json={"status": "closed"}))
        early = sent(supervisor.post(f"/incidents/{complaint}/status", json={"status": "closed"}))
        regrade = sent(
            supervisor.post(
                f"/incidents/{complaint}/severity", json={"severity": "medium", "reason": "x"}
            )
        )
    refusals = {
        skip: "cannot go from open to closed; next is acknowledged",
        early: "a complaint closes only after its follow_up and summary entry",
        regrade: "the incident is resolved",
    }
    for command_id, reason in refusals.items():
        done = wait_until(lambda c=command_id: settled(hub, c), 30, "the refusal")
        assert (done["state"], done["reason"]) == ("rejected", reason)
    assert at_post(post, fresh["id"])["status"] == "open"
    assert at_post(post, complaint)["status"] == "resolved"
    there = wait_until(
        lambda: (i := at_hub(hub, complaint)) and len(i["history"]) == 5 and i, 30, "history"
    )
    assert [(h["change"], h["value"], h["reason"]) for h in there["history"][3:]] == [
        ("rejected", "status", refusals[early]),
        ("rejected", "severity", refusals[regrade]),
    ]
    assert [c["state"] for c in there["commands"]] == ["rejected", "rejected"]
    company.stop_all(hub)


def test_the_grading_decides_who_closes_at_the_post_and_at_the_hub(company: Company) -> None:
    hub_users(company)
    post, hub = company.start_with_post(SITE)
    cases = {grade: resolved_incident(post, grade) for grade in ("minor", "medium", "severe")}
    wait_until(lambda: all(at_hub(hub, i) for i in cases.values()), 30, "the incidents")
    close = {"status": "closed"}
    with (
        post.client(post.login()) as guard,
        post.client(post.login(POST_SUPERVISOR)) as post_supervisor,
        hub.client(HUB_SUPERVISOR) as supervisor,
        hub.client(OTHER_SUPERVISOR) as stranger,
        hub.client(AUDITOR) as auditor,
    ):
        for grade, incident_id in cases.items():
            path = f"/incidents/{incident_id}/status"
            assert guard.post(path, json=close).status_code == 403, grade
            assert auditor.post(path, json=close).status_code == 403, grade
            assert stranger.post(path, json=close).status_code == 404, grade
        for grade in ("medium", "severe"):
            refused = post_supervisor.post(f"/incidents/{cases[grade]}/status", json=close)
            assert refused.status_code == 403, grade
            assert "hub" in refused.json()["detail"][0]["msg"]
        refused = supervisor.post(f"/incidents/{cases['severe']}/status", json=close)
        assert refused.status_code == 403
        assert (
            refused.json()["detail"][0]["msg"]
            == "a severe incident is closed by a manager at the hub"
        )

        closed = post_supervisor.post(f"/incidents/{cases['minor']}/status", json=close)
        assert (closed.status_code, closed.json()["status"]) == (200, "closed")
        by_supervisor = sent(supervisor.post(f"/incidents/{cases['medium']}/status", json=close))
    with hub.client() as manager:
        by_manager = sent(manager.post(f"/incidents/{cases['severe']}/status", json=close))
    for command_id in (by_supervisor, by_manager):
        assert wait_until(lambda c=command_id: settled(hub, c), 30, "closing")["state"] == "applied"
    closers = {
        grade: at_post(post, incident_id)["history"][-1]["author"]
        for grade, incident_id in cases.items()
    }
    assert closers == {"minor": "guard:9001", "medium": "hub:sup", "severe": "hub:manager"}
    company.stop_all(hub)


def test_an_auditor_and_another_sites_supervisor_can_do_none_of_it(company: Company) -> None:
    hub_users(company)
    post, hub = company.start_with_post(SITE)
    incident_id = resolved_incident(post, "minor")
    wait_until(lambda: at_hub(hub, incident_id), 30, "the incident at the hub")
    asks = [
        ("status", {"status": "closed"}),
        ("assign", {"assignee": "sup"}),
        ("severity", {"severity": "severe", "reason": "因為"}),
    ]
    with hub.client(AUDITOR) as auditor, hub.client(OTHER_SUPERVISOR) as stranger:
        for action, body in asks:
            assert auditor.post(f"/incidents/{incident_id}/{action}", json=body).status_code == 403
            assert stranger.post(f"/incidents/{incident_id}/{action}", json=body).status_code == 404
    with hub.client(HUB_SUPERVISOR) as supervisor:
        command_id = sent(
            supervisor.post(f"/incidents/{incident_id}/assign", json={"assignee": "sup"})
        )
        bad = [
            ("assign", {"assignee": "sup2"}, ["assignee"]),  # not of this site
            ("assign", {"assignee": "audit"}, ["assignee"]),  # an auditor takes no incident
            ("assign", {"assignee": "nobody"}, ["assignee"]),
            ("severity", {"severity": "severe"}, ["reason"]),
            ("severity", {"severity": "grave", "reason": "x"}, ["severity"]),
            ("status", {"status": "done"}, ["status"]),
        ]
        for action, body, fields in bad:
            answer = supervisor.post(f"/incidents/{incident_id}/{action}", json=body)
            assert (answer.status_code, error_fields(answer)) == (422, fields), body
        assert supervisor.post("/incidents/nope/status", json={"status": "closed"}).status_code == (
            404
        )
    with hub.client(OTHER_SUPERVISOR) as stranger:
        assert stranger.get(f"/commands/{command_id}").status_code == 404
    with httpx.Client(base_url=f"{hub.url}/api/v1", timeout=30) as anonymous:
        assert anonymous.get(f"/commands/{command_id}").status_code == 401
        assert anonymous.post(f"/incidents/{incident_id}/assign", json={}).status_code == 401
    assert wait_until(lambda: settled(hub, command_id), 30, "the assignment")["state"] == "applied"
    company.stop_all(hub)


def test_a_supervisor_closes_a_minor_incident_at_the_guards_tablet(
    page: Page, edge: EdgeServer
) -> None:
    minor, medium = resolved_incident(edge, "minor"), resolved_incident(edge, "medium")
    log_in(page, edge, "zh-Hant")
    page.goto(f"{edge.url}/incidents/{medium}")
    expect(page.locator("[data-who-closes]")).to_have_text("中等事故須由中心的主管或經理結案。")
    expect(page.locator("form.approve")).to_have_count(0)  # no one at the post closes it

    page.goto(f"{edge.url}/incidents/{minor}")
    expect(page.locator("button[name=closed]")).to_have_count(0)  # the guard does not close
    expect(page.locator("[data-who-closes]")).to_have_text("此事故須由主管在此或在中心結案。")
    page.click("details.approve summary")
    page.fill("form.approve input[name=badge]", POST_SUPERVISOR["badge"])
    page.fill("form.approve input[name=pin]", "0000")
    page.click("button[name=approve]")
    expect(page.locator("#approve-error")).to_have_text("員工編號或密碼錯誤。")
    expect(page.locator("form.approve input[name=pin]")).to_have_value("")  # never sent back
    page.fill("form.approve input[name=badge]", GUARD["badge"])  # a guard cannot approve
    page.fill("form.approve input[name=pin]", GUARD["pin"])
    page.click("button[name=approve]")
    expect(page.locator("#approve-error")).to_have_text("只有主管可以結案。")
    page.fill("form.approve input[name=badge]", POST_SUPERVISOR["badge"])
    page.fill("form.approve input[name=pin]", POST_SUPERVISOR["pin"])
    shot(page, "approve-zh-Hant")
    page.click("button[name=approve]")
    expect(page.locator("[data-status]")).to_have_attribute("data-status", "closed")
    expect(page.locator(".timeline li").last).to_contain_text(POST_SUPERVISOR["badge"])
    expect(page.locator("button[name=logout]")).to_have_count(1)  # the guard is still in
    page.goto(f"{edge.url}/")
    assert page.url == f"{edge.url}/"  # not sent to the login page
    with edge.client(edge.login()) as guard:
        closed = guard.get(f"/incidents/{minor}").json()
    assert closed["status"] == "closed"
    assert closed["history"][-1]["author"] == f"guard:{POST_SUPERVISOR['badge']}"


def test_a_supervisor_moves_regrades_and_assigns_from_the_hubs_incident_page(
    browser: Browser, company: Company
) -> None:
    hub_users(company)
    post, hub = company.start_with_post(SITE)
    with post.client(post.login()) as guard:
        incident_id = guard.post(
            "/incidents", json={"category": "lift", "severity": "medium", "title": "升降機故障"}
        ).json()["id"]
    wait_until(lambda: at_hub(hub, incident_id), 30, "the incident at the hub")
    for page in tab(browser):
        hub_log_in(page, hub, HUB_SUPERVISOR, "zh-Hant")
        page.goto(f"{hub.url}/incidents/{incident_id}")
        page.click("button[name=acknowledged]")
        commands = page.locator(".commands li")
        expect(commands).to_have_count(1)
        # shown live: the page follows the post's answer without a reload
        expect(commands.first).to_have_attribute("data-state", "applied", timeout=30_000)
        expect(page.locator("button[name=in_progress]")).to_have_count(1)
        expect(page.locator(".timeline")).to_contain_text("中心 sup")

        page.select_option("select[name=severity]", "severe")
        page.click("button[name=regrade]")  # no reason: refused next to the field
        expect(page.locator("form.command .error")).to_have_text("請填寫此欄。")
        expect(page.locator("select[name=severity]")).to_have_value("severe")  # kept
        page.fill("#severity-reason", "有住戶被困")
        page.click("button[name=regrade]")
        expect(commands).to_have_count(2)  # the page after the re-grade, before the next form
        page.select_option("select[name=assignee]", "sup")
        page.click("button[name=assign]")
        expect(page.locator(".commands li[data-state=applied]")).to_have_count(3, timeout=30_000)
        expect(page.locator("[data-assignee]")).to_have_attribute("data-assignee", "sup")
        for step in ("in_progress", "resolved"):
            page.click(f"button[name={step}]")
            expect(page.locator(f"button[name={next_after(step)}]")).to_have_count(
                1 if step == "in_progress" else 0, timeout=30_000
            )
        # resolved and now severe: a supervisor may not close it, and the page says who may
        # (once the post's `resolved` has come back: the step above cannot wait for it)
        expect(page.locator("[data-who-closes]")).to_have_text(
            "嚴重事故須由中心的經理結案。", timeout=30_000
        )
        shot(page, "hub-incident-commands-zh-Hant")
        assert serious_axe_violations(page) == []
    company.stop_all(hub)


def next_after(step: str) -> str:
    return {"in_progress": "resolved", "resolved": "closed"}[step]
