"""The reports of a conformance run: JUnit XML (one testsuite, a testcase per scenario, each
failure naming the step, the field and the rule) and one self-contained HTML page."""

from __future__ import annotations

import html
import json
import xml.etree.ElementTree as ET
from pathlib import Path

from medsettle.adapters.kit.results import Failure, Run, ScenarioResult


def _failure_lines(scenario: ScenarioResult) -> list[str]:
    lines = [f"{step.name} [{step.infno} {step.msgid}]: {_cut(failure.text(), SEEN_CHARS)}"
             for step, failure in scenario.failures()]
    if scenario.error:
        lines.append(f"stopped: {scenario.error}")
    return lines


def junit_xml(run: Run) -> str:
    """The run as JUnit XML."""
    passed, total = run.counts()
    suite = ET.Element("testsuite", name=f"medsettle-conformance-{run.mode}",
                       tests=str(total), failures=str(total - passed), errors="0",
                       time=f"{run.seconds:.3f}")
    ET.SubElement(ET.SubElement(suite, "properties"), "property", name="target",
                  value=run.target)
    for scenario in run.scenarios:
        case = ET.SubElement(suite, "testcase", classname=f"conformance.{run.mode}",
                             name=scenario.name, time=f"{scenario.seconds:.3f}")
        lines = _failure_lines(scenario)
        if lines:
            first = lines[0] if len(lines) == 1 else f"{lines[0]} (+{len(lines) - 1} more)"
            failure = ET.SubElement(case, "failure", message=first, type="conformance")
            failure.text = "\n".join(lines)
        ET.SubElement(case, "system-out").text = "\n".join(
            f"{'ok  ' if step.passed else 'FAIL'} {step.name} {step.msgid}"
            for step in scenario.steps)
    ET.indent(suite)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, encoding="unicode")


_STYLE = """body{font-family:system-ui,"Noto Sans CJK SC",sans-serif;margin:2em;max-width:70em}
table{border-collapse:collapse;width:100%;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;
padding:.3em .5em;text-align:left;vertical-align:top}td.seen{overflow-wrap:anywhere;
max-width:28em}.pass{color:#176117}.fail{color:#a11}
details pre{background:#f6f6f6;padding:.5em;overflow-x:auto;font-size:85%}"""


#: How much of a request or an answer the page shows (an answer may be megabytes: the page
#: stays readable, and the rest is said to be left out).
SHOWN_CHARS = 64_000
#: How much of a seen value a failure's row shows.
SEEN_CHARS = 2_000


def _cut(text: str, limit: int) -> str:
    """`text`, or its first `limit` characters and how many more were left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit:,} more characters not shown)"


def _json(value: object) -> str:
    return html.escape(_cut(json.dumps(value, ensure_ascii=False, indent=1), SHOWN_CHARS))


def html_report(run: Run) -> str:
    """The run as one HTML page: a summary, then each scenario's steps and failures."""
    passed, total = run.counts()
    e = html.escape
    out = [f"<!doctype html><html lang='zh-CN'><meta charset='utf-8'>"
           f"<title>MedSettle conformance: {e(run.target)}</title><style>{_STYLE}</style>",
           f"<h1>Conformance ({e(run.mode)}): {e(run.target)}</h1>",
           f"<p class='{'pass' if run.passed else 'fail'}'><b>{passed} of {total} scenarios "
           f"passed</b> in {run.seconds:.2f} s.</p><table><tr><th>scenario</th><th>what it "
           "checks</th><th>result</th><th>steps</th></tr>"]
    for s in run.scenarios:
        out.append(f"<tr><td><a href='#{e(s.name)}'>{e(s.name)}</a></td><td>{e(s.title)}</td>"
                   f"<td class='{'pass' if s.passed else 'fail'}'>"
                   f"{'passed' if s.passed else 'FAILED'}</td><td>{len(s.steps)}</td></tr>")
    out.append("</table>")
    for s in run.scenarios:
        out.append(f"<h2 id='{e(s.name)}'>{e(s.name)}: <span class='"
                   f"{'pass' if s.passed else 'fail'}'>{'passed' if s.passed else 'FAILED'}"
                   f"</span></h2><p>{e(s.title)}</p>")
        if s.error:
            out.append(f"<p class='fail'>Stopped: {e(s.error)}</p>")
        out.append("<table><tr><th>step</th><th>msgid</th><th>field</th><th>rule broken</th>"
                   "<th>seen</th></tr>")
        for step in s.steps:
            rows: list[Failure | None] = list(step.failures) or [None]
            for failure in rows:
                cells = ("<td class='pass'>ok</td><td></td><td></td>" if failure is None else
                         f"<td class='fail'>{e(failure.field)}</td><td>{e(failure.rule)}</td>"
                         f"<td class='seen'>{e(_cut(failure.seen, SEEN_CHARS))}</td>")
                out.append(f"<tr><td>{e(step.name)}</td><td>{e(step.msgid)}</td>{cells}</tr>")
        out.append("</table>")
        for step in s.steps:
            if step.request is not None or step.answer is not None:
                out.append(f"<details><summary>{e(step.name)}: request and answer</summary>"
                           f"<pre>{_json(step.request)}</pre><pre>{_json(step.answer)}</pre>"
                           "</details>")
    out.append("</html>")
    return "\n".join(out)


def write_reports(run: Run, folder: Path) -> tuple[Path, Path]:
    """Write conformance.html and conformance.xml into `folder`; their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    page, xml = folder / "conformance.html", folder / "conformance.xml"
    page.write_text(html_report(run), encoding="utf-8")
    xml.write_text(junit_xml(run), encoding="utf-8")
    return page, xml
