"""Load urgency rule sets from YAML: the packaged defaults or a file the admin provides.

Kept out of :mod:`minxin.core.urgency` because reading files and parsing YAML is I/O; the core
only compiles plain mappings.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from minxin.core.urgency import UrgencyRuleSet

DEFAULT_RULES_RESOURCE = "urgency_rules.yaml"


def parse_rules_yaml(text: str) -> UrgencyRuleSet:
    """A rule set from YAML text; raises ValueError on malformed YAML or rules."""
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"urgency rules: invalid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise ValueError("urgency rules: expected a mapping with a 'rules' list")
    return UrgencyRuleSet.from_config(data)


def load_rules(path: Path | str) -> UrgencyRuleSet:
    return parse_rules_yaml(Path(path).read_text(encoding="utf-8"))


def default_rules_text() -> str:
    return resources.files("minxin.intake").joinpath(DEFAULT_RULES_RESOURCE).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def default_rules() -> UrgencyRuleSet:
    """The shipped rule set, parsed once per process (it is immutable)."""
    return parse_rules_yaml(default_rules_text())
