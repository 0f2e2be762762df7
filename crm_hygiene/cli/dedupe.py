"""`crm-hygiene dedupe FILE`: find duplicates in a CSV or Parquet file of any schema."""

from __future__ import annotations

import argparse
import json
import logging

from crm_hygiene.cli.common import say


def cmd_dedupe(args: argparse.Namespace) -> int:
    from crm_hygiene.matching.files import dedupe_file

    # Splink's own log would interleave with our progress lines; its errors still show.
    logging.getLogger("splink").setLevel(logging.ERROR)
    options = {} if args.threshold is None else {"threshold": args.threshold}
    result = dedupe_file(
        args.input,
        args.entity,
        mapping_path=args.mapping,
        output=args.output,
        truth_column=args.truth,
        progress=say,
        sep="\t" if args.sep in ("\\t", "tab") else args.sep,
        **options,
    )
    print(json.dumps(result.summary()))
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    dedupe = sub.add_parser(
        "dedupe", help="find duplicate records in a CSV or Parquet file of any schema (see docs/dedupe.md)"
    )
    dedupe.add_argument("input", help="a .csv, .tsv or .parquet file, one record per row")
    dedupe.add_argument("--entity", required=True, choices=["contact", "company"], help="what one row is")
    dedupe.add_argument("--mapping", help="YAML file mapping the file's columns to canonical fields")
    dedupe.add_argument(
        "--output",
        help="where to write the rows plus cluster_id and match_probability (default: INPUT.deduped.EXT)",
    )
    dedupe.add_argument(
        "--truth", metavar="COLUMN", help="column of true entity labels: print pairwise precision, recall, F1"
    )
    dedupe.add_argument(
        "--threshold", type=float, help="match probability at which two records join a cluster (default 0.99)"
    )
    dedupe.add_argument(
        "--sep",
        help="CSV delimiter, one character or 'tab' (default: detected from the header among , ; tab |)",
    )
    dedupe.set_defaults(handler=cmd_dedupe)
