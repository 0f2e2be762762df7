"""docs/policy.md shows the shipped default exactly as `crm-hygiene policy default` prints it."""

from pathlib import Path

from crm_hygiene.policy.load import default_policy_text

DOC = Path(__file__).resolve().parents[2] / "docs" / "policy.md"


def test_the_reference_holds_the_shipped_default_verbatim() -> None:
    text = DOC.read_text("utf-8")
    assert f"```yaml\n{default_policy_text()}```" in text
