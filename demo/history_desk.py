"""What a demo client's generated history (demo/history.py) is made from: its SLA terms per
category, its teams with their members and calendars, its agents by language and shift, its
published articles, and a pool of customers who write in more than once."""

from __future__ import annotations

import random
import unicodedata
from collections import defaultdict
from datetime import date, datetime, time
from types import SimpleNamespace
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select

from agents.models import AgentAssignment, AgentLanguage
from core.auth.models import User
from core.auth.roles import Role
from core.extensions import db
from demo import history_text as text
from demo.history_rows import Desk, TeamInfo
from escalations.models import Team, TeamMember
from knowledge.models import Article, ArticleStatus, ArticleTranslation
from sla import policies
from sla.models import SlaPolicy
from tenants.models import Tenant
from tickets.models import Category, Contact, Ticket
from tickets.sla import Terms, calendar_schedule

CONTACTS_PER_LANGUAGE = 30


def bulk(model: Any, rows: list[dict[str, Any]]) -> None:
    """Plain executemany INSERTs on the table: the ORM's bulk path costs more than SQLite does."""
    for at in range(0, len(rows), 5000):
        db.session.execute(insert(model.__table__), rows[at : at + 5000])


def load(tenant: Tenant, now: datetime, rng: random.Random, first: date, phone: str) -> Desk:
    """The client's policies, teams, agents, articles and a pool of its customers."""
    active = select(SlaPolicy).where(SlaPolicy.tenant_id == tenant.id, SlaPolicy.active.is_(True))
    found = list(db.session.scalars(active.order_by(SlaPolicy.position, SlaPolicy.id)))
    terms, policy_ids = {}, {}
    for category in Category:
        probe = cast(Ticket, SimpleNamespace(category=category.value, organization_id=None))
        policy = policies.best_policy(found, probe)
        schedule = calendar_schedule(tenant.id, policy.calendar_id) if policy else None
        terms[category.value] = Terms(policy, schedule, tenant.sla_targets or {})
        policy_ids[category.value] = policy.id if policy else None
    teams = _teams(tenant.id)
    l2 = next(team for team in teams.values() if team.level == 2)
    forward_to = next((team for team in teams.values() if team.level == 3), None)
    day, night = _agents(tenant.id)
    return Desk(
        tenant_id=tenant.id,
        slug=tenant.slug,
        zone=ZoneInfo(tenant.timezone),
        language=tenant.default_language,
        now=now,
        terms=terms,
        policy_ids=policy_ids,
        l2=l2,
        forward_to=forward_to,
        teams=teams,
        day_agents=day,
        night_agents=night,
        articles=_articles(tenant.id),
        contacts=_contacts(tenant, rng, first, phone),
        surveys=tenant.csat_enabled,
    )


def _teams(tenant_id: int) -> dict[str, TeamInfo]:
    members: dict[int, list[int]] = defaultdict(list)
    for team_id, user_id in db.session.execute(
        select(TeamMember.team_id, TeamMember.user_id)
        .where(TeamMember.tenant_id == tenant_id)
        .order_by(TeamMember.id)
    ):
        members[team_id].append(user_id)
    query = select(Team).where(Team.tenant_id == tenant_id, Team.active.is_(True)).order_by(Team.id)
    return {
        team.name: TeamInfo(
            team.id,
            team.name,
            team.level,
            team.ack_minutes,
            team.resolve_minutes,
            calendar_schedule(tenant_id, team.calendar_id),
            members[team.id],
        )
        for team in db.session.scalars(query)
    }


def _agents(tenant_id: int) -> tuple[dict[str, list[tuple[int, int]]], dict[str, list[int]]]:
    """The client's agents by language (native speakers take more), and its night shift (the
    supervisors, as in demo/staffing.py)."""
    rows = db.session.execute(
        select(User.id, User.role, AgentLanguage.language, AgentLanguage.level)
        .join(AgentAssignment, AgentAssignment.user_id == User.id)
        .join(AgentLanguage, AgentLanguage.user_id == User.id)
        .where(AgentAssignment.tenant_id == tenant_id, User.is_active.is_(True))
        .order_by(User.id)
    )
    day: dict[str, list[tuple[int, int]]] = defaultdict(list)
    night: dict[str, list[int]] = defaultdict(list)
    for user_id, role, language, level in rows:
        if level == "basic":
            continue
        if role == Role.SUPERVISOR.value:
            night[language].append(user_id)
        else:
            day[language].append((user_id, 3 if level == "native" else 1))
    return dict(day), dict(night)


def _articles(tenant_id: int) -> dict[str, tuple[int, set[str]]]:
    """Each published article's titles -> (article id, the languages it is written in)."""
    rows = db.session.execute(
        select(ArticleTranslation.article_id, ArticleTranslation.title, ArticleTranslation.language)
        .join(Article, Article.id == ArticleTranslation.article_id)
        .where(Article.tenant_id == tenant_id, Article.status == ArticleStatus.PUBLISHED.value)
    ).all()
    languages: dict[int, set[str]] = defaultdict(set)
    for article_id, _title, language in rows:
        languages[article_id].add(language)
    return {title: (article_id, languages[article_id]) for article_id, title, _language in rows}


def _contacts(tenant: Tenant, rng: random.Random, since: date, phone_format: str) -> dict[str, list[int]]:
    """A pool of customers per language, who write in more than once."""
    created = datetime.combine(since, time(), ZoneInfo("UTC"))
    rows, seen = (
        [],
        set(
            db.session.scalars(
                select(Contact.email).where(Contact.tenant_id == tenant.id, Contact.email.is_not(None))
            )
        ),
    )
    for language in tenant.languages:
        for _n in range(CONTACTS_PER_LANGUAGE):
            first, last = rng.choice(text.FIRST_NAMES[language]), rng.choice(text.LAST_NAMES[language])
            email = f"{_ascii(first)}.{_ascii(last)}{rng.randrange(10, 99)}@example.com"
            if email in seen:
                continue
            seen.add(email)
            phone = phone_format.format(rng.randrange(1000), rng.randrange(100), rng.randrange(100))
            rows.append(
                {
                    "tenant_id": tenant.id,
                    "name": f"{first} {last}",
                    "email": email,
                    "phone": phone,
                    "language": language,
                    "created_at": created,
                    "updated_at": created,
                }
            )
    bulk(Contact, rows)
    by_email = dict(
        db.session.execute(
            select(Contact.email, Contact.id).where(
                Contact.tenant_id == tenant.id, Contact.email.in_([row["email"] for row in rows])
            )
        ).all()
    )
    pool: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        pool[row["language"]].append(by_email[row["email"]])
    return dict(pool)


def _ascii(name: str) -> str:
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
