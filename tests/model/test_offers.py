"""Offer comparison: vesting instalments, cliffs, refreshers and the year-by-year value, against hand arithmetic."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sizing import api
from sizing.offers import VestingDataError, parse_schedules, schedules, vest_events, vested_by_year

EVEN_YEARLY = schedules()["even-yearly"]
EVEN_MONTHLY = schedules()["even-monthly"]


def run(**params) -> dict:
    answer = json.loads(api.run("offers", json.dumps(params)))
    assert "error" not in answer, answer
    return answer


def error(**params) -> dict:
    answer = json.loads(api.run("offers", json.dumps(params)))
    assert "error" in answer, answer
    return answer["error"]


def test_every_schedule_sums_to_one_over_four_years():
    for schedule in schedules().values():
        assert sum(share for _, share in vest_events(schedule, 12)) == pytest.approx(1.0)
        assert sum(vested_by_year(vest_events(schedule, 12))) == pytest.approx(1.0)


def test_twelve_month_cliff_shifts_nothing_for_an_even_yearly_schedule():
    # instalments at months 12, 24, 36, 48: the cliff at 12 is already the first vest date
    assert vest_events(EVEN_YEARLY, 12) == vest_events(EVEN_YEARLY, 0) == [(12, 0.25), (24, 0.25), (36, 0.25), (48, 0.25)]
    assert vested_by_year(vest_events(EVEN_YEARLY, 12)) == [0.25, 0.25, 0.25, 0.25]


def test_monthly_vesting_after_the_cliff():
    events = vest_events(EVEN_MONTHLY, 12)
    # months 1..11 wait for the cliff: twelve forty-eighths land together at month 12, then one forty-eighth a month
    at_cliff = [share for month, share in events if month == 12]
    assert len(at_cliff) == 12 and sum(at_cliff) == pytest.approx(12 / 48)
    assert [month for month, _ in events][12:15] == [13, 14, 15]
    assert all(share == pytest.approx(1 / 48) for _, share in events)
    # the lump falls inside year one, so the yearly totals do not move
    assert vested_by_year(events) == pytest.approx([0.25] * 4)


def test_a_cliff_past_the_first_year_moves_value_into_year_two():
    # eighteen-month cliff, monthly: nothing in year one; months 1..18 (18/48) at month 18, then 6 more in year two
    assert vested_by_year(vest_events(EVEN_MONTHLY, 18)) == pytest.approx([0.0, 24 / 48, 12 / 48, 12 / 48])


def test_refreshers_start_in_year_two():
    out = run(a_base_usd=100, a_refresher_usd=480, a_vesting="even-monthly", b_base_usd=100)
    # refreshers at months 12, 24, 36, each 480/48 = 10 a month from the month after the grant
    assert [out[f"a_year{y}_usd"] for y in (1, 2, 3, 4)] == pytest.approx([100, 100 + 120, 100 + 240, 100 + 360])
    assert out["a_equity_total_usd"] == pytest.approx(720)


def test_even_offer_year_by_year_and_total():
    out = run(a_base_usd=200_000, a_sign_on_usd=30_000, a_equity_usd=400_000, a_vesting="even-yearly", a_cliff_months=12)
    # year one: 200,000 + 30,000 + 400,000 / 4 = 330,000; later years 200,000 + 100,000
    assert [out[f"a_year{y}_usd"] for y in (1, 2, 3, 4)] == pytest.approx([330_000, 300_000, 300_000, 300_000])
    assert out["a_total_usd"] == pytest.approx(1_230_000)  # 4 × 200,000 + 30,000 + 400,000
    assert out["b_total_usd"] == 0 and out["b_minus_a_total_usd"] == pytest.approx(-1_230_000)
    assert out["best_offer"] == "Offer A" and out["best_margin_usd"] == pytest.approx(1_230_000)
    assert out["c_total_usd"] is None and out["c_minus_a_total_usd"] is None  # two offers by default


def test_back_loaded_against_even_with_the_same_grant():
    out = run(
        a_equity_usd=1_000_000, a_vesting="even-monthly",
        b_equity_usd=1_000_000, b_vesting="back-loaded",
    )
    # back-loaded 5/15/40/40 against 25 a year: the same total, very different years
    assert [out[f"b_year{y}_usd"] for y in (1, 2, 3, 4)] == pytest.approx([50_000, 150_000, 400_000, 400_000])
    assert out["a_total_usd"] == pytest.approx(out["b_total_usd"])
    assert out["b_minus_a_total_usd"] == pytest.approx(0.0)
    assert any("worth the same" in w for w in out["warnings"])


def test_leaving_early_keeps_sign_on_and_vested_equity_only():
    out = run(
        leave_after_months=11,
        a_base_usd=120_000, a_sign_on_usd=20_000, a_equity_usd=480_000, a_vesting="even-monthly", a_cliff_months=12,
        b_base_usd=120_000, b_equity_usd=480_000, b_vesting="even-monthly", b_cliff_months=0,
    )
    # A: 11 months of base (110,000) + the whole sign-on (clawback-free) + nothing vested before the cliff
    assert out["a_leave_usd"] == pytest.approx(130_000)
    # B: no cliff, 11 × 480,000 / 48 = 110,000 vested
    assert out["b_leave_usd"] == pytest.approx(220_000)
    assert any("Offer A" in w and "cliff" in w for w in out["warnings"])


def test_three_offers_and_the_curve():
    out = run(offers=3, a_base_usd=1, b_base_usd=2, c_base_usd=3)
    assert out["c_total_usd"] == 12 and out["c_minus_a_total_usd"] == 8
    assert out["best_offer"] == "Offer C" and out["best_margin_usd"] == 4
    assert out["curve"] == [{"year": y, "a_usd": 1, "b_usd": 2, "c_usd": 3} for y in (1, 2, 3, 4)]


def test_bad_inputs_name_their_field():
    assert error(a_base_usd=-1)["field"] == "a_base_usd"
    assert error(b_vesting="weekly")["field"] == "b_vesting"
    assert error(a_cliff_months=49)["field"] == "a_cliff_months"
    assert error(offers=4)["field"] == "offers"
    assert error(d_base_usd=1)["field"] == "d_base_usd"
    # offer C's fields are not read when only two offers are compared
    assert "error" not in json.loads(api.run("offers", json.dumps({"offers": 2, "c_base_usd": "junk"})))


def test_schedule_data_errors_name_the_schedule_and_field():
    bad = {"schedules": [
        {"id": "odd", "name": "Odd one", "year_fractions": [0.5, 0.5, 0.5, 0.5], "period_months": 2, "source": "a test"},
    ]}
    with pytest.raises(VestingDataError) as caught:
        parse_schedules(bad)
    problems = caught.value.problems
    assert "vesting.json: schedules[0] (odd).year_fractions: must sum to 1 (got 2)" in problems
    assert any(p.startswith("vesting.json: schedules[0] (odd).period_months") for p in problems)


money = st.floats(0, 1e6, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(
    base=money, sign_on=money, equity=money, refresher=money,
    vesting=st.sampled_from(sorted(schedules())), cliff=st.integers(0, 48), leave=st.integers(1, 48),
)
def test_totals_add_up(base, sign_on, equity, refresher, vesting, cliff, leave):
    out = run(
        a_base_usd=base, a_sign_on_usd=sign_on, a_equity_usd=equity, a_refresher_usd=refresher,
        a_vesting=vesting, a_cliff_months=cliff, leave_after_months=leave,
    )
    years = [out[f"a_year{y}_usd"] for y in (1, 2, 3, 4)]
    cent = 0.01  # every amount is rounded to the cent
    assert all(round(y, 2) == y for y in years)
    assert out["a_total_usd"] == pytest.approx(sum(years), abs=cent)
    # the grant vests in full within four years (the cliff is at most 48 months); refreshers only partly
    assert out["a_equity_total_usd"] <= equity + 3 * refresher + 8 * cent
    assert out["a_equity_total_usd"] >= equity - 8 * cent
    # leaving at month 48 or before keeps no more than everything paid in the four years
    assert out["a_leave_usd"] <= out["a_total_usd"] + 8 * cent
