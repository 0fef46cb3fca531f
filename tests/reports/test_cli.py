"""`flask reports ...`: rebuilding rollups, sending the monthly reports, writing one as a PDF."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from core import jobs
from core.auth.roles import Role
from core.extensions import db
from reports.models import MonthlyReport, ReportDaily
from tests.factories import World, make_user
from tests.reports import handmade


@pytest.fixture
def gamma(system: None, world: World) -> Any:
    tenant = handmade.build()
    make_user("chefin@gamma.example", Role.CLIENT_ADMIN, tenant=tenant, locale="de")
    jobs.commit()
    return tenant


def _run(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=["reports", *args])


def _rows(tenant_id: int) -> int:
    return db.session.scalar(
        select(func.count()).select_from(ReportDaily).where(ReportDaily.tenant_id == tenant_id)
    )


def test_rebuild_writes_the_rollups_of_a_range(app: Flask, gamma: Any) -> None:
    result = _run(app, "rebuild", "--tenant", "gamma", "--from", "2026-03-01", "--to", "2026-03-31")
    assert result.exit_code == 0, result.output
    assert f"{_rows(gamma.id)} rows rebuilt from 2026-03-01 to 2026-03-31" in result.output
    assert _rows(gamma.id) > 0
    again = _run(app, "rebuild", "--tenant", "all", "--from", "2026-03-01", "--to", "2026-03-31")
    assert again.exit_code == 0, again.output
    assert " s)" in again.output


@pytest.mark.parametrize(
    "args",
    [
        ("--tenant", "nobody", "--from", "2026-03-01", "--to", "2026-03-31"),
        ("--tenant", "gamma", "--from", "March", "--to", "2026-03-31"),
        ("--tenant", "gamma", "--from", "2026-03-31", "--to", "2026-03-01"),
    ],
)
def test_rebuild_refuses_bad_input(app: Flask, gamma: Any, args: tuple[str, ...]) -> None:
    assert _run(app, "rebuild", *args).exit_code == 2


def test_send_monthly_sends_once_unless_forced(app: Flask, gamma: Any) -> None:
    first = _run(app, "send-monthly", "--month", "2026-03", "--tenant", "gamma")
    assert first.exit_code == 0, first.output
    assert "gamma: sent to 1 recipient(s)" in first.output
    again = _run(app, "send-monthly", "--month", "2026-03", "--tenant", "gamma")
    assert "gamma: already sent" in again.output
    forced = _run(app, "send-monthly", "--month", "2026-03", "--tenant", "gamma", "--force")
    assert "gamma: sent to 1 recipient(s)" in forced.output
    row = db.session.scalar(select(MonthlyReport).where(MonthlyReport.tenant_id == gamma.id))
    assert row.recipients == ["chefin@gamma.example"]


def test_send_monthly_for_every_client_with_the_report_on(app: Flask, gamma: Any, world: World) -> None:
    world.beta.monthly_report = False
    jobs.commit()
    result = _run(app, "send-monthly", "--month", "2026-03")
    assert result.exit_code == 0, result.output
    assert "gamma: sent" in result.output
    assert "alpha: sent" in result.output
    assert "beta" not in result.output


@pytest.mark.parametrize("month", ["2099-01", "2026-3", "March"])
def test_send_monthly_refuses_a_month_that_is_not_over_or_not_a_month(
    app: Flask, gamma: Any, month: str
) -> None:
    result = _run(app, "send-monthly", "--month", month, "--tenant", "gamma")
    assert result.exit_code == 2
    assert db.session.scalars(select(MonthlyReport)).all() == []


def test_monthly_pdf_writes_the_file(app: Flask, gamma: Any, tmp_path: Path) -> None:
    out = tmp_path / "gamma-2026-03.pdf"
    result = _run(app, "monthly-pdf", "--tenant", "gamma", "--month", "2026-03", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF")
    assert _run(app, "monthly-pdf", "--tenant", "gamma", "--month", "2026-03", "--out", str(out),
                "--language", "xx").exit_code == 2  # fmt: skip
    assert db.session.scalars(select(MonthlyReport)).all() == []
