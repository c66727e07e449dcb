"""Reading the shipped supervision thresholds (data/supervision/<region>/*.yaml), once per
process, into a ThresholdBook."""

from __future__ import annotations

import threading
from pathlib import Path

from medsettle.adapters.files import DATA, read_document
from medsettle.core.errors import InvalidInput, PolicyFileError
from medsettle.core.supervision.thresholds import ThresholdBook, Thresholds, parse_thresholds

_books: dict[str, ThresholdBook] = {}
_lock = threading.Lock()


def thresholds_dir() -> Path:
    """The folder of shipped thresholds."""
    return Path(str(DATA / "supervision"))


def load_threshold_book(root: Path | None = None) -> ThresholdBook:
    """Every thresholds document under `root` (default: the shipped ones), parsed once."""
    folder = root or thresholds_dir()
    key = str(folder)
    with _lock:
        if key not in _books:
            _books[key] = ThresholdBook(read_thresholds(folder))
        return _books[key]


def read_thresholds(root: Path) -> list[Thresholds]:
    """Parse and validate every document; each error names the file and key."""
    found = []
    for path in sorted(root.rglob("*.yaml")):
        source = str(path.relative_to(root))
        try:
            doc = read_document(path)
        except InvalidInput as exc:
            raise PolicyFileError(source, "(document)", exc.message) from None
        t = parse_thresholds(doc, source)
        if path.parent.name != t.region:
            raise PolicyFileError(source, "region", f"file lies under {path.parent.name} but "
                                                    f"says {t.region}")
        found.append(t)
    return found
