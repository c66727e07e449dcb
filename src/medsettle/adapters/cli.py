"""The `medsettle` command line (Typer + Rich).

Bad input exits with status 2 and one line on stderr that names the field.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table as RichTable

from medsettle.adapters import cli_policy
from medsettle.adapters.cli_commands import COMMANDS, attach
from medsettle.adapters.cli_errors import OneLineGroup, say_error, status_of
from medsettle.adapters.files import examples_dir, load_policy_book, read_document
from medsettle.core.cases import Case, CaseOutcome, parse_case, run_case
from medsettle.core.errors import InvalidInput, MedSettleError
from medsettle.core.explain import (
    FIELD_LABELS,
    explanation,
    fund_reasons,
    line_explanations,
    statement,
)
from medsettle.core.money import fen_to_yuan
from medsettle.core.policy import ParameterSet, PolicyBook
from medsettle.core.policy_view import describe, diff, provenance_notice

app = typer.Typer(help="MedSettle: cross-province direct settlement of medical insurance "
                       "(跨省异地就医直接结算).", no_args_is_help=True, add_completion=False,
                  cls=OneLineGroup)
policy_app = typer.Typer(help="Policy parameters (参保地政策): the shipped sample sets, and a "
                              "province's own sets loaded into its node (four eyes).",
                         no_args_is_help=True)
app.add_typer(policy_app, name="policy")
policy_app.command("validate")(cli_policy.validate_command)
policy_app.command("load")(cli_policy.load_command)
policy_app.command("approve")(cli_policy.approve_command)
policy_app.command("reject")(cli_policy.reject_command)
policy_app.command("withdraw")(cli_policy.withdraw_command)
policy_app.command("list")(cli_policy.list_command)
for command in COMMANDS:
    attach(app, command)
console = Console()


def fail(exc: MedSettleError) -> NoReturn:
    """Report a domain error as one line on stderr and exit with status 2 (1 for a peer that
    is unavailable)."""
    say_error(str(exc))
    raise typer.Exit(status_of(exc))


def load_case(path: Path, book: PolicyBook | None = None) -> Case:
    """Read and parse a case file (YAML or JSON)."""
    if not path.is_file():
        raise InvalidInput("CASE", f"no such file: {path}")
    return parse_case(read_document(path), path.name, book or load_policy_book())


def outcome_json(case: Case, outcome: CaseOutcome) -> dict[str, object]:
    """The JSON form of `calc --json`: result, acc_after, explanation, and the details."""
    s = outcome.settlement
    return {"result": outcome.record.as_dict(), "acc_after": outcome.acc_after.to_nested(),
            "explanation": explanation(s), "lines": line_explanations(s),
            "fund_reasons": fund_reasons(s), "policy": s.policy_id,
            "parameters": parameters_json(case.policy), "class": s.benefit_class,
            "ratio": str(s.ratio), "ratio_bands": [{"upto": b.upto, "ratio": str(b.ratio)}
                                                   for b in s.ratio_bands],
            "deductible_due": s.deductible_due, "e_over": s.e_over,
            "reversed": outcome.reversed,
            "delta": {".".join(path): value for path, value in s.delta.items()}}


def parameters_json(ps: ParameterSet) -> dict[str, object]:
    """The parameter set's identity and provenance as `calc --json` reports them."""
    return {"id": ps.id, "content_hash": ps.content_hash, "official": ps.official,
            "notice": provenance_notice(ps)}


@app.command()
def calc(case_file: Annotated[Path, typer.Argument(metavar="CASE", help="case file (YAML/JSON)")],
         as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
         explain: Annotated[bool, typer.Option("--explain", help="every line and step")] = False,
         ) -> None:
    """Settle one case in the format of domain.md's worked examples and print the result."""
    try:
        case = load_case(case_file)
        outcome = run_case(case)
    except MedSettleError as exc:
        fail(exc)
    if as_json:
        sys.stdout.write(json.dumps(outcome_json(case, outcome), ensure_ascii=False, indent=2) + "\n")
        return
    console.print(render_outcome(case, outcome, detailed=explain), highlight=False)


def render_outcome(case: Case, outcome: CaseOutcome, *, detailed: bool) -> str:
    """The statement of a case; for a reversal, the negated record follows."""
    text = statement(outcome.settlement, title=f"{case.id} {case.title}".strip(),
                     detailed=detailed)
    header, _, rest = text.partition("\n")
    text = f"{header}\n{provenance_notice(case.policy)}\n{rest}"
    if outcome.reversed:
        rows = "\n".join(f"  {FIELD_LABELS[k]:<46} {'¥' + fen_to_yuan(v):>14}"
                         for k, v in outcome.record.as_dict().items())
        text += "\n\nReversal record (冲正): every amount negated, accumulators restored\n" + rows
    return text


@app.command()
def examples() -> None:
    """Settle every worked example of domain.md and print each as a patient's statement."""
    try:
        book = load_policy_book()
        paths = sorted(examples_dir().glob("E*.yaml"), key=lambda p: int(p.stem[1:]))
        summary = RichTable(title="Worked examples (domain.md §11)")
        for column in ("case", "policy", "class", "total", "funds", "account", "cash", "as expected"):
            summary.add_column(column, justify="right" if column in
                               ("total", "funds", "account", "cash") else "left")
        for path in paths:
            case = load_case(path, book)
            outcome = run_case(case)
            console.rule(f"{case.id}")
            console.print(render_outcome(case, outcome, detailed=False), highlight=False)
            a = outcome.record
            ok = case.expected_result is None or dict(case.expected_result) == a.as_dict()
            summary.add_row(case.id, outcome.settlement.policy_id, outcome.settlement.benefit_class,
                            fen_to_yuan(a.medfee_sumamt), fen_to_yuan(a.fund_pay_sumamt),
                            fen_to_yuan(a.acct_pay), fen_to_yuan(a.psn_cash_pay),
                            "yes" if ok else "[red]NO[/]")
    except MedSettleError as exc:
        fail(exc)
    console.print(summary)
    console.print("Next: `medsettle calc CASE.yaml --explain`, `medsettle policy show 330100`, "
                  "`medsettle policy diff 110100 510100`.")


def _on(value: str | None) -> date:
    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput("--on", f"must be a date YYYY-MM-DD, not {value!r}") from None


def _sets(book: PolicyBook, region: str, scheme: str | None, on: date) -> list[ParameterSet]:
    schemes = [scheme] if scheme else ["employee", "resident"]
    if scheme not in (None, "employee", "resident"):
        raise InvalidInput("--scheme", "must be employee or resident")
    if region not in book.regions():
        raise InvalidInput("REGION", f"no shipped policy for region {region!r}; known: "
                                     f"{', '.join(book.regions())}")
    return [book.find(region, s, on) for s in schemes]


@policy_app.command("show")
def policy_show(region: Annotated[str, typer.Argument(metavar="REGION")],
                on: Annotated[str | None, typer.Option(help="date YYYY-MM-DD (default today)")]
                = None,
                scheme: Annotated[str | None, typer.Option(help="employee or resident")] = None,
                db: Annotated[str | None, typer.Option(
                    help="a province node's database: what that node serves (its approved "
                         "sets, then the seed)")] = None,
                ) -> None:
    """Show the parameters of a region's policy in force on a date."""
    with policy_book(db) as book:
        show_sets(book, region, scheme, on)


def show_sets(book: PolicyBook, region: str, scheme: str | None, on: str | None) -> None:
    """Print the sets of `policy show`."""
    try:
        for ps in _sets(book, region, scheme, _on(on)):
            table = RichTable(title=f"{ps.id} · {ps.scheme} · from {ps.valid_from}"
                                    f"{' to ' + str(ps.valid_until) if ps.valid_until else ''}"
                                    f" · {'official' if ps.official else 'SAMPLE PARAMETERS'}",
                              caption=f"{ps.title} · sha256 {ps.content_hash[:16]}…")
            table.add_column("parameter")
            table.add_column("value")
            table.add_column("where it comes from")
            notes: dict[str, int] = {}
            for item in describe(ps):
                marks = [f"{o.label()} [{notes.setdefault(o.describe(), len(notes) + 1)}]"
                         for o in item.origins]
                table.add_row(item.label, item.value, "; ".join(marks))
            console.print(provenance_notice(ps), highlight=False, soft_wrap=True)
            console.print(table)
            for text, number in notes.items():
                console.print(f"[{number}] {text}", highlight=False, markup=False,
                              soft_wrap=True)
    except MedSettleError as exc:
        fail(exc)


@policy_app.command("diff")
def policy_diff(region_a: Annotated[str, typer.Argument(metavar="REGION_A")],
                region_b: Annotated[str, typer.Argument(metavar="REGION_B")],
                on: Annotated[str | None, typer.Option(help="date YYYY-MM-DD (default today)")]
                = None,
                scheme: Annotated[str | None, typer.Option(help="employee or resident")] = None,
                everything: Annotated[bool, typer.Option("--all", help="also equal rows")] = False,
                db: Annotated[str | None, typer.Option(
                    help="a province node's database: compare what that node serves")] = None,
                ) -> None:
    """The policy-difference list (待遇差异): deductibles, ratios, caps and tiers of two regions."""
    with policy_book(db) as book:
        diff_sets(book, region_a, region_b, on, scheme, everything)


def diff_sets(book: PolicyBook, region_a: str, region_b: str, on: str | None,
              scheme: str | None, everything: bool) -> None:
    """Print the difference list of `policy diff`."""
    try:
        day = _on(on)
        for a, b in zip(_sets(book, region_a, scheme, day), _sets(book, region_b, scheme, day), strict=True):
            for ps in (a, b):
                console.print(provenance_notice(ps), highlight=False, soft_wrap=True)
            table = RichTable(title=f"{a.scheme}: {a.id} vs {b.id}")
            table.add_column("parameter")
            table.add_column(region_a)
            table.add_column(region_b)
            rows = diff(a, b, everything=everything)
            for item, other in rows:
                table.add_row(item.label, item.value, other)
            console.print(table if rows else f"{a.scheme}: no differences")
    except MedSettleError as exc:
        fail(exc)


@contextmanager
def policy_book(db: str | None) -> Iterator[PolicyBook]:
    """The shipped sets, or with `db` what that province node serves."""
    if db is None:
        yield load_policy_book()
        return
    with cli_policy.province_database(db) as store:
        yield cli_policy.served_book(store, None)


def main() -> None:
    """Entry point of the `medsettle` script."""
    app()
