"""Debian's Chromium driven by Playwright: how the page tests launch it, log in, and save
screenshots (set GUARDPOST_SCREENSHOTS=DIR to keep them); and a browser's session without
Chromium, for the tests that only send forms (`signed_in`, `csrf_on`)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
from playwright.sync_api import Browser, ConsoleMessage, Locator, Page, sync_playwright

from tests.helpers import GUARD, EdgeServer, HubServer

CHROMIUM = "/usr/bin/chromium"
SHOTS = (
    Path(os.environ.get("GUARDPOST_SCREENSHOTS", ""))
    if os.environ.get("GUARDPOST_SCREENSHOTS")
    else None
)
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def shot(page: Page, name: str) -> None:
    if SHOTS:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def log_in(page: Page, edge: EdgeServer, lang: str = "en") -> None:
    page.goto(f"{edge.url}/login?lang={lang}")
    page.fill("input[name=badge]", GUARD["badge"])
    page.click("input[name=pin]")  # the pad types into the field the guard is in
    for digit in GUARD["pin"]:
        page.click(f".pinpad button[data-key='{digit}']")
    page.click("main button[type=submit]")
    page.wait_for_url(f"{edge.url}/")


def hub_log_in(page: Page, hub: HubServer, user: dict[str, str], lang: str = "en") -> None:
    """Log in at the hub's page as `user` (username, password), in `lang`."""
    page.goto(f"{hub.url}/login?lang={lang}")
    page.fill("input[name=username]", user["username"])
    page.fill("input[name=password]", user["password"])
    page.click("main button[type=submit]")
    page.wait_for_url(f"{hub.url}/")


def launch() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield chromium
        finally:
            chromium.close()


def launch_more(browser: Browser, *more_flags: str) -> Iterator[Browser]:
    """A second Chromium from the same Playwright as `browser`, with `more_flags` too (a fake
    camera); closed afterwards."""
    chromium = browser.browser_type.launch(executable_path=CHROMIUM, args=[*FLAGS, *more_flags])
    try:
        yield chromium
    finally:
        chromium.close()


_VIOLATIONS: dict[int, list[str]] = {}


def csp_violations(page: Page) -> list[str]:
    """What the browser refused under the Content-Security-Policy so far in this tab."""
    return _VIOLATIONS.setdefault(id(page.context), [])


def tab(browser: Browser, **context: object) -> Iterator[Page]:
    """A fresh tab; when the test is done, it fails if any page broke the CSP (an inline
    script or style, a handler attribute, a foreign asset: the pages must not need one)."""
    ctx = browser.new_context(
        **{"viewport": {"width": 1024, "height": 768}, "locale": "en-US", **context}
    )  # type: ignore[arg-type]
    seen = _VIOLATIONS.setdefault(id(ctx), [])

    def watch(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            seen.append(message.text)

    ctx.on("console", watch)
    try:
        yield ctx.new_page()
        assert seen == [], f"the pages broke their Content-Security-Policy: {seen}"
    finally:
        _VIOLATIONS.pop(id(ctx), None)
        ctx.close()


TARGETS = (
    "main button, main a, main input:not([type=hidden]):not([type=checkbox]), "
    "main select, main textarea, .menu a, .langs a, .bar button, .brand"
)


def small_targets(page: Page) -> list[str]:
    """Every visible control or link smaller than 44 px in either direction."""
    return list(
        page.evaluate(
            """(selector) => [...document.querySelectorAll(selector)]
        .filter(el => el.offsetParent !== null)
        .filter(el => { const r = el.getBoundingClientRect();
                        return r.height < 44 || r.width < 44; })
        .map(el => el.outerHTML.slice(0, 80))""",
            TARGETS,
        )
    )


_CONTRAST = """(el) => {
  // the WCAG 2 contrast ratio of an element's text colour on its own background colour;
  // null when a live page replaced the element between finding and reading it
  if (!el.isConnected) return null;
  const rgb = (text) => text.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = (text) => {
    const [r, g, b] = rgb(text).map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const style = getComputedStyle(el);
  const [fg, bg] = [lum(style.color), lum(style.backgroundColor)];
  return (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
}"""


def contrast(element: Locator) -> float:
    """The WCAG 2 contrast ratio of the element's text on its background. A live page may
    redraw its list between the locator finding the element and reading its colours; the
    locator then finds the new one."""
    for _ in range(20):
        ratio = element.evaluate(_CONTRAST)
        if ratio is not None:
            return float(ratio)
        element.page.wait_for_timeout(100)
    raise AssertionError(f"{element} kept being replaced while its colours were read")


def serious_axe_violations(page: Page) -> list[str]:
    """What axe-core (shipped in axe-playwright-python) finds serious or critical on the page
    as it is now: `rule-id: the first element's HTML` for each."""
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    return [
        f"{v['id']}: {v['nodes'][0]['html'][:120] if v['nodes'] else ''}"
        for v in found
        if v.get("impact") in ("serious", "critical")
    ]


def too_wide(page: Page) -> int | None:
    """The page's width if it scrolls sideways (wider than the window), else None."""
    wide = int(page.evaluate("document.documentElement.scrollWidth"))
    return wide if wide > int(page.evaluate("window.innerWidth")) else None


LANGUAGES = ("zh-Hant", "zh-Hans", "en")
PHONE = {"width": 390, "height": 844}


def every_language_and_screen(
    browser: Browser, url: str, desk: dict[str, int]
) -> Iterator[tuple[Page, str, dict[str, int], str]]:
    """For each language, on a screen of `desk` size and on a phone, a fresh tab at the login
    page of `url` in that language: (page, lang, viewport, label: "" or "-phone")."""
    for lang in LANGUAGES:
        for viewport, label in ((desk, ""), (PHONE, "-phone")):
            for page in tab(browser, viewport=viewport):
                page.goto(f"{url}/login?lang={lang}")
                yield page, lang, viewport, label


CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')


def signed_in(url: str, login: dict[str, str], timeout: float = 30) -> httpx.Client:
    """A browser signed in to the pages at `url` (`/login` answers 303 and a session cookie)."""
    answer = httpx.post(f"{url}/login", data=login)
    assert answer.status_code == 303, answer.text
    return httpx.Client(base_url=url, timeout=timeout, cookies=answer.cookies)


def csrf_on(client: httpx.Client, path: str) -> str:
    """The CSRF token the forms of the page at `path` carry."""
    found = CSRF.search(client.get(path).text)
    assert found, path
    return found.group(1)
