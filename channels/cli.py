"""`flask channels ...`: the long-running inbound mail processes of platform/Procfile."""

from __future__ import annotations

import sys
import threading

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from channels import mail_imap, mail_smtp, mailboxes
from core import tenancy
from core.errors import NotFound


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


@channels_group.command("imap-poll")
@click.option("--mailbox", "mailbox_id", type=int, default=None, help="Only this mailbox (enabled or not).")
@with_appcontext
def imap_poll(mailbox_id: int | None) -> None:
    """Poll the enabled IMAP mailboxes once (or one mailbox) and say what each one gave."""
    with tenancy.system_scope():
        if mailbox_id is None:
            chosen = [(m.tenant_id, m.id) for m in mailboxes.listing() if m.enabled]
        else:
            try:
                chosen = [(mailboxes.get(mailbox_id).tenant_id, mailbox_id)]
            except NotFound as exc:
                raise click.ClickException(f"no mailbox {mailbox_id}") from exc
    failed = 0
    for tenant_id, mailbox_id_ in chosen:
        with tenancy.only(tenant_id):
            stored = mail_imap.poll(mailbox_id_)
            mailbox = mailboxes.get(mailbox_id_)
            label = f"mailbox {mailbox.id} ({mailbox.username} at {mailbox.host}, {mailbox.folder})"
            if not mailbox.enabled:
                click.echo(f"{label}: disabled, not polled")
            elif mailbox.last_error:
                failed += 1
                click.echo(f"{label}: {stored} stored; {mailbox.last_error}", err=True)
            else:
                click.echo(f"{label}: {stored} stored")
    if not chosen:
        click.echo("no enabled mailboxes")
    if failed:
        sys.exit(1)
