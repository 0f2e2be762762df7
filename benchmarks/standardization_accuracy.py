"""How many corrupted demo values standardization restores to their true value, per field.

    python benchmarks/standardization_accuracy.py --contacts 20000 --companies 4000

Generates the demo CRM, runs the snapshot preparation and every normalizer exactly as the
nightly pipeline does (the country is normalized first and feeds phones, regions and
postcodes), and compares each normalized value with the ground truth. Corruptions no
normalizer can undo (a missing value, a typo in a name, a nickname, a dropped legal form,
an old employer) are counted apart, so the "restorable" share measures the normalizers.
"""

from __future__ import annotations

import argparse
import json

import pandas as pd

from crm_hygiene.demo import DemoConfig, generate_demo_crm
from crm_hygiene.model import Entity
from crm_hygiene.model.snapshot import prepare_snapshot
from crm_hygiene.normalize.records import normalize_tenant

# What only other evidence (enrichment, matching, a person) can repair.
NOT_RESTORABLE = frozenset(
    {
        "missing", "garbage", "truncated", "multiple", "typo", "nickname", "initial",
        "missing_legal_form", "stale_employer", "role_address", "domain_typo", "domain_variant",
        "plus_tag", "gmail_dots", "unparseable_date", "wrong_country",
    }
)  # fmt: skip


def accuracy(contacts: int, companies: int, seed: int) -> pd.DataFrame:
    demo = generate_demo_crm(DemoConfig(contacts=contacts, companies=companies, seed=seed))
    truth = demo.truth["field_truth"].astype({"entity": str, "field": str, "corruption": str})
    rows = []
    tables = normalize_tenant({entity: prepare_snapshot(entity, demo.records[entity]) for entity in Entity})
    for entity in Entity:
        frame = tables[entity].frame.set_index("id")
        wanted = truth[truth["entity"] == entity.value]
        for field, group in wanted.groupby("field"):
            if field not in frame.columns or f"{field}_valid" not in frame.columns:
                continue
            # A typed timestamp is compared as it would be written back ("2024-03-05").
            column = f"{field}_written" if f"{field}_written" in frame.columns else field
            got = frame.loc[group["record_id"], column].to_numpy(dtype=object)
            restored = pd.Series(got == group["true_value"].to_numpy(dtype=object), index=group.index)
            restorable = ~group["corruption"].isin(NOT_RESTORABLE)
            rows.append(
                {
                    "entity": entity.value,
                    "field": field,
                    "corrupted": len(group),
                    "restored_all": round(float(restored.mean()), 4),
                    "restorable": int(restorable.sum()),
                    "restored_restorable": round(float(restored[restorable].mean()), 4)
                    if restorable.any()
                    else None,
                }
            )
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--companies", type=int, default=4_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--markdown", action="store_true", help="print a markdown table instead of JSON")
    args = parser.parse_args(argv)
    table = accuracy(args.contacts, args.companies, args.seed)
    if args.markdown:
        print(table.to_markdown(index=False))
    else:
        print(json.dumps(table.to_dict("records"), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
