"""Prediction with stored parameters: same pairs as fresh training, accurate on the demo truth,
role addresses are no identity, incremental matching scores only new pairs, edge cases hold."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from crm_hygiene.matching.evaluate import pairwise_scores
from crm_hygiene.matching.inputs import match_input
from crm_hygiene.matching.model import TrainedModel, fit_linker
from crm_hygiene.matching.predict import (
    cluster,
    pair_columns,
    predict_and_cluster,
    predict_new,
    predict_pairs,
)
from crm_hygiene.matching.session import SplinkSession
from crm_hygiene.model.records import Entity
from crm_hygiene.policy.schema import MergePolicy
from tests.matching.matching_demo import MAX_PAIRS, demo, frame, trained

# The shipped policy's thresholds, which the prediction defaults follow.
AUTO_MERGE_THRESHOLD = MergePolicy().auto_merge_threshold
REVIEW_THRESHOLD = MergePolicy().review_threshold

ENTITIES = (Entity.CONTACT, Entity.COMPANY)


def stored(entity: Entity) -> TrainedModel:
    """The trained model as it comes back from storage."""
    return TrainedModel.from_json(trained(entity).to_json())


@pytest.mark.parametrize("entity", ENTITIES)
def test_stored_parameters_predict_what_fresh_training_predicts(entity: Entity) -> None:
    inputs = match_input(entity, frame(entity))
    with SplinkSession() as session:
        linker, _, _ = fit_linker(
            entity, inputs, session, max_pairs=MAX_PAIRS, seed=trained(entity).metadata["seed"]
        )
        fresh = linker.inference.predict(threshold_match_probability=0.01, warning_mode="never")
        fresh = fresh.as_pandas_dataframe()

    pairs = predict_pairs(entity, inputs, stored(entity), threshold=0.01)
    key = ["unique_id_l", "unique_id_r"]
    fresh = fresh.sort_values(key).reset_index(drop=True)
    assert len(pairs) == len(fresh) > 0
    assert pairs[key].to_numpy().tolist() == fresh[key].to_numpy().tolist()
    np.testing.assert_allclose(pairs["match_weight"], fresh["match_weight"], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(pairs["match_probability"], fresh["match_probability"], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("entity", ENTITIES)
def test_pair_output_columns_and_weights_add_up(entity: Entity) -> None:
    model = stored(entity)
    pairs = predict_pairs(entity, frame(entity), model)
    assert list(pairs.columns) == pair_columns(entity)
    assert (pairs["unique_id_l"] < pairs["unique_id_r"]).all()
    assert (pairs["match_probability"] >= REVIEW_THRESHOLD).all()
    prior_weight = np.log2(model.prior / (1 - model.prior))
    total = prior_weight + pairs.filter(like="mw_").sum(axis=1)
    np.testing.assert_allclose(total, pairs["match_weight"], atol=1e-6)


@pytest.mark.parametrize("entity", ENTITIES)
def test_accuracy_on_the_demo_truth(entity: Entity, capsys: pytest.CaptureFixture[str]) -> None:
    source = frame(entity)
    pairs, clusters = predict_and_cluster(entity, source, stored(entity), threshold=REVIEW_THRESHOLD)
    truth = demo().truth[entity]
    at_auto = pairwise_scores(clusters.set_index("record_id")["cluster"], truth)
    review = cluster(source["id"], pairs, REVIEW_THRESHOLD)
    at_review = pairwise_scores(review.set_index("record_id")["cluster"], truth)
    with capsys.disabled():
        print(
            f"\n{entity.value}: at {AUTO_MERGE_THRESHOLD}: P={at_auto.precision:.4f} R={at_auto.recall:.4f} "
            f"F1={at_auto.f1:.4f}; at {REVIEW_THRESHOLD}: P={at_review.precision:.4f} R={at_review.recall:.4f} "
            f"F1={at_review.f1:.4f} ({at_auto.true_pairs} true pairs)"
        )
    assert at_auto.precision >= 0.99
    assert at_auto.f1 >= 0.9


def test_blocking_stays_near_linear() -> None:
    for entity in ENTITIES:
        source = frame(entity)
        scored = predict_pairs(entity, source, stored(entity), threshold=0.0)
        assert len(scored) < 10 * len(source), (
            f"{entity.value}: {len(scored)} pairs for {len(source)} records"
        )


def test_role_addresses_never_match_on_email_alone() -> None:
    source = frame(Entity.CONTACT).iloc[:400].copy()
    # Two different people share one address; their last name and city bring them into one
    # block, so the pair is scored and the e-mail level can be seen.
    a, b = source.index[0], source.index[1]
    source.loc[[a, b], ["first_name_key", "last_name_key"]] = [["anna", "haddad"], ["amir", "haddad"]]
    for column in ("phone_e164", "company_id", "company_key", "company_domain", "title"):
        source.loc[[a, b], column] = None
    source.loc[[a, b], "city"] = "Springfield"
    ids = sorted(source.loc[[a, b], "id"])

    def pair_of(email: str, role: bool, first_b: str = "amir") -> pd.Series:
        edited = source.copy()
        edited.loc[b, "first_name_key"] = first_b
        edited.loc[[a, b], "email_key"] = email
        edited.loc[[a, b], "email_valid"] = True
        edited.loc[[a, b], "email_is_role"] = role
        pairs = predict_pairs(Entity.CONTACT, edited, stored(Entity.CONTACT), threshold=0.0)
        found = pairs[(pairs["unique_id_l"] == ids[0]) & (pairs["unique_id_r"] == ids[1])]
        assert len(found) == 1
        return found.iloc[0]

    # The control: a personal address counts as identity (between alike first names: one
    # shared by people of different first names weighs nothing, as a family's mailbox).
    personal = pair_of("a.haddad@acme.com", role=False, first_b="ana")
    assert personal["gamma_email"] == 3 and personal["mw_email"] > 10
    assert pair_of("a.haddad@acme.com", role=False)["mw_email"] == 0
    role = pair_of("sales@acme.com", role=True)
    assert role["gamma_email"] == -1 and role["mw_email"] == 0
    assert role["match_probability"] < REVIEW_THRESHOLD


def test_incremental_matching_finds_a_new_duplicate_without_rescoring() -> None:
    entity = Entity.CONTACT
    source, model = frame(entity), stored(entity)
    full = predict_pairs(entity, source, model, threshold=REVIEW_THRESHOLD)
    # A known duplicate the full run merges: its second record arrives late, with 20 others.
    truth = demo().truth[entity]
    same = full["unique_id_l"].map(truth).to_numpy() == full["unique_id_r"].map(truth).to_numpy()
    known = full[same & (full["match_probability"] >= AUTO_MERGE_THRESHOLD)].iloc[0]
    kept, arriving = known["unique_id_l"], known["unique_id_r"]
    new_ids = {arriving, *source["id"].iloc[-20:]} - {kept}
    new = source[source["id"].isin(new_ids)]
    existing = source[~source["id"].isin(new_ids)]

    pairs = predict_new(entity, existing, new, model, threshold=REVIEW_THRESHOLD)

    involved = pairs["unique_id_l"].isin(new_ids) | pairs["unique_id_r"].isin(new_ids)
    assert involved.all(), "an existing x existing pair was scored again"
    found = pairs[(pairs[["unique_id_l", "unique_id_r"]].apply(set, axis=1) == {kept, arriving})]
    assert len(found) == 1 and found["match_probability"].iloc[0] >= AUTO_MERGE_THRESHOLD
    # The same scores a full run gives those pairs: TF and table-level columns cover all records.
    full = full[full["unique_id_l"].isin(new_ids) | full["unique_id_r"].isin(new_ids)]
    key = ["unique_id_l", "unique_id_r"]
    merged = full.merge(pairs, on=key, how="outer", suffixes=("_full", "_new"), indicator=True)
    assert (merged["_merge"] == "both").all()
    np.testing.assert_allclose(merged["match_weight_full"], merged["match_weight_new"], atol=1e-9)


def test_incremental_matching_edge_cases() -> None:
    entity = Entity.COMPANY
    source, model = frame(entity), stored(entity)
    assert predict_new(entity, source, source.iloc[:0], model).empty
    only_new = predict_new(entity, source.iloc[:0], source, model)
    assert len(only_new) == len(predict_pairs(entity, source, model))
    with pytest.raises(ValueError, match="both existing and new"):
        predict_new(entity, source, source.iloc[:3], model)
    inputs = match_input(entity, source)
    with pytest.raises(ValueError, match="normalized frame"):
        predict_new(entity, inputs.iloc[:10], inputs.iloc[10:], model)


@pytest.mark.parametrize("rows", [0, 1])
def test_empty_and_one_row_frames_give_no_pairs(rows: int) -> None:
    for entity in ENTITIES:
        source = frame(entity).iloc[:rows]
        pairs = predict_pairs(entity, source, stored(entity))
        assert pairs.empty and list(pairs.columns) == pair_columns(entity)
        pairs, clusters = predict_and_cluster(entity, source, stored(entity))
        assert pairs.empty and clusters["record_id"].tolist() == source["id"].tolist()


def test_all_null_column_predicts() -> None:
    source = frame(Entity.CONTACT)
    source["phone_e164"] = None
    pairs = predict_pairs(Entity.CONTACT, source, stored(Entity.CONTACT))
    assert not pairs.empty
    assert (pairs["gamma_phone"] == -1).all() and (pairs["mw_phone"] == 0).all()


def test_wrong_model_or_threshold_is_refused() -> None:
    with pytest.raises(ValueError, match="company model cannot score contact"):
        predict_pairs(Entity.CONTACT, frame(Entity.CONTACT), stored(Entity.COMPANY))
    with pytest.raises(ValueError, match="threshold"):
        predict_pairs(Entity.COMPANY, frame(Entity.COMPANY), stored(Entity.COMPANY), threshold=1.5)


def test_cluster_joins_pairs_at_the_threshold() -> None:
    pairs = pd.DataFrame(
        {
            "unique_id_l": ["a", "b", "d"],
            "unique_id_r": ["b", "c", "e"],
            "match_probability": [0.995, 0.99, 0.4],
        }
    )
    clusters = cluster(["a", "b", "c", "d", "e", "f"], pairs, 0.99).set_index("record_id")["cluster"]
    assert clusters.to_dict() == {"a": "a", "b": "a", "c": "a", "d": "d", "e": "e", "f": "f"}
    loose = cluster(["a", "b", "c", "d", "e", "f"], pairs, 0.3).set_index("record_id")["cluster"]
    assert loose["e"] == "d"


def test_cluster_edge_cases() -> None:
    no_pairs = pd.DataFrame(columns=["unique_id_l", "unique_id_r", "match_probability"])
    assert cluster([], no_pairs).empty
    assert cluster(["x", "y"], no_pairs)["cluster"].tolist() == ["x", "y"]
    stray = pd.DataFrame({"unique_id_l": ["x"], "unique_id_r": ["zz"], "match_probability": [1.0]})
    with pytest.raises(ValueError, match="not in record_ids"):
        cluster(["x", "y"], stray)
    with pytest.raises(ValueError, match="repeat"):
        cluster(["x", "x"], no_pairs)


def test_predict_and_cluster_agrees_with_the_two_steps() -> None:
    entity = Entity.COMPANY
    source, model = frame(entity), stored(entity)
    pairs, clusters = predict_and_cluster(entity, source, model)
    assert pairs.equals(predict_pairs(entity, source, model))
    assert clusters.equals(cluster(source["id"], pairs, AUTO_MERGE_THRESHOLD))


def test_shared_connection_is_left_clean() -> None:
    con = duckdb.connect()
    try:
        entity = Entity.COMPANY
        source, model = frame(entity), stored(entity)
        first = predict_pairs(entity, source, model, con=con)
        predict_and_cluster(entity, source, model, con=con)
        predict_new(entity, source.iloc[:300], source.iloc[300:], model, con=con)
        assert predict_pairs(entity, source, model, con=con).equals(first)
        left = con.sql(
            "SELECT table_name FROM duckdb_tables() UNION ALL SELECT view_name FROM duckdb_views() WHERE NOT internal"
        ).fetchall()
        assert left == []
    finally:
        con.close()
