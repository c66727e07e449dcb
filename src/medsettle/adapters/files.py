"""Reading YAML/JSON files: the shipped policy parameters, case files. The only file I/O for the core.

Policy files are parsed with libyaml (`yaml.CSafeLoader`, same results as the pure-Python safe
loader, about ten times faster), read only for the region a caller asks for, and kept parsed per
process: a file is parsed again only when its size or modification time changes.

A YAML document may not use aliases (`*name`, `<<: *name`) and holds at most MAX_NODES values:
an alias repeats a part without repeating its text, so a few hundred bytes of nested aliases
(a "billion laughs") expand to billions of values when the document is copied or hashed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

import yaml

from medsettle.core.errors import InvalidInput, PolicyFileError
from medsettle.core.policy import ParameterSet, PolicyBook, parse_parameter_set

#: The fastest safe YAML loader available: libyaml's when PyYAML was built with it.
SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

#: Most values (scalars, lists and mappings) one YAML document may hold; the largest shipped
#: policy holds about 400.
MAX_NODES = 100_000

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
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InvalidInput(str(path), "no such file") from None
    except OSError as exc:
        raise InvalidInput(str(path), f"cannot be read: {exc.strerror}") from None
    return parse_document(data, str(path))


def parse_document(data: bytes, name: str) -> object:
    """Parse the bytes of a YAML or JSON document (UTF-8, a BOM is accepted) named `name` (a
    file, an upload); an error names it and, for a syntax error, the line."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(name, "is not UTF-8 text") from None
    try:
        if name.endswith(".json"):
            return json.loads(text)
        return _load_yaml(text, name)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise InvalidInput(name, f"cannot be parsed: {exc}") from None
    except RecursionError:  # [[[[…]]]] deeper than the interpreter's stack
        raise InvalidInput(name, "is nested too deeply") from None


def _load_yaml(text: str, name: str) -> object:
    """One YAML document, refused before it is built if it uses an alias or is too large."""
    loader = SafeLoader(text)
    try:
        node = loader.get_single_node()  # the node graph: an alias is a node met twice
        if node is None:
            return None
        _check_nodes(node, name)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _check_nodes(root: yaml.Node, name: str) -> None:
    """InvalidInput naming `name` and the line if a node is reached twice (an alias: `*a`,
    `<<: *a`, or an anchor holding itself) or there are more than MAX_NODES."""
    seen: set[int] = set()
    waiting = [root]
    while waiting:
        node = waiting.pop()
        if id(node) in seen:
            raise InvalidInput(name, "repeats the value anchored at line "
                                     f"{node.start_mark.line + 1} with a YAML alias (&name … "
                                     "*name): aliases are not read in these documents; write "
                                     "the value out in full")
        seen.add(id(node))
        if len(seen) > MAX_NODES:
            raise InvalidInput(name, f"holds more than {MAX_NODES:,} values")
        if isinstance(node, yaml.MappingNode):
            waiting.extend(part for pair in node.value for part in pair)
        elif isinstance(node, yaml.SequenceNode):
            waiting.extend(node.value)


def load_policy_book(root: Path | None = None) -> PolicyBook:
    """The policy documents under `root` (default: the shipped ones), read region by region when
    first asked for; each is validated when read and every error names the file and key."""
    return PolicyBook(source=DirectorySource(root or policies_dir()))


class DirectorySource:
    """Policy documents laid out as <root>/<admdvs>/<scheme>/*.yaml (a PolicySource)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._groups: dict[tuple[str, str], list[Path]] = {}
        for path in sorted(root.rglob("*.yaml")):
            parts = path.relative_to(root).parts
            key = (parts[0], parts[1]) if len(parts) == 3 else ("", "")
            self._groups.setdefault(key, []).append(path)

    def groups(self) -> Iterable[tuple[str, str]]:
        """Every <admdvs>/<scheme> folder with documents (one pseudo-group for stray files)."""
        return list(self._groups)

    def load(self, insu_admdvs: str, scheme: str) -> list[ParameterSet]:
        """Parse and validate the documents of one folder, checking they say what it says."""
        sets = []
        for path in self._groups.get((insu_admdvs, scheme), []):
            ps = read_parameter_set(path, self.root)
            parts = path.relative_to(self.root).parts
            if len(parts) == 3 and (parts[0] != ps.insu_admdvs or parts[1] != ps.scheme):
                raise PolicyFileError(ps.source, "insu_admdvs", f"file lies under {parts[0]}/"
                                      f"{parts[1]} but says {ps.insu_admdvs}/{ps.scheme}")
            sets.append(ps)
        return sets


_parsed: dict[tuple[str, str, int, int], ParameterSet] = {}
_parsed_lock = threading.Lock()


def read_parameter_set(path: Path, root: Path) -> ParameterSet:
    """One validated parameter set, from the per-process cache while the file is unchanged."""
    source = str(path.relative_to(root))
    stat = path.stat()
    key = (str(path), source, stat.st_size, stat.st_mtime_ns)
    cached = _parsed.get(key)
    if cached is not None:
        return cached
    try:
        doc = read_document(path)
    except InvalidInput as exc:
        raise PolicyFileError(source, "(document)", exc.message) from None
    ps = parse_parameter_set(doc, source)
    with _parsed_lock:
        _parsed[key] = ps
    return ps
