"""The real `medsettle` command, run as a subprocess: results, exit codes and error fields."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

from medsettle.adapters.files import examples_dir, read_document

#: cli.py has no `if __name__ == "__main__"` guard, so run the installed console script.
MEDSETTLE = Path(sys.executable).parent / "medsettle"
EXAMPLES = examples_dir()
ENV = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(MEDSETTLE), *map(str, args)], capture_output=True, text=True,
                          env=ENV, timeout=120, check=False)


def test_calc_json_prints_the_e4_result_and_accumulators() -> None:
    done = run("calc", EXAMPLES / "E4.yaml", "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    expected = read_document(EXAMPLES / "E4.yaml")["expected"]  # type: ignore[index]
    assert out["result"] == expected["result"]
    assert out["acc_after"] == expected["acc_after"]
    # domain.md §11 E4: hifp 1,069,152; cash 953,848.
    assert (out["result"]["hifp_pay"], out["result"]["psn_cash_pay"]) == (1069152, 953848)
    steps = out["explanation"]
    assert isinstance(steps, list) and steps
    assert all(isinstance(s, dict) and {"code", "rule", "text"} <= set(s) for s in steps)
    assert steps[0]["code"] == "class.long_term"
    assert steps[-1]["code"] == "totals"
    assert out["class"] == "long_term"
    assert out["reversed"] is False


def test_calc_refuses_a_float_price_with_exit_2_naming_the_field(tmp_path: Path) -> None:
    doc = read_document(EXAMPLES / "E4.yaml")
    doc["visit"]["items"][0]["pric"] = 120.0  # type: ignore[index]
    case = tmp_path / "float.yaml"
    case.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    done = run("calc", case)
    assert done.returncode == 2
    assert "visit.items[0].pric" in done.stderr
    assert done.stdout == ""


def test_calc_on_a_missing_file_exits_2(tmp_path: Path) -> None:
    done = run("calc", tmp_path / "nowhere.yaml")
    assert done.returncode == 2
    assert "CASE" in done.stderr
    assert "nowhere.yaml" in done.stderr


def test_calc_on_invalid_yaml_exits_2(tmp_path: Path) -> None:
    case = tmp_path / "broken.yaml"
    case.write_text("id: [unclosed\nvisit: {", encoding="utf-8")
    done = run("calc", case)
    assert done.returncode == 2
    assert "cannot be parsed" in done.stderr


def test_calc_on_the_reversal_example_prints_the_reversal_record() -> None:
    done = run("calc", EXAMPLES / "E11.yaml")
    assert done.returncode == 0, done.stderr
    assert "Reversal" in done.stdout
    # E11: cash −109,100 fen = ¥-1091.00.
    assert "¥-1091.00" in done.stdout


def test_calc_explain_lists_every_line_of_the_bill() -> None:
    done = run("calc", EXAMPLES / "E4.yaml", "--explain")
    assert done.returncode == 0, done.stderr
    rows = [m.group(1) for m in re.finditer(r"^\s+(\d)\s+¥", done.stdout, re.MULTILINE)]
    assert rows == ["1", "2", "3", "4", "5"]
    # line 4: ¥12,800 with ¥2,800 over the cap.
    assert re.search(r"^\s+4\s+¥12800\.00\s+¥0\.00\s+¥2800\.00", done.stdout, re.MULTILINE)


def test_policy_show_prints_the_beijing_deductible() -> None:
    done = run("policy", "show", "110100", "--on", "2025-06-01")
    assert done.returncode == 0, done.stderr
    assert "1300.00" in done.stdout
    assert "110100-employee-2025" in done.stdout


def test_policy_show_of_an_unknown_region_exits_2_naming_region() -> None:
    done = run("policy", "show", "999999")
    assert done.returncode == 2
    assert "REGION" in done.stderr


def test_policy_show_with_a_bad_date_exits_2_naming_the_option() -> None:
    done = run("policy", "show", "110100", "--on", "2025-99-01")
    assert done.returncode == 2
    assert "--on" in done.stderr


def test_policy_diff_lists_the_deductible_difference() -> None:
    done = run("policy", "diff", "110100", "510100", "--on", "2025-06-01", "--scheme", "employee")
    assert done.returncode == 0, done.stderr
    assert "110100-employee-2025 vs 510100-employee-2025" in done.stdout
    assert re.search(r"inpatient deductible.*¥1300\.00", done.stdout)


def test_examples_settles_all_twelve_worked_examples_as_expected() -> None:
    done = run("examples")
    assert done.returncode == 0, done.stderr
    for n in range(1, 13):
        assert re.search(rf"│ E{n}\s+│", done.stdout), f"E{n} missing"
    assert "NO" not in done.stdout
    assert len(re.findall(r"│ yes\s+│", done.stdout)) == 12


def test_calc_says_the_parameters_are_sample_parameters_and_names_them() -> None:
    done = run("calc", EXAMPLES / "E5.yaml")
    assert done.returncode == 0, done.stderr
    assert "SAMPLE PARAMETERS, not official policy: 320100-employee-2025" in done.stdout
    out = json.loads(run("calc", EXAMPLES / "E5.yaml", "--json").stdout)
    assert out["parameters"]["id"] == "320100-employee-2025"
    assert out["parameters"]["official"] is False
    assert len(out["parameters"]["content_hash"]) == 64
    assert out["parameters"]["notice"].startswith("SAMPLE PARAMETERS")


def test_policy_show_gives_every_value_its_origin_and_a_copy_its_source_region() -> None:
    done = run("policy", "show", "440100", "--on", "2025-06-01", "--scheme", "employee")
    assert done.returncode == 0, done.stderr
    assert "SAMPLE PARAMETERS" in done.stdout and "Copied from region 460100." in done.stdout
    assert "where it comes from" in done.stdout
    assert re.search(r"inpatient pool ratio, active.*copied from 460100 \[\d\]", done.stdout)
    assert re.search(r"^\[\d\] copied from 460100", done.stdout, re.MULTILINE)


def test_policy_diff_says_both_sets_are_sample_parameters() -> None:
    done = run("policy", "diff", "440100", "460100", "--on", "2025-06-01")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("SAMPLE PARAMETERS, not official policy") == 4  # 2 schemes × 2
