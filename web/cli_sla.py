"""``jishijiu sla-stats``: (re)compute the daily statistics of the statutory clocks by hand.

The scheduler makes each day's statistics at 01:30 by itself; this command is for a day recomputed
after a correction, or for the days before the statistics existed.  Wired into the main command line
in ``web/cli.py`` with ``main.add_command(sla_stats)``.
"""

from __future__ import annotations

import sys
from datetime import date, timedelta

import click

from engine import bootstrap
from engine.db import database_url_from_env
from engine.errors import EngineError


@click.command("sla-stats")
@click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="the last day to compute (Asia/Shanghai), YYYY-MM-DD; default: the last finished day")
@click.option("--days", type=click.IntRange(1, 3660), default=1, show_default=True,
              help="how many days, ending with --date")
@click.option("--quiet", is_flag=True, help="no progress bar")
def sla_stats(day, days: int, quiet: bool) -> None:
    """Compute the SLA statistics of one or more days; a day computed before is replaced."""
    from engine.workflow import sla_stats as stats

    services = bootstrap.build({"DATABASE_URL": database_url_from_env()})
    try:
        last = day.date() if day is not None else stats.last_finished_day(services.clock.now())
        wanted = [last - timedelta(days=i) for i in range(days - 1, -1, -1)]
        if quiet:
            reports = stats.compute_days(services, wanted)
        else:
            with click.progressbar(length=len(wanted), label="SLA statistics", show_pos=True,
                                   file=sys.stderr) as bar:
                reports = stats.compute_days(services, wanted, progress=lambda done, total: bar.update(1))
    except EngineError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    finally:
        services.close()
    rows = sum(r.rows for r in reports)
    due = sum(r.clocks_due for r in reports)
    click.echo(f"SLA statistics for {_span(wanted)}: {rows} row(s), {due} clock(s) due")


def _span(days: list[date]) -> str:
    return days[0].isoformat() if len(days) == 1 else f"{days[0].isoformat()} to {days[-1].isoformat()}"
