"""Reading the project's YAML files (expectation suites, the deployment file, mappings, analytics
settings): PyYAML's safe loader, in its libyaml (C) build when PyYAML has one.

The pure-Python loader took about half a second for the 33 expectation suites, which every `csat
run` reads twice while building its definitions; libyaml parses the same YAML, safely, about ten
times faster."""

from __future__ import annotations

from typing import Any

import yaml

YAMLError = yaml.YAMLError
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    """The YAML document in `text`, with safe types only (as `yaml.safe_load`)."""
    return yaml.load(text, Loader=_SafeLoader)  # noqa: S506 - a safe loader (libyaml's or PyYAML's)
