"""`crm-hygiene dedupe FILE`: find duplicates in a CSV or Parquet file of any schema."""

from __future__ import annotations

import argparse
import json
import logging

from crm_hygiene.cli.common import say


def cmd_dedupe(args: argparse.Namespace) -> int:
    from crm_hygiene.matching.file_mapping import DedupeInputError

    # Splink's own log would interleave with our progress lines; its errors still show.
    logging.getLogger("splink").setLevel(logging.ERROR)
    options = {} if args.threshold is None else {"threshold": args.threshold}
    sep = "\t" if args.sep in ("\\t", "tab") else args.sep
    if len(args.inputs) > 2:
        raise DedupeInputError(f"give one file to deduplicate, or two with --link; got {len(args.inputs)}")
    if args.link != (len(args.inputs) == 2):
        raise DedupeInputError(
            "--link links two files (A B): give both" if args.link else "two files are linked: add --link"
        )
    if args.explain and args.link:
        raise DedupeInputError("--explain explains a pair of one file; leave out --link")
    if args.mapping_b and not args.link:
        raise DedupeInputError("--mapping-b is the mapping of the second file of a link (--link)")
    if args.link:
        from crm_hygiene.matching.link import link_files

        linked = link_files(
            *args.inputs,
            args.entity,
            mapping_path=args.mapping,
            mapping_b_path=args.mapping_b,
            output=args.output,
            truth_column=args.truth,
            progress=say,
            sep=sep,
            **options,
        )
        print(json.dumps(linked.summary()))
        return 0
    from crm_hygiene.matching.files import dedupe_file

    result = dedupe_file(
        args.inputs[0],
        args.entity,
        mapping_path=args.mapping,
        output=args.output,
        truth_column=args.truth,
        progress=say,
        sep=sep,
        explain_ids=tuple(args.explain) if args.explain else None,
        **options,
    )
    print(json.dumps(result.summary()))
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    dedupe = sub.add_parser(
        "dedupe", help="find duplicate records in a CSV or Parquet file of any schema (see docs/dedupe.md)"
    )
    dedupe.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="a .csv, .tsv or .parquet file, one record per row; with --link two files, A and B",
    )
    dedupe.add_argument(
        "--link",
        action="store_true",
        help="find the records of B that match records of A (pairs across the files only)",
    )
    dedupe.add_argument(
        "--explain",
        nargs=2,
        metavar=("ID1", "ID2"),
        help="print why these two records score what they score, and write the waterfall chart as HTML",
    )
    dedupe.add_argument("--mapping-b", help="with --link: the mapping of B, when its columns differ from A's")
    dedupe.add_argument("--entity", required=True, choices=["contact", "company"], help="what one row is")
    dedupe.add_argument("--mapping", help="YAML file mapping the file's columns to canonical fields")
    dedupe.add_argument(
        "--output",
        help="where to write the rows plus cluster_id and match_probability (default: INPUT.deduped.EXT); "
        "with --link B's rows plus match_id and match_probability (default: B.deduped.EXT)",
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
