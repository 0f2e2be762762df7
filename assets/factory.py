"""Project-wide rules for assets, applied in one place: every asset is per tenant, every check
that guards the CRM is blocking, every pandera check reads the same way, and every asset and
check records its wall seconds as `step_seconds` metadata, and fails with its personal data masked."""

import functools
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pandas as pd
import pandera.pandas as pa

from crm_hygiene.ledger import Ledger
from crm_hygiene.model import Entity, spec
from crm_hygiene.pii import masked_error
from crm_hygiene.policy.store import PolicyStore, PolicyVersion
from crm_hygiene.warehouse import read_table
from crm_hygiene_dagster.assets.checks import combine, evaluate_schema, merge_evaluations
from crm_hygiene_dagster.assets.partitions import tenants
from crm_hygiene_dagster.resources import LedgerResource, WarehouseResource

# The metadata keys every asset materialization and check evaluation carries.
STEP_SECONDS = "step_seconds"
STEP_PEAK_RSS_MB = "step_peak_rss_mb"
_STATUS, _CLEAR_REFS = Path("/proc/self/status"), Path("/proc/self/clear_refs")


def timed(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`fn` with its wall seconds (and, on Linux, the peak memory of the process while it ran)
    added to the MaterializeResult or AssetCheckResult it returns.

    The Dagster UI then shows a slow or memory-hungry step on the asset's or check's own page,
    beside its other metadata, without reading the run's event log. `functools.wraps` keeps
    the signature Dagster reads for the context, config and resources.
    """

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        peak = _reset_peak()
        start = time.perf_counter()
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:
            # The failure's text goes to the console, the event log and the UI, none of them
            # privileged: an e-mail or phone inside it is masked (policy.md, one masking rule).
            masked = None if type(exc).__module__.startswith("dagster") else masked_error(exc)
            if masked is None:
                raise
            raise masked.with_traceback(exc.__traceback__) from None
        extra: dict[str, Any] = {STEP_SECONDS: dg.MetadataValue.float(round(time.perf_counter() - start, 3))}
        if peak:
            extra[STEP_PEAK_RSS_MB] = dg.MetadataValue.int(_peak_mb())
        if isinstance(result, dg.MaterializeResult | dg.AssetCheckResult):
            return result._replace(metadata={**(result.metadata or {}), **extra})
        return result

    return run


def _reset_peak() -> bool:
    """Reset the process's peak RSS (Linux: 5 to clear_refs resets VmHWM); False elsewhere."""
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def _peak_mb() -> int:
    for line in _STATUS.read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return 0


def tenant_asset(**kwargs: Any) -> Callable[..., dg.AssetsDefinition]:
    """`dg.asset` partitioned by tenant (a run materializes one tenant's tables), timed."""
    decorator = dg.asset(partitions_def=tenants, **kwargs)
    return lambda fn: decorator(timed(fn))


def blocking_check(
    asset: Any, *, description: str, name: str | None = None
) -> Callable[..., dg.AssetChecksDefinition]:
    """`dg.asset_check` that stops the run on failure (what it guards must not reach the CRM), timed."""
    decorator = dg.asset_check(asset=asset, blocking=True, description=description, name=name)
    return lambda fn: decorator(timed(fn))


def pandera_check(
    asset: Any,
    *,
    name: str,
    description: str,
    entities: Iterable[Entity],
    schema_for: Callable[[Entity], pa.DataFrameSchema],
    read: Callable[..., pd.DataFrame],
    table_for: Callable[[Entity], str],
    rows_of_run: Callable[[duckdb.DuckDBPyConnection, str, Entity], pd.Series | None] | None = None,
    duplicate_ids: Callable[[duckdb.DuckDBPyConnection, str, Entity], list[str]] | None = None,
) -> dg.AssetChecksDefinition:
    """A blocking check validating one warehouse table per entity with its pandera schema;
    failure cases (masked) show in the check's metadata.

    The table is validated `CHECK_ROWS` records at a time (a million normalized records at
    once would double a run's memory), or, on an incremental run, only the rows the run wrote
    (`rows_of_run`; the others passed before). Either way `duplicate_ids` checks across the
    whole table what a part of it cannot see: a repeated id."""
    entities = tuple(entities)

    @blocking_check(asset, name=name, description=description)
    def _check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
        tenant = context.partition_key
        results, names = [], []
        with warehouse.get_connection() as conn:
            for entity in entities:
                ids = rows_of_run(conn, tenant, entity) if rows_of_run else None
                if ids is None:
                    every = read_table(conn, tenant, table_for(entity), ["id"])["id"].drop_duplicates()
                    parts = [every.iloc[i : i + CHECK_ROWS] for i in range(0, max(len(every), 1), CHECK_ROWS)]
                else:
                    parts = [ids]
                schema = schema_for(entity)
                passed, metadata = merge_evaluations(
                    [evaluate_schema(schema, read(conn, tenant, entity, ids=part)) for part in parts]
                )
                metadata["checked"] = dg.MetadataValue.text(
                    "every row" if ids is None else "rows of this run"
                )
                if duplicate_ids is not None:
                    repeated = duplicate_ids(conn, tenant, entity)
                    if repeated:
                        passed = False
                        metadata["repeated_ids"] = dg.MetadataValue.json(repeated[:MAX_REPEATED])
                results.append((passed, metadata))
                names.append(spec(entity).table)
        return combine(results, names)

    return _check


# Records validated at once by a pandera check.
CHECK_ROWS = 250_000
# Repeated ids listed in a failed check's metadata.
MAX_REPEATED = 25


def run_policy(
    context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext, ledger: LedgerResource
) -> PolicyVersion:
    """The tenant's policy this run pinned when it first asked: every step judges by the same rules.

    A partition the ledger does not list (removed by hand from the tenant list, say) stops here
    with the command that adds it, before anything is read or written.
    """
    with ledger.open() as book:
        return pin_policy(context, book)


def pin_policy(
    context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext, book: Ledger
) -> PolicyVersion:
    """`run_policy` for a step that has the ledger open already."""
    book.tenants.require(context.partition_key)
    return PolicyStore(book).pin(context.partition_key, context.run.run_id)


def policy_metadata(version: PolicyVersion) -> dict[str, dg.MetadataValue]:
    return {"policy_version": dg.MetadataValue.text(version.hash)}
