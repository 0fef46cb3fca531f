"""The workspace's tools: macros, bulk actions, merging, time, SLA order, contacts, organisations."""

from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import select

from billing.models import UsageEvent
from core import jobs, tenancy
from core.extensions import db
from core.models_base import utcnow
from tests.conftest import csrf_token, sign_in
from tests.factories import World, make_ticket
from tickets import contacts, macros, organizations, timetrack
from tickets import services as tickets
from tickets.models import Contact, Message, Priority, Status, Ticket


def _fresh(ticket_id: int) -> Ticket:
    """The ticket as stored now (the requests changed it in the same transaction)."""
    with tenancy.system_scope():
        query = select(Ticket).where(Ticket.id == ticket_id).execution_options(populate_existing=True)
        return db.session.scalars(query).one()


def test_a_macro_is_offered_filled_in_and_its_follow_up_applies(client: FlaskClient, world: World) -> None:
    with tenancy.system_scope():
        macro = macros.create(
            macros.MacroInput(
                tenant_id=world.alpha.id,
                name="Neustart",
                language="de",
                body="Guten Tag {contact_name}, bitte starten Sie das Gerät neu ({ticket_number}).",
                set_status="pending_customer",
                add_tags="neustart",
            )
        )
        jobs.commit()
    sign_in(client, "agent.alpha@provider.example")
    page = client.get(f"/agent/tickets/{world.alpha_ticket.id}").get_data(as_text=True)
    assert (
        f"Guten Tag Chris Customer, bitte starten Sie das Gerät neu (ALPHA-{world.alpha_ticket.number})."
        in page
    )
    token = csrf_token(client, f"/agent/tickets/{world.alpha_ticket.id}")
    client.post(
        f"/agent/tickets/{world.alpha_ticket.id}/reply",
        data={
            "csrf_token": token,
            "kind": "reply",
            "body": "Guten Tag, bitte neu starten.",
            "macro": macro.id,
        },
    )
    ticket = _fresh(world.alpha_ticket.id)
    assert ticket.status == Status.PENDING_CUSTOMER.value
    assert ticket.tags == ["neustart"]


def test_a_macro_with_an_unknown_placeholder_is_refused(client: FlaskClient, world: World) -> None:
    sign_in(client, "supervisor@provider.example")
    token = csrf_token(client, "/agent/macros/new")
    response = client.post(
        "/agent/macros/new",
        data={
            "csrf_token": token,
            "tenant": world.alpha.id,
            "name": "X",
            "language": "de",
            "body": "Hi {password}",
        },
    )
    assert response.status_code == 422
    assert "Unknown placeholder: {password}" in response.get_data(as_text=True)


def test_agents_use_macros_but_do_not_write_them(client: FlaskClient, world: World) -> None:
    sign_in(client, "agent.alpha@provider.example")
    assert client.get("/agent/macros").status_code == 200
    assert client.get("/agent/macros/new").status_code == 403


def test_bulk_status_change_reports_the_ticket_that_cannot_take_it(client: FlaskClient, world: World) -> None:
    with tenancy.system_scope():
        other = make_ticket(world.alpha, subject="Second", key="b1")
        closed = make_ticket(world.alpha, subject="Third", key="b2")
        tickets.set_status(closed, Status.CLOSED)
        jobs.commit()
    beta_status = world.beta_ticket.status
    sign_in(client, "agent.alpha@provider.example")
    token = csrf_token(client, "/agent/")
    response = client.post(
        "/agent/bulk",
        data={
            "csrf_token": token,
            "action": "status",
            "value_status": "pending_customer",
            "ticket": [world.alpha_ticket.id, other.id, closed.id, world.beta_ticket.id],
        },
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "2 tickets changed." in page
    assert _fresh(other.id).status == "pending_customer"
    assert _fresh(closed.id).status == "closed"
    assert _fresh(world.beta_ticket.id).status == beta_status  # another tenant's id: not changed


def test_bulk_assign_and_tag(client: FlaskClient, world: World) -> None:
    sign_in(client, "agent.alpha@provider.example")
    token = csrf_token(client, "/agent/")
    client.post(
        "/agent/bulk",
        data={"csrf_token": token, "action": "assign", "value_assign": "me", "ticket": world.alpha_ticket.id},
    )
    client.post(
        "/agent/bulk",
        data={
            "csrf_token": token,
            "action": "tag",
            "value_tag": "vip, Rückruf",
            "ticket": world.alpha_ticket.id,
        },
    )
    ticket = _fresh(world.alpha_ticket.id)
    assert ticket.assignee_id == world.agent_alpha.id
    assert ticket.tags == ["vip", "rückruf"]
    assert "vip" in client.get("/agent/?tag=vip").get_data(as_text=True)


def test_merging_moves_the_conversation_into_the_oldest_ticket(client: FlaskClient, world: World) -> None:
    with tenancy.system_scope():
        dup = make_ticket(world.alpha, subject="Same again", body="I wrote before", key="m1")
        jobs.commit()
    sign_in(client, "agent.alpha@provider.example")
    token = csrf_token(client, "/agent/")
    response = client.post(
        "/agent/bulk",
        data={"csrf_token": token, "action": "merge", "ticket": [dup.id, world.alpha_ticket.id]},
    )
    assert response.headers["Location"].endswith(f"/agent/tickets/{world.alpha_ticket.id}")
    source = _fresh(dup.id)
    assert source.status == "closed"
    assert source.merged_into_id == world.alpha_ticket.id
    with tenancy.system_scope():
        bodies = [
            m.body
            for m in db.session.scalars(select(Message).where(Message.ticket_id == world.alpha_ticket.id))
        ]
    assert "I wrote before" in bodies
    page = client.get(f"/agent/tickets/{world.alpha_ticket.id}").get_data(as_text=True)
    assert f"Ticket ALPHA-{dup.number} was merged into this one." in page


def test_time_by_hand_and_by_timer_adds_up_and_is_recorded_for_billing(world: World) -> None:
    with tenancy.system_scope():
        ticket = world.alpha_ticket
        timetrack.add(ticket, world.agent_alpha.id, 300, note="research")
        start = utcnow() - timedelta(minutes=2)
        timetrack.start_timer(ticket, world.agent_alpha.id, now=start)
        entry = timetrack.stop_timer(ticket, world.agent_alpha.id, now=start + timedelta(seconds=125))
        assert entry.seconds == 125
        assert ticket.time_spent_seconds == 425
        booked = db.session.scalars(select(UsageEvent).where(UsageEvent.kind == "time")).all()
        assert sorted(e.quantity for e in booked) == [125, 300]


def test_the_timer_is_started_and_stopped_from_the_ticket(client: FlaskClient, world: World) -> None:
    sign_in(client, "agent.alpha@provider.example")
    url = f"/agent/tickets/{world.alpha_ticket.id}"
    token = csrf_token(client, url)
    client.post(url + "/timer", data={"csrf_token": token, "action": "start"})
    assert "Stop the timer" in client.get(url).get_data(as_text=True)
    assert client.post(url + "/timer", data={"csrf_token": token, "action": "start"}).status_code == 409
    client.post(url + "/timer", data={"csrf_token": token, "action": "stop"})
    assert _fresh(world.alpha_ticket.id).time_spent_seconds >= 1
    bad = client.post(url + "/time", data={"csrf_token": token, "duration": "soon"})
    assert bad.status_code == 422


def test_sla_clocks_order_the_inbox_and_stop_while_waiting_for_the_customer(world: World) -> None:
    with tenancy.system_scope():
        calm = make_ticket(world.alpha, subject="Calm", key="s1")
        urgent = make_ticket(world.alpha, subject="Urgent", key="s2")
        tickets.set_priority(urgent, Priority.URGENT)
        assert urgent.due_at is not None
        assert calm.due_at is not None
        assert urgent.due_at < calm.due_at
        order = [t.id for t, _tenant in tickets.inbox(tickets.InboxFilter(tenant_id=world.alpha.id))]
        assert order.index(urgent.id) < order.index(calm.id)
        tickets.set_status(calm, Status.PENDING_CUSTOMER)
        assert calm.due_at is None


def test_ticket_fields_refuse_a_ticket_as_its_own_parent(client: FlaskClient, world: World) -> None:
    sign_in(client, "agent.alpha@provider.example")
    url = f"/agent/tickets/{world.alpha_ticket.id}"
    token = csrf_token(client, url)
    own = f"ALPHA-{world.alpha_ticket.number}"
    response = client.post(url + "/fields", data={"csrf_token": token, "parent": own, "tags": "a"})
    assert response.status_code == 422
    assert "cannot be its own parent" in response.get_data(as_text=True)
    response = client.post(url + "/fields", data={"csrf_token": token, "parent": "", "tags": "bad tag!"})
    assert response.status_code == 422


def test_duplicate_contacts_are_merged_with_their_tickets(client: FlaskClient, world: World) -> None:
    with tenancy.system_scope():
        keep = db.session.get_one(Contact, world.alpha_ticket.contact_id)
        dup_ticket = make_ticket(world.alpha, subject="By phone", key="c1", email="anna.privat@example.com")
        dup = db.session.get_one(Contact, dup_ticket.contact_id)
        dup.name = keep.name
        dup.phone = "+41791234567"
        jobs.commit()
    sign_in(client, "agent.alpha@provider.example")
    page = client.get(f"/agent/contacts/{keep.id}").get_data(as_text=True)
    assert "anna.privat@example.com" in page  # offered as a possible duplicate
    token = csrf_token(client, f"/agent/contacts/{keep.id}")
    client.post(f"/agent/contacts/{dup.id}/merge", data={"csrf_token": token, "into": keep.id})
    assert _fresh(dup_ticket.id).contact_id == keep.id
    with tenancy.system_scope():
        kept = db.session.get_one(Contact, keep.id, populate_existing=True)
        assert kept.phone == "+41791234567"  # filled in from the duplicate
        assert db.session.get_one(Contact, dup.id, populate_existing=True).merged_into_id == keep.id


def test_a_contact_joins_an_organisation_from_the_ticket_and_new_colleagues_by_domain(
    client: FlaskClient, world: World
) -> None:
    sign_in(client, "agent.alpha@provider.example")
    url = f"/agent/tickets/{world.alpha_ticket.id}"
    token = csrf_token(client, url)
    client.post(
        url + "/contact",
        data={"csrf_token": token, "organization": "new", "organization_name": "Kunde AG"},
    )
    with tenancy.system_scope():
        org = organizations.listing(world.alpha.id, "Kunde")[0]
        assert _fresh(world.alpha_ticket.id).organization_id == org.id
        organizations.update_organization(
            org, organizations.OrganizationInput(name="Kunde AG", domain="kunde.example")
        )
        colleague = contacts.find_or_create(world.alpha.id, email="peter@kunde.example", name="Peter")
        assert colleague.organization_id == org.id
        jobs.commit()
    page = client.get(f"/agent/organizations/{org.id}").get_data(as_text=True)
    assert "Peter" in page


def test_inbox_pages_run_from_due_tickets_into_those_waiting_for_the_customer(world: World) -> None:
    with tenancy.system_scope():
        made = [make_ticket(world.alpha, subject=f"Page {n}", key=f"p{n}") for n in range(5)]
        for ticket in made[:2]:
            tickets.set_status(ticket, Status.PENDING_CUSTOMER)
    with tenancy.using(tenancy.tenants([world.alpha.id])):
        flt = tickets.InboxFilter()
        pages = [[t.id for t, _tenant in tickets.inbox(flt, limit=2, offset=n)] for n in (0, 2, 4)]
    seen = [i for page in pages for i in page]
    waiting = {made[0].id, made[1].id}
    assert len(seen) == len(set(seen)) == 6  # the world's ticket and five more, each once
    assert set(seen[-2:]) == waiting  # waiting for the customer: last
