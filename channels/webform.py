"""The per-tenant web form (`/t/<slug>/contact`), also embeddable on the client's own site."""

from __future__ import annotations

import re
import uuid

from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer

from channels.forms import ContactForm
from core import jobs
from core.boundary import enter_tenant
from core.errors import NotFound, ValidationFailed
from core.extensions import db, limiter
from core.i18n import language_name
from tenants import services as tenants
from tenants.models import Tenant
from tickets import attachments, contacts, intake
from tickets.labels import CATEGORY
from tickets.models import Category, Channel, InboundRecord, Ticket
from tickets.services import display_number

bp = Blueprint("webform", __name__, template_folder="templates")
UUID_RE = re.compile(r"^[0-9a-f]{32}$")


def _visitor_language(tenant: Tenant) -> str:
    """The language asked for, else the browser's best among the client's, else the client's default."""
    asked = request.args.get("lang")
    if asked in tenant.languages:
        return str(asked)
    return request.accept_languages.best_match(tenant.languages) or tenant.default_language


def _tenant(slug: str) -> Tenant:
    tenant = tenants.public_tenant(slug)
    enter_tenant(tenant.id, locale=_visitor_language(tenant), timezone=tenant.timezone)
    g.embeddable = True
    return tenant


def _refs() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="webform-receipt")


def _form(tenant: Tenant) -> ContactForm:
    form = ContactForm()
    form.category.choices = [(c.value, str(CATEGORY[c.value])) for c in Category]
    form.language.choices = [(code, language_name(code)) for code in tenant.languages]
    if request.method == "GET":
        form.submission_id.data = uuid.uuid4().hex
        form.subject.data = request.args.get("subject", "")[:300]
        form.language.data = _visitor_language(tenant)
        # From the help center: what the visitor searched for, to start their message with.
        form.message.data = " ".join(request.args.get("q", "").split())[:200]
    return form


@bp.route("/t/<slug>/contact", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_WEBFORM"], methods=["POST"])
def contact(slug: str) -> Response | tuple[str, int] | str:
    tenant = _tenant(slug)
    form = _form(tenant)
    if request.method == "POST":
        if not form.validate():
            return render_template("channels/contact.html", tenant=tenant, form=form), 422
        if form.website.data:
            # A bot: answer like a success, store nothing.
            return redirect(url_for("webform.thanks", slug=slug, ref="0"))
        try:
            phone = contacts.normalize_phone(form.phone.data) if form.phone.data else None
            uploads = [
                attachments.Upload(f.filename or "", f.mimetype or "application/octet-stream", f.read())
                for f in request.files.getlist("attachments")
                if f and f.filename
            ]
            attachments.check(uploads)
        except ValidationFailed as exc:
            for name, message in exc.fields.items():
                getattr(form, name, form.message).errors = [str(message)]
            return render_template("channels/contact.html", tenant=tenant, form=form), 422
        stored = [attachments.store(tenant.id, upload) for upload in uploads]
        db.session.flush()
        submission = (
            form.submission_id.data if UUID_RE.match(form.submission_id.data or "") else uuid.uuid4().hex
        )
        record = intake.receive(
            tenant.id,
            intake.InboundContact(
                channel=Channel.WEBFORM,
                external_id=submission,
                subject=form.subject.data or "",
                body=form.message.data or "",
                name=form.name.data or "",
                email=form.email.data,
                phone=phone,
                category=Category(form.category.data)
                if form.category.data in {c.value for c in Category}
                else Category.OTHER,
                language=form.language.data,
                attachment_ids=[a.id for a in stored],
            ),
        )
        # Inbound first: the contact is committed before it is processed.
        jobs.commit()
        return redirect(url_for("webform.thanks", slug=slug, ref=_refs().dumps(record.id)))
    return render_template("channels/contact.html", tenant=tenant, form=form)


@bp.route("/t/<slug>/contact/thanks/<ref>")
def thanks(slug: str, ref: str) -> str:
    tenant = _tenant(slug)
    number = None
    if ref != "0":
        try:
            record_id = int(_refs().loads(ref))
        except (BadSignature, ValueError, TypeError):
            raise NotFound() from None
        record = db.session.get(InboundRecord, record_id)
        if record is None:
            raise NotFound()
        ticket = db.session.get(Ticket, record.ticket_id) if record.ticket_id else None
        number = display_number(tenant, ticket) if ticket else None
    return render_template("channels/thanks.html", tenant=tenant, number=number)


@bp.route("/t/<slug>/contact/embed.js")
def embed(slug: str) -> Response:
    """`<script src=".../t/<slug>/contact/embed.js" async></script>` puts the form in an iframe."""
    tenant = _tenant(slug)
    src = url_for("webform.contact", slug=tenant.slug, _external=True)
    title = _("Contact %(name)s", name=tenant.name)
    response = make_response(render_template("channels/embed.js", src=src, title=title))
    response.mimetype = "text/javascript"
    return response
