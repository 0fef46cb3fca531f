"""The demo world of `make run`: loads twice without change, and every account signs in."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import func, select

from core import jobs, tenancy
from core.auth.models import User
from core.extensions import db
from demo import data
from tenants.models import Tenant
from tests.conftest import sign_in


def test_demo_loads_idempotently_and_every_account_signs_in(client: FlaskClient) -> None:
    data.load()
    jobs.commit()
    data.load()
    jobs.commit()
    with tenancy.system_scope():
        assert db.session.scalar(select(func.count()).select_from(Tenant)) == 2
        assert db.session.scalar(select(func.count()).select_from(User)) == len(data.USERS)
        alpina = db.session.scalar(select(Tenant).where(Tenant.slug == "alpina"))
        assert (alpina.languages, alpina.timezone, alpina.currency) == (["de", "en"], "Europe/Zurich", "CHF")
    for user in data.USERS:
        # A fresh browser per account.
        response = sign_in(client.application.test_client(), user.email, data.DEMO_PASSWORD)
        assert response.status_code == 302, user.email


def test_demo_agents_see_only_their_clients(client: FlaskClient) -> None:
    data.load()
    jobs.commit()
    sign_in(client, "anna@firstline.example", data.DEMO_PASSWORD)
    page = client.get("/tenants").get_data(as_text=True)
    assert "Alpina" in page
    assert "Lumière" not in page
