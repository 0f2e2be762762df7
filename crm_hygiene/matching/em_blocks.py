"""EM blocks that hold duplicates, not people who share a place.

EM learns m from the pairs of a blocking rule, taking most of them for duplicates. A rule on
an address, a home or switchboard phone or a shared mailbox pairs relatives in one household
and colleagues in one office as well; where they are most of the block, EM learns that a
different first name is normal for a duplicate, and relatives merge.

`co_located(...)` measures a block before EM runs: the share of its pairs (both first names
present) whose first names are not even similar. Duplicates rarely differ so (nicknames are
folded into the name key already); a household or an office block mostly does. Above
`MAX_DIFFERENT_NAMES`, the rule is narrowed to pairs with the same first initial, which keeps
the duplicates with a typo in the name and drops most relatives and colleagues; the first
name is then learnt from the other blocks.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

# Above this share of pairs with dissimilar first names, a block holds people who share a
# place more than duplicates. Duplicates of people, in the labelled sets and the demo CRM,
# differ so in at most a quarter of pairs (historical records, heavy with nicknames and errors).
MAX_DIFFERENT_NAMES = 0.5
# Similar, as the name comparison's loosest similar level counts it.
SIMILAR_NAMES = 0.88
# Pairs measured per block: a hash sample beyond this keeps the check to a second.
SAMPLE_PAIRS = 200_000


@dataclass(frozen=True)
class BlockCheck:
    """What the check found for one EM rule."""

    sql: str  # the rule EM runs on: the original, or narrowed
    pairs: int  # pairs measured (both names present; a sample of at most SAMPLE_PAIRS)
    different: float  # share of them with dissimilar names
    narrowed: bool

    def message(self, original: str) -> str:
        if not self.narrowed:
            return ""
        return (
            f"EM on {original}: {self.different:.0%} of {self.pairs:,} of its pairs differ in first name, "
            "so it pairs people who share a place (a household, an office) more than duplicates; "
            f"EM runs on {self.sql} instead"
        )


def co_located(con: duckdb.DuckDBPyConnection, table: str, rule_sql: str, name_column: str) -> BlockCheck:
    """Check one EM rule (SQL on `l.` and `r.`) against the first names it pairs."""
    # Sampled after the join: the join is an equi-join (cheap), the name similarity is not.
    ((pairs, different),) = con.sql(
        f"SELECT count(*), avg(CASE WHEN jaro_winkler_similarity(a, b) < {SIMILAR_NAMES} THEN 1.0 ELSE 0.0 END) "
        f'FROM (SELECT l."{name_column}" AS a, r."{name_column}" AS b '
        f'FROM "{table}" AS l JOIN "{table}" AS r ON ({rule_sql}) AND l.unique_id < r.unique_id '
        f'WHERE l."{name_column}" IS NOT NULL AND r."{name_column}" IS NOT NULL) '
        f"USING SAMPLE {SAMPLE_PAIRS} ROWS"
    ).fetchall()
    pairs, share = int(pairs or 0), float(different or 0.0)
    if pairs == 0 or share <= MAX_DIFFERENT_NAMES:
        return BlockCheck(rule_sql, pairs, share, narrowed=False)
    narrowed = f'({rule_sql}) AND substr(l."{name_column}", 1, 1) = substr(r."{name_column}", 1, 1)'
    return BlockCheck(narrowed, pairs, share, narrowed=True)
