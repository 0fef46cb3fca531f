"""What the onboarding wizard collects, typed from its form values, and the checks of each step.

The wizard keeps what was typed as a flat mapping of form values (`Onboarding.from_values` reads
it), so a step can be shown again exactly as it was left. Each step is checked on its own
(`check_step`), before the client exists, so that its errors appear where they were made;
`tenants.onboarding.onboard` checks them all again and creates everything.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from billing import plans
from channels.chat_sessions import KEY_RE
from core.auth.models import User
from core.auth.roles import Role
from core.auth.services import find_by_email
from core.errors import ValidationFailed
from core.extensions import db
from sla import calendars
from tenants import services
from tenants.models import ChannelKind, TenantStatus
from tenants.onboarding_files import upload_path
from tickets.contacts import normalize_email, normalize_phone

STEPS = ("basics", "calendar", "channels", "texts", "people", "plan", "knowledge", "agents")
TEXT_KINDS = ("greeting", "signature", "call_script")
MAX_TEAMS = 20
MAX_MEMBERS = 50
# Offered as checkboxes; a client may have others (any two-letter code) through the API.
COMMON_LANGUAGES = ("de", "en", "fr", "it", "es", "pt", "nl", "pl", "tr")
# Which step a field belongs to, by its name or the start of it (the wizard's error routing).
_FIELD_STEPS = (
    (
        ("name", "slug", "ticket_prefix", "languages", "default_language", "timezone", "currency", "status"),
        "basics",
    ),
    (("hours", "always_open", "holiday_"), "calendar"),
    (("emails", "phones", "faxes", "webform", "chat", "channels"), "channels"),
    (TEXT_KINDS, "texts"),
    (("admin_", "team_"), "people"),
    (("plan_", "billing_email"), "plan"),
    (("kb_",), "knowledge"),
    (("agent",), "agents"),
)


@dataclass
class Person:
    name: str
    email: str


@dataclass
class TeamDraft:
    index: int  # its place in the form, which names its fields (team_0_name, ...)
    name: str
    level: str = "2"
    email: str = ""
    members: list[Person] = field(default_factory=list)
    # Lines of the members field that are not "Name <address>" (reported with their number).
    unreadable: list[int] = field(default_factory=list)


@dataclass
class Onboarding:
    """What the wizard collected, typed (see `from_values` for the form's names)."""

    tenant: services.TenantInput
    values: Mapping[str, Any]
    always_open: bool = True
    hours: dict[str, str] = field(default_factory=dict)
    holiday_country: str = ""
    holiday_subdivision: str = ""
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    faxes: list[str] = field(default_factory=list)
    webform_key: str = ""
    chat_key: str = ""
    admin: Person = field(default_factory=lambda: Person("", ""))
    teams: list[TeamDraft] = field(default_factory=list)
    plan: plans.PlanInput = field(default_factory=plans.PlanInput)
    billing_email: str = ""
    agent_ids: list[int] = field(default_factory=list)
    kb_filename: str = ""
    kb_path: Path | None = None

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> Onboarding:
        def text(name: str) -> str:
            return str(values.get(name) or "").strip()

        def lines(name: str) -> list[str]:
            return [line.strip() for line in text(name).splitlines() if line.strip()]

        languages = [str(code) for code in values.get("languages") or []]
        tenant = services.TenantInput(
            slug=text("slug").lower(),
            name=text("name"),
            languages=languages,
            default_language=text("default_language"),
            timezone=text("timezone"),
            currency=text("currency").upper(),
            ticket_prefix=text("ticket_prefix").upper(),
            status=TenantStatus.TRIAL if text("status") == TenantStatus.TRIAL.value else TenantStatus.ACTIVE,
            greetings={code: text(f"greeting_{code}") for code in languages},
            signatures={code: text(f"signature_{code}") for code in languages},
            call_scripts={code: text(f"call_script_{code}") for code in languages},
        )
        token = text("kb_token")
        return cls(
            tenant=tenant,
            values=values,
            always_open=bool(values.get("always_open")),
            hours={str(day): text(f"hours_{day}") for day in range(7)},
            holiday_country=text("holiday_country"),
            holiday_subdivision=text("holiday_subdivision"),
            emails=lines("emails"),
            phones=lines("phones"),
            faxes=lines("faxes"),
            webform_key=text("webform_key") if values.get("webform") else "",
            chat_key=text("chat_key") if values.get("chat") else "",
            admin=Person(text("admin_name"), text("admin_email")),
            teams=[_team(values, i) for i in range(team_count(values)) if _team_filled(values, i)],
            plan=plans.PlanInput.from_form({k: str(v) for k, v in values.items()}, prefix="plan_"),
            billing_email=text("billing_email"),
            agent_ids=[int(i) for i in values.get("agent_ids") or [] if str(i).isdigit()],
            kb_filename=text("kb_filename"),
            kb_path=upload_path(token) if token else None,
        )


def team_count(values: Mapping[str, Any]) -> int:
    raw = str(values.get("team_count") or "1")
    return min(int(raw), MAX_TEAMS) if raw.isdigit() and int(raw) > 0 else 1


def _team_filled(values: Mapping[str, Any], i: int) -> bool:
    return any(str(values.get(f"team_{i}_{name}") or "").strip() for name in ("name", "email", "members"))


def _team(values: Mapping[str, Any], i: int) -> TeamDraft:
    team = TeamDraft(
        index=i,
        name=str(values.get(f"team_{i}_name") or "").strip(),
        level=str(values.get(f"team_{i}_level") or "2"),
        email=str(values.get(f"team_{i}_email") or "").strip(),
    )
    raw = str(values.get(f"team_{i}_members") or "")
    for number, line in enumerate(raw.splitlines(), start=1):
        person = parse_person(line)
        if person is None:
            team.unreadable.append(number)
        elif person.email:
            team.members.append(person)
    return team


def parse_person(line: str) -> Person | None:
    """A person from a line written as "Name <address>", "Name, address" or a bare address;
    None when unreadable, an empty Person for a blank line."""
    line = line.strip()
    if not line:
        return Person("", "")
    if "<" in line:
        name, address = parseaddr(line)
    elif "," in line:
        name, _sep, address = line.rpartition(",")
    else:
        name, address = "", line
    address = address.strip()
    if "@" not in address:
        return None
    return Person(name.strip() or address.split("@", 1)[0], address)


def step_of(field_name: str) -> str:
    """The wizard step where a field (an error's key) is entered."""
    for names, step in _FIELD_STEPS:
        if any(field_name == n or field_name.startswith(n) for n in names):
            return step
    return STEPS[0]


def new_key(slug: str) -> str:
    """A public widget or form key: recognisable (the slug) and unguessable (the random part)."""
    return f"{(slug or 'client')[:40]}-{secrets.token_urlsafe(9)}"


# --- the checks of each step -------------------------------------------------------------------


def _basics(data: Onboarding) -> dict[str, str]:
    return services.input_errors(data.tenant)


def _calendar(data: Onboarding) -> dict[str, str]:
    if data.always_open:
        return {}
    try:
        calendars.check(calendar_input(data, tenant_id=0))
    except ValidationFailed as exc:
        return {k: str(v) for k, v in exc.fields.items()}
    return {}


def calendar_input(data: Onboarding, tenant_id: int) -> calendars.CalendarInput:
    return calendars.CalendarInput(
        tenant_id=tenant_id,
        name=_("Business hours"),
        timezone=data.tenant.timezone,
        hours=data.hours,
        holiday_country=data.holiday_country or None,
        holiday_subdivision=data.holiday_subdivision or None,
    )


def clean_address(kind: ChannelKind, raw: str) -> str:
    """An address, number or key as stored; a ValidationFailed naming the kind's field if wrong."""
    try:
        if kind is ChannelKind.EMAIL:
            return normalize_email(raw)
        if kind in (ChannelKind.PHONE, ChannelKind.FAX):
            return normalize_phone(raw)
    except ValidationFailed:
        raise ValidationFailed(
            fields={_CHANNEL_FIELDS[kind]: _("%(address)s is not valid.", address=raw)}
        ) from None
    if not KEY_RE.match(raw):
        raise ValidationFailed(
            fields={_CHANNEL_FIELDS[kind]: _("Use 4 to 64 letters, digits, dashes and underscores.")}
        )
    return raw


_CHANNEL_FIELDS = {
    ChannelKind.EMAIL: "emails",
    ChannelKind.PHONE: "phones",
    ChannelKind.FAX: "faxes",
    ChannelKind.WEBFORM: "webform_key",
    ChannelKind.CHAT: "chat_key",
}


def channel_list(data: Onboarding) -> list[tuple[ChannelKind, str]]:
    found = [(ChannelKind.EMAIL, a) for a in data.emails]
    found += [(ChannelKind.PHONE, n) for n in data.phones] + [(ChannelKind.FAX, n) for n in data.faxes]
    found += [(ChannelKind.WEBFORM, data.webform_key)] if data.webform_key else []
    found += [(ChannelKind.CHAT, data.chat_key)] if data.chat_key else []
    return found


def _channels(data: Onboarding) -> dict[str, str]:
    errors: dict[str, str] = {}
    seen: set[tuple[ChannelKind, str]] = set()
    if data.values.get("webform") and not data.webform_key:
        errors["webform_key"] = _("Give the web form a key, or switch it off.")
    if data.values.get("chat") and not data.chat_key:
        errors["chat_key"] = _("Give the chat a key, or switch it off.")
    for kind, raw in channel_list(data):
        name = _CHANNEL_FIELDS[kind]
        try:
            address = clean_address(kind, raw)
        except ValidationFailed as exc:
            errors.setdefault(name, str(exc.fields[name]))
            continue
        if (kind, address) in seen:
            errors.setdefault(name, _("%(address)s is given twice.", address=raw))
        elif services.channel_owner(kind, address) is not None:
            errors.setdefault(name, _("%(address)s belongs to another client already.", address=raw))
        seen.add((kind, address))
    if not data.emails and not data.phones:
        errors.setdefault("emails", _("Give at least one support e-mail address or phone number."))
    return errors


def _texts(data: Onboarding) -> dict[str, str]:
    errors = {}
    for kind, texts in zip(
        TEXT_KINDS, (data.tenant.greetings, data.tenant.signatures, data.tenant.call_scripts), strict=True
    ):
        for language, text in texts.items():
            if len(text) > services.MAX_SCRIPT:
                errors[f"{kind}_{language}"] = _("At most %(num)d characters.", num=services.MAX_SCRIPT)
    return errors


def _person(person: Person, prefix: str, errors: dict[str, str], seen: set[str]) -> None:
    if not person.name:
        errors[f"{prefix}_name"] = _("This field is required.")
    elif len(person.name) > 200:
        errors[f"{prefix}_name"] = _("At most %(count)d characters.", count=200)
    try:
        email = normalize_email(person.email)
    except ValidationFailed:
        errors[f"{prefix}_email"] = _("Must be a valid e-mail address.")
        return
    if email not in seen and find_by_email(email) is not None:
        errors[f"{prefix}_email"] = _("An account with this e-mail address exists already.")
    seen.add(email)


def _people(data: Onboarding) -> dict[str, str]:
    """The client's admin, and each team with its first members (a person may be in several)."""
    errors: dict[str, str] = {}
    seen: set[str] = set()
    _person(data.admin, "admin", errors, seen)
    names: set[str] = set()
    for team in data.teams:
        prefix = f"team_{team.index}"
        if not team.name:
            errors[f"{prefix}_name"] = _("Give the team a name.")
        elif len(team.name) > 120:
            errors[f"{prefix}_name"] = _("At most %(count)d characters.", count=120)
        elif team.name.casefold() in names:
            errors[f"{prefix}_name"] = _("Two teams cannot have the same name.")
        names.add(team.name.casefold())
        if team.level not in ("2", "3"):
            errors[f"{prefix}_level"] = _("A team works at level 2 or level 3.")
        if team.email:
            try:
                normalize_email(team.email)
            except ValidationFailed:
                errors[f"{prefix}_email"] = _("This is not a valid e-mail address.")
        member_errors: list[str] = []
        for person in team.members:
            found: dict[str, str] = {}
            _person(person, "member", found, seen)
            member_errors += [
                _("%(field)s: %(message)s", field=person.email, message=problem) for problem in found.values()
            ]
        if team.unreadable:
            errors[f"{prefix}_members"] = _('Line %(line)d: write "Name <address>".', line=team.unreadable[0])
        elif member_errors:
            errors[f"{prefix}_members"] = " ".join(member_errors)
        elif len(team.members) > MAX_MEMBERS:
            errors[f"{prefix}_members"] = _("At most %(count)d members.", count=MAX_MEMBERS)
    return errors


def _plan(data: Onboarding) -> dict[str, str]:
    errors: dict[str, str] = {}
    try:
        plans.validate(data.plan)
    except ValidationFailed as exc:
        errors.update({f"plan_{k}": str(v) for k, v in exc.fields.items()})
    if data.billing_email:
        try:
            normalize_email(data.billing_email)
        except ValidationFailed:
            errors["billing_email"] = _("Must be a valid e-mail address.")
    return errors


def _knowledge(data: Onboarding) -> dict[str, str]:
    if data.kb_path is None:
        return {}
    if not data.kb_path.is_file():
        return {"kb_file": _("The uploaded file is gone; upload it again.")}
    return {}


def agent_choices() -> list[User]:
    """Provider staff a client can be given: active agents and supervisors, by name."""
    return list(
        db.session.scalars(
            select(User)
            .where(User.role.in_([Role.AGENT.value, Role.SUPERVISOR.value]), User.is_active.is_(True))
            .order_by(User.name)
        )
    )


def _agents(data: Onboarding) -> dict[str, str]:
    known = {user.id for user in agent_choices()}
    if any(agent_id not in known for agent_id in data.agent_ids):
        return {"agent_ids": _("Choose among the agents and supervisors listed.")}
    return {}


CHECKS: dict[str, Callable[[Onboarding], dict[str, str]]] = {
    "basics": _basics,
    "calendar": _calendar,
    "channels": _channels,
    "texts": _texts,
    "people": _people,
    "plan": _plan,
    "knowledge": _knowledge,
    "agents": _agents,
}


def check_step(step: str, data: Onboarding) -> dict[str, str]:
    return CHECKS[step](data)


def check_all(data: Onboarding) -> dict[str, str]:
    errors: dict[str, str] = {}
    for step in STEPS:
        errors.update(check_step(step, data))
    return errors


def plan_fields() -> list[str]:
    return [f.name for f in fields(plans.PlanInput)]
