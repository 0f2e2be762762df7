"""Dedup bookkeeping: stable entity ids, do-not-link pairs and match model versions."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy import event

from crm_hygiene.ledger import (
    DedupRegistry,
    EntityIdCycleError,
    Ledger,
    drop_do_not_link,
    format_entity_id,
)
from crm_hygiene.ledger.schema import entities

from .conftest import LedgerTarget

E1, E2, E3, E4 = (format_entity_id(n) for n in range(1, 5))


@pytest.fixture
def registry(ledger: Ledger) -> DedupRegistry:
    return ledger.registry


def clusters(groups: dict[Any, list[str]]) -> pd.DataFrame:
    """A matcher's output: one row per record with its (per-run) cluster label."""
    return pd.DataFrame(
        [(record, label) for label, records in groups.items() for record in records],
        columns=["record_id", "cluster"],
    )


def assign(registry: DedupRegistry, groups: dict[Any, list[str]], run_id: str, **kw: Any) -> dict[str, str]:
    tenant = kw.get("tenant", "acme")
    entity_type = kw.get("entity_type", "contact")
    result = registry.assign_entity_ids(tenant, entity_type, clusters(groups), run_id=run_id)
    assert list(result.columns) == ["record_id", "entity_id"]
    return dict(zip(result["record_id"], result["entity_id"], strict=True))


def stored(registry: DedupRegistry, tenant: str = "acme", entity_type: str = "contact") -> dict[str, str]:
    found = registry.entity_ids(tenant, entity_type)
    return dict(zip(found["record_id"], found["entity_id"], strict=True))


@contextmanager
def counted_statements(engine: sa.Engine) -> Iterator[list[str]]:
    """Every statement sent to the database while the block runs (one per executemany page)."""
    seen: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(statement.lstrip().upper())

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


# -- entity ids -------------------------------------------------------------------------------


def test_first_run_issues_one_new_id_per_cluster(registry: DedupRegistry) -> None:
    ids = assign(registry, {7: ["c-3", "c-1"], "x": ["c-2"], 0.5: ["c-4", "c-5"]}, "run-1")
    # Numbered by each cluster's smallest record id, not by the matcher's labels.
    assert ids == {"c-1": E1, "c-3": E1, "c-2": E2, "c-4": E3, "c-5": E3}
    assert E1 == "E0000000001"
    found = registry.entity_ids("acme", "contact")
    assert list(found.columns) == ["record_id", "entity_id", "assigned_at"]
    assert list(found["record_id"]) == ["c-1", "c-2", "c-3", "c-4", "c-5"]
    assert str(found["assigned_at"].dt.tz) == "UTC"
    assert registry.resolve_entity_ids("acme", "contact", [E1, E2, E3]) == {E1: E1, E2: E2, E3: E3}


def test_result_follows_input_order_and_keeps_record_id_values(registry: DedupRegistry) -> None:
    frame = pd.DataFrame({"record_id": ["b", "a", "c", "a"], "cluster": [1, 2, 1, 2]})
    result = registry.assign_entity_ids("acme", "contact", frame, run_id="run-1")
    assert list(result["record_id"]) == ["b", "a", "c"]
    assert list(result["entity_id"]) == [E2, E1, E2]


def test_rerun_with_other_labels_keeps_every_id(registry: DedupRegistry) -> None:
    first = assign(registry, {1: ["a", "b"], 2: ["c"], 3: ["d", "e", "f"]}, "run-1")
    before = registry.entity_ids("acme", "contact")
    second = assign(registry, {"q": ["f", "d", "e"], "r": ["b", "a"], "s": ["c"]}, "run-2")
    assert second == first
    # Nothing changed, so nothing was rewritten: assignment times are those of the first run.
    pd.testing.assert_frame_equal(registry.entity_ids("acme", "contact"), before)


def test_merge_keeps_the_oldest_id_and_retires_the_other(registry: DedupRegistry) -> None:
    assign(registry, {1: ["m", "n"]}, "run-1")
    assign(registry, {1: ["m", "n"], 2: ["a", "b", "c"]}, "run-2")
    assert stored(registry) == {"m": E1, "n": E1, "a": E2, "b": E2, "c": E2}
    # The bigger group with the smaller record ids still gives way to the older id.
    merged = assign(registry, {9: ["a", "b", "c", "m", "n"]}, "run-3")
    assert set(merged.values()) == {E1}
    assert registry.resolve_entity_ids("acme", "contact", [E2, E1]) == {E2: E1, E1: E1}


def test_resolve_follows_successor_chains(registry: DedupRegistry) -> None:
    assign(registry, {1: ["p"]}, "run-1")
    assign(registry, {1: ["p"], 2: ["q"], 3: ["r"]}, "run-2")
    assert stored(registry) == {"p": E1, "q": E2, "r": E3}
    assign(registry, {1: ["p"], 2: ["q", "r"]}, "run-3")  # E3 -> E2
    assign(registry, {1: ["p", "q", "r"]}, "run-4")  # E2 -> E1
    assert registry.resolve_entity_ids("acme", "contact", [E3, E2, E1, E3]) == {E3: E1, E2: E1, E1: E1}
    assert set(stored(registry).values()) == {E1}


def test_a_split_gives_the_leaving_records_a_new_id(registry: DedupRegistry) -> None:
    assign(registry, {1: ["a", "b", "c"], 2: ["z"]}, "run-1")
    split = assign(registry, {1: ["a", "b"], 2: ["c"], 3: ["z"]}, "run-2")
    # The id stays where most of its records are; the record that left gets the next number.
    assert split == {"a": E1, "b": E1, "c": E3, "z": E2}
    assert registry.resolve_entity_ids("acme", "contact", [E1, E3]) == {E1: E1, E3: E3}


def test_records_leaving_into_a_cluster_with_an_id_take_that_id(registry: DedupRegistry) -> None:
    assign(registry, {1: ["a", "b", "c"], 2: ["d"]}, "run-1")
    moved = assign(registry, {1: ["a", "b"], 2: ["c", "d"]}, "run-2")
    assert moved == {"a": E1, "b": E1, "c": E2, "d": E2}
    # Neither id was merged away: E1 still names a and b.
    assert registry.resolve_entity_ids("acme", "contact", [E1, E2]) == {E1: E1, E2: E2}


def test_an_even_split_keeps_the_id_with_the_smallest_record(registry: DedupRegistry) -> None:
    assign(registry, {1: ["a", "b", "c", "d"]}, "run-1")
    assert assign(registry, {"x": ["c", "d"], "y": ["b", "a"]}, "run-2") == {
        "a": E1,
        "b": E1,
        "c": E2,
        "d": E2,
    }


def test_records_absent_from_a_run_keep_their_ids(registry: DedupRegistry) -> None:
    assign(registry, {1: ["a"], 2: ["b", "c"], 3: ["d"], 4: ["e"]}, "run-1")
    assert stored(registry) == {"a": E1, "b": E2, "c": E2, "d": E3, "e": E4}
    before = registry.entity_ids("acme", "contact").set_index("record_id")
    # Only a, b and e are in this run; b joins a's older entity.
    assign(registry, {1: ["b", "a"], 2: ["e"]}, "run-2")
    after = registry.entity_ids("acme", "contact").set_index("record_id")
    assert after["entity_id"].to_dict() == {"a": E1, "b": E1, "c": E2, "d": E3, "e": E4}
    untouched = ["a", "c", "d", "e"]
    assert after.loc[untouched].equals(before.loc[untouched])
    # c still carries E2, so E2 is not retired even though b left it for an older id.
    assert registry.resolve_entity_ids("acme", "contact", [E2]) == {E2: E2}


def test_tenants_and_entity_types_are_kept_apart(registry: DedupRegistry) -> None:
    acme = assign(registry, {1: ["a", "b"]}, "run-1")
    globex = assign(registry, {1: ["a"], 2: ["b"]}, "run-1", tenant="globex")
    companies = assign(registry, {1: ["b"], 2: ["a"], 3: ["c"]}, "run-1", entity_type="company")
    # Each (tenant, entity type) numbers its own ids.
    assert acme == {"a": E1, "b": E1}
    assert globex == {"a": E1, "b": E2}
    assert companies == {"a": E1, "b": E2, "c": E3}
    assign(registry, {1: ["a", "b"]}, "run-2", tenant="globex")
    assert registry.resolve_entity_ids("globex", "contact", [E2]) == {E2: E1}
    assert stored(registry) == {"a": E1, "b": E1}
    with pytest.raises(ValueError, match=r"unknown entity ids \['E0000000002'\]"):
        registry.resolve_entity_ids("acme", "contact", [E2])
    assert registry.resolve_entity_ids("acme", "company", [E3]) == {E3: E3}
    assert registry.entity_ids("initech", "contact").empty


def test_a_successor_loop_is_reported_not_followed(ledger: Ledger, registry: DedupRegistry) -> None:
    assign(registry, {1: ["a"], 2: ["b"], 3: ["c"]}, "run-1")
    # Only a hand edit (or corruption) can make a loop; the registry itself never does.
    links = {E1: E2, E2: E3, E3: E1}
    with ledger.engine.begin() as connection:
        connection.execute(
            sa.update(entities)
            .where(entities.c.tenant == "acme", entities.c.entity_id.in_(links))
            .values(successor_id=sa.case(links, value=entities.c.entity_id))
        )
    with pytest.raises(
        EntityIdCycleError, match="loop: E0000000001 -> E0000000002 -> E0000000003 -> E0000000001"
    ):
        registry.resolve_entity_ids("acme", "contact", [E1])


def test_bad_input_is_refused_before_writing(registry: DedupRegistry) -> None:
    with pytest.raises(ValueError, match=r"more than one cluster: \['a'\]"):
        assign(registry, {1: ["a", "b"], 2: ["a"]}, "run-1")
    with pytest.raises(ValueError, match="entity_type must be one of"):
        assign(registry, {1: ["a"]}, "run-1", entity_type="contacts")
    with pytest.raises(ValueError, match=r"lacks columns \['cluster'\]"):
        registry.assign_entity_ids("acme", "contact", pd.DataFrame({"record_id": ["a"]}), run_id="run-1")
    with pytest.raises(ValueError, match="empty record_id or cluster"):
        registry.assign_entity_ids(
            "acme", "contact", pd.DataFrame({"record_id": ["a"], "cluster": [None]}), run_id="run-1"
        )
    assert registry.entity_ids("acme", "contact").empty
    empty = registry.assign_entity_ids(
        "acme", "contact", pd.DataFrame({"record_id": [], "cluster": []}), run_id="run-1"
    )
    assert empty.empty and list(empty.columns) == ["record_id", "entity_id"]


def test_20k_records_are_assigned_set_based(ledger_target: LedgerTarget, ledger: Ledger) -> None:
    registry = ledger.registry
    records = [f"c-{i:05d}" for i in range(20_000)]
    frame = pd.DataFrame({"record_id": records, "cluster": [i // 3 for i in range(20_000)]})
    with counted_statements(ledger.engine) as statements:
        started = time.perf_counter()
        first = registry.assign_entity_ids("acme", "contact", frame, run_id="run-1")
        elapsed = time.perf_counter() - started
    assert first["entity_id"].nunique() == 6_667
    assert first["entity_id"].iloc[-1] == format_entity_id(6_667)
    # Batched reads and multi-row writes, never a statement per record.
    assert len(statements) <= 100, len(statements)
    if ledger_target.schema is None:
        assert elapsed < 15, f"20,000 records took {elapsed:.1f}s on SQLite"

    # A rerun with other labels, rows shuffled and two neighbouring clusters merged.
    rerun = frame.sample(frac=1.0, random_state=7).assign(cluster=lambda f: "k" + f["cluster"].astype(str))
    rerun.loc[rerun["cluster"].isin(["k0", "k1"]), "cluster"] = "k0"
    with counted_statements(ledger.engine) as statements:
        second = registry.assign_entity_ids("acme", "contact", rerun, run_id="run-2")
    assert len(statements) <= 20, len(statements)
    # The three moved records: one write into the registry (its staged rows go to a temporary table).
    staged = ('INSERT INTO "TEMP".', 'INSERT INTO "PG_TEMP".', "INSERT INTO TEMP.", "INSERT INTO PG_TEMP.")
    writes = [s for s in statements if s.startswith("INSERT") and not s.startswith(staged)]
    assert len(writes) == 1, writes
    by_record = dict(zip(second["record_id"], second["entity_id"], strict=True))
    assert {by_record[r] for r in records[:6]} == {E1}
    assert dict(zip(first["record_id"][6:], first["entity_id"][6:], strict=True)) == {
        r: by_record[r] for r in records[6:]
    }
    assert registry.resolve_entity_ids("acme", "contact", [E2]) == {E2: E1}
    assert len(registry.entity_ids("acme", "contact")) == 20_000


# -- do-not-link pairs --------------------------------------------------------------------------


def test_do_not_link_is_symmetric_and_idempotent(registry: DedupRegistry) -> None:
    added = registry.add_do_not_link(
        "acme",
        "contact",
        [("b", "a"), ("a", "b"), ("c", "d")],
        reason="different people",
        decided_by="revops",
    )
    assert added == 2
    assert registry.add_do_not_link("acme", "contact", [("a", "b")], reason="again", decided_by="x") == 0
    assert (
        registry.add_do_not_link(
            "acme", "contact", iter([("d", "c"), ("a", "e")]), reason="r", decided_by="x"
        )
        == 1
    )
    pairs = registry.do_not_link_pairs("acme", "contact")
    assert list(pairs.columns) == ["record_id_l", "record_id_r"]
    assert pairs.values.tolist() == [["a", "b"], ["a", "e"], ["c", "d"]]
    assert registry.do_not_link_pairs("globex", "contact").empty
    assert registry.do_not_link_pairs("acme", "company").empty
    with pytest.raises(ValueError, match="kept apart from itself"):
        registry.add_do_not_link("acme", "contact", [("a", "a")], reason="r", decided_by="x")
    with pytest.raises(ValueError, match="decided_by"):
        registry.add_do_not_link("acme", "contact", [("a", "z")], reason="r", decided_by="")


def test_do_not_link_pairs_filter_candidates(registry: DedupRegistry) -> None:
    registry.add_do_not_link("acme", "contact", [("b", "a")], reason="rejected merge", decided_by="revops")
    registry.add_do_not_link("globex", "contact", [("c", "d")], reason="other tenant", decided_by="revops")
    candidates = pd.DataFrame(
        {"unique_id_l": ["a", "b", "c", "a"], "unique_id_r": ["b", "a", "d", "c"], "p": [0.9, 0.8, 0.7, 0.6]}
    )
    kept = drop_do_not_link(candidates, registry.do_not_link_pairs("acme", "contact"))
    assert kept[["unique_id_l", "unique_id_r"]].values.tolist() == [["c", "d"], ["a", "c"]]
    assert list(kept.index) == [2, 3]


def test_drop_do_not_link_is_pure_and_order_independent() -> None:
    forbidden = pd.DataFrame({"record_id_l": ["2", "x"], "record_id_r": ["10", "y"]})
    candidates = pd.DataFrame({"left": [10, 2, 2, 3], "right": [2, 10, 3, 10]})
    kept = drop_do_not_link(candidates, forbidden, left="left", right="right")
    # Ids compare as text, so the numeric candidates match the stored "2"/"10" either way round.
    assert kept.values.tolist() == [[2, 3], [3, 10]]
    assert drop_do_not_link(candidates, forbidden.iloc[:0], left="left", right="right").equals(candidates)
    empty = candidates.iloc[:0]
    assert drop_do_not_link(empty, forbidden, left="left", right="right").empty
    with pytest.raises(ValueError, match="lacks columns"):
        drop_do_not_link(candidates, forbidden)


# -- match models -------------------------------------------------------------------------------

PARAMETERS = {
    "probability_two_random_records_match": 0.0004,
    "comparisons": {
        "email": {"levels": [{"label": "exact", "m": 0.91, "u": 0.0001}, {"label": "null", "m": None}]},
        "name": {"levels": [{"label": "jw>0.9", "m": 0.7, "u": 0.02}]},
    },
}


def test_model_versions_increment_and_load(registry: DedupRegistry) -> None:
    assert registry.load_match_model("acme", "contact") is None
    assert registry.match_model_versions("acme", "contact") == []
    first = registry.save_match_model(
        "acme", "contact", PARAMETERS, settings_fingerprint="s-1", trained_on=5_000
    )
    second = registry.save_match_model(
        "acme",
        "contact",
        {"probability_two_random_records_match": 0.001},
        settings_fingerprint="s-2",
        trained_on=6_000,
        metrics={"precision": 0.97, "recall": 0.88},
    )
    assert (first, second) == (1, 2)

    latest = registry.load_match_model("acme", "contact")
    assert latest is not None
    assert (latest.version, latest.settings_fingerprint, latest.trained_on) == (2, "s-2", 6_000)
    assert latest.metrics == {"precision": 0.97, "recall": 0.88}
    assert latest.created_at.utcoffset().total_seconds() == 0

    old = registry.load_match_model("acme", "contact", version=1)
    assert old is not None
    assert (old.parameters, old.metrics, old.tenant, old.entity_type) == (PARAMETERS, None, "acme", "contact")
    assert registry.load_match_model("acme", "contact", version=3) is None
    assert [m.version for m in registry.match_model_versions("acme", "contact")] == [1, 2]


def test_model_versions_are_per_tenant_and_entity_type(registry: DedupRegistry) -> None:
    registry.save_match_model("acme", "contact", PARAMETERS, settings_fingerprint="s-1", trained_on=1)
    registry.save_match_model("acme", "contact", PARAMETERS, settings_fingerprint="s-1", trained_on=2)
    assert (
        registry.save_match_model("globex", "contact", {"p": 1}, settings_fingerprint="g", trained_on=3) == 1
    )
    assert registry.save_match_model("acme", "company", {"p": 2}, settings_fingerprint="c", trained_on=4) == 1
    globex = registry.load_match_model("globex", "contact")
    assert globex is not None and (globex.version, globex.parameters) == (1, {"p": 1})
    assert registry.load_match_model("globex", "contact", version=2) is None
    assert registry.load_match_model("initech", "contact") is None
    assert [m.trained_on for m in registry.match_model_versions("acme", "contact")] == [1, 2]


def test_model_input_is_checked(registry: DedupRegistry) -> None:
    with pytest.raises(ValueError, match="parameters must be a dict"):
        registry.save_match_model("acme", "contact", [1, 2], settings_fingerprint="s", trained_on=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cannot encode set"):
        registry.save_match_model("acme", "contact", {"x": {1}}, settings_fingerprint="s", trained_on=1)
    with pytest.raises(ValueError, match="trained_on"):
        registry.save_match_model("acme", "contact", {}, settings_fingerprint="s", trained_on=-1)
    with pytest.raises(ValueError, match="settings_fingerprint"):
        registry.save_match_model("acme", "contact", {}, settings_fingerprint="", trained_on=1)
    assert registry.match_model_versions("acme", "contact") == []


def test_concurrent_saves_get_distinct_versions(ledger_target: LedgerTarget) -> None:
    with ledger_target.open() as setup:
        setup.registry.save_match_model("acme", "contact", {}, settings_fingerprint="s", trained_on=0)

    def trainer(number: int) -> list[int]:
        # Each writer opens its own ledger, as separate processes would.
        with ledger_target.open() as own:
            return [
                own.registry.save_match_model(
                    "acme", "contact", {"n": number}, settings_fingerprint="s", trained_on=number
                )
                for _ in range(3)
            ]

    with ThreadPoolExecutor(4) as pool:
        versions = [v for batch in pool.map(trainer, range(4)) for v in batch]
    assert sorted(versions) == list(range(2, 14))
