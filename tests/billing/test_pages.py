"""The provider admin's billing pages and the client's invoices in the portal, as users see them."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from billing import accounts, invoices
from billing.invoice_run import run_month
from billing.models import Invoice, Plan, UsageEvent, UsageKind
from core import jobs, tenancy
from core.extensions import db
from tests.billing.helpers import MIDDAY, NIGHT, NOV, add_usage, make_plan
from tests.conftest import csrf_token, sign_in
from tests.factories import World

ADMIN = "admin@provider.example"


@pytest.fixture
def billed(world: World) -> dict[str, Invoice]:
    """November 2025 of both clients built; alpha's finalized, beta's still a draft."""
    with tenancy.system_scope():
        make_plan(world.alpha)
        make_plan(world.beta, base_fee="1234.50", vat_percent="20", included_languages="3")
        add_usage(world.alpha, UsageKind.CONTACT, at=MIDDAY)
        add_usage(world.alpha, UsageKind.CALL, 125, at=NIGHT, out_of_hours=True)
        add_usage(world.beta, UsageKind.CONTACT, at=MIDDAY)
        run_month(NOV)
        found = {i.tenant_id: i for i in db.session.scalars(select(Invoice))}
        invoices.finalize(found[world.alpha.id])
        jobs.commit()
        return {"alpha": found[world.alpha.id], "beta": found[world.beta.id]}


def signed_in(client: FlaskClient, email: str) -> str:
    sign_in(client, email)
    return csrf_token(client, "/profile")


def status_of(client: FlaskClient, url: str, csrf: str, **form: object) -> int:
    return client.post(url, data={"csrf_token": csrf, **form}).status_code


def test_billing_is_for_provider_admins_only(client: FlaskClient, world: World) -> None:
    for email in ("supervisor@provider.example", "agent.both@provider.example", "admin@alpha.example"):
        fresh = client.application.test_client()
        sign_in(fresh, email)
        assert fresh.get("/admin/billing/").status_code == 403, email
        assert fresh.get(f"/admin/billing/plans/{world.alpha.id}").status_code == 403, email
    sign_in(client, ADMIN)
    home = client.get("/").get_data(as_text=True)
    assert 'href="/admin/billing/"' in home


def test_invoice_list_filters_and_revenue_never_mixes_currencies(
    client: FlaskClient, billed: dict[str, Invoice], world: World
) -> None:
    with tenancy.system_scope():
        invoices.finalize(billed["beta"])
        jobs.commit()
    signed_in(client, ADMIN)
    page = client.get("/admin/billing/").get_data(as_text=True)
    assert "ALPHA-2025-11" in page
    assert "BETA-2025-11" in page
    assert "November 2025" in page
    month = page.split('id="revenue-month"')[1].split("</section>")[0]
    assert month.count("<tr><td>November 2025</td>") == 2  # one row per currency
    assert "CHF" in month
    assert "€" in month
    only_beta = client.get(f"/admin/billing/?tenant_id={world.beta.id}").get_data(as_text=True)
    invoices_part = only_beta.split('id="invoices"')[1].split("</section>")[0]
    assert "BETA-2025-11" in invoices_part
    assert "ALPHA-2025-11" not in invoices_part
    drafts = client.get("/admin/billing/?status=draft").get_data(as_text=True).split('id="invoices"')[1]
    assert "No invoices match." in drafts.split("</section>")[0]
    assert client.get("/admin/billing/?month=2025-10").status_code == 200
    assert client.get("/admin/billing/?month=garbage&tenant_id=x&status=nope").status_code == 200


def test_invoice_page_actions(
    client: FlaskClient, billed: dict[str, Invoice], world: World, smtp_to: Any
) -> None:
    csrf = signed_in(client, ADMIN)
    beta = billed["beta"]
    page = client.get(f"/admin/billing/invoices/{beta.id}").get_data(as_text=True)
    assert "Monthly base fee" in page
    assert "1 234,50" in page.replace("\u202f", " ").replace("\xa0", " ")  # French grouping, euros
    url = f"/admin/billing/invoices/{beta.id}"
    assert status_of(client, f"{url}/paid", csrf, note="x") == 409  # a draft is not paid
    assert status_of(client, f"{url}/finalize", csrf) == 302
    refused = client.post(f"{url}/send", data={"csrf_token": csrf})
    assert refused.status_code == 422
    assert "no billing e-mail address" in refused.get_data(as_text=True)
    with tenancy.system_scope():
        accounts.save_account(
            world.beta.id, accounts.AccountInput("compta@beta.example", "Rue 1\nParis", "14")
        )
        jobs.commit()
    assert status_of(client, f"{url}/send", csrf) == 302
    [mail] = [m for m in smtp_to.messages if m["To"] == "compta@beta.example"]
    assert "BETA-2025-11" in mail["Subject"]
    assert f"/portal/billing/invoices/{beta.id}" in mail.get_content()
    no_note = client.post(f"{url}/paid", data={"csrf_token": csrf, "note": " "})
    assert no_note.status_code == 422
    assert "Say how it was paid." in no_note.get_data(as_text=True)
    assert status_of(client, f"{url}/paid", csrf, note="Virement 4711") == 302
    page = client.get(url).get_data(as_text=True)
    assert "Virement 4711" in page
    assert "Nothing more can be done with this invoice." in page
    alpha = billed["alpha"]
    assert status_of(client, f"/admin/billing/invoices/{alpha.id}/void", csrf, reason="") == 422
    assert status_of(client, f"/admin/billing/invoices/{alpha.id}/void", csrf, reason="Doppelt") == 302
    assert status_of(client, "/admin/billing/run", csrf, month="2025-11") == 302
    page = client.get("/admin/billing/?month=2025-11").get_data(as_text=True)
    assert "ALPHA-2025-11-2" in page


def test_plan_form_refuses_bad_values_with_field_errors_and_saves_good_ones(
    client: FlaskClient, world: World
) -> None:
    csrf = signed_in(client, ADMIN)
    url = f"/admin/billing/plans/{world.alpha.id}"
    page = client.get(url).get_data(as_text=True)
    assert "Plan of Alpha AG" in page
    assert "CHF" in page
    form = {
        "csrf_token": csrf,
        "name": "Premium",
        "base_fee": "-5",
        "included_contacts": "100",
        "increment_seconds": "0",
        "rounding": "up",
        "vat_percent": "8.1",
        "contract_start": "2025-01-01",
        "billing_email": "not an address",
        "dunning_grace_days": "14",
    }
    refused = client.post(url, data=form)
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "Enter an amount between 0 and" in text
    assert "The billing increment is at least one second." in text
    assert "Must be a valid e-mail address." in text
    assert 'value="Premium"' in text  # what was typed stays
    form.update(base_fee="900", increment_seconds="30", billing_email="Buchhaltung@Alpha.example")
    assert client.post(url, data=form).status_code == 302
    with tenancy.system_scope():
        plan = db.session.scalar(select(Plan).where(Plan.tenant_id == world.alpha.id))
        assert (plan.name, plan.base_fee, plan.increment_seconds) == ("Premium", 90000, 30)
        assert accounts.account_for(world.alpha.id).billing_email == "buchhaltung@alpha.example"


def test_ledger_shows_usage_and_takes_corrections(client: FlaskClient, world: World) -> None:
    with tenancy.system_scope():
        row = add_usage(world.alpha, UsageKind.CALL, 600, at=MIDDAY)
        jobs.commit()
    csrf = signed_in(client, ADMIN)
    page = client.get(f"/admin/billing/usage/{world.alpha.id}?month=2025-11").get_data(as_text=True)
    assert f'id="usage-{row.id}"' in page
    url = f"/admin/billing/usage/{world.alpha.id}/corrections"
    assert status_of(client, url, csrf, event_id=row.id, quantity="abc", note="x") == 422
    assert status_of(client, url, csrf, event_id=row.id, quantity="-120", note="Zu lang") == 302
    with tenancy.system_scope():
        correction = db.session.scalar(select(UsageEvent).where(UsageEvent.corrects_id == row.id))
        assert (correction.quantity, correction.note) == (-120, "Zu lang")
    page = client.get(f"/admin/billing/usage/{world.alpha.id}?month=2025-11").get_data(as_text=True)
    assert f"Corrects #{row.id}" in page
    # A row of another client under this client's URL is not found.
    with tenancy.system_scope():
        beta_row = add_usage(world.beta, UsageKind.CONTACT, at=MIDDAY)
        jobs.commit()
    assert status_of(client, url, csrf, event_id=beta_row.id, quantity="-1", note="x") == 404


def test_client_admin_sees_issued_invoices_and_usage_to_date(
    client: FlaskClient, billed: dict[str, Invoice], world: World
) -> None:
    signed_in(client, "admin@alpha.example")
    page = client.get("/portal/billing/").get_data(as_text=True)
    assert "ALPHA-2025-11" in page
    assert "Estimated amount" in page
    assert 'id="estimate-total"' in page
    alpha = billed["alpha"]
    invoice_page = client.get(f"/portal/billing/invoices/{alpha.id}").get_data(as_text=True)
    assert "Phone call minutes" in invoice_page
    assert "Surcharge for contacts outside business hours" in invoice_page
    assert "CHF" in invoice_page
    pdf = client.get(f"/portal/billing/invoices/{alpha.id}/pdf")
    assert (pdf.status_code, pdf.mimetype) == (200, "application/pdf")
    assert pdf.data.startswith(b"%PDF")
    # Another client's invoice, and beta's draft, are not found; experts have no billing.
    assert client.get(f"/portal/billing/invoices/{billed['beta'].id}").status_code == 404
    assert client.get(f"/portal/billing/invoices/{billed['beta'].id}/pdf").status_code == 404
    expert = client.application.test_client()
    sign_in(expert, "expert@alpha.example")
    assert expert.get("/portal/billing/").status_code == 403


def test_client_does_not_see_its_drafts(client: FlaskClient, billed: dict[str, Invoice]) -> None:
    signed_in(client, "admin@beta.example")
    page = client.get("/portal/billing/").get_data(as_text=True)
    assert "BETA-2025-11" not in page
    assert client.get(f"/portal/billing/invoices/{billed['beta'].id}").status_code == 404


def test_the_client_reads_its_invoice_in_its_language_and_currency(
    client: FlaskClient, billed: dict[str, Invoice]
) -> None:
    with tenancy.system_scope():
        invoices.finalize(billed["beta"])
        jobs.commit()
    signed_in(client, "admin@beta.example")  # a French-speaking client admin
    page = client.get(f"/portal/billing/invoices/{billed['beta'].id}").get_data(as_text=True)
    assert '<article class="card invoice" lang="fr"' in page
    assert "1\u202f234,50\xa0€" in page  # French grouping and decimals, in euros
