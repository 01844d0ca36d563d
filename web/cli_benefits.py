"""``jishijiu benefits …``: the county's monthly payment cycle from the command line.

Every command acts as a named user (``--user``, an existing active account): the cycle's rules —
county level, the approver is not the drafter — are the same as in the API, and every step is in
the audit trail under that name.  Wired into ``web/cli.py`` with ``main.add_command(benefits)``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from engine import bootstrap
from engine.db import database_url_from_env
from engine.errors import EngineError


def _services():
    return bootstrap.build({"DATABASE_URL": database_url_from_env()})


def _actor(session, username: str):
    from sqlalchemy import select

    from engine.accounts import UserAccount
    from engine.actors import Actor

    user = session.execute(select(UserAccount).where(UserAccount.username == username)).scalar()
    if user is None or not user.active:
        raise click.ClickException(f"no active user {username!r}")
    return Actor(user.username, user.role, user.region)


def _run(step):
    """Run ``step(services)`` and turn engine errors into a message and exit code 1."""
    services = _services()
    try:
        return step(services)
    except EngineError as exc:
        fields = getattr(exc, "fields", None) or {}
        click.echo(f"error: {exc}", err=True)
        for where, messages in list(fields.items())[:50]:
            click.echo(f"  {where}: {'; '.join(messages)}", err=True)
        sys.exit(1)
    finally:
        services.close()


def _show(b: dict) -> None:
    click.echo(f"batch {b['id']} {b['region_code']} {b['month']} {b['status']}: {b['line_count']} line(s), "
               f"{b['total']} yuan; paid {b['paid_count']} ({b['paid_total']}), failed {b['failed_count']} "
               f"({b['failed_total']}); {b['missing_accounts']} household(s) without a bank account")


@click.group("benefits")
def benefits() -> None:
    """Monthly payments (社会化发放): draft, approve, lock, export, reconcile."""


USER = click.option("--user", "username", required=True, help="the account acting (audited)")


@benefits.command("import-roll")
@click.option("--start-month", required=True, help="first month jishijiu pays, YYYY-MM")
@click.option("--region", default="", help="only households under this region prefix")
@USER
def import_roll(start_month: str, region: str, username: str) -> None:
    """Go-live: turn everyone active on the review roll into an entitlement paid from START_MONTH."""
    from engine.casework.benefits import entitlements

    def step(services):
        with services.db.write() as s:
            actor = _actor(s, username)
            if actor.role != "admin":
                raise click.ClickException("only an admin imports the roll")
            return entitlements.import_roll(s, start_month=start_month, actor=actor.username,
                                            at=services.clock.now(), region_prefix=region)
    click.echo(f"{_run(step)} entitlement(s) created")


@benefits.command("draft")
@click.option("--county", required=True, help="6-digit county code")
@click.option("--month", required=True, help="YYYY-MM")
@USER
def draft(county: str, month: str, username: str) -> None:
    """Draft (or re-draft) the county's batch for MONTH; a batch already approved is left as it is."""
    from engine.casework.benefits import cycles

    def step(services):
        with services.db.write() as s:
            actor = _actor(s, username)
            if not actor.sees(county):
                raise click.ClickException(f"{username} does not act for county {county}")
            months = int(services.config.get("BENEFITS_ARREARS_MONTHS", cycles.DEFAULT_ARREARS_MONTHS))
            return cycles.batch_dict(cycles.draft(s, region_code=county, month=month, actor=actor.username,
                                                  at=services.clock.now(), arrears_months=months))
    _show(_run(step))


def _batch_step(name: str):
    from engine.casework.benefits import cycles

    def command(batch_id: int, username: str) -> None:
        def step(services):
            with services.db.write() as s:
                actor = _actor(s, username)
                if actor.role not in ("admin", "approver"):
                    raise click.ClickException(f"only an approver may {name} a batch")
                kwargs = {"fund_kinds": services.config.get("BENEFITS_FUND_KINDS")} if name == "lock" else {}
                return cycles.batch_dict(getattr(cycles, name)(s, batch_id, actor=actor.username, region=actor.region,
                                                               at=services.clock.now(), **kwargs))
        _show(_run(step))
    return command


benefits.command("approve", help="Approve a drafted batch (审核; not by the person who drafted it).")(
    click.argument("batch_id", type=int)(USER(_batch_step("approve"))))
benefits.command("lock", help="Lock an approved batch and debit the programmes' funds.")(
    click.argument("batch_id", type=int)(USER(_batch_step("lock"))))


@benefits.command("export")
@click.argument("batch_id", type=int)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--id-mode", type=click.Choice(["masked", "full", "none"]), default=None,
              help="the holder's ID number in the file (default BENEFITS_BANK_FILE_ID, else masked)")
@USER
def export(batch_id: int, out: Path, id_mode: str | None, username: str) -> None:
    """Write the bank's payment file of a locked batch (CSV, docs/benefits.md)."""
    from engine.casework.benefits import reconcile

    def step(services):
        with services.db.write() as s:
            actor = _actor(s, username)
            mode = id_mode or services.config.get("BENEFITS_BANK_FILE_ID", "masked")
            return reconcile.export(s, batch_id, actor=actor.username, region=actor.region,
                                    at=services.clock.now(), id_mode=mode)
    data, batch = _run(step)
    out.write_bytes(data)
    click.echo(f"wrote {out} ({len(data)} bytes, sha256 {batch['file_sha256']})")
    _show(batch)


@benefits.command("reconcile")
@click.argument("batch_id", type=int)
@click.argument("result_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@USER
def reconcile_cmd(batch_id: int, result_file: Path, username: str) -> None:
    """Import the bank's result file: mark each line paid or failed (all or nothing)."""
    from engine.casework.benefits import reconcile

    def step(services):
        with services.db.write() as s:
            actor = _actor(s, username)
            return reconcile.reconcile(s, batch_id, result_file.read_bytes(), actor=actor.username,
                                       region=actor.region, at=services.clock.now(),
                                       fund_kinds=services.config.get("BENEFITS_FUND_KINDS"))
    _show(_run(step))


@benefits.command("status")
@click.option("--month", default=None, help="only this month, YYYY-MM")
@USER
def status(month: str | None, username: str) -> None:
    """The batches the user can see, newest month first."""
    from engine.casework.benefits import cycles

    def step(services):
        with services.db.read() as s:
            actor = _actor(s, username)
            return cycles.list_batches(s, region=actor.region, month=month, limit=200)[0]
    for b in _run(step):
        _show(b)


@benefits.command("figures")
@click.option("--region", default="", help="region prefix (default: the user's region)")
@click.option("--months", default="", help="comma-separated YYYY-MM (default: the last 12 with a batch)")
@USER
def figures(region: str, months: str, username: str) -> None:
    """People covered, money paid, failed payments."""
    import json

    from engine.casework.benefits import figures as benefit_figures

    def step(services):
        with services.db.read() as s:
            actor = _actor(s, username)
            prefix = region or actor.region
            if not actor.sees(prefix):
                raise click.ClickException(f"{prefix} is outside {username}'s region")
            return benefit_figures(s, prefix, [m for m in months.split(",") if m] or None)
    click.echo(json.dumps(_run(step), ensure_ascii=False, indent=2))
