"""The policy document: the shipped default, validation errors that name the key, decisions."""

from __future__ import annotations

import pytest
import yaml

from crm_hygiene.ledger import ChangeKind
from crm_hygiene.policy import Outcome, Policy, PolicyError, WriteMode, default_policy, parse_policy
from crm_hygiene.policy.load import canonical_yaml, default_policy_text, load_policy_file, policy_hash


def test_the_shipped_default_is_the_model_default_and_covers_every_key() -> None:
    loaded = default_policy()
    assert loaded.policy == Policy()
    assert loaded.hash == policy_hash(Policy())
    # Every key of the model is spelled out (and commented) in the shipped file.
    written = yaml.safe_load(default_policy_text())

    def keys(data: object, prefix: str = "") -> set[str]:
        if not isinstance(data, dict):
            return set()
        out = set()
        for key, value in data.items():
            out.add(prefix + key)
            # Per-field maps hold examples, not schema keys.
            if key != "fields":
                out |= keys(value, prefix + key + ".")
        return out

    assert keys(Policy().model_dump(mode="json")) == keys(written)
    assert default_policy_text().count("#") > 40


def test_comments_order_and_left_out_defaults_do_not_change_the_hash() -> None:
    short = parse_policy("merge:\n  auto_merge_threshold: 0.995  # stricter\n")
    reordered = parse_policy("# a note\nmerge: {review_threshold: 0.5, auto_merge_threshold: 0.995}\n")
    assert short.hash == reordered.hash
    assert short.hash != default_policy().hash
    assert short.policy.merge.max_auto_cluster_size == 10  # left out: the default
    assert len(short.hash) == 64


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "merge:\n  auto_merge_treshold: 0.999\n",
            "merge.auto_merge_treshold: unknown key (did you mean auto_merge_threshold?)",
        ),
        (
            "merge:\n  auto_merge_threshold: 1.5\n",
            "merge.auto_merge_threshold: Input should be less than or equal to 1",
        ),
        (
            "merge:\n  review_threshold: -0.1\n",
            "merge.review_threshold: Input should be greater than or equal to 0",
        ),
        (
            "merge:\n  auto_merge_threshold: 0.3\n",
            "review_threshold (0.5) must not be above auto_merge_threshold (0.3)",
        ),
        (
            "merge:\n  max_auto_cluster_size: lots\n",
            "merge.max_auto_cluster_size: Input should be a valid integer",
        ),
        (
            "merge:\n  min_training_records: 1\n",
            "merge.min_training_records: Input should be greater than or equal to 2",
        ),
        (
            "confidence:\n  enrich: {apply: 0.4, review: 0.8}\n",
            "confidence.enrich: Value error, review (0.8) must not be above apply (0.4)".replace(
                "Value error, ", ""
            ),
        ),
        (
            "confidence:\n  merge: {apply: 0.9, review: 0.5}\n",
            "confidence.merge: unknown key (a merge's thresholds are merge.auto_merge_threshold",
        ),
        (
            "confidence:\n  enrich:\n    fields: {contact.emial: {apply: 0.99}}\n",
            "contact has no field 'emial'",
        ),
        ("writes:\n  fields: {lead.email: may_overwrite}\n", "'lead.email' is not ENTITY.FIELD"),
        (
            "writes:\n  default: sometimes\n",
            "writes.default: Input should be 'fill_if_blank' or 'may_overwrite'",
        ),
        ("survivorship:\n  fields: {email: loudest}\n", "survivorship.fields.email: Input should be"),
        (
            "survivorship:\n  fields: {version: most_recent}\n",
            "version: bookkeeping fields are never set by a merge",
        ),
        (
            "protected:\n  human_edit_days: -1\n",
            "protected.human_edit_days: Input should be greater than or equal to 0",
        ),
        ("policy_format: 2\n", "policy_format: this version reads policy_format 1, not 2"),
        ("- a\n- b\n", "the document must be a mapping of keys, not a list"),
        ("merge: [unclosed\n", "not valid YAML"),
        ("stalenes:\n  contact_days: 10\n", "stalenes: unknown key (did you mean staleness?)"),
    ],
)
def test_an_invalid_policy_is_refused_with_the_key_path(text: str, message: str) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, source="tenant.yaml")
    assert "invalid policy tenant.yaml" in str(caught.value)
    assert message in str(caught.value), str(caught.value)


def test_every_problem_is_listed_not_only_the_first() -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy("merge: {auto_merge_treshold: 0.9, review_threshold: 2}\nlists: {never_merge: []}\n")
    assert len(caught.value.problems) == 3


def test_a_policy_file_that_is_missing_or_unreadable_names_the_file(tmp_path) -> None:
    with pytest.raises(PolicyError, match=r"(?s)nope\.yaml.*no such file"):
        load_policy_file(tmp_path / "nope.yaml")
    (tmp_path / "bin.yaml").write_bytes(b"\xff\xfe\x00x")
    with pytest.raises(PolicyError, match=r"(?s)bin\.yaml.*cannot be read"):
        load_policy_file(tmp_path / "bin.yaml")


def test_three_outcomes_per_kind_and_field() -> None:
    policy = parse_policy(
        "confidence:\n  enrich:\n    apply: 0.9\n    review: 0.5\n    fields:\n      contact.email: {apply: 0.97}\n"
    ).policy
    assert policy.decide(ChangeKind.ENRICH, 0.95) is Outcome.APPLY
    assert policy.decide(ChangeKind.ENRICH, 0.95, "contact.email") is Outcome.REVIEW
    assert policy.decide(ChangeKind.ENRICH, 0.97, "contact.email") is Outcome.APPLY
    assert policy.decide(ChangeKind.ENRICH, 0.5) is Outcome.REVIEW
    assert policy.decide(ChangeKind.ENRICH, 0.49) is Outcome.DROP
    assert policy.thresholds("merge") == (0.99, 0.5)
    assert policy.decide("merge", 0.995) is Outcome.APPLY
    with pytest.raises(ValueError, match="does not judge revert"):
        policy.decide(ChangeKind.REVERT, 1.0)


def test_write_modes_lists_and_survivorship_reach_their_readers() -> None:
    policy = parse_policy(
        "writes: {default: may_overwrite, fields: {contact.email: fill_if_blank}}\n"
        "lists: {never_enrich_domains: ['@WWW.Acme.com'], never_merge_records: [C1]}\n"
        "survivorship: {fields: {email: survivor}, source_ranking: [salesforce]}\n"
    ).policy
    assert policy.writes.mode("contact.email") is WriteMode.FILL_IF_BLANK
    assert policy.writes.mode("contact.title") is WriteMode.MAY_OVERWRITE
    assert policy.lists.never_enrich_domains == ["acme.com"]
    rules = policy.survivorship_policy()
    assert rules.rule_for("email").value == "survivor"
    assert rules.source_ranking == ("salesforce",)
    # Fields the document leaves out of survivorship.fields fall back to default_rule.
    assert rules.rule_for("phone").value == "most_recent"


def test_canonical_yaml_spells_out_every_rule() -> None:
    text = canonical_yaml(Policy())
    assert "auto_merge_threshold: 0.99" in text and "human_edit_days: 30" in text


def test_a_section_given_in_part_keeps_the_defaults_it_leaves_out() -> None:
    policy = parse_policy(
        "confidence:\n  enrich:\n    fields: {contact.email: {apply: 0.97}}\n"
        "writes:\n  fields: {contact.email: may_overwrite}\n"
        "survivorship:\n  fields: {email: survivor}\n"
    ).policy
    assert policy.thresholds("enrich") == (0.9, 0.5)
    assert policy.thresholds("enrich", "contact.email") == (0.97, 0.5)
    assert policy.writes.mode("contact.email") is WriteMode.MAY_OVERWRITE
    assert policy.writes.mode("contact.title") is WriteMode.MAY_OVERWRITE  # a default kept
    rules = policy.survivorship_policy()
    assert rules.rule_for("email").value == "survivor"
    assert rules.rule_for("company_name").value == "most_complete"  # a default kept
