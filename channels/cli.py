"""`flask channels ...`: the long-running inbound mail processes of platform/Procfile."""

from __future__ import annotations

import threading

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from channels import mail_smtp


@click.group("channels")
def channels_group() -> None:
    """Inbound channels: the SMTP listener and the IMAP poller."""


@channels_group.command("smtp")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=2525, show_default=True)
@with_appcontext
def smtp(host: str, port: int) -> None:
    """Accept mail for the tenants' support addresses until interrupted."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    listener = mail_smtp.controller(app, host, port)
    listener.start()
    click.echo(f"SMTP listener on {host}:{port} (Ctrl+C stops it)")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        listener.stop()


def start_embedded_smtp(app: Flask) -> None:
    """`make run`: the listener on SMTP_LISTEN (127.0.0.1:2525) next to the web server."""
    if not app.config["SMTP_LISTEN"]:
        return
    host, port = mail_smtp.parse_listen(app.config["SMTP_LISTEN"])
    try:
        mail_smtp.controller(app, host, port).start()
    except Exception as exc:  # a busy port must not keep the demo from starting
        click.echo(f"SMTP listener not started on {host}:{port}: {exc}", err=True)
        return
    click.echo(f"Mail for the demo clients' support addresses: smtp://{host}:{port}")
