"""The guard away from the desk (CONTRACT section 9), against a real broker, hub and post and a
local SMTP server. The panic button: a guard's panic opens a severe security incident titled
with the guard's name and the last checkpoint they scanned, and the hub mails every severe
rule of the site as soon as it arrives (not at its next look, not after a deadline); only a
guard may press it; in Chromium, held 2 s it calls for help, a tap or a short key press does
not, and without scripts it asks to confirm on a page of its own. The camera on /patrol:
Chromium's fake camera showing a checkpoint's QR code scans it (jsQR: Debian's Chromium has
no BarcodeDetector), the camera stops when the page is hidden, and with no camera the page
says so and the typed code is still there."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import segno
from playwright.sync_api import Browser, Page

from schemas.ids import parse_time
from tests.bodies import new_incident
from tests.browser import (
    PHONE,
    contrast,
    launch_more,
    log_in,
    serious_axe_violations,
    shot,
    signed_in,
    small_targets,
    tab,
    too_wide,
)
from tests.helpers import (
    GUARD,
    MANAGER,
    SUPERVISOR,
    Company,
    EdgeServer,
    HubServer,
    error_fields,
    wait_until,
)
from tests.mail import Sink

HARBOUR = "harbour-view"
NOTE = "兩個人喺停車場閘口打架 two men fighting at the car park gate"
PANIC_MAIL = (
    "[severe] harbour-view: PANIC, help called: Help called by 陳大文; last checkpoint: 天台 Roof"
)


@dataclass
class World:
    post: EdgeServer
    hub: HubServer
    sink: Sink


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A broker, a hub and one post of harbour-view, and a local SMTP server, for the module."""
    company = Company(tmp_path_factory.mktemp("panic"))
    sink = Sink()
    sink.controller.start()
    try:
        post = company.add_post(HARBOUR, "lobby-1")
        company.broker.start()
        hub = company.hub()
        # the hub's own look comes only every 2 minutes: a mail within seconds is the panic's
        hub.env = {"GUARDPOST_HUB_ESCALATION_CHECK_S": "120"}
        hub.start()
        company.extra = [hub]
        post.start()
        yield World(post, hub, sink)
    finally:
        company.stop_all(*company.extra)
        sink.controller.stop()


def test_panic_opens_a_severe_incident_that_the_hub_mails_at_once(world: World) -> None:
    post, hub, sink = world.post, world.hub, world.sink
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
    with signed_in(hub.url, MANAGER) as desk:  # the hub's page words it in its language
        shown = desk.get(f"/incidents/{panic['id']}?lang=zh-Hant").text
    assert "陳大文 緊急求助；最後巡邏點：天台 Roof" in shown
    assert "已電郵通知主管 · 緊急求助" in shown

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


def panics(edge: EdgeServer) -> list[dict[str, Any]]:
    with edge.client(edge.login()) as guard:
        incidents = guard.get("/incidents").json()["incidents"]
    return [i for i in incidents if i["title_code"] == "panic"]


def test_held_two_seconds_the_button_calls_for_help_and_a_tap_does_not(
    browser: Browser, world: World
) -> None:
    edge, before = world.post, len(panics(world.post))
    for page in tab(browser):  # the lobby tablet, 1024x768
        log_in(page, edge)
        button = page.locator("form[data-panic] button[name=panic]")
        assert button.inner_text() == "Call for help"
        assert contrast(button) >= 4.5
        button.click()  # a tap: the hint, nobody called
        assert page.locator(".panic-how").inner_text() == "Press and hold for 2 seconds"
        assert page.locator(".panic-how").is_visible()
        button.focus()
        page.keyboard.press("Enter")  # a short key press neither
        page.keyboard.press("Space")
        assert page.url == f"{edge.url}/" and len(panics(edge)) == before

        box = button.bounding_box()
        assert box is not None and box["height"] >= 48
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.down()
        pressed = time.monotonic()
        page.wait_for_timeout(1000)
        assert "holding" in (page.locator("form[data-panic]").get_attribute("class") or "")
        page.wait_for_url(f"{edge.url}/panic/*", timeout=5000)
        held = time.monotonic() - pressed
        page.mouse.up()
        assert 1.9 <= held < 4
        alert = page.locator(".panic-called[role=alert]")
        assert "Help is being called" in alert.inner_text()
        assert "Help called by 陳大文" in alert.inner_text()
        called = panics(edge)[0]  # newest first
        assert len(panics(edge)) == before + 1 and alert.get_attribute("data-id") == called["id"]
        assert called["severity"] == "severe" and called["title"].startswith("Panic: 陳大文")
        at_hub = page.locator(".panic-called [data-at-hub]")
        at_hub.wait_for(timeout=15_000)  # live: once the hub has acknowledged the event
        assert at_hub.inner_text() == "The hub has it: your supervisors are being alerted."
        shot(page, "panic-called-en")
        assert serious_axe_violations(page) == []

        page.goto(f"{edge.url}/patrol?lang=zh-Hant")  # on the patrol page, held with a key
        page.locator("form[data-panic] button[name=panic]").focus()
        page.keyboard.down("Space")
        page.wait_for_url(f"{edge.url}/panic/*", timeout=5000)
        page.keyboard.up("Space")
        called_zh = page.locator(".panic-called").inner_text()
        assert "已發出求助" in called_zh and "陳大文 緊急求助" in called_zh  # worded from its code
        assert len(panics(edge)) == before + 2


def test_a_panic_from_the_patrol_phone_sounds_at_the_lobby_tablet(
    browser: Browser, world: World
) -> None:
    post = world.post
    for page in tab(browser):  # the lobby tablet, at the post at a glance
        log_in(page, post)
        wait_until(partial(page.evaluate, "window.guardpostAlarm !== undefined"), 10)
        beeps = page.evaluate("window.guardpostAlarm.beeps")  # open panics beep once on load
        with post.client(post.login(SUPERVISOR)) as phone:
            called = phone.post("/panic", json={"note": "car park B2"}).json()
        row = page.locator(f".urgent li.panic[data-id='{called['id']}']")
        row.wait_for(timeout=15_000)  # the page follows the logbook live
        assert "Help called by Supervisor Wong" in row.inner_text()
        beeped = f"window.guardpostAlarm.beeps === {beeps + 1}"
        wait_until(partial(page.evaluate, beeped), 10, "a beep")
        page.goto(f"{post.url}/panic?lang=zh-Hant")  # the confirm step, as a page of its own
        assert page.locator("main h1").inner_text() == "立即緊急求助？"
        assert serious_axe_violations(page) == []


def log_in_typing(page: Page, url: str) -> None:
    """Log in at the post at `url` typing the PIN (no pin pad: it works without scripts)."""
    page.goto(f"{url}/login?lang=en")
    page.fill("input[name=badge]", GUARD["badge"])
    page.fill("input[name=pin]", GUARD["pin"])
    page.click("main button[type=submit]")
    page.wait_for_url(f"{url}/")


def test_without_scripts_the_button_asks_to_confirm_first(browser: Browser, world: World) -> None:
    edge, before = world.post, len(panics(world.post))
    for page in tab(browser, java_script_enabled=False, viewport=PHONE):
        log_in_typing(page, edge.url)
        page.click("form[data-panic] button[name=panic]")
        assert page.locator("h1").inner_text() == "Call for help now?"
        assert len(panics(edge)) == before
        shot(page, "panic-confirm-en-phone")
        assert too_wide(page) is None and small_targets(page) == []
        page.fill("textarea[name=note]", "x" * 2001)
        page.click("main button[type=submit]")
        assert page.locator("#note-error").is_visible() and len(panics(edge)) == before
        page.fill("textarea[name=note]", "Smoke in the car park")
        page.click("main button[type=submit]")
        page.wait_for_url(f"{edge.url}/panic/*")
        assert "Help is being called" in page.locator("[role=alert]").inner_text()
        assert len(panics(edge)) == before + 1
        assert panics(edge)[0]["description"] == "Smoke in the car park"


FAKE_CAMERA = ("--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream")
CAMERA_STATE = "[data-camera] .camera-state"


def qr_video(text: str, path: Path) -> Path:
    """A still y4m video (what Chromium's fake camera plays) of the QR code of `text`: black
    modules of 8 px on white, in the middle of a 640x480 frame."""
    width, height, scale = 640, 480, 8
    rows = list(segno.make_qr(text).matrix_iter(scale=scale, border=4))
    top, left = (height - len(rows)) // 2, (width - len(rows[0])) // 2
    luma = bytearray(b"\xeb" * (width * height))  # white: Y 235
    for r, row in enumerate(rows):
        start = (top + r) * width + left
        luma[start : start + len(row)] = bytes(16 if dark else 235 for dark in row)
    chroma = b"\x80" * (width * height // 4)  # no colour
    frame = b"FRAME\n" + bytes(luma) + chroma + chroma
    path.write_bytes(f"YUV4MPEG2 W{width} H{height} F5:1 Ip A1:1 C420jpeg\n".encode() + frame)
    return path


def test_the_phone_camera_reads_a_checkpoint_code(
    world: World, browser: Browser, tmp_path: Path
) -> None:
    post = world.post
    with world.hub.client() as manager:
        gate = manager.post(f"/sites/{HARBOUR}/checkpoints", json={"name": "後門 Back gate"})
    code = gate.json()["code"]
    with post.client(post.login()) as guard:
        wait_until(
            lambda: guard.post("/patrols/scans", json={"code": code}).status_code == 201,
            30,
            "the new checkpoint at the post",
        )
    video = qr_video(code, tmp_path / "checkpoint.y4m")
    fetched: list[str] = []
    for camera in launch_more(browser, *FAKE_CAMERA, f"--use-file-for-fake-video-capture={video}"):
        for page in tab(camera, viewport=PHONE):
            page.on("request", lambda request: fetched.append(request.url))
            log_in(page, post, "zh-Hant")
            page.goto(f"{post.url}/patrol")
            assert "/static/jsqr-1.4.0.js" not in " ".join(fetched)  # only when the camera starts
            page.click("button[name=camera]")
            page.wait_for_url(f"{post.url}/patrol?scanned=*", timeout=15_000)
            assert page.locator(".saved").inner_text() == "已掃描巡邏點 後門 Back gate。"
            assert f"{post.url}/static/jsqr-1.4.0.js" in fetched
    with post.client(post.login()) as guard:
        lines = guard.get("/logbook").json()["entries"]
    assert [e["type"] for e in lines if e["type"] == "patrol.scan"][-2:] == ["patrol.scan"] * 2


def test_the_camera_stops_when_hidden_and_without_one_the_code_is_typed(
    world: World, browser: Browser
) -> None:
    post = world.post
    for camera in launch_more(
        browser, *FAKE_CAMERA
    ):  # Chromium's own test picture: no QR code in it
        for page in tab(camera, viewport=PHONE):
            log_in(page, post)
            page.goto(f"{post.url}/patrol")
            page.click("button[name=camera]")
            page.wait_for_selector("[data-camera][data-camera=on]")
            playing = "document.querySelector('video').readyState >= 2"
            wait_until(partial(page.evaluate, playing), 10, "the camera's picture")
            assert page.locator(CAMERA_STATE).inner_text() == (
                "Hold the checkpoint's QR code in the frame."
            )
            shot(page, "patrol-camera-en-phone")
            assert serious_axe_violations(page) == []
            assert too_wide(page) is None and small_targets(page) == []
            tracks = page.evaluate_handle("document.querySelector('video').srcObject.getTracks()")
            page.evaluate(  # the guard switches apps: the page is hidden
                "Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});"
                "document.dispatchEvent(new Event('visibilitychange'))"
            )
            assert page.locator("[data-camera]").get_attribute("data-camera") == "off"
            assert page.evaluate("(tracks) => tracks.map((t) => t.readyState)", tracks) == ["ended"]
            assert page.locator("video").is_hidden()
            assert page.locator(CAMERA_STATE).inner_text() == (
                "The camera stopped while the page was hidden."
            )
    for page in tab(browser, viewport=PHONE):  # headless, no camera at all
        log_in(page, post, "zh-Hant")
        page.goto(f"{post.url}/patrol")
        assert page.locator("form[data-panic] button").inner_text() == "緊急求助"
        shot(page, "patrol-panic-zh-Hant-phone")
        page.click("button[name=camera]")
        page.wait_for_selector("[data-camera][data-state=none], [data-camera][data-state=denied]")
        assert page.locator(CAMERA_STATE).inner_text() in (
            "找不到相機：請輸入編碼。",
            "未獲准使用相機：請輸入編碼。",
        )
        assert page.evaluate("document.activeElement.name") == "code"
        assert page.locator("input[name=code]").is_visible()


def test_over_plain_http_the_phone_is_told_to_type_the_code(world: World, browser: Browser) -> None:
    port = world.post.url.rsplit(":", 1)[1]
    lan = f"http://post.lobby.test:{port}"  # the post by a LAN name: not a secure context
    for phone in launch_more(browser, "--host-resolver-rules=MAP post.lobby.test 127.0.0.1"):
        for page in tab(phone, viewport=PHONE):
            log_in_typing(page, lan)
            page.goto(f"{lan}/patrol?lang=zh-Hant")
            assert page.evaluate("window.isSecureContext") is False
            assert page.locator("button[name=camera]").is_hidden()
            assert page.locator(CAMERA_STATE).inner_text() == (
                "相機需要安全連線（https）：請輸入編碼。"
            )
            assert page.locator("input[name=code]").is_visible()
