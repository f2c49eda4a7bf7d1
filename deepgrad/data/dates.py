"""Human-written dates and their ISO form: a small, offline "machine translation" task.

``make_dates(n, seed)`` draws dates uniformly from 1950-01-01 .. 2049-12-31 and writes each
in one of many formats (English, British, American, German and French conventions, with
and without weekdays, ordinals, abbreviations, two-digit years), paired with the ISO
``YYYY-MM-DD`` target. Two-digit years are read as 1950-2049, so every string has exactly
one meaning. Numeric formats put the day first (dd/mm/yy, dd.mm.yyyy) or the year first;
month-first American dates always spell the month, so no string is ambiguous.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from ._rng import as_generator

__all__ = ["make_dates", "DATE_FORMATS", "ISO_CHARS"]

_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_MONATE = ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
           "Oktober", "November", "Dezember"]
_MOIS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
         "octobre", "novembre", "décembre"]
ISO_CHARS = "0123456789-"


def _ordinal(d: int) -> str:
    suffix = "th" if 11 <= d % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(d % 10, "th")
    return f"{d}{suffix}"


def _fields(t: _dt.date) -> dict[str, str]:
    m = _MONTHS[t.month - 1]
    return {"d": str(t.day), "dd": f"{t.day:02d}", "do": _ordinal(t.day), "m": str(t.month),
            "mm": f"{t.month:02d}", "month": m, "mon": m[:3], "yyyy": str(t.year),
            "yy": f"{t.year % 100:02d}", "day": _DAYS[t.weekday()], "dy": _DAYS[t.weekday()][:3],
            "monat": _MONATE[t.month - 1], "mois": _MOIS[t.month - 1]}


DATE_FORMATS: tuple[str, ...] = (
    "{d} {month} {yyyy}", "{d} {mon} {yyyy}", "{dd} {month} {yyyy}", "{d} {mon} {yy}",
    "{day}, {month} {d} {yyyy}", "{day}, {d} {month} {yyyy}", "{dy} {d} {mon} {yyyy}",
    "{month} {d}, {yyyy}", "{mon} {d}, {yy}", "{month} {do}, {yyyy}", "{do} of {month}, {yy}",
    "{do} of {month} {yyyy}", "the {do} of {month}, {yyyy}",
    "{dd}/{mm}/{yy}", "{d}/{m}/{yyyy}", "{dd}/{mm}/{yyyy}", "{dd}.{mm}.{yyyy}", "{d}.{m}.{yy}",
    "{yyyy}/{mm}/{dd}", "{yyyy}.{m}.{d}", "{yyyy} {month} {d}",
    "{d}. {monat} {yyyy}", "{d} {mois} {yyyy}",
)


def _case(s: str, k: int) -> str:
    return (s, s.lower(), s.upper())[k]


def make_dates(n: int, seed: Any = None, formats: tuple[str, ...] = DATE_FORMATS,
               start: _dt.date = _dt.date(1950, 1, 1), end: _dt.date = _dt.date(2049, 12, 31)
               ) -> tuple[list[str], list[str]]:
    """``n`` human-written dates and their ISO forms.

    Args:
        n: number of pairs.
        seed: None, an int or a Generator (a fixed seed gives the same pairs in every run).
        formats: ``str.format`` templates over the fields d, dd, do (ordinal), m, mm, month,
            mon, yyyy, yy, day, dy, monat (German), mois (French).
        start, end: the date range (inclusive); keep two-digit-year formats within
            1950-2049.

    Returns:
        (human strings, ISO strings "YYYY-MM-DD"); each human string is also randomly
        lower- or upper-cased (a third of each).
    """
    if isinstance(n, bool) or int(n) != n or int(n) < 0:
        raise ValueError(f"make_dates: n must be a non-negative integer, got {n!r}")
    if not formats:
        raise ValueError("make_dates: formats is empty")
    if end < start:
        raise ValueError(f"make_dates: end {end} is before start {start}")
    rng = as_generator(seed)
    span = (end - start).days + 1
    offsets = rng.integers(0, span, size=int(n))
    which = rng.integers(0, len(formats), size=int(n))
    cases = rng.integers(0, 3, size=int(n))
    human, iso = [], []
    for off, f, c in zip(offsets.tolist(), which.tolist(), cases.tolist(), strict=True):
        t = start + _dt.timedelta(days=off)
        human.append(_case(formats[f].format(**_fields(t)), c))
        iso.append(t.isoformat())
    return human, iso

