"""Rendering the console's pages: one Jinja2 environment, the filters every page uses (amounts in
¥ with thousands separators, times in Asia/Shanghai to the second, region names beside codes),
and the context every page gets (language, operator, CSRF token, navigation, flash message)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from medsettle.adapters.api.auth import csrf_token, session_of
from medsettle.adapters.web.i18n import LANGUAGES, translate
from medsettle.core import codes
from medsettle.core.operators import Operator

HERE = Path(__file__).parent
SHANGHAI = ZoneInfo("Asia/Shanghai")
ENV = Environment(loader=FileSystemLoader(HERE / "templates"),
                  autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)


def yuan(fen: object) -> str:
    """Integer fen as ¥ with thousands separators: 123456789 → ¥1,234,567.89."""
    if fen is None or fen == "":
        return ""
    value = int(str(fen))
    sign = "-" if value < 0 else ""
    whole, cents = divmod(abs(value), 100)
    return f"{sign}¥{whole:,}.{cents:02d}"


def shanghai(moment: object) -> str:
    """A stored moment (UTC) as Asia/Shanghai time to the second; a date as itself."""
    if isinstance(moment, str):
        try:
            return shanghai(datetime.fromisoformat(moment))
        except ValueError:
            return moment
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            return moment.strftime("%Y-%m-%d %H:%M:%S")
        return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(moment, date):
        return moment.isoformat()
    return "" if moment is None else str(moment)


def region(code: object) -> str:
    """A region code with its name before it: 北京 110000."""
    text = str(code or "")
    try:
        return f"{codes.region_name(text)} {text}"
    except (KeyError, ValueError):
        return text


def percent(value: object) -> str:
    """A ratio as a percentage with one decimal."""
    try:
        return f"{float(str(value)) * 100:.1f}%"
    except ValueError:
        return str(value)


def readable_json(value: object) -> str:
    """A stored document as JSON a person reads: keys sorted, Chinese as itself (not \\uXXXX),
    one key per line; the template escapes it."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, indent=1, default=str)


def script_json(value: object) -> str:
    """`value` as JSON to place inside a <script> element: every "<" written as \\u003c, so no
    text in it (a region's name, a report's field) can close the element."""
    return json.dumps(value, ensure_ascii=False).replace("<", "\\u003c")


ENV.filters.update(yuan=yuan, shanghai=shanghai, region=region, percent=percent,
                   readable_json=readable_json)


@dataclass
class Console:
    """What a node's console is: its kind, its region, its title and its menu."""

    role: str  # hub | province
    region: str | None
    title: str
    nav: list[tuple[str, str]] = field(default_factory=list)  # (path, English label)
    cookie: str = "medsettle_session"


def language(request: Request) -> str:
    """The page language: the session's choice, else Chinese."""
    lang = session_of(request).get("lang")
    return lang if lang in LANGUAGES else "zh"


def render(request: Request, console: Console, template: str, *, status: int = 200,
           operator: Operator | None = None, **context: Any) -> HTMLResponse:
    """A full page (or an htmx fragment: a template under partials/)."""
    lang = language(request)
    session = session_of(request)
    flash = session.pop("flash", None) if "session" in request.scope else None
    html = ENV.get_template(template).render(
        request=request, console=console, operator=operator, lang=lang,
        _=lambda text: translate(text, lang), csrf=csrf_token(request), flash=flash,
        path=request.url.path, **context)
    return HTMLResponse(html, status_code=status)
