"""Kernel commands: `flask --app wsgi config|users|jobs|demo|serve ...` (or `firstline ...`)."""

from __future__ import annotations

import os
import sys
import threading

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from core import jobs, scheduler, tenancy
from core.auth import services as auth
from core.auth.roles import Role
from core.config import QUEUES, check_production
from core.errors import ValidationFailed


@click.group("config")
def config_group() -> None:
    """Inspect the configuration."""


@config_group.command("check")
@with_appcontext
def config_check() -> None:
    """Print what a production deployment still has to set; exit 1 if anything."""
    findings = check_production(current_app.config)
    if not findings:
        click.echo("Configuration is ready for production.")
        return
    click.echo("Missing or unsafe for production:")
    for finding in findings:
        click.echo(f"  {finding.key}: {finding.problem}")
    sys.exit(1)


@click.group("users")
def users_group() -> None:
    """Accounts."""


@users_group.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--tenant", "tenant_id", type=int, default=None, help="Tenant id for client roles.")
@click.password_option()
@with_appcontext
def users_create(email: str, name: str, role: str, tenant_id: int | None, password: str) -> None:
    """Create an account; the password is asked for, never taken from the command line."""
    with tenancy.system_scope():
        try:
            user = auth.create_user(
                email=email, name=name, role=Role(role), password=password, tenant_id=tenant_id
            )
        except ValidationFailed as exc:
            for field, message in exc.fields.items():
                click.echo(f"{field}: {message}", err=True)
            sys.exit(2)
        jobs.commit()
    click.echo(f"Created {user.email} ({user.role}).")


@click.group("jobs")
def jobs_group() -> None:
    """Background jobs and the scheduler."""


@jobs_group.command("worker")
@click.option("--queues", default=",".join(QUEUES), show_default=True)
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option("--fork", is_flag=True, help="Fork a work horse per job (isolation at ~10x the cost).")
@with_appcontext
def jobs_worker(queues: str, burst: bool, fork: bool) -> None:
    """Run an RQ worker inside the application context (needs REDIS_URL).

    By default jobs run in the worker process itself: our jobs are short, commit or roll back
    their own session, and a fork per job (with a fresh database connection) costs more than
    the job. `--fork` is for queues whose jobs might leak memory or hang in C code.
    """
    if not current_app.config["REDIS_URL"]:
        raise click.UsageError("REDIS_URL is not set: jobs run inline in the web process.")
    from rq import SimpleWorker, Worker

    names = [name.strip() for name in queues.split(",") if name.strip()]
    worker_class = Worker if fork else SimpleWorker
    worker = worker_class(names, connection=jobs.redis_connection())
    worker.work(burst=burst, with_scheduler=True)


@jobs_group.command("scheduler")
@click.option("--interval", default=5.0, show_default=True)
@with_appcontext
def jobs_scheduler(interval: float) -> None:
    """The periodic-sweep loop. Run exactly one (a second one is harmless but wasteful)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    stop = threading.Event()
    try:
        scheduler.run_forever(app, stop, interval)
    except KeyboardInterrupt:
        stop.set()


@jobs_group.command("tick")
@with_appcontext
def jobs_tick() -> None:
    """Run one scheduler tick now (for cron-style deployments and debugging)."""
    with tenancy.system_scope():
        started = scheduler.tick()
    click.echo(", ".join(started) or "nothing due")


# Domain packages add what else the embedded server runs (the SMTP listener) to this list of
# `start(app)` callables; the kernel does not import them.
EMBEDDED = "firstline_embedded"


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--port", type=int, default=lambda: int(os.environ.get("PORT", "5000")), show_default="5000 or $PORT"
)
@with_appcontext
def serve(host: str, port: int) -> None:
    """The embedded server of `make run`: web, inline jobs and the scheduler in one process."""
    from werkzeug.serving import run_simple

    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.config["SCHEDULER_IN_PROCESS"]:
        scheduler.start_in_process(app)
    for start in app.extensions.get(EMBEDDED, []):
        start(app)
    click.echo(f"Firstline is serving on http://{host}:{port}/  (Ctrl+C stops it)")
    run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)


def init_app(app: Flask) -> None:
    for command in (config_group, users_group, jobs_group, serve):
        app.cli.add_command(command)


def main() -> None:
    """The `firstline` console script: the same commands as `flask --app wsgi`."""
    from core import create_app

    FlaskGroup(create_app=create_app)(prog_name="firstline")
