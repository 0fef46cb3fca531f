"""The monthly run: one draft per client, re-runnable without duplicates, finalized invoices left
alone, a voided month billed again as the next revision; the sweeps and the CLI."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from flask import Flask
from sqlalchemy import func, select

from billing import invoices, usage
from billing.aggregate import month_usage
from billing.invoice_run import lines_of, run_month
from billing.jobs import build_due_months, mark_overdue
from billing.models import Invoice, InvoiceLine, InvoiceStatus, UsageKind
from billing.rating import Metered
from core import jobs, scheduler
from core.extensions import db
from tests.billing.helpers import MIDDAY, NIGHT, NOV, add_usage, make_plan
from tests.factories import World

DEC_2 = datetime(2025, 12, 2, 8, 0, tzinfo=UTC)


def invoice_of(world_tenant_id: int, period: date = NOV) -> list[Invoice]:
    return list(
        db.session.scalars(
            select(Invoice)
            .where(Invoice.tenant_id == world_tenant_id, Invoice.period_start == period)
            .order_by(Invoice.revision)
        )
    )


def line_count(invoice: Invoice) -> int:
    return db.session.scalar(
        select(func.count()).select_from(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id)
    )


def billed_world(world: World) -> None:
    """Plans for both clients and some usage in November."""
    make_plan(world.alpha)
    make_plan(world.beta, vat_percent="20", included_languages="3", contract_start="2025-11-01")
    for _ in range(3):
        add_usage(world.alpha, UsageKind.CONTACT, at=MIDDAY)
    add_usage(world.alpha, UsageKind.CONTACT, at=NIGHT, out_of_hours=True)
    add_usage(world.alpha, UsageKind.CALL, 125, at=NIGHT, out_of_hours=True)
    add_usage(world.beta, UsageKind.CHAT, 61, at=MIDDAY)


def test_one_draft_per_client_in_its_currency(world: World, system: None) -> None:
    billed_world(world)
    result = run_month(NOV)
    assert len(result.created) == 2
    [alpha] = invoice_of(world.alpha.id)
    [beta] = invoice_of(world.beta.id)
    assert (alpha.number, alpha.status, alpha.currency, alpha.locale) == (
        "ALPHA-2025-11",
        "draft",
        "CHF",
        "de_CH",
    )
    assert (beta.number, beta.currency, beta.locale, beta.vat_rate_bp) == ("BETA-2025-11", "EUR", "fr", 2000)
    kinds = [line.kind for line in lines_of(alpha)]
    assert kinds == ["base_fee", "contacts", "call_minutes", "extra_languages", "out_of_hours"]
    assert alpha.total == alpha.subtotal + alpha.vat_amount
    assert alpha.subtotal == sum(line.amount for line in lines_of(alpha))


def test_a_rerun_rebuilds_the_draft_in_place_without_duplicate_lines(world: World, system: None) -> None:
    billed_world(world)
    first = run_month(NOV)
    [draft] = invoice_of(world.alpha.id)
    lines_before, total_before = line_count(draft), draft.total
    again = run_month(NOV)
    assert sorted(again.rebuilt) == sorted(first.created)
    assert again.created == []
    assert [i.id for i in invoice_of(world.alpha.id)] == [draft.id]
    assert (line_count(draft), draft.total) == (lines_before, total_before)
    add_usage(world.alpha, UsageKind.ESCALATION, at=MIDDAY)  # recorded late: the re-run picks it up
    run_month(NOV)
    assert draft.number == "ALPHA-2025-11"
    assert line_count(draft) == lines_before + 1
    assert draft.total > total_before


def test_finalized_invoices_are_left_alone_and_a_void_month_gets_the_next_revision(
    world: World, system: None
) -> None:
    billed_world(world)
    run_month(NOV)
    [alpha] = invoice_of(world.alpha.id)
    invoices.finalize(alpha, now=DEC_2)
    assert alpha.due_at == DEC_2 + timedelta(days=30)
    total = alpha.total
    add_usage(world.alpha, UsageKind.ESCALATION, at=MIDDAY)
    result = run_month(NOV)
    assert result.left_alone == [alpha.id]
    assert alpha.total == total
    invoices.cancel(alpha, "Falsche Adresse")
    result = run_month(NOV)
    first, second = invoice_of(world.alpha.id)
    assert (first.status, second.status) == ("void", "draft")
    assert (second.number, second.revision) == ("ALPHA-2025-11-2", 2)
    assert second.id in result.created
    assert second.total > total  # the late escalation is on the new revision


def test_no_invoice_without_a_plan_or_outside_the_contract(world: World, system: None) -> None:
    make_plan(world.alpha, contract_start="2025-12-01")
    add_usage(world.alpha, UsageKind.CONTACT, at=MIDDAY)
    add_usage(world.beta, UsageKind.CONTACT, at=MIDDAY)
    assert run_month(NOV).created == []
    assert len(run_month(date(2025, 12, 1)).created) == 1


def test_months_are_the_clients_own(world: World, system: None) -> None:
    make_plan(world.alpha)
    # 1 December 00:30 in Zurich is still 30 November in UTC: December's contact.
    add_usage(world.alpha, UsageKind.CONTACT, at=datetime(2025, 11, 30, 23, 30, tzinfo=UTC))
    zones = {world.alpha.id: world.alpha.timezone}
    assert month_usage(NOV, zones)[world.alpha.id].contacts == 0
    assert month_usage(date(2025, 12, 1), zones)[world.alpha.id].contacts == 1


def test_per_call_rounding_in_sql_matches_the_python_rule(world: World, system: None) -> None:
    rng = random.Random(7)
    cases = (("up", 30, 15), ("nearest", 60, 0), ("up", 1, 0), ("nearest", 45, 20))
    for month, (rounding, increment, after) in enumerate(cases, start=6):  # one month per case
        plan = make_plan(
            world.alpha, rounding=rounding, increment_seconds=str(increment), after_call_seconds=str(after)
        )
        expected = {UsageKind.CALL: Metered(), UsageKind.CHAT: Metered()}
        for n in range(40):
            seconds, ooh = rng.randint(0, 900), n % 3 == 0
            kind = UsageKind.CALL if n % 2 else UsageKind.CHAT
            add_usage(
                world.alpha,
                kind,
                seconds,
                at=datetime(2025, month, 5, tzinfo=UTC) + timedelta(hours=n),
                out_of_hours=ooh,
            )
            expected[kind].add(seconds, plan, out_of_hours=ooh, after=after if kind == UsageKind.CALL else 0)
        got = month_usage(date(2025, month, 1), {world.alpha.id: "Europe/Zurich"})[world.alpha.id]
        assert got.calls == expected[UsageKind.CALL], (rounding, increment)
        assert got.chats == expected[UsageKind.CHAT], (rounding, increment)


def test_a_correction_is_rounded_together_with_its_call(world: World, system: None) -> None:
    make_plan(world.alpha, increment_seconds="60", after_call_seconds="0", call_minute_price="1")
    call = add_usage(world.alpha, UsageKind.CALL, 3600, at=MIDDAY)
    usage.correct(call.id, -3250, "Falsch erfasst", world.admin.id)
    got = month_usage(NOV, {world.alpha.id: "Europe/Zurich"})[world.alpha.id].calls
    assert (got.count, got.seconds, got.corrections) == (1, 360, 1)  # 350 s -> 6 started minutes


def test_the_month_sweep_builds_last_month_once(world: World, system: None) -> None:
    billed_world(world)
    before = len(invoice_of(world.alpha.id))
    results = build_due_months(DEC_2)
    assert {r.period for r in results} == {NOV}
    assert len(invoice_of(world.alpha.id)) == before + 1
    assert build_due_months(DEC_2 + timedelta(hours=1)) == []  # once


def test_the_overdue_sweep(world: World, system: None) -> None:
    billed_world(world)
    run_month(NOV)
    [alpha] = invoice_of(world.alpha.id)
    invoices.finalize(alpha, now=DEC_2)
    assert mark_overdue(DEC_2 + timedelta(days=29)) == 0
    assert mark_overdue(DEC_2 + timedelta(days=31)) == 1
    assert alpha.status == InvoiceStatus.OVERDUE
    assert mark_overdue(DEC_2 + timedelta(days=32)) == 0


def test_cli_runs_a_month(app: Flask, world: World, system: None) -> None:
    billed_world(world)
    jobs.commit()
    result = app.test_cli_runner().invoke(args=["billing", "run-month", "2025-11"])
    assert result.exit_code == 0, result.output
    assert "2025-11: 2 built" in result.output
    again = app.test_cli_runner().invoke(args=["billing", "run-month", "2025-11", "--tenant", "alpha"])
    assert "0 built, 1 drafts rebuilt" in again.output
    bad = app.test_cli_runner().invoke(args=["billing", "run-month", "November"])
    assert bad.exit_code == 2


def test_both_sweeps_are_scheduled() -> None:
    assert {"billing.month_run", "billing.overdue"} <= set(scheduler.sweeps())
