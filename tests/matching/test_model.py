"""Training: plain-number models that round-trip through JSON and refuse settings they were not made for."""

from __future__ import annotations

import dataclasses
import json
import logging

import duckdb
import pytest

from crm_hygiene.matching.inputs import match_input
from crm_hygiene.matching.model import (
    DEFAULT_EM_MAX_PAIRS,
    SettingsMismatchError,
    TrainedModel,
    _counted_u,
    configured_settings,
    em_pair_cap,
    train,
)
from crm_hygiene.matching.settings import comparisons, fix_counted_u, settings_fingerprint
from crm_hygiene.model.records import Entity
from tests.matching.matching_demo import MAX_PAIRS, frame, trained

ENTITIES = (Entity.CONTACT, Entity.COMPANY)


@pytest.mark.parametrize("entity", ENTITIES)
def test_trained_model_holds_m_and_u_for_every_level(entity: Entity) -> None:
    model = trained(entity)
    assert model.entity is entity
    assert model.settings_fingerprint == settings_fingerprint(entity)
    assert 0.0 < model.prior < 0.01
    assert list(model.comparisons) == [c.name for c in comparisons(entity)]
    for c in comparisons(entity):
        params = model.comparisons[c.name]
        assert len(params.m) == len(params.u) == len(params.labels) == c.creator.num_non_null_levels
        assert all(0.0 < p <= 1.0 for p in (*params.m, *params.u)), c.name
    assert model.metadata["records"] == len(frame(entity))
    assert model.metadata["max_pairs"] == MAX_PAIRS


@pytest.mark.parametrize("entity", ENTITIES)
def test_agreeing_levels_weigh_for_and_else_levels_against(entity: Entity) -> None:
    for name, params in trained(entity).comparisons.items():
        assert params.m[0] > params.u[0], f"{name}: exact agreement should be evidence for a match"
        assert params.m[-1] < params.u[-1], f"{name}: disagreement should be evidence against"


@pytest.mark.parametrize("entity", ENTITIES)
def test_model_round_trips_through_plain_json(entity: Entity) -> None:
    model = trained(entity)
    text = json.dumps(model.to_dict())
    assert "sql" not in text.lower(), "the stored model must not depend on a SQL dialect"
    assert TrainedModel.from_dict(json.loads(text)) == model
    assert TrainedModel.from_json(model.to_json()) == model


def test_configured_settings_carry_the_parameters() -> None:
    model = trained(Entity.CONTACT)
    settings = configured_settings(model)
    assert settings.probability_two_random_records_match == model.prior
    described = settings.create_settings_dict("duckdb")
    for comparison in described["comparisons"]:
        levels = [level for level in comparison["comparison_levels"] if not level.get("is_null_level")]
        params = model.comparisons[comparison["output_column_name"]]
        assert [level["m_probability"] for level in levels] == pytest.approx(list(params.m))
        assert [level["u_probability"] for level in levels] == pytest.approx(list(params.u))


def test_configured_settings_do_not_leak_into_fresh_settings() -> None:
    configured_settings(trained(Entity.CONTACT))
    fresh = comparisons(Entity.CONTACT)[0].creator.create_comparison_dict("duckdb")
    assert all("m_probability" not in level for level in fresh["comparison_levels"])


def test_fingerprint_mismatch_is_refused() -> None:
    stale = dataclasses.replace(trained(Entity.CONTACT), settings_fingerprint="0123456789abcdef")
    with pytest.raises(SettingsMismatchError, match="Retrain"):
        configured_settings(stale)


def test_model_for_other_entity_settings_is_refused() -> None:
    model = trained(Entity.COMPANY)
    swapped = dataclasses.replace(model, entity=Entity.CONTACT)
    with pytest.raises(SettingsMismatchError):
        configured_settings(swapped)


def test_missing_comparison_is_refused() -> None:
    model = trained(Entity.CONTACT)
    partial = dataclasses.replace(
        model, comparisons={k: v for k, v in model.comparisons.items() if k != "city"}
    )
    with pytest.raises(SettingsMismatchError, match="city"):
        configured_settings(partial)


def test_bad_model_dicts_are_refused() -> None:
    data = trained(Entity.CONTACT).to_dict()
    with pytest.raises(ValueError, match="format"):
        TrainedModel.from_dict({**data, "format": 99})
    with pytest.raises(ValueError, match="prior"):
        TrainedModel.from_dict({**data, "prior": 0.0})
    broken = json.loads(json.dumps(data))
    broken["comparisons"]["city"]["m"] = [0.5]
    with pytest.raises(ValueError, match="length"):
        TrainedModel.from_dict(broken)


def test_training_is_repeatable_and_logs_progress(caplog: pytest.LogCaptureFixture) -> None:
    inputs = match_input(Entity.COMPANY, frame(Entity.COMPANY))
    with caplog.at_level(logging.INFO, logger="crm_hygiene.matching.model"):
        again = train(Entity.COMPANY, inputs, max_pairs=MAX_PAIRS)
    first = trained(Entity.COMPANY)
    assert again.prior == first.prior
    assert again.comparisons == first.comparisons
    messages = [r.getMessage() for r in caplog.records if r.name == "crm_hygiene.matching.model"]
    assert any("estimating u" in m for m in messages) and any("EM on" in m for m in messages)


def test_training_needs_two_records() -> None:
    for rows in (0, 1):
        with pytest.raises(ValueError, match="at least 2"):
            train(Entity.CONTACT, frame(Entity.CONTACT).iloc[:rows])
    with pytest.raises(ValueError, match="max_pairs"):
        train(Entity.CONTACT, frame(Entity.CONTACT), max_pairs=0)


def test_training_with_an_all_null_column() -> None:
    source = frame(Entity.COMPANY)
    source["postcode"] = None
    model = train(Entity.COMPANY, source, max_pairs=MAX_PAIRS)
    # Nothing to learn for postcode: Splink's defaults stand in, and the model says so.
    assert any(level.startswith("postcode:") for level in model.metadata["untrained_levels"])
    assert len(model.comparisons["postcode"].m) == 3


def test_u_of_exact_identifier_levels_is_counted() -> None:
    model = trained(Entity.CONTACT)
    inputs = match_input(Entity.CONTACT, frame(Entity.CONTACT))
    emails = inputs["email_key"].dropna()
    sizes = emails.value_counts().to_numpy(dtype=float)
    expected = (sizes * (sizes - 1)).sum() / (len(emails) * (len(emails) - 1))
    assert model.metadata["counted_u"]["email"] == pytest.approx(expected)
    # Fixed before training: neither sampling nor EM moved it.
    assert model.comparisons["email"].u[0] == pytest.approx(expected)
    # The mailbox name at another domain: pairs agreeing on the handle but not on the address.
    both = inputs[["email_handle", "email_key"]].dropna()
    by_handle = both["email_handle"].value_counts().to_numpy(dtype=float)
    by_address = both.value_counts().to_numpy(dtype=float)
    agreeing = (by_handle * (by_handle - 1)).sum() - (by_address * (by_address - 1)).sum()
    if agreeing > 0:
        second = agreeing / (len(emails) * (len(emails) - 1))
        assert model.metadata["counted_u"]["email[1]"] == pytest.approx(second)
        assert model.comparisons["email"].u[1] == pytest.approx(second)
    assert set(model.metadata["counted_u"]) - {"email[1]"} == {"email", "phone"}
    assert set(trained(Entity.COMPANY).metadata["counted_u"]) == {"name", "website", "phone"}


def test_fix_counted_u_sticks_to_the_comparison() -> None:
    email = comparisons(Entity.CONTACT)[0]
    fix_counted_u(email, 1e-6)
    # Null levels (missing, a mailbox shared by people of other first names) come first.
    levels = [
        level
        for level in email.creator.create_comparison_dict("duckdb")["comparison_levels"]
        if not level.get("is_null_level")
    ]
    assert levels[0]["u_probability"] == 1e-6 and levels[0]["fix_u_probability"] is True
    fix_counted_u(email, 2e-6, level=1)
    levels = [
        level
        for level in email.creator.create_comparison_dict("duckdb")["comparison_levels"]
        if not level.get("is_null_level")
    ]
    assert levels[1]["u_probability"] == 2e-6 and levels[1]["fix_u_probability"] is True


def test_a_second_level_counts_only_pairs_the_first_did_not_take() -> None:
    con = duckdb.connect()
    con.sql(
        "CREATE TABLE t AS SELECT * FROM (VALUES ('a@x', 'a'), ('a@x', 'a'), ('a@y', 'a'), "
        "('b@x', NULL), ('c@z', 'c'), ('c@w', 'c'), (NULL, NULL)) v(k, h)"
    )
    # Handle pairs: a 3*2 + c 2*1 = 8 ordered pairs, of which a@x 2*1 share the address too;
    # 6 records have an address: 6*5 ordered pairs.
    assert _counted_u(con, "t", "h", after="k") == pytest.approx(6 / 30)
    con.sql("CREATE TABLE none_ AS SELECT * FROM (VALUES ('a@x', 'a'), ('a@x', 'a')) v(k, h)")
    assert _counted_u(con, "none_", "h", after="k") is None


def test_em_has_its_own_pair_cap() -> None:
    assert em_pair_cap(5_000_000) == DEFAULT_EM_MAX_PAIRS
    assert em_pair_cap(1_000) == 1_000  # never more than u sampling may use
    assert em_pair_cap(5_000_000, 2_000_000) == 2_000_000
    model = trained(Entity.CONTACT)
    assert model.metadata["em_max_pairs"] == em_pair_cap(MAX_PAIRS)
    with pytest.raises(ValueError, match="em_max_pairs"):
        train(Entity.CONTACT, frame(Entity.CONTACT), em_max_pairs=0)
