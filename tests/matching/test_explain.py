"""Explanations: plain words per comparison level, strongest evidence first, null levels left out."""

from __future__ import annotations

import re

import pandas as pd
import pytest
import splink.comparison_library as cl
from splink import SettingsCreator

from crm_hygiene.matching.explain import NO_EVIDENCE, explain
from crm_hygiene.matching.predict import pair_columns, predict_pairs
from crm_hygiene.model.records import Entity
from tests.matching.matching_demo import demo, frame, trained

# Contact levels, as Splink numbers them: email exact=2 / handle=1 / else=0;
# names exact=4, JW .92=3, .88=2, .7=1, else=0; phone exact=1 / else=0.


def contact_pairs(*rows: dict[str, float]) -> pd.DataFrame:
    """Pairs with every comparison at its null level unless a row sets gamma_/mw_ values."""
    columns = pair_columns(Entity.CONTACT)
    base = {c: (-1 if c.startswith("gamma_") else 0.0) for c in columns if c.startswith(("gamma_", "mw_"))}
    return pd.DataFrame(
        [{"unique_id_l": f"a{i}", "unique_id_r": f"b{i}", **base, **row} for i, row in enumerate(rows)]
    )


def test_the_example_sentence() -> None:
    pairs = contact_pairs(
        {
            "gamma_email": 3,
            "mw_email": 9.1,
            "gamma_last_name": 3,
            "mw_last_name": 3.4,
            "gamma_phone": 0,
            "mw_phone": -2.0,
        }
    )
    assert explain(pairs, Entity.CONTACT).tolist() == [
        "same email (+9.1), last names similar (+3.4), different phone (-2.0)"
    ]


def test_order_is_for_then_against_strongest_first() -> None:
    pairs = contact_pairs(
        {
            "gamma_phone": 0,
            "mw_phone": -1.0,
            "gamma_first_name": 0,
            "mw_first_name": -6.3,
            "gamma_email": 2,
            "mw_email": 12.0,
            "gamma_city": 2,
            "mw_city": 0.7,
        }
    )
    assert explain(pairs, Entity.CONTACT).iloc[0] == (
        "same mailbox name, other domain (+12.0), same city (+0.7), different first names (-6.3), different phone (-1.0)"
    )


def test_null_levels_and_zero_weights_are_left_out() -> None:
    pairs = contact_pairs({}, {"gamma_title": 0, "mw_title": 0.01}, {"gamma_title": 2, "mw_title": 4.2})
    assert explain(pairs, Entity.CONTACT).tolist() == [NO_EVIDENCE, NO_EVIDENCE, "same title (+4.2)"]


def test_one_text_per_distinct_row_on_the_same_index() -> None:
    one = {"gamma_email": 3, "mw_email": 16.3}
    other = {"gamma_email": 0, "mw_email": -3.0}
    pairs = contact_pairs(one, other, one, other).set_axis([10, 20, 30, 40])
    out = explain(pairs, Entity.CONTACT)
    assert out.index.tolist() == [10, 20, 30, 40]
    assert out.tolist() == ["same email (+16.3)", "different email (-3.0)"] * 2


def test_a_known_duplicate_is_explained() -> None:
    source = frame(Entity.CONTACT)
    pairs = predict_pairs(Entity.CONTACT, source, trained(Entity.CONTACT))
    truth = demo().truth[Entity.CONTACT]
    same = pairs["unique_id_l"].map(truth).to_numpy() == pairs["unique_id_r"].map(truth).to_numpy()
    known = pairs[same & (pairs["gamma_email"] == 3) & (pairs["gamma_last_name"] == 4)].head(1)
    assert len(known) == 1
    text = explain(known, trained(Entity.CONTACT)).iloc[0]
    assert "same email (+" in text and "same last name (+" in text
    weights = [float(w) for w in re.findall(r"\(([+-]\d+\.\d)\)", text)]
    positives = [w for w in weights if w > 0]
    assert positives == sorted(positives, reverse=True) and weights[: len(positives)] == positives


def test_company_explanations_cover_every_pair() -> None:
    pairs = predict_pairs(Entity.COMPANY, frame(Entity.COMPANY), trained(Entity.COMPANY))
    texts = explain(pairs, trained(Entity.COMPANY))
    assert len(texts) == len(pairs) and texts.str.len().gt(0).all()
    assert texts.str.contains(r"(?:same|similar) ").all()


def test_generic_phrases_from_other_settings() -> None:
    settings = SettingsCreator(
        link_type="dedupe_only", comparisons=[cl.JaroWinklerAtThresholds("site_name", [0.9, 0.7])]
    )
    pairs = pd.DataFrame({"gamma_site_name": [3, 2, 0, -1], "mw_site_name": [8.0, 4.0, -5.0, 0.0]})
    assert explain(pairs, settings).tolist() == [
        "same site name (+8.0)",
        "site name similar (+4.0)",
        "different site name (-5.0)",
        NO_EVIDENCE,
    ]


def test_bad_input_is_refused_and_empty_is_fine() -> None:
    with pytest.raises(ValueError, match="lack"):
        explain(pd.DataFrame({"gamma_email": [1]}), Entity.CONTACT)
    with pytest.raises(ValueError, match="not a level"):
        explain(contact_pairs({"gamma_phone": 5, "mw_phone": 1.0}), Entity.CONTACT)
    with pytest.raises(TypeError):
        explain(contact_pairs({}), 42)  # type: ignore[arg-type]
    empty = explain(contact_pairs({}).iloc[:0], Entity.CONTACT)
    assert empty.empty
