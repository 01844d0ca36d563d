"""``jishijiu review …``: the monthly review run (在保必核) and the data feeds it compares.

Wired into the main command line in ``web/cli.py`` with ``main.add_command(review)``.
"""

from __future__ import annotations

import csv
import sys
from datetime import date
from pathlib import Path

import click

from engine import bootstrap
from engine.db import database_url_from_env
from engine.errors import EngineError


def _services():
    return bootstrap.build({"DATABASE_URL": database_url_from_env()})


class _Bars:
    """One click progress bar per phase of the run (index, compare, record, open)."""

    LABELS = {"index": "member index   ", "compare": "compare feeds  ", "record": "record results ",
              "open": "open cases     "}

    def __init__(self) -> None:
        self.phase = None
        self.bar = None
        self.done = 0

    def __call__(self, phase: str, done: int, total: int) -> None:
        if phase != self.phase:
            self.close()
            self.phase, self.done = phase, 0
            self.bar = click.progressbar(length=max(total, 1), label=self.LABELS.get(phase, phase),
                                         show_pos=True, file=sys.stderr)
            self.bar.__enter__()
        if self.bar.length != max(total, 1):
            self.bar.length = max(total, 1)
        if done > self.done:
            self.bar.update(done - self.done)
            self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


@click.group("review")
def review() -> None:
    """Monthly review of everyone on benefit (在保必核) and its data feeds."""


@review.command("run")
@click.option("--month", required=True, help="the month whose feeds are compared, YYYY-MM")
@click.option("--batch", default=50_000, show_default=True, type=int, help="household ids per transaction")
@click.option("--no-cases", is_flag=True, help="record results only; open no investigation cases")
@click.option("--no-deploy", is_flag=True, help="do not deploy processes/ first (as the app does at start-up)")
@click.option("--quiet", is_flag=True, help="no progress bars")
def review_run(month: str, batch: int, no_cases: bool, no_deploy: bool, quiet: bool) -> None:
    """Compare every active household with the month's feeds; open an investigation for each flagged one.

    Re-running a month records a new run but never opens a second case for a household.
    """
    from engine.casework import monitoring

    services = _services()
    bars = None if quiet else _Bars()
    try:
        if not no_deploy:
            bootstrap.deploy_processes(services)
        run = monitoring.run_monthly_review(services, month, progress=bars, batch=batch,
                                            open_cases=not no_cases)
    except EngineError as exc:
        if bars:
            bars.close()
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    finally:
        services.close()
    if bars:
        bars.close()
    phases = ", ".join(f"{k} {v:.1f}s" for k, v in run.timings.items())
    click.echo(f"review {run.month} (run {run.id}): {run.compared} households compared, {run.flagged} flagged, "
               f"{run.opened} investigation case(s) opened [{phases}]")


@review.command("status")
@click.option("--month", default=None, help="only this month, YYYY-MM")
@click.option("--results", "show_results", is_flag=True, help="list the flagged households of the latest run")
def review_status(month: str | None, show_results: bool) -> None:
    """The review runs so far, and the flagged households of the latest one."""
    from engine.casework import monitoring

    services = _services()
    try:
        runs = monitoring.runs(services, month)
        for run in runs:
            click.echo(f"run {run.id} {run.month} {run.status}: compared {run.compared}, flagged {run.flagged}, "
                       f"opened {run.opened}" + (f" — {run.error}" if run.error else ""))
        if show_results and runs:
            for r in monitoring.results(services, runs[-1].id):
                click.echo(f"  household {r.household_id}: {r.action} {','.join(r.flags)}"
                           + (f" case {r.case_id}" if r.case_id else "") + (f" ({r.note})" if r.note else ""))
    finally:
        services.close()


@review.group("feeds")
def feeds() -> None:
    """Monthly data feeds of the partner departments (ID numbers are hashed on import)."""


@feeds.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--feed", required=True, help="one of: social_insurance, property, vehicles, "
              "business_registration, deaths, hospital_bills, tax, housing_fund, …")
@click.option("--month", required=True, help="YYYY-MM")
@click.option("--append", is_flag=True, help="keep the month's earlier rows of this feed (default: replace)")
@click.option("--encoding", default="utf-8-sig", show_default=True)
def feeds_import(file: Path, feed: str, month: str, append: bool, encoding: str) -> None:
    """Import FILE.csv: a column ``id_number`` (hashed here, never stored) or ``id_hash``; optional
    ``household_id``, ``kind``, ``amount``; any other column goes into the row's payload."""
    from engine.casework import monitoring

    services = _services()
    try:
        with file.open(newline="", encoding=encoding) as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames or not ({"id_number", "id_hash"} & set(reader.fieldnames)):
                click.echo("error: the CSV needs a column id_number (or id_hash)", err=True)
                sys.exit(1)
            report = monitoring.import_feed(services, feed, month, reader, source=file.name, replace=not append)
    except EngineError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    finally:
        services.close()
    click.echo(f"{feed} {month}: {report.imported} row(s) imported, {report.matched} match a household on the "
               f"roll, {report.rejected} rejected (bad ID number or amount), {report.replaced} earlier row(s) replaced")


@review.group("recipients")
def recipients() -> None:
    """The roll of households on benefit."""


@recipients.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--encoding", default="utf-8-sig", show_default=True)
def recipients_import(file: Path, encoding: str) -> None:
    """Import FILE.csv with columns household_id, programme, monthly_amount, since (YYYY-MM-DD) and
    optionally status (active | suspended | stopped); the region comes from the household."""
    from engine.casework import monitoring
    from engine.casework.models import HouseholdRow

    services = _services()
    count = 0
    try:
        with file.open(newline="", encoding=encoding) as handle, services.db.write() as session:
            for row in csv.DictReader(handle):
                household = session.get(HouseholdRow, int(row["household_id"]))
                if household is None:
                    raise click.ClickException(f"household {row['household_id']} not found")
                monitoring.enrol(session, household_id=household.id, programme=row["programme"],
                                 region_code=household.region_code, monthly_amount=row["monthly_amount"],
                                 since=date.fromisoformat(row["since"]), status=row.get("status") or "active")
                count += 1
    except (EngineError, KeyError, ValueError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    finally:
        services.close()
    click.echo(f"{count} recipient row(s) stored")
