"""Reading a policy document: YAML text in, a validated `Policy` and its content hash out.

Errors name the key path and what was expected, one line each, so `policy check` reads like a
linter: `merge.auto_merge_treshold: unknown key (did you mean auto_merge_threshold?)`.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from crm_hygiene.policy.schema import Policy

DEFAULT_POLICY_RESOURCE = "default.yaml"


class PolicyError(ValueError):
    """A policy document that cannot be used; the message lists every problem, one per line."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        if len(problems) == 1:
            super().__init__(f"invalid policy {source}: {problems[0]}")
        else:
            lines = "\n".join(f"  {p}" for p in problems)
            super().__init__(f"invalid policy {source}: {len(problems)} problems:\n{lines}")


@dataclass(frozen=True)
class LoadedPolicy:
    """A validated policy with its canonical content (every key, defaults filled in) and hash."""

    policy: Policy
    text: str  # the document as written, comments included

    @property
    def canonical(self) -> str:
        return canonical_json(self.policy)

    @property
    def hash(self) -> str:
        return policy_hash(self.policy)


def canonical_json(policy: Policy) -> str:
    """Sorted keys, no whitespace: two documents with the same rules give the same text."""
    return json.dumps(policy.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))


def canonical_yaml(policy: Policy) -> str:
    """Every rule spelled out, keys sorted: what `policy diff` compares."""
    return yaml.safe_dump(policy.model_dump(mode="json"), sort_keys=True, default_flow_style=False)


def policy_hash(policy: Policy) -> str:
    """The version key of a policy: sha256 of its canonical content (comments and order do not count)."""
    return hashlib.sha256(canonical_json(policy).encode()).hexdigest()


def default_policy_text() -> str:
    return resources.files("crm_hygiene.policy").joinpath(DEFAULT_POLICY_RESOURCE).read_text("utf-8")


def default_policy() -> LoadedPolicy:
    return parse_policy(default_policy_text(), source="(shipped default)")


def load_policy_file(path: str | Path) -> LoadedPolicy:
    path = Path(path)
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise PolicyError(str(path), ["no such file"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(str(path), [f"cannot be read: {exc}"]) from None
    return parse_policy(text, source=str(path))


def parse_policy(text: str, *, source: str = "(text)") -> LoadedPolicy:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError(source, [f"not valid YAML: {' '.join(str(exc).split())}"]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise PolicyError(source, [f"the document must be a mapping of keys, not a {type(data).__name__}"])
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(source, [_problem(error) for error in exc.errors()]) from None
    return LoadedPolicy(policy, text)


def _problem(error: Any) -> str:
    path = [str(p) for p in error["loc"]]
    if path[-1:] == ["[key]"]:
        # A map's key failed (a field name, say): the key is the last part of the path.
        path = path[:-1]
    where = ".".join(path) or "(document)"
    kind = error["type"]
    if kind == "extra_forbidden":
        if path == ["confidence", "merge"]:
            return f"{where}: unknown key (a merge's thresholds are merge.auto_merge_threshold and merge.review_threshold)"
        allowed = _allowed_keys(path[:-1])
        hint = difflib.get_close_matches(path[-1], allowed, n=1)
        expected = f"did you mean {hint[0]}?" if hint else f"expected one of: {', '.join(allowed)}"
        return f"{where}: unknown key ({expected})"
    if kind == "literal_error" and path == ["policy_format"]:
        return f"{where}: this version reads policy_format 1, not {error.get('input')!r}"
    message = error["msg"].removeprefix("Value error, ")
    value = error.get("input")
    # A whole section quoted back is noise; a scalar says what was wrong with it.
    if value is None or isinstance(value, dict | list):
        return f"{where}: {message}"
    return f"{where}: {message} (got {value!r})"


def _allowed_keys(path: list[str]) -> list[str]:
    """Keys the model at `path` accepts (for a helpful "unknown key" message)."""
    model: type[BaseModel] | None = Policy
    for part in path:
        if model is None:
            return []
        annotation = model.model_fields.get(part)
        if annotation is None:
            return []
        candidate = annotation.annotation
        model = candidate if isinstance(candidate, type) and issubclass(candidate, BaseModel) else None
    return sorted(model.model_fields) if model is not None else []
