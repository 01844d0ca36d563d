"""The ``jishijiu`` command line.

It lives in ``web`` because ``run`` serves the web app; the engine itself never imports ``web``.
The database comes from ``JISHIJIU_DATABASE_URL`` (default ``sqlite:///var/jishijiu.db``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from engine import bootstrap, migrate
from engine.actors import SYSTEM, Actor
from engine.db import database_url_from_env
from engine.errors import DefinitionError, EngineError


def _services(**extra):
    return bootstrap.build({"DATABASE_URL": database_url_from_env(), **extra})


@click.group()
@click.option("--log-format", type=click.Choice(["text", "json"]), envvar="JISHIJIU_LOG_FORMAT",
              default="text", show_default=True, help="json gives one structured record per line")
@click.option("--log-level", envvar="JISHIJIU_LOG_LEVEL", default="INFO", show_default=True)
def main(log_format: str, log_level: str) -> None:
    """济时救 jishijiu — social-assistance casework on BPMN."""
    from engine.observability import configure_logging

    configure_logging(log_format, log_level.upper())


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Create or migrate the database schema (Alembic)."""
    url = database_url_from_env()
    migrate.upgrade(url, revision)
    click.echo(f"database at {_safe_url(url)} is at {', '.join(sorted(migrate.current_heads(url)))}")


def _safe_url(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def validate(files: tuple[Path, ...]) -> None:
    """Check BPMN files; print every problem with file, element and line."""
    services = _services()
    bad = 0
    for path in files:
        problems = services.engine.validate(path.read_bytes(), str(path))
        if problems:
            bad += 1
            for problem in problems:
                click.echo(str(problem), err=True)
        else:
            click.echo(f"{path}: ok")
    services.close()
    if bad:
        click.echo(f"{bad} of {len(files)} file(s) have problems", err=True)
        sys.exit(1)


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--actor", default="system", help="recorded as the deployer")
def deploy(files: tuple[Path, ...], actor: str) -> None:
    """Deploy BPMN files: a new version only when the content changed."""
    services = _services()
    failed = False
    for path in files:
        try:
            outcome = services.engine.deploy(path.read_bytes(), path.name,
                                             actor=Actor(actor, "admin", ""))
        except DefinitionError as exc:
            failed = True
            for problem in exc.problems:
                click.echo(str(problem), err=True)
            continue
        d = outcome.definition
        state = "deployed" if outcome.created else "unchanged"
        click.echo(f"{path.name}: {d.key} version {d.version} {state} (sha256 {d.sha256[:12]})")
    services.close()
    if failed:
        sys.exit(1)


@main.command("create-user")
@click.argument("username")
@click.option("--password", required=True)
@click.option("--role", required=True)
@click.option("--region", required=True)
@click.option("--name", "display_name", default=None)
def create_user(username: str, password: str, role: str, region: str, display_name: str | None) -> None:
    """Create a user with a role and a region prefix."""
    from engine import accounts
    from engine.workflow import audit

    services = _services()
    try:
        with services.db.write() as session:
            now = services.clock.now()
            user = accounts.create_user(session, username=username, password=password, role=role,
                                        region=region, now=now, display_name=display_name)
            audit.append(session, chain=f"user:{username}", actor="cli", action="user.created",
                         object_type="user", object_id=user.id, at=now,
                         after={"username": username, "role": role, "region": region})
    except EngineError as exc:
        click.echo(f"error: {exc}", err=True)
        for field, messages in getattr(exc, "fields", {}).items():
            click.echo(f"  {field}: {'; '.join(messages)}", err=True)
        sys.exit(1)
    finally:
        services.close()
    click.echo(f"created {role} '{username}' for region {region}")


@main.command()
def plugins() -> None:
    """List the loaded relief programmes."""
    services = _services()
    if services.pm is None:
        click.echo("no plugin manager")
        return
    for name, plugin in sorted(services.pm.list_name_plugin(), key=lambda x: str(x[0])):
        click.echo(f"{name}: {getattr(plugin, '__name__', plugin)}")
    click.echo("service operations: " + ", ".join(services.services.names()))
    services.close()


@main.group()
def audit() -> None:
    """The audit trail."""


@audit.command("verify")
def audit_verify() -> None:
    """Recompute every hash chain; exit non-zero when anything was edited or deleted."""
    from engine.workflow import audit as audit_mod

    services = _services()
    with services.db.read() as session:
        report = audit_mod.verify(session)
    services.close()
    for problem in report.problems:
        click.echo(problem, err=True)
    click.echo(f"{report.events} events in {report.chains} chains, {report.anchors} anchors: "
               + ("OK" if report.ok else f"{len(report.problems)} problem(s)"))
    if not report.ok:
        sys.exit(1)


@audit.command("anchor")
def audit_anchor() -> None:
    """Record every chain's head so that deleting the newest events becomes detectable."""
    from engine.workflow import audit as audit_mod

    services = _services()
    with services.db.write() as session:
        row = audit_mod.anchor(session, services.clock.now())
        click.echo(f"anchor {row.id}: {len(row.heads)} chains")
    services.close()


@main.group()
def calendar() -> None:
    """Working-day calendar overrides (a year's holidays the package does not know yet, local days)."""


@calendar.command("set")
@click.argument("day", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.option("--workday", "kind", flag_value="workday", help="an adjusted working day (调休)")
@click.option("--holiday", "kind", flag_value="holiday", help="a day off")
@click.option("--remove", "kind", flag_value="remove", help="forget the override")
@click.option("--region", default="", help="a region prefix for a local override (default: national)")
def calendar_set(day, kind: str | None, region: str) -> None:
    """Override one day; takes effect for new due dates after the next start of each process."""
    from engine.workflow import audit
    from engine.workflow.calendars import set_override

    if kind is None:
        click.echo("say --workday, --holiday or --remove", err=True)
        sys.exit(2)
    services = _services()
    try:
        with services.db.write() as session:
            working = {"workday": True, "holiday": False, "remove": None}[kind]
            set_override(session, day.date(), working, region)
            audit.append(session, chain="calendar", actor="cli", action="calendar.override",
                         object_type="calendar", object_id=region or "national", at=services.clock.now(),
                         after={"day": day.date().isoformat(), "kind": kind, "region": region})
    except EngineError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    finally:
        services.close()
    click.echo(f"{day.date().isoformat()}: {kind} ({region or 'national'})")


@calendar.command("show")
@click.option("--region", default=None)
@click.option("--year", type=int, default=None)
def calendar_show(region: str | None, year: int | None) -> None:
    """List the working days the engine counts for a year (holidays and adjusted workdays)."""
    from datetime import date, timedelta

    services = _services()
    cal = services.calendars.for_region(region)
    year = year or services.clock.now().year
    day = date(year, 1, 1)
    while day.year == year:
        weekend = day.weekday() >= 5
        working = cal.is_workday(day)
        if working == weekend:
            click.echo(f"{day.isoformat()} {'调休上班 workday' if working else '放假 holiday'}")
        day += timedelta(days=1)
    if year in cal.unknown_years():
        click.echo(f"note: {year} is not in the holidays package; only weekends and overrides count", err=True)
    services.close()


@main.command()
def demo() -> None:
    """Load the Jining demo data (idempotent)."""
    from web.demo import load_demo

    services = _services()
    try:
        for line in load_demo(services):
            click.echo(line)
    finally:
        services.close()


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-scheduler", is_flag=True, help="do not run the timer scheduler in this process")
def run(host: str, port: int, no_scheduler: bool) -> None:
    """Serve the web app (and the scheduler) on the embedded default."""
    from web import create_app

    app = create_app({"SCHEDULER_ENABLED": not no_scheduler})
    click.echo(f"jishijiu on http://{host}:{port}/ (database {_safe_url(app.config['DATABASE_URL'])})")
    from werkzeug.serving import run_simple

    run_simple(host, port, app, threaded=True, use_reloader=False)


@main.command()
def scheduler() -> None:
    """Run the timer scheduler alone (one per deployment; a lease keeps it single)."""
    from engine.workflow.scheduler import run_forever

    services = _services()
    run_forever(services)


from web.cli_review import review  # noqa: E402 - the review group lives in its own module
from web.cli_benefits import benefits  # noqa: E402
from web.cli_sla import sla_stats  # noqa: E402

main.add_command(review)
main.add_command(benefits)
main.add_command(sla_stats)


if __name__ == "__main__":  # pragma: no cover
    main()
