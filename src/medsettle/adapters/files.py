"""Reading YAML/JSON files: the shipped policy parameters, case files. The only file I/O for the core."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import yaml

from medsettle.core.errors import InvalidInput, PolicyFileError
from medsettle.core.policy import PolicyBook, parse_parameter_set

#: Where the shipped parameters and worked examples live inside the package.
DATA = resources.files("medsettle") / "data"


def policies_dir() -> Path:
    """The folder of shipped policies: data/policies/<admdvs>/<scheme>/*.yaml."""
    return Path(str(DATA / "policies"))


def examples_dir() -> Path:
    """The folder of worked examples (domain.md §11) as case files."""
    return Path(str(DATA / "examples"))


def read_document(path: Path) -> object:
    """Parse a YAML or JSON file; a syntax error names the file and line."""
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix == ".json":
            return json.loads(text)
        return yaml.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise InvalidInput(str(path), f"cannot be parsed: {exc}") from None


def load_policy_book(root: Path | None = None) -> PolicyBook:
    """Load and validate every policy document under `root` (default: the shipped ones)."""
    base = root or policies_dir()
    sets = []
    for path in sorted(base.rglob("*.yaml")):
        source = str(path.relative_to(base))
        try:
            doc = read_document(path)
        except InvalidInput as exc:
            raise PolicyFileError(source, "(document)", exc.message) from None
        ps = parse_parameter_set(doc, source)
        parts = path.relative_to(base).parts
        if len(parts) == 3 and (parts[0] != ps.insu_admdvs or parts[1] != ps.scheme):
            raise PolicyFileError(source, "insu_admdvs", f"file lies under {parts[0]}/{parts[1]} "
                                  f"but says {ps.insu_admdvs}/{ps.scheme}")
        sets.append(ps)
    return PolicyBook(sets)
