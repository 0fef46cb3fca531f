"""`flask --app wsgi demo load`"""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from core import jobs
from demo import billing, data, escalations, history, staffing
from demo import sla as demo_sla

group = click.Group("demo", help="Demo data.")


@group.command("load")
@with_appcontext
def load() -> None:
    """Load the demo tenants and accounts (idempotent) and print the sign-ins."""
    users = data.load()
    # Before the commit that processes the demo contacts: their tickets count in business time.
    demo_sla.seed(data.tenants_by_slug())
    jobs.commit()  # the demo contacts become tickets (inline jobs run after the commit)
    staffing.seed()
    jobs.commit()
    by_slug = data.tenants_by_slug()
    escalations.seed(by_slug)
    jobs.commit()
    escalations.escalate(by_slug)
    jobs.commit()
    billing.seed(by_slug)  # after the calendars: last month's usage is out of hours by them
    jobs.commit()
    made = history.seed(by_slug)  # four months of tickets for the dashboards, and their rollups
    jobs.commit()
    for slug, count in made.items():
        click.echo(f"History: {count} tickets over {history.DAYS} days for {slug}")
    click.echo("")
    click.echo(f"Demo accounts (password for all: {data.DEMO_PASSWORD})")
    click.echo(f"  {'e-mail':<32} {'role':<15} tenant")
    for user in users:
        where = user.tenant or (", ".join(user.assigned) if user.assigned else "all")
        click.echo(f"  {user.email:<32} {user.role.value:<15} {where}")
    click.echo("")
