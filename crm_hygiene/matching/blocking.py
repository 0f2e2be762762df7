"""Blocking rules sized to the table: loose rules where they are affordable.

The entity's blocking rules (`settings.blocking_rules`) pair records on keys few records share,
so that a million-record CRM stays near-linear. A small file can afford more: pairing on the
last name alone finds the duplicates whose first name, e-mail and city all changed, which no
two-key rule reaches. `affordable_rules` adds each loose rule of the entity whose pairs fit a
budget proportional to the table (`PAIRS_PER_RECORD`), counted exactly (one GROUP BY per rule)
before anything is compared.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import duckdb
from splink import block_on

from crm_hygiene.model.records import Entity

if TYPE_CHECKING:
    from splink.internals.blocking_rule_creator import BlockingRuleCreator

# A loose rule may add at most this many pairs per record: at 50,000 records 2.5 M pairs, which
# DuckDB compares in seconds; a common last name in a million-record CRM makes far more.
PAIRS_PER_RECORD = 50

# The input columns blocked on alone, per entity, in the order they are tried.
LOOSE_KEYS: dict[Entity, tuple[str, ...]] = {
    Entity.CONTACT: ("last_name_key", "first_name_key", "email_handle"),
    Entity.COMPANY: ("name_rarest_token", "name_other_tokens", "postcode"),
}


def pair_count(con: duckdb.DuckDBPyConnection, table: str, column: str) -> int:
    """Pairs of records of `table` that agree on `column` (both non-null)."""
    ((pairs,),) = con.sql(
        f'SELECT coalesce(sum(n * (n - 1) // 2), 0) FROM (SELECT count(*) AS n FROM "{table}" '
        f'WHERE "{column}" IS NOT NULL GROUP BY "{column}")'
    ).fetchall()
    return int(pairs)


def affordable_rules(
    con: duckdb.DuckDBPyConnection,
    table: str,
    entity: Entity,
    records: int,
    say: Callable[[str], None] | None = None,
) -> list[BlockingRuleCreator]:
    """The loose rules of `entity` whose pairs fit `PAIRS_PER_RECORD * records`, in order."""
    budget = PAIRS_PER_RECORD * max(records, 1)
    chosen: list[BlockingRuleCreator] = []
    for column in LOOSE_KEYS.get(Entity(entity), ()):
        pairs = pair_count(con, table, column)
        if pairs <= budget:
            chosen.append(block_on(column))
            verdict = "added"
        else:
            verdict = "too many for this table"
        if say is not None:
            say(f"blocking on {column} alone: {pairs:,} pairs, {verdict} (budget {budget:,})")
    return chosen
