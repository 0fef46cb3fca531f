"""Client companies: creating them, finding them by slug or channel address, listing them."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from email.utils import formataddr
from typing import Any, NamedTuple

from flask_babel import gettext as _
from sqlalchemy import bindparam, select

from core import audit, memo, tenancy
from core.auth.models import User
from core.auth.roles import Role
from core.auth.services import valid_timezone
from core.errors import NotFound, ValidationFailed
from core.extensions import db
from tenants.models import ChannelKind, Tenant, TenantChannel, TenantStatus

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
PREFIX_RE = re.compile(r"^[A-Z][A-Z0-9]{1,11}$")
LANGUAGE_RE = re.compile(r"^[a-z]{2}$")
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
MAX_SCRIPT = 5000  # characters of one greeting, signature or call script


@dataclass
class TenantInput:
    slug: str
    name: str
    languages: list[str]
    default_language: str
    timezone: str
    currency: str
    ticket_prefix: str
    status: TenantStatus = TenantStatus.ACTIVE
    channels: list[tuple[ChannelKind, str]] = field(default_factory=list)
    greetings: dict[str, str] = field(default_factory=dict)
    signatures: dict[str, str] = field(default_factory=dict)
    call_scripts: dict[str, str] = field(default_factory=dict)


def _validate(data: TenantInput) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not SLUG_RE.match(data.slug):
        errors["slug"] = _("Use lower-case letters, digits and dashes.")
    if not data.name.strip():
        errors["name"] = _("This field is required.")
    elif len(data.name.strip()) > 200:
        errors["name"] = _("At most %(count)d characters.", count=200)
    if not data.languages or not all(LANGUAGE_RE.match(code) for code in data.languages):
        errors["languages"] = _("Give at least one two-letter language code.")
    elif data.default_language not in data.languages:
        errors["default_language"] = _("The default language must be one of the languages.")
    if not valid_timezone(data.timezone):
        errors["timezone"] = _("Unknown time zone.")
    if not CURRENCY_RE.match(data.currency):
        errors["currency"] = _("Use a three-letter currency code such as CHF or EUR.")
    if not PREFIX_RE.match(data.ticket_prefix):
        errors["ticket_prefix"] = _("Use 2 to 12 capital letters and digits.")
    return errors


def input_errors(data: TenantInput, *, tenant_id: int | None = None) -> dict[str, str]:
    """Every problem of `data` by field, the slug and prefix of other tenants included (a tenant
    being edited, `tenant_id`, keeps its own)."""
    errors = _validate(data)
    if "slug" not in errors and _find(Tenant.slug == data.slug, Tenant.id != (tenant_id or 0)) is not None:
        errors["slug"] = _("This slug is taken.")
    if (
        "ticket_prefix" not in errors
        and _find(Tenant.ticket_prefix == data.ticket_prefix, Tenant.id != (tenant_id or 0)) is not None
    ):
        errors["ticket_prefix"] = _("This prefix is taken.")
    return errors


def create_tenant(data: TenantInput) -> Tenant:
    """Provider admins only (the scope must cover all tenants: a new id is in nobody's set)."""
    errors = input_errors(data)
    for kind, address in data.channels:
        if channel_owner(kind, address) is not None:
            errors["channels"] = _("%(address)s belongs to another client already.", address=address)
    if errors:
        raise ValidationFailed(fields=errors)
    tenant = Tenant(
        slug=data.slug,
        name=data.name.strip(),
        languages=list(data.languages),
        default_language=data.default_language,
        timezone=data.timezone,
        currency=data.currency,
        ticket_prefix=data.ticket_prefix,
        status=data.status.value,
        greetings=dict(data.greetings),
        signatures=dict(data.signatures),
        call_scripts=dict(data.call_scripts),
    )
    db.session.add(tenant)
    db.session.flush()
    for kind, address in data.channels:
        db.session.add(TenantChannel(tenant_id=tenant.id, kind=kind.value, address=_normalize(kind, address)))
    audit.record("tenant.created", tenant_id=tenant.id, target=tenant, data={"slug": tenant.slug})
    db.session.flush()
    return tenant


def update_tenant(tenant: Tenant, data: TenantInput) -> None:
    """Name, languages, time zone and currency. The slug and the ticket prefix stay: public URLs,
    widget snippets and every ticket number already sent to customers carry them."""
    data.slug, data.ticket_prefix = tenant.slug, tenant.ticket_prefix
    errors = input_errors(data, tenant_id=tenant.id)
    if errors:
        raise ValidationFailed(fields=errors)
    before = {"name": tenant.name, "languages": list(tenant.languages), "timezone": tenant.timezone}
    tenant.name = data.name.strip()
    tenant.languages = list(data.languages)
    tenant.default_language = data.default_language
    tenant.timezone = data.timezone
    tenant.currency = data.currency
    audit.record("tenant.updated", tenant_id=tenant.id, target=tenant, data={"before": before})


def set_texts(
    tenant: Tenant, *, greetings: dict[str, str], signatures: dict[str, str], call_scripts: dict[str, str]
) -> None:
    """How agents greet and sign in the client's name, and the phone script, per language."""
    errors: dict[str, str] = {}
    cleaned: list[dict[str, str]] = []
    for name, texts in (("greeting", greetings), ("signature", signatures), ("call_script", call_scripts)):
        kept = {}
        for language, text in texts.items():
            if language not in tenant.languages or not text.strip():
                continue
            if len(text) > MAX_SCRIPT:
                errors[f"{name}_{language}"] = _("At most %(num)d characters.", num=MAX_SCRIPT)
            kept[language] = text.strip()
        cleaned.append(kept)
    if errors:
        raise ValidationFailed(fields=errors)
    tenant.greetings, tenant.signatures, tenant.call_scripts = cleaned
    audit.record("tenant.texts", tenant_id=tenant.id, target=tenant)


def remove_channel(tenant_id: int, channel_id: int) -> None:
    """Stop taking contacts at an address: mail to it is refused from now on."""
    channel = db.session.scalar(
        select(TenantChannel).where(TenantChannel.tenant_id == tenant_id, TenantChannel.id == channel_id)
    )
    if channel is None:
        raise NotFound()
    audit.record(
        "tenant.channel_removed",
        tenant_id=tenant_id,
        target=channel,
        data={"kind": channel.kind, "address": channel.address},
    )
    db.session.delete(channel)
    db.session.flush()


def _find(*criteria: object) -> Tenant | None:
    with tenancy.system_scope():
        return db.session.scalar(select(Tenant).where(*criteria))  # type: ignore[arg-type]


def _normalize(kind: ChannelKind, address: str) -> str:
    address = address.strip()
    return address.lower() if kind is ChannelKind.EMAIL else address


def public_tenant(slug: str) -> Tenant:
    """The tenant behind a public URL; resolving a slug is the one lookup before a scope exists."""
    tenant = _find(Tenant.slug == slug) if SLUG_RE.match(slug) else None
    if tenant is None:
        raise NotFound(_("There is no such client."))
    return tenant


def channel_owner(kind: ChannelKind, address: str) -> int | None:
    """Which tenant an inbound address or number belongs to (before any scope exists)."""
    owner = channel_tenant(kind, address)
    return owner.id if owner is not None else None


class ChannelTenant(NamedTuple):
    """What a public channel's requests need of its tenant: the scope, the language, the zone."""

    id: int
    languages: list[str]
    default_language: str
    timezone: str


@functools.cache
def _channel_tenant_statement() -> Any:
    """Built once: the chat widget resolves its key on every request (a line a second per chat)."""
    return (
        select(Tenant.id, Tenant.languages, Tenant.default_language, Tenant.timezone)
        .join(TenantChannel, TenantChannel.tenant_id == Tenant.id)
        .where(TenantChannel.kind == bindparam("kind"), TenantChannel.address == bindparam("address"))
    )


def channel_tenant(kind: ChannelKind, address: str) -> ChannelTenant | None:
    """The tenant a channel's address, number or key belongs to, with the few columns its requests
    use (not the whole row: a tenant has a dozen JSON columns, and loading them was a tenth of a
    chat line's CPU, bench/chat.py); looked up before any scope exists."""
    with tenancy.system_scope():
        row = db.session.execute(
            _channel_tenant_statement(), {"kind": kind.value, "address": _normalize(kind, address)}
        ).first()
    return ChannelTenant(*row) if row is not None else None


def add_channel(tenant_id: int, kind: ChannelKind, address: str) -> TenantChannel:
    """Give a tenant one more address, number or key (each belongs to one tenant only)."""
    owner = channel_owner(kind, address)
    if owner is not None and owner != tenant_id:
        raise ValidationFailed(
            fields={"channels": _("%(address)s belongs to another client already.", address=address)}
        )
    existing = db.session.scalar(
        select(TenantChannel).where(
            TenantChannel.kind == kind.value, TenantChannel.address == _normalize(kind, address)
        )
    )
    if existing is not None:
        return existing
    channel = TenantChannel(tenant_id=tenant_id, kind=kind.value, address=_normalize(kind, address))
    db.session.add(channel)
    db.session.flush()
    audit.record(
        "tenant.channel_added",
        tenant_id=tenant_id,
        target=channel,
        data={"kind": kind.value, "address": channel.address},
    )
    return channel


def chat_key(tenant_id: int) -> str | None:
    """The public key of the tenant's chat widget, if it has one."""
    return db.session.scalar(
        select(TenantChannel.address)
        .where(TenantChannel.tenant_id == tenant_id, TenantChannel.kind == ChannelKind.CHAT.value)
        .order_by(TenantChannel.id)
        .limit(1)
    )


def visible_tenants() -> list[Tenant]:
    """The tenants of the current scope, by name."""
    return list(db.session.scalars(select(Tenant).order_by(Tenant.name)))


def get_tenant(tenant_id: int) -> Tenant:
    tenant = db.session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound()
    return tenant


def portal_tenant(user: User, chosen: int | None) -> Tenant:
    """The client a portal page is about: a client admin's own (naming another is a 404), or for
    a provider admin the one chosen (none chosen is a 404 that says so)."""
    if user.role == Role.CLIENT_ADMIN.value:
        if chosen is not None and chosen != user.tenant_id:
            raise NotFound(_("Not found."))
        return get_tenant(user.tenant_id or 0)
    if chosen is None:
        raise NotFound(_("Choose a client first."))
    return get_tenant(chosen)


def channels_of(tenant_id: int) -> list[TenantChannel]:
    return list(
        db.session.scalars(
            select(TenantChannel)
            .where(TenantChannel.tenant_id == tenant_id)
            .order_by(TenantChannel.kind, TenantChannel.address)
        )
    )


def support_address(tenant_id: int) -> str | None:
    """The address replies go out from: the tenant's first support e-mail address."""
    return memo.read(
        ("support_address", tenant_id),
        lambda: db.session.scalar(
            select(TenantChannel.address)
            .where(TenantChannel.tenant_id == tenant_id, TenantChannel.kind == ChannelKind.EMAIL.value)
            .order_by(TenantChannel.id)
            .limit(1)
        ),
    )


def sender_of(tenant: Tenant) -> str | None:
    """`"Name" <address>` for mail sent in the tenant's name, or None to use the platform's."""
    address = support_address(tenant.id)
    return formataddr((tenant.name, address)) if address else None


def sender_display(tenant: Tenant) -> str | None:
    """The same sender as people read it (no header encoding of accented names)."""
    address = support_address(tenant.id)
    return f"{tenant.name} <{address}>" if address else None


def tenant_choices() -> list[tuple[int, str]]:
    return [(tenant.id, tenant.name) for tenant in visible_tenants()]


ACK_PLACEHOLDERS = ("ticket_number", "contact_name", "subject")


def clean_texts(tenant: Tenant, texts: dict[str, str]) -> dict[str, str]:
    """Per-language texts for the customer, with the placeholders of ACK_PLACEHOLDERS (empty: the
    built-in text). Unknown placeholders are refused now, not mailed later."""
    errors: dict[str, str] = {}
    cleaned: dict[str, str] = {}
    for language, text in texts.items():
        if language not in tenant.languages:
            continue
        text = text.strip()
        unknown = sorted({m for m in re.findall(r"\{([a-z_]+)\}", text) if m not in ACK_PLACEHOLDERS})
        if unknown:
            errors[f"text_{language}"] = _(
                "Unknown placeholder: %(names)s. Use %(known)s.",
                names=", ".join("{" + n + "}" for n in unknown),
                known=", ".join("{" + n + "}" for n in ACK_PLACEHOLDERS),
            )
        elif len(text) > 5000:
            errors[f"text_{language}"] = _("At most %(num)d characters.", num=5000)
        elif text:
            cleaned[language] = text
    if errors:
        raise ValidationFailed(fields=errors)
    return cleaned


def set_acknowledgements(tenant: Tenant, *, enabled: bool, texts: dict[str, str]) -> None:
    """Whether new tickets are confirmed to the customer, and the client's own text per language."""
    cleaned = clean_texts(tenant, texts)
    tenant.acknowledge = enabled
    tenant.acknowledgements = cleaned
    audit.record("tenant.acknowledgements", tenant_id=tenant.id, target=tenant, data={"enabled": enabled})


def set_feedback(tenant: Tenant, *, csat_enabled: bool, monthly_report: bool) -> None:
    """Whether customers are asked for a rating when their ticket is resolved (tickets.satisfaction)
    and whether the client's admins get each month's report by mail; the client decides both."""
    wanted = {"csat_enabled": csat_enabled, "monthly_report": monthly_report}
    changed = {name: value for name, value in wanted.items() if getattr(tenant, name) != value}
    if not changed:
        return
    tenant.csat_enabled, tenant.monthly_report = csat_enabled, monthly_report
    audit.record("tenant.feedback", tenant_id=tenant.id, target=tenant, data=changed)


def set_escalation_notices(tenant: Tenant, texts: dict[str, str]) -> None:
    """What the customer is told, per language, when specialists take their ticket over."""
    tenant.escalation_notices = clean_texts(tenant, texts)
    audit.record("tenant.escalation_notices", tenant_id=tenant.id, target=tenant)
