"""Error messages are outputs too: an e-mail or phone inside one is masked before any reader
that is not privileged sees it (the terminal, the run's log, the Dagster event log and UI).

A database explains a refused row with the row itself ("Failing row contains (...)"), and a
person types an e-mail where an id belongs; either way the text reaches the user masked,
with the rest of the message (which record, which table) intact."""

import sqlite3
from pathlib import Path

import dagster as dg
import pytest

from crm_hygiene.pii import MaskedError, masked_error
from crm_hygiene.stores import StoreError
from crm_hygiene_dagster.assets.factory import tenant_asset
from crm_hygiene_dagster.assets.partitions import tenants
from crm_hygiene_dagster.jobs.run import failure_message
from tests.cli.test_cli_end_to_end import _run

EMAIL, PHONE = "jane.doe@example.com", "+1 415 555 0199"


def _refused_row() -> StoreError:
    try:
        try:
            raise ValueError(
                f'new row violates check constraint "email_ok"\nDETAIL: Failing row contains (C7, {EMAIL}, {PHONE}).'
            )
        except ValueError as database:
            raise StoreError("sql store crm: the database refused a value for contact C7") from database
    except StoreError as exc:
        return exc


def test_a_chain_with_personal_data_becomes_one_masked_error() -> None:
    masked = masked_error(_refused_row())
    assert isinstance(masked, MaskedError)
    text = str(masked)
    assert EMAIL not in text and "415 555 0199" not in text
    assert "j•••@example.com" in text and "99" in text
    # What the person needs stays: which store, record and constraint, and the database's words.
    assert "contact C7" in text and "email_ok" in text and "Failing row contains" in text
    clean = StoreError("cannot read contacts.csv: line 3: 4 cells where the header has 5")
    assert masked_error(clean) is None


def test_the_command_line_masks_an_error_in_one_line_and_with_verbose(tmp_path: Path) -> None:
    assert _run(tmp_path, "tenants", "add", "t1").returncode == 0
    for verbose in ([], ["--verbose"]):
        done = _run(
            tmp_path,
            *verbose,
            "flag",
            "--tenant",
            "t1",
            "--entity",
            "contact",
            "--id",
            EMAIL,
            "--code",
            "stale",
        )
        assert done.returncode != 0
        output = done.stdout + done.stderr
        assert EMAIL not in output, output
        assert "j•••@example.com" in output, output
    assert len(done.stderr.strip().splitlines()) > 3, "with --verbose, the traceback is shown (masked)"


@tenant_asset(group_name="test")
def refuses_a_row(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    raise _refused_row()


def test_a_failed_step_reaches_the_event_log_masked(tmp_path: Path) -> None:
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        instance.add_dynamic_partitions(tenants.name, ["t1"])
        result = dg.materialize([refuses_a_row], instance=instance, partition_key="t1", raise_on_error=False)
        assert not result.success
        failure = next(e for e in result.all_events if e.is_step_failure)
        summary_line = failure_message(failure.step_failure_data.error)
        assert "j•••@example.com" in summary_line and "contact C7" in summary_line
    stored: list[str] = []
    for database in tmp_path.rglob("*.db"):
        with sqlite3.connect(database) as conn:
            names = [t for (t,) in conn.execute("select name from sqlite_master where type='table'")]
            for name in names:
                stored.extend(str(c) for row in conn.execute(f'select * from "{name}"') for c in row)
    # Event bodies are JSON: the mask's bullet is stored escaped.
    text = "\n".join(stored).replace("\\u2022", "•")
    assert "j•••@example.com" in text, "the failure was stored in the event log"
    assert EMAIL not in text and "415 555 0199" not in text


@pytest.mark.parametrize(
    "message", ["run 7be67306-89a7-4c1e-9f6b-0d7a1c2f3e4d failed", "date 2024-03-05 outside"]
)
def test_ids_and_dates_are_not_taken_for_personal_data(message: str) -> None:
    assert masked_error(StoreError(message)) is None
