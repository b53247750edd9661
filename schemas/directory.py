"""The building's directory as it travels: the units CSV (header `unit,intercom,residents`) that
`guardpost-edge import-units` and the hub's `PUT /sites/{site}/units` read alike, and the model
of one unit, which the hub's JSON bodies and its `directory` down messages follow."""

from __future__ import annotations

import csv
import io
from typing import Annotated

from .bodies import Body
from .fields import TextRules, control_character, is_blank

HEADER = ["unit", "intercom", "residents"]


class UnitsCsvError(ValueError):
    """A units CSV the directory cannot take: says the line and, where there is one, the
    field."""

    def __init__(self, line: int, field: str, msg: str) -> None:
        super().__init__(f"line {line}: {msg}")
        self.line = line
        self.field = field


class UnitIn(Body):
    unit: Annotated[str, TextRules(32)]
    intercom: Annotated[str, TextRules(64, may_be_empty=True)] | None = None
    residents: Annotated[str, TextRules(2000, may_be_empty=True)] | None = None


def parse_units_csv(text: str) -> list[tuple[int, dict[str, str]]]:
    """The units of a CSV, each with its line number; blank lines are skipped."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or [h.strip().lower() for h in header] != HEADER:
        raise UnitsCsvError(1, "header", "the header must be unit,intercom,residents")
    rows: list[tuple[int, dict[str, str]]] = []
    for line_no, cells in enumerate(reader, start=2):
        if not cells or all(not c.strip() for c in cells):
            continue
        if len(cells) != 3:
            raise UnitsCsvError(line_no, "", f"expected 3 fields, found {len(cells)}")
        unit, intercom, residents = (c.strip() for c in cells)
        if is_blank(unit):
            raise UnitsCsvError(line_no, "unit", "unit is empty")
        if len(unit) > 32 or any(control_character(c) for c in (unit, intercom, residents)):
            raise UnitsCsvError(line_no, "unit", "unit is too long or has control characters")
        rows.append((line_no, {"unit": unit, "intercom": intercom, "residents": residents}))
    return rows
