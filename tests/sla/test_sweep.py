"""The SLA sweep: each warning and breach recorded and mailed once, whatever runs twice."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlalchemy import select

from core import jobs, scheduler
from core.extensions import db
from escalations.models import Escalation, EscalationStatus, Team, TeamMember
from sla import calendars, policies, sweep
from sla.models import SlaEvent
from tests.conftest import SmtpServer, sign_in
from tests.factories import World, make_ticket
from tickets import services as tickets
from tickets import sla
from tickets.models import Priority, Status, Ticket, TicketEvent

ZURICH = ZoneInfo("Europe/Zurich")


def events(ticket: Ticket) -> list[tuple[str, str]]:
    rows = db.session.scalars(select(SlaEvent).where(SlaEvent.ticket_id == ticket.id).order_by(SlaEvent.id))
    return [(row.clock, row.kind) for row in rows]


def sla_mails(smtp: SmtpServer) -> list:  # type: ignore[type-arg]
    """The SLA notices among the mails (the customers get acknowledgements too)."""
    return [mail for mail in smtp.messages if "SLA" in mail["Subject"]]


def run(now: datetime) -> sweep.SweepResult:
    result = sweep.sweep(now)
    jobs.commit()  # the mails leave after the commit
    return result


def assigned_ticket(world: World, key: str) -> Ticket:
    ticket = make_ticket(world.alpha, subject=f"Sweep {key}", key=key)
    tickets.assign(ticket, world.agent_alpha.id)
    return ticket


def test_the_sweep_is_registered_to_run_every_minute() -> None:
    assert scheduler.sweeps()["sla_sweep"].every == timedelta(minutes=1)


def test_a_breach_is_recorded_and_mailed_once_however_often_the_sweep_runs(
    world: World, system: None, smtp_to: SmtpServer
) -> None:
    ticket = assigned_ticket(world, "s1")
    late = ticket.first_response_due_at + timedelta(minutes=1)
    run(late)
    second = run(late + timedelta(minutes=1))
    assert events(ticket) == [("first_response", "breach")]
    assert second.breaches == 0
    mails = [mail for mail in sla_mails(smtp_to) if f"ALPHA-{ticket.number}" in mail["Subject"]]
    recipients = sorted(address for mail in mails for address in mail["To"].split(", "))
    assert recipients == ["agent.alpha@provider.example", "supervisor@provider.example"]
    # Each recipient reads it in their own language (English, or the client's German).
    assert any(
        text in mails[0]["Subject"] for text in ("SLA breached: First response", "SLA verletzt: Erstantwort")
    )
    kinds = db.session.scalars(select(TicketEvent.kind).where(TicketEvent.ticket_id == ticket.id))
    assert "sla_breach" in list(kinds)


def test_a_warning_comes_first_then_the_breach(world: World, system: None, smtp_to: SmtpServer) -> None:
    ticket = assigned_ticket(world, "s2")
    due = ticket.first_response_due_at
    run(due - timedelta(minutes=49))  # 80 % of 4 hours is 48 minutes before
    assert events(ticket) == []
    run(due - timedelta(minutes=47))
    assert events(ticket) == [("first_response", "warning")]
    assert ticket.sla_check_at == due
    run(due)
    assert events(ticket) == [("first_response", "warning"), ("first_response", "breach")]
    subjects = [mail["Subject"] for mail in sla_mails(smtp_to) if f"ALPHA-{ticket.number}" in mail["Subject"]]
    assert sum("SLA warning" in s or "SLA-Warnung" in s for s in subjects) == 2
    assert sum("SLA breached" in s or "SLA verletzt" in s for s in subjects) == 2


def test_a_ticket_waiting_for_the_customer_does_not_breach(world: World, system: None) -> None:
    ticket = assigned_ticket(world, "s3")
    tickets.set_status(ticket, Status.PENDING_CUSTOMER)
    run(ticket.resolution_due_at + timedelta(days=3))
    assert events(ticket) == []


def test_a_warning_before_a_pause_is_not_repeated_after_it(world: World, system: None) -> None:
    ticket = assigned_ticket(world, "s4")
    due = ticket.first_response_due_at
    run(due - timedelta(minutes=30))
    tickets.set_status(ticket, Status.PENDING_CUSTOMER, now=due - timedelta(minutes=29))
    tickets.set_status(ticket, Status.OPEN, now=due + timedelta(hours=2))
    run(due + timedelta(hours=2, minutes=1))
    assert events(ticket) == [("first_response", "warning")]
    run(due + timedelta(hours=2, minutes=30))
    assert events(ticket) == [("first_response", "warning"), ("first_response", "breach")]


def test_a_concurrent_run_that_recorded_first_wins(
    world: World, system: None, smtp_to: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two schedulers: the second does not see the first's event before inserting its own."""
    ticket = assigned_ticket(world, "s5")
    late = ticket.first_response_due_at + timedelta(minutes=1)
    run(late)
    mails = len(sla_mails(smtp_to))
    monkeypatch.setattr(sweep._History, "recorded", lambda *args, **kwargs: False)
    ticket.sla_check_at = late  # as the other run found it
    result = run(late)
    assert result.breaches == 0
    assert events(ticket) == [("first_response", "breach")]
    assert len(sla_mails(smtp_to)) == mails


def test_the_next_response_breaches_once_per_answer_owed(world: World, system: None) -> None:
    ticket = assigned_ticket(world, "s6")
    tickets.reply(ticket, world.agent_alpha.id, "First.")
    asked = ticket.created_at + timedelta(minutes=10)
    tickets.customer_wrote(ticket, "Well?", contact_id=ticket.contact_id, now=asked)
    late = ticket.next_response_due_at + timedelta(minutes=1)
    run(late)
    run(late + timedelta(minutes=1))
    assert events(ticket) == [("next_response", "breach")]
    with time_machine.travel(late + timedelta(minutes=2)):
        tickets.reply(ticket, world.agent_alpha.id, "Sorry.")
    asked_again = late + timedelta(minutes=3)
    tickets.customer_wrote(ticket, "Again?", contact_id=ticket.contact_id, now=asked_again)
    run(ticket.next_response_due_at + timedelta(minutes=1))
    assert events(ticket) == [("next_response", "breach"), ("next_response", "breach")]


def test_a_breach_raises_the_priority_once_when_the_policy_says_so(
    world: World, system: None, smtp_to: SmtpServer
) -> None:
    world.agent_alpha.locale = world.supervisor.locale = "en"
    policies.create(policies.PolicyInput(tenant_id=world.alpha.id, name="Strict", raise_priority=True))
    ticket = assigned_ticket(world, "s7")
    run(ticket.first_response_due_at + timedelta(minutes=1))
    assert ticket.priority == Priority.HIGH.value
    db.session.expire_all()
    breach = db.session.scalar(select(SlaEvent).where(SlaEvent.ticket_id == ticket.id))
    assert breach.data == {"priority": "normal", "raised_to": "high"}
    # High: the resolution (8 hours) is now due sooner; its breach does not raise again.
    run(ticket.resolution_due_at + timedelta(minutes=1))
    assert ticket.priority == Priority.HIGH.value
    assert ("resolution", "breach") in events(ticket)
    assert any("The priority was raised to High." in mail.get_content() for mail in sla_mails(smtp_to))


def test_the_due_time_is_written_in_the_recipients_language_and_zone(
    world: World, system: None, smtp_to: SmtpServer
) -> None:
    world.supervisor.locale = "de"
    world.supervisor.timezone = "Europe/Zurich"
    ticket = make_ticket(world.alpha, subject="Sprache", key="s8")
    run(ticket.first_response_due_at + timedelta(minutes=1))
    [mail] = [m for m in sla_mails(smtp_to) if f"ALPHA-{ticket.number}" in m["Subject"]]
    local = ticket.first_response_due_at.astimezone(ZURICH)
    assert f"{local:%d.%m.%y}, {local:%H:%M}" in mail.get_content()


def test_dst_switch_a_clock_over_the_missing_hour(world: World, system: None) -> None:
    always = calendars.create(
        calendars.CalendarInput(
            tenant_id=world.alpha.id,
            name="Nights",
            timezone="Europe/Zurich",
            hours={str(day): "00:00-24:00" for day in range(7)},
        )
    )
    policies.create(
        policies.PolicyInput(
            tenant_id=world.alpha.id,
            name="Night shift",
            calendar_id=always.id,
            targets={"first_response": {"normal": 60}},
        )
    )
    ticket = make_ticket(world.alpha, subject="Night", key="s9")
    start = datetime(2026, 3, 29, 1, 30, tzinfo=ZURICH)  # 02:00-03:00 does not exist that night
    sla.start_clocks(ticket, start=start, now=start)
    assert ticket.first_response_due_at == datetime(2026, 3, 29, 3, 30, tzinfo=ZURICH)
    run(datetime(2026, 3, 29, 3, 17, tzinfo=ZURICH))
    assert events(ticket) == []
    run(datetime(2026, 3, 29, 3, 18, tzinfo=ZURICH))  # 48 minutes of real time after 01:30
    assert events(ticket) == [("first_response", "warning")]
    run(datetime(2026, 3, 29, 3, 29, tzinfo=ZURICH))
    assert events(ticket) == [("first_response", "warning")]
    run(datetime(2026, 3, 29, 3, 30, tzinfo=ZURICH))
    assert events(ticket) == [("first_response", "warning"), ("first_response", "breach")]


def _escalation(world: World, ticket: Ticket, team: Team, start: datetime) -> Escalation:
    ack, resolve = sla.team_due_times(team, start)
    escalation = Escalation(
        tenant_id=world.alpha.id,
        ticket_id=ticket.id,
        team_id=team.id,
        level=2,
        packet={"summary": "x"},
        created_at=start,
        ack_due_at=ack,
        resolve_due_at=resolve,
    )
    db.session.add(escalation)
    db.session.flush()
    return escalation


def test_team_clocks_breach_once_and_tell_the_teams_members(
    world: World, system: None, smtp_to: SmtpServer
) -> None:
    team = Team(
        tenant_id=world.alpha.id, name="IT", timezone="Europe/Zurich", ack_minutes=60, resolve_minutes=240
    )
    db.session.add(team)
    db.session.flush()
    db.session.add(TeamMember(tenant_id=world.alpha.id, team_id=team.id, user_id=world.alpha_expert.id))
    ticket = make_ticket(world.alpha, subject="Escalated", key="s10")
    tickets.set_status(ticket, Status.PENDING_CUSTOMER)  # the ticket's own clocks stand still
    start = datetime(2026, 6, 15, 9, 0, tzinfo=ZURICH)
    escalation = _escalation(world, ticket, team, start)
    run(start + timedelta(minutes=47))
    assert events(ticket) == []
    run(start + timedelta(minutes=49))
    run(start + timedelta(minutes=61))
    run(start + timedelta(minutes=62))
    assert events(ticket) == [("team_ack", "warning"), ("team_ack", "breach")]
    mails = [mail for mail in sla_mails(smtp_to) if f"ALPHA-{ticket.number}" in mail["Subject"]]
    assert {mail["To"] for mail in mails} == {"expert@alpha.example"}
    assert len(mails) == 2
    escalation.status = EscalationStatus.ACKNOWLEDGED.value
    run(start + timedelta(hours=5))
    assert events(ticket)[-1] == ("team_resolve", "breach")
    escalation.status = EscalationStatus.RESOLVED.value
    run(start + timedelta(hours=6))
    assert len(events(ticket)) == 3


def test_two_escalations_of_one_ticket_due_at_once_each_breach(world: World, system: None) -> None:
    teams = []
    for name in ("Service", "IT"):
        team = Team(
            tenant_id=world.alpha.id, name=name, timezone="Europe/Zurich", ack_minutes=60, resolve_minutes=240
        )
        db.session.add(team)
        teams.append(team)
    db.session.flush()
    ticket = make_ticket(world.alpha, subject="Two teams", key="s11")
    tickets.set_status(ticket, Status.PENDING_CUSTOMER)
    start = datetime(2026, 6, 15, 9, 0, tzinfo=ZURICH)
    first, second = (_escalation(world, ticket, team, start) for team in teams)
    assert first.ack_due_at == second.ack_due_at
    run(start + timedelta(minutes=61))
    run(start + timedelta(minutes=62))
    breaches = db.session.scalars(
        select(SlaEvent.escalation_id).where(SlaEvent.ticket_id == ticket.id, SlaEvent.kind == "breach")
    )
    assert sorted(breaches) == sorted([first.id, second.id])


def test_the_history_names_the_clock_that_was_missed(world: World, system: None, client: FlaskClient) -> None:
    ticket = assigned_ticket(world, "s12")
    run(ticket.first_response_due_at + timedelta(minutes=1))
    sign_in(client, "agent.alpha@provider.example")
    page = client.get(f"/agent/tickets/{ticket.id}").get_data(as_text=True)
    assert "SLA target missed" in page
    assert "First response" in page.split("SLA target missed", 1)[1][:200]
