"""The vectorized string building blocks the generator is made of."""

from __future__ import annotations

import numpy as np
import pytest

from crm_hygiene.demo.mess import Mess
from crm_hygiene.demo.phones import Phones, draw_phones, write_phones
from crm_hygiene.demo.pools import COUNTRIES
from crm_hygiene.demo.vectors import constant, digits, fill, iso_dates, iso_timestamps, strings, typos


def test_digits_pads_and_cuts_to_width() -> None:
    assert list(digits(np.array([0, 7, 1234, 98765]), 5)) == ["00000", "00007", "01234", "98765"]
    assert list(digits(np.array([123456789]), 3)) == ["789"]


def test_fill_composes_templates_column_by_column() -> None:
    out = fill(
        "({a}) {b}-{c}", 2, a=strings(["415", "212"]), b=strings(["555", "555"]), c=strings(["0134", "0199"])
    )
    assert list(out) == ["(415) 555-0134", "(212) 555-0199"]
    assert list(fill("n/a", 2)) == ["n/a", "n/a"]


def test_constant_shares_one_object() -> None:
    values = constant(1000, "active")
    assert len({id(v) for v in values}) == 1


def test_iso_timestamps_and_dates_are_utc() -> None:
    assert list(iso_timestamps(np.array([0, 1_700_000_000]))) == [
        "1970-01-01T00:00:00Z",
        "2023-11-14T22:13:20Z",
    ]
    assert list(iso_dates(np.array([19_000, 0]))) == ["2022-01-08", "1970-01-01"]


def test_typos_change_each_value_by_one_slip_and_keep_the_first_letter() -> None:
    rng = np.random.default_rng(0)
    names = strings(["Jonathan", "Elizabeth", "Müller", "渡辺美咲", "Al"] * 200)
    slipped = typos(names, rng)
    for before, after in zip(names, slipped, strict=True):
        if len(before) < 4:
            assert after == before
            continue
        assert after[0] == before[0]
        assert abs(len(after) - len(before)) <= 1
        assert sorted(after) == sorted(before) or len(after) != len(before)
    assert (slipped != names).mean() > 0.7


def test_mess_draws_kinds_at_their_shares() -> None:
    mess = Mess({"upper": (0.2, 0.5), "missing": (0.1, 0.0)})
    is_copy = np.arange(20_000) >= 10_000
    kinds = mess.draw(np.random.default_rng(1), is_copy)
    assert abs((kinds[~is_copy] == "upper").mean() - 0.2) < 0.02
    assert abs((kinds[~is_copy] == "missing").mean() - 0.1) < 0.02
    assert abs((kinds[is_copy] == "upper").mean() - 0.5) < 0.02
    assert not (kinds[is_copy] == "missing").any()


def test_mess_shares_may_not_exceed_one() -> None:
    with pytest.raises(ValueError, match="add up to"):
        Mess({"upper": (0.7, 0.1), "lower": (0.5, 0.1)})


def test_phone_numbers_follow_national_plans() -> None:
    rng = np.random.default_rng(3)
    country = np.repeat(np.arange(len(COUNTRIES)), 200)
    phones: Phones = draw_phones(rng, country)
    e164 = phones.e164()
    lengths = {code: {len(v) for v in e164[country == i]} for i, code in enumerate(COUNTRIES)}
    assert lengths["US"] == {12}  # +1 and ten digits
    assert lengths["GB"] <= {12, 13}
    assert lengths["FR"] == {12}
    us = e164[country == COUNTRIES.index("US")]
    assert all(v[5] not in "01" for v in us)  # exchange codes never start with 0 or 1
    written = write_phones(phones, rng)
    assert len({v for v in written if v.startswith("+")}) > 100
