"""Which team an escalation goes to: the client's rules, in order, the first match wins.

The agent sees the choice before sending and may pick another allowed team; the rules only
propose. Without a matching rule the client's first active level-2 team is proposed, so a client
that has set up one team needs no rules at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import func, select

from core import audit
from core.errors import NotFound, ValidationFailed
from core.extensions import db
from escalations.models import EscalationRule, Team
from escalations.teams import get_team, teams_of
from tenants import services as tenants
from tickets.models import Category, Organization, Priority, Ticket

MAX_KEYWORDS = 30


@dataclass
class RuleInput:
    team_id: int
    categories: list[str] = field(default_factory=list)
    priorities: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    organization_ids: list[int] = field(default_factory=list)
    active: bool = True


def rules_of(tenant_id: int) -> list[EscalationRule]:
    return list(
        db.session.scalars(
            select(EscalationRule)
            .where(EscalationRule.tenant_id == tenant_id)
            .order_by(EscalationRule.position, EscalationRule.id)
        )
    )


def matches(rule: EscalationRule, ticket: Ticket, summary: str = "") -> bool:
    if rule.categories and ticket.category not in rule.categories:
        return False
    if rule.priorities and ticket.priority not in rule.priorities:
        return False
    if rule.languages and ticket.language not in rule.languages:
        return False
    if rule.organization_ids and ticket.organization_id not in rule.organization_ids:
        return False
    if rule.keywords:
        text = f"{ticket.subject}\n{summary}".casefold()
        return any(keyword.casefold() in text for keyword in rule.keywords)
    return True


def propose(ticket: Ticket, summary: str = "", *, exclude: int | None = None) -> Team | None:
    """The team the rules pick for this ticket (or the first level-2 team); None: no team at all."""
    teams = {team.id: team for team in teams_of(ticket.tenant_id, active_only=True) if team.id != exclude}
    for rule in rules_of(ticket.tenant_id):
        if rule.active and rule.team_id in teams and matches(rule, ticket, summary):
            return teams[rule.team_id]
    level_two = [team for team in teams.values() if team.level == 2]
    return (level_two or list(teams.values()) or [None])[0]


def allowed_targets(ticket: Ticket, *, exclude: int | None = None) -> list[Team]:
    """The teams an escalation of this ticket may go to: the client's active teams."""
    return [team for team in teams_of(ticket.tenant_id, active_only=True) if team.id != exclude]


def target(ticket: Ticket, team_id: int | None, *, exclude: int | None = None) -> Team:
    """The chosen team, checked: of the ticket's client, active, not the one it comes from."""
    if team_id is None:
        raise ValidationFailed(fields={"team_id": _("Choose the team that takes it over.")})
    try:
        team = get_team(team_id)
    except NotFound:
        team = None
    if team is None or team.tenant_id != ticket.tenant_id or not team.active or team.id == exclude:
        raise ValidationFailed(fields={"team_id": _("Choose one of this client's active teams.")})
    return team


def _clean(tenant_id: int, data: RuleInput) -> dict[str, str]:
    errors: dict[str, str] = {}
    try:
        team = get_team(data.team_id)
    except NotFound:
        team = None
    if team is None or team.tenant_id != tenant_id:
        errors["team_id"] = _("Choose one of this client's teams.")
    categories = {item.value for item in Category}
    if any(value not in categories for value in data.categories):
        errors["categories"] = _("Invalid value.")
    priorities = {item.value for item in Priority}
    if any(value not in priorities for value in data.priorities):
        errors["priorities"] = _("Invalid value.")
    languages = set(tenants.get_tenant(tenant_id).languages)
    if any(value not in languages for value in data.languages):
        errors["languages"] = _("Choose among the client's languages.")
    data.keywords = sorted({word.strip() for word in data.keywords if word.strip()})
    if len(data.keywords) > MAX_KEYWORDS or any(len(word) > 60 for word in data.keywords):
        errors["keywords"] = _("At most %(count)d keywords of up to 60 characters.", count=MAX_KEYWORDS)
    if data.organization_ids:
        known = db.session.scalar(
            select(func.count(Organization.id)).where(
                Organization.tenant_id == tenant_id, Organization.id.in_(data.organization_ids)
            )
        )
        if known != len(set(data.organization_ids)):
            errors["organization_ids"] = _("Choose among the client's organisations.")
    return errors


def save_rule(tenant_id: int, data: RuleInput, rule: EscalationRule | None = None) -> EscalationRule:
    errors = _clean(tenant_id, data)
    if errors:
        raise ValidationFailed(fields=errors)
    if rule is None:
        last = db.session.scalar(
            select(func.max(EscalationRule.position)).where(EscalationRule.tenant_id == tenant_id)
        )
        rule = EscalationRule(tenant_id=tenant_id, position=(last or 0) + 1)
        db.session.add(rule)
    rule.team_id, rule.active = data.team_id, data.active
    rule.categories, rule.priorities = list(data.categories), list(data.priorities)
    rule.languages, rule.keywords = list(data.languages), list(data.keywords)
    rule.organization_ids = sorted(set(data.organization_ids))
    db.session.flush()
    audit.record("escalation_rule.saved", tenant_id=tenant_id, target=rule)
    return rule


def get_rule(rule_id: int) -> EscalationRule:
    rule = db.session.scalar(select(EscalationRule).where(EscalationRule.id == rule_id))
    if rule is None:
        raise NotFound(_("Not found."))
    return rule


def delete_rule(rule: EscalationRule) -> None:
    audit.record("escalation_rule.deleted", tenant_id=rule.tenant_id, target=rule)
    db.session.delete(rule)
    db.session.flush()


def move_rule(rule: EscalationRule, step: int) -> None:
    """Swap with the neighbour above (step -1) or below (+1)."""
    rules = rules_of(rule.tenant_id)
    index = rules.index(rule)
    other = index + step
    if not 0 <= other < len(rules):
        return
    for position, item in enumerate(rules, start=1):
        item.position = position
    rules[index].position, rules[other].position = rules[other].position, rules[index].position
    db.session.flush()
