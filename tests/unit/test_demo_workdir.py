"""`medsettle demo --workdir`: a demo empties only a folder an earlier demo made."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from medsettle.adapters.cli_demo import DEMO_MARK, fresh_workdir


def test_a_new_folder_is_made_and_marked(tmp_path: Path) -> None:
    fresh_workdir(tmp_path / "a" / "demo")
    assert (tmp_path / "a" / "demo" / DEMO_MARK).is_file()


def test_an_earlier_demos_folder_is_emptied(tmp_path: Path) -> None:
    fresh_workdir(tmp_path / "demo")
    (tmp_path / "demo" / "hub.db").write_bytes(b"old")
    fresh_workdir(tmp_path / "demo")
    assert sorted(p.name for p in (tmp_path / "demo").iterdir()) == [DEMO_MARK]


def test_a_folder_with_other_files_is_left_alone(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "thesis.tex").write_text("years of work")
    with pytest.raises(typer.Exit):
        fresh_workdir(tmp_path)
    assert (tmp_path / "thesis.tex").read_text() == "years of work"
    assert not (tmp_path / DEMO_MARK).exists()
    assert "was not made by a demo" in capsys.readouterr().err
