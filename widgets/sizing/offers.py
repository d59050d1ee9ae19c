"""Comparing job offers: the cash and equity each one actually pays in each of its first four years.

Every input is the reader's; the model adds no market data. Per offer, for years y = 1..4 (month m of employment
belongs to year ⌈m ÷ 12⌉, so month 12 is the last month of year one):

* base salary: the same every year (no raises assumed).
* sign-on bonus: paid in full in year one and kept. Assumed clawback-free: leaving early repays nothing, which
  flatters an offer whose sign-on carries a repayment clause.
* initial equity grant G, valued at grant: it vests on a schedule from ``data/vesting.json``. Year y's share f_y is
  paid in equal instalments every p months inside year y; a cliff of C months moves every instalment dated before
  month C to month C (so a twelve-month cliff changes nothing for a schedule that vests once a year, and for a monthly
  schedule it turns eleven small instalments and the twelfth into one lump at month twelve, in the same year).
* refresher grants: R granted at each anniversary (months 12, 24 and 36), each vesting on the offer's schedule from
  its own grant date with no cliff. The first refresher instalment is therefore paid in year two at the earliest.
* value in year y = base + (sign-on in year one) + grant vested in year y + refreshers vested in year y;
  four-year total = the sum over the four years.
* value if you leave after M months = base × M ÷ 12 + sign-on + every instalment dated at or before month M.

Left out: share-price change, taxes, bonuses and benefits, and any discount for the risk or illiquidity of private
equity. Put your own estimate of what the equity is worth into the grant value.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from .derivation import Derivation, num
from .errors import InputError
from .registry import calculation
from .validation import read_choice, read_float, read_int, reject_unknown

YEARS = 4
HORIZON_MONTHS = 12 * YEARS
LETTERS = ("a", "b", "c")
PERIODS = (1, 3, 6, 12)
MAX_CASH_USD = 1e8
MAX_EQUITY_USD = 1e10
FIELDS = ("base_usd", "sign_on_usd", "equity_usd", "vesting", "cliff_months", "refresher_usd")


class VestingDataError(ValueError):
    def __init__(self, problems: list[str]):
        super().__init__("vesting data is invalid:\n  " + "\n  ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class VestingSchedule:
    id: str
    name: str
    year_fractions: tuple[float, ...]  # share of the grant vesting in each of the four years; sums to one
    period_months: int  # months between instalments inside a year: 1, 3, 6 or 12
    source: str


def parse_schedules(document: Any, origin: str = "vesting.json") -> dict[str, VestingSchedule]:
    """Validate the schedules; every problem names the file, the schedule and the field."""
    records = document.get("schedules") if isinstance(document, dict) else None
    if not isinstance(records, list) or not records:
        raise VestingDataError([f"{origin}: expected an object with a non-empty list 'schedules'"])
    problems: list[str] = []
    found: dict[str, VestingSchedule] = {}
    allowed = {"id", "name", "year_fractions", "period_months", "source"}
    for index, record in enumerate(records):
        label = record.get("id", "?") if isinstance(record, dict) else "?"
        where = f"{origin}: schedules[{index}] ({label})"
        if not isinstance(record, dict):
            problems.append(f"{where}: must be an object")
            continue
        start = len(problems)
        for key in sorted(set(record) - allowed):
            problems.append(f"{where}.{key}: unknown field; expected one of {', '.join(sorted(allowed))}")
        ident = record.get("id")
        if not isinstance(ident, str) or not ident or ident != ident.lower() or " " in ident:
            problems.append(f"{where}.id: must be a lower-case hyphenated id (got {ident!r})")
        for key in ("name", "source"):
            if not isinstance(record.get(key), str) or len(record[key].strip()) < 4:
                problems.append(f"{where}.{key}: must be a non-empty sentence")
        fractions = record.get("year_fractions")
        numbers = isinstance(fractions, list) and all(
            isinstance(f, (int, float)) and not isinstance(f, bool) and 0 <= f <= 1 for f in fractions
        )
        if not numbers or len(fractions) != YEARS:
            problems.append(f"{where}.year_fractions: must be {YEARS} numbers from 0 to 1 (got {fractions!r})")
        elif not math.isclose(math.fsum(fractions), 1.0, abs_tol=1e-9):
            problems.append(f"{where}.year_fractions: must sum to 1 (got {math.fsum(fractions):g})")
        period = record.get("period_months")
        if period not in PERIODS or isinstance(period, bool):
            problems.append(f"{where}.period_months: must be one of {', '.join(map(str, PERIODS))} (got {period!r})")
        if len(problems) > start:
            continue
        if ident in found:
            problems.append(f"{where}.id: duplicate id {ident!r}")
        found[ident] = VestingSchedule(ident, record["name"], tuple(float(f) for f in fractions), period, record["source"])
    if problems:
        raise VestingDataError(problems)
    return found


@cache
def schedules() -> dict[str, VestingSchedule]:
    text = resources.files("sizing").joinpath("data").joinpath("vesting.json").read_text(encoding="utf-8")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise VestingDataError([f"vesting.json: not valid JSON ({error})"]) from None
    return parse_schedules(document)


def vest_events(schedule: VestingSchedule, cliff_months: int = 0, start_month: int = 0) -> list[tuple[int, float]]:
    """(month of employment, share of the grant) for each instalment of a grant made at ``start_month``.

    Instalments dated before the cliff are paid together at the cliff. Months past the four-year horizon are kept,
    so the shares always sum to one.
    """
    per_year = 12 // schedule.period_months
    events = []
    for year, fraction in enumerate(schedule.year_fractions):
        for step in range(1, per_year + 1):
            month = start_month + 12 * year + step * schedule.period_months
            events.append((max(month, start_month + cliff_months), fraction / per_year))
    return events


def year_of(month: int) -> int:
    """Month 1..12 is year one, 13..24 year two, …"""
    return (month + 11) // 12


def vested_by_year(events: list[tuple[int, float]]) -> list[float]:
    """Shares paid in each of years one to four (instalments past the horizon are dropped)."""
    years = [0.0] * YEARS
    for month, share in events:
        if 1 <= month <= HORIZON_MONTHS:
            years[year_of(month) - 1] += share
    return years


@dataclass(frozen=True)
class Offer:
    letter: str
    base_usd: float
    sign_on_usd: float
    equity_usd: float
    vesting: VestingSchedule
    cliff_months: int
    refresher_usd: float


@dataclass(frozen=True)
class OfferValue:
    year_usd: tuple[float, ...]  # years one to four
    grant_by_year_usd: tuple[float, ...]
    refresher_by_year_usd: tuple[float, ...]
    leave_usd: float

    @property
    def total_usd(self) -> float:
        return cents(math.fsum(self.year_usd))


def refresher_events(offer: Offer) -> list[tuple[int, float]]:
    """Instalments of the refreshers granted at months 12, 24 and 36, as shares of one refresher (no cliff)."""
    return [event for grant in range(1, YEARS) for event in vest_events(offer.vesting, 0, 12 * grant)]


def cents(usd: float) -> float:
    """Money to the cent. Sums of instalment shares carry float noise whose last bit can differ between Python
    builds (the browser's and the build's); rounding to cents makes every published amount the same everywhere."""
    return round(usd, 2) + 0.0


def value_offer(offer: Offer, leave_after_months: int) -> OfferValue:
    grant_events = vest_events(offer.vesting, offer.cliff_months)
    refreshers = refresher_events(offer)
    grant = [cents(share * offer.equity_usd) for share in vested_by_year(grant_events)]
    refresh = [cents(share * offer.refresher_usd) for share in vested_by_year(refreshers)]
    years = tuple(
        cents(offer.base_usd + (offer.sign_on_usd if y == 0 else 0.0) + grant[y] + refresh[y]) for y in range(YEARS)
    )
    vested_then = math.fsum(s for m, s in grant_events if m <= leave_after_months) * offer.equity_usd
    vested_then += math.fsum(s for m, s in refreshers if m <= leave_after_months) * offer.refresher_usd
    leave = cents(offer.base_usd * leave_after_months / 12.0 + offer.sign_on_usd + vested_then)
    return OfferValue(years, tuple(grant), tuple(refresh), leave)


def read_offer(params: dict[str, Any], letter: str) -> Offer:
    table = schedules()
    return Offer(
        letter=letter,
        base_usd=read_float(params, f"{letter}_base_usd", 0.0, MAX_CASH_USD, 0.0),
        sign_on_usd=read_float(params, f"{letter}_sign_on_usd", 0.0, MAX_CASH_USD, 0.0),
        equity_usd=read_float(params, f"{letter}_equity_usd", 0.0, MAX_EQUITY_USD, 0.0),
        vesting=table[read_choice(params, f"{letter}_vesting", table, "even-monthly")],
        cliff_months=read_int(params, f"{letter}_cliff_months", 0, HORIZON_MONTHS, 12),
        refresher_usd=read_float(params, f"{letter}_refresher_usd", 0.0, MAX_EQUITY_USD, 0.0),
    )


def _label(letter: str) -> str:
    return f"Offer {letter.upper()}"


@calculation("offers")
def offers(params: dict[str, Any]) -> dict[str, Any]:
    """Two or three offers, each valued year by year over four years and in total, and what leaving early keeps."""
    reject_unknown(params, {"offers", "leave_after_months"} | {f"{x}_{f}" for x in LETTERS for f in FIELDS})
    count = read_int(params, "offers", 2, len(LETTERS), 2)
    leave = read_int(params, "leave_after_months", 1, HORIZON_MONTHS, 12)
    used = LETTERS[:count]
    terms = {x: read_offer(params, x) for x in used}
    values = {x: value_offer(terms[x], leave) for x in used}

    result: dict[str, Any] = {"offers": count, "leave_after_months": leave}
    derivations: dict[str, Derivation] = {}
    for x in LETTERS:
        v = values.get(x)
        for y in range(YEARS):
            result[f"{x}_year{y + 1}_usd"] = v.year_usd[y] if v else None
        result[f"{x}_total_usd"] = v.total_usd if v else None
        result[f"{x}_equity_total_usd"] = cents(math.fsum(v.grant_by_year_usd) + math.fsum(v.refresher_by_year_usd)) if v else None
        result[f"{x}_leave_usd"] = v.leave_usd if v else None
        result[f"{x}_vesting_name"] = terms[x].vesting.name if v else None
        if not v:
            continue
        o = terms[x]
        derivations[f"{x}_total_usd"] = Derivation(
            f"{_label(x)}: value over four years ({o.vesting.name.lower()}, {o.cliff_months}-month cliff)",
            "4 × base + sign-on + grant vested in four years + refreshers vested in four years",
            f"4 × {num(o.base_usd, 'usd')} + {num(o.sign_on_usd, 'usd')} + {num(math.fsum(v.grant_by_year_usd), 'usd')} + "
            f"{num(math.fsum(v.refresher_by_year_usd), 'usd')}",
            v.total_usd,
            "usd",
        )
        derivations[f"{x}_year1_usd"] = Derivation(
            f"{_label(x)}: value in year one",
            "base + sign-on + grant × share vesting in year one (refreshers start in year two)",
            f"{num(o.base_usd, 'usd')} + {num(o.sign_on_usd, 'usd')} + {num(o.equity_usd, 'usd')} × "
            f"{num(v.grant_by_year_usd[0] / o.equity_usd if o.equity_usd else 0.0, 'ratio')}",
            v.year_usd[0],
            "usd",
        )
    ranked = sorted(used, key=lambda x: (-values[x].total_usd, x))
    best, runner_up = ranked[0], ranked[1]
    result["b_minus_a_total_usd"] = cents(values["b"].total_usd - values["a"].total_usd)
    result["c_minus_a_total_usd"] = cents(values["c"].total_usd - values["a"].total_usd) if "c" in values else None
    result["best_offer"] = _label(best)
    result["best_margin_usd"] = cents(values[best].total_usd - values[runner_up].total_usd)
    result["curve"] = [
        {"year": y + 1, **{f"{x}_usd": values[x].year_usd[y] if x in values else None for x in LETTERS}}
        for y in range(YEARS)
    ]
    warnings = []
    for x in used:
        o = terms[x]
        if o.cliff_months > leave and o.equity_usd > 0:
            warnings.append(
                f"{_label(x)}: leaving after {leave} months comes before its {o.cliff_months}-month cliff, so none of "
                "its initial grant vests"
            )
    if result["best_margin_usd"] == 0:
        warnings.append(f"{_label(best)} and {_label(runner_up)} are worth the same over four years")
    derivations["b_minus_a_total_usd"] = Derivation(
        "four-year difference, Offer B minus Offer A",
        "total B − total A",
        f"{num(values['b'].total_usd, 'usd')} − {num(values['a'].total_usd, 'usd')}",
        result["b_minus_a_total_usd"],
        "usd",
    )
    return {**result, "derivations": derivations, "warnings": warnings}
