"""The languages of the pages: which one a request gets, its catalogue (one Babel catalogue in
`service/locales`, shared by the tablet and the dashboard), and dates as each language writes
them."""

from __future__ import annotations

import gettext
from datetime import datetime
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from babel.dates import format_skeleton
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from starlette.requests import Request

HERE = Path(__file__).resolve().parent
LANGUAGES = (("zh-Hant", "繁體"), ("zh-Hans", "简体"), ("en", "English"))
LANG_CODES = tuple(code for code, _ in LANGUAGES)


def language_links(request: Request) -> list[tuple[str, str, str]]:
    """(code, name, link) for each language: the same page, with what it was asked for kept
    (a search, a report's month), in that language."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    return [(code, label, "?" + urlencode([*query, ("lang", code)])) for code, label in LANGUAGES]


LANG_COOKIE = "gp_lang"


@cache
def translations(lang: str) -> Any:
    """The Babel catalogue of a language, compiled in memory from `locales/LANG/messages.po`."""
    po = HERE / "locales" / lang / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return gettext.NullTranslations()
    with po.open("rb") as f:
        catalog = read_po(f, locale=lang.replace("-", "_"))
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


BABEL_LOCALES = {"en": "en_GB", "zh-Hant": "zh_Hant_HK", "zh-Hans": "zh_Hans_CN"}


def local_time(moment: datetime, locale: str) -> str:
    """A time in the site's zone as the page's language writes it, on a 24-hour clock:
    `25 Nov 2026 10:31`, `2026年11月25日 10:31`."""
    return (
        f"{format_skeleton('yMMMd', moment, locale=locale)} "
        f"{format_skeleton('Hm', moment, locale=locale)}"
    )


def gettext_for(lang: str) -> Any:
    return translations(lang).gettext


def choose_language(request: Request, default: str) -> str:
    """?lang= beats the cookie, which beats Accept-Language, which beats the site's default."""
    asked = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    if asked in LANG_CODES:
        return str(asked)
    accept = request.headers.get("accept-language", "").lower()
    for part in accept.split(","):
        tag = part.split(";")[0].strip()
        if tag in ("zh-hant", "zh-tw", "zh-hk", "zh-mo"):
            return "zh-Hant"
        if tag in ("zh-hans", "zh-cn", "zh-sg", "zh"):
            return "zh-Hans"
        if tag.startswith("en"):
            return "en"
    return default
