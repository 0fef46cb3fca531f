"""The knowledge base for the signed-in: the client's staff write, review and approve; the desk
reads, proposes and acknowledges what changed; provider admins help a client set it up."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from core.auth.access import roles_required
from core.auth.roles import CLIENT_ROLES, PROVIDER_ROLES, Role
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.extensions import db
from knowledge import (
    categories,
    desk,
    editing,
    feed,
    files,
    lifecycle,
    markdown,
    proposals,
    search,
    text_history,
)
from knowledge import services as articles
from knowledge.models import Article, ArticleStatus, UseKind, Visibility
from tenants import services as tenants
from tenants.models import Tenant
from tickets import attachments
from tickets import services as tickets

bp = Blueprint("kb", __name__, url_prefix="/kb", template_folder="templates")
everyone = roles_required(*PROVIDER_ROLES, *CLIENT_ROLES)
SERVICE_ERRORS = (ValidationFailed, Conflict, NotFound, PermissionDenied)


def _int(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() else None


def _tenants() -> dict[int, Tenant]:
    return {t.id: t for t in tenants.visible_tenants()}


def _tenant_arg(choices: dict[int, Tenant]) -> Tenant | None:
    tenant_id = _int(request.values.get("tenant_id"))
    if tenant_id is None and len(choices) == 1:
        return next(iter(choices.values()))
    if tenant_id is not None and tenant_id not in choices:
        abort(404)
    return choices.get(tenant_id) if tenant_id is not None else None


def _flash_errors(exc: Exception) -> None:
    fields = getattr(exc, "fields", None) or {}
    for message in fields.values() or [getattr(exc, "message", str(exc))]:
        flash(str(message), "error")


def _file_url(article: Article):  # type: ignore[no-untyped-def]
    own = {f.id for f in files.of(article)}
    return lambda file_id: url_for("kb.file", file_id=file_id) if file_id in own else None


# --- the list ---------------------------------------------------------------------------------


@bp.route("/")
@everyone
def index() -> str:
    choices = _tenants()
    tenant = _tenant_arg(choices)
    tenant_ids = [tenant.id] if tenant else list(choices)
    status = request.args.get("status") or None
    status = status if status in {s.value for s in ArticleStatus} else None
    query = request.args.get("q", "").strip()[:200]
    missing = request.args.get("missing") or None
    language = current_user.locale or None
    hits: list[search.Hit] = []
    rows: list[articles.Row] = []
    if query and tenant is not None:
        statuses = [status] if status else [s.value for s in ArticleStatus]
        hits = search.search(tenant.id, query, statuses=statuses, limit=50)
    elif not query:
        rows = articles.listing(tenant_ids, status=status, missing_language=missing, language=language)
    return render_template(
        "knowledge/index.html",
        tenants=choices,
        tenant=tenant,
        status=status,
        query=query,
        missing=missing,
        rows=rows,
        hits=hits,
        statuses=[s.value for s in ArticleStatus],
        open_proposals=len(proposals.open_proposals(tenant_ids)) if _approver() else 0,
        unread=feed.unread_count(current_user, tenant_ids),
    )


def _approver() -> bool:
    return articles.may_approve(current_user)


# --- writing ----------------------------------------------------------------------------------


@bp.route("/new", methods=["GET", "POST"])
@everyone
def new() -> str | Response | tuple[str, int]:
    choices = _tenants()
    tenant = _tenant_arg(choices)
    form = request.form if request.method == "POST" else request.args
    if request.method == "POST" and tenant is not None:
        try:
            article = editing.create(
                editing.ArticleInput(
                    tenant_id=tenant.id,
                    language=form.get("language", ""),
                    title=form.get("title", ""),
                    body=form.get("body", ""),
                    category_id=_int(form.get("category_id")),
                    visibility=form.get("visibility", Visibility.INTERNAL.value),
                    tags=form.get("tags", ""),
                ),
                current_user,
            )
        except SERVICE_ERRORS as exc:
            _flash_errors(exc)
            return _new_page(choices, tenant, form), exc.status
        if article.status == ArticleStatus.REVIEW.value:
            flash(_("Thank you. Your article waits for the client's review."), "success")
        else:
            flash(_("Draft saved."), "success")
        return redirect(url_for("kb.article", article_id=article.id))
    return _new_page(choices, tenant, form)


def _new_page(choices: dict[int, Tenant], tenant: Tenant | None, form: object) -> str:
    return render_template(
        "knowledge/new.html",
        tenants=choices,
        tenant=tenant,
        form=form,
        categories=categories.flat(tenant.id, current_user.locale) if tenant else [],
        visibilities=[v.value for v in Visibility],
    )


@bp.route("/<int:article_id>")
@everyone
def article(article_id: int) -> str:
    item = articles.get(article_id)
    tenant = articles.tenant_of(item)
    texts = articles.translations(item)
    language = request.args.get("lang") or ""
    if language not in texts:
        language = current_user.locale if current_user.locale in texts else tenant.default_language
    if language not in texts:
        language = next(iter(texts), "")
    text = texts.get(language)
    ticket_id = _int(request.args.get("ticket"))
    ticket = None
    if ticket_id is not None and current_user.role in PROVIDER_ROLES:
        ticket = tickets.get_ticket(ticket_id)
        if ticket.tenant_id != item.tenant_id:
            abort(404)
        if item.status == ArticleStatus.PUBLISHED.value:
            desk.record_use(ticket, item, UseKind.VIEWED, current_user.id)
    return render_template(
        "knowledge/article.html",
        article=item,
        tenant=tenant,
        texts=texts,
        language=language,
        text=text,
        body_html=markdown.with_file_urls(text.body_html, _file_url(item)) if text else "",
        missing=articles.missing_languages(item, tenant),
        files=files.of(item),
        category=categories.name_of(item.category_id, language),
        may_write=articles.may_write(current_user, item),
        may_approve=_approver() and current_user.tenant_id == item.tenant_id,
        reviewers=lifecycle.reviewers(item.tenant_id),
        visibilities=[v.value for v in Visibility],
        categories=categories.flat(item.tenant_id, language),
        ticket=ticket,
        open_proposals=[p for p in proposals.open_proposals([item.tenant_id]) if p.article_id == item.id],
    )


@bp.route("/<int:article_id>/edit/<language>", methods=["GET", "POST"])
@everyone
def edit(article_id: int, language: str) -> str | Response | tuple[str, int]:
    item = articles.get(article_id)
    tenant = articles.tenant_of(item)
    if language not in tenant.languages:
        abort(404)
    current = articles.translation(item, language)
    writer = articles.may_write(current_user, item)
    if request.method == "POST":
        form = request.form
        try:
            if writer:
                editing.save_text(
                    item,
                    language,
                    title=form.get("title", ""),
                    body=form.get("body", ""),
                    base_revision=_int(form.get("revision")),
                    actor=current_user,
                    note=form.get("note", "")[:300],
                    notify=form.get("notify") == "1",
                )
                flash(_("Saved."), "success")
            else:
                proposals.propose(
                    item,
                    language,
                    title=form.get("title", ""),
                    body=form.get("body", ""),
                    note=form.get("note", ""),
                    actor=current_user,
                )
                flash(_("Thank you. Your proposal waits for the client's decision."), "success")
        except SERVICE_ERRORS as exc:
            _flash_errors(exc)
            return (
                render_template(
                    "knowledge/edit.html",
                    article=item,
                    tenant=tenant,
                    language=language,
                    current=articles.translation(item, language),
                    form=form,
                    writer=writer,
                    conflict=isinstance(exc, Conflict),
                ),
                exc.status,
            )
        return redirect(url_for("kb.article", article_id=item.id, lang=language))
    source, _fallback = articles.text_for(item, language)
    form = {
        "title": current.title if current else "",
        "body": current.body if current else "",
        "revision": str(current.revision) if current else "",
    }
    return render_template(
        "knowledge/edit.html",
        article=item,
        tenant=tenant,
        language=language,
        current=current,
        source=None if current else source,
        form=form,
        writer=writer,
        conflict=False,
    )


@bp.route("/<int:article_id>/properties", methods=["POST"])
@everyone
def properties(article_id: int) -> Response:
    item = articles.get(article_id)
    try:
        editing.set_properties(
            item,
            current_user,
            category_id=_int(request.form.get("category_id")),
            visibility=request.form.get("visibility", item.visibility),
            tags=request.form.get("tags", ""),
        )
        flash(_("Saved."), "success")
    except SERVICE_ERRORS as exc:
        _flash_errors(exc)
    return redirect(url_for("kb.article", article_id=item.id))


WORKFLOW_MESSAGES = {
    "submit": lambda: _("Sent for review."),
    "approve": lambda: _("Published. The desk's agents find it in their feed."),
    "send_back": lambda: _("Sent back to draft."),
    "archive": lambda: _("Archived."),
    "reopen": lambda: _("Back to draft."),
}


@bp.route("/<int:article_id>/workflow", methods=["POST"])
@everyone
def workflow(article_id: int) -> Response:
    item = articles.get(article_id)
    action = request.form.get("action", "")
    try:
        if action == "submit":
            lifecycle.submit(item, current_user, _int(request.form.get("reviewer_id")))
        elif action == "approve":
            lifecycle.approve(item, current_user)
        elif action == "send_back":
            lifecycle.send_back(item, current_user, request.form.get("comment", ""))
        elif action == "archive":
            lifecycle.archive(item, current_user)
        elif action == "reopen":
            lifecycle.reopen(item, current_user)
        else:
            abort(400)
        flash(WORKFLOW_MESSAGES[action](), "success")
    except SERVICE_ERRORS as exc:
        _flash_errors(exc)
    return redirect(url_for("kb.article", article_id=item.id))


# --- history ----------------------------------------------------------------------------------


@bp.route("/<int:article_id>/history/<language>")
@everyone
def history(article_id: int, language: str) -> str:
    item = articles.get(article_id)
    versions = text_history.versions(item, language)
    if not versions:
        abort(404)
    numbers = {v.number: v for v in versions}
    new = numbers.get(_int(request.args.get("b")) or versions[0].number, versions[0])
    old = numbers.get(_int(request.args.get("a")) or new.number - 1)
    current = articles.translation(item, language)
    return render_template(
        "knowledge/history.html",
        article=item,
        language=language,
        versions=versions,
        old=old,
        new=new,
        lines=text_history.diff(old, new) if old else [],
        current=current,
        may_write=articles.may_write(current_user, item),
    )


@bp.route("/<int:article_id>/history/<language>/<int:number>/restore", methods=["POST"])
@everyone
def restore(article_id: int, language: str, number: int) -> Response:
    item = articles.get(article_id)
    try:
        text_history.restore(item, language, number, current_user, _int(request.form.get("revision")) or 0)
        flash(_("Version %(number)d restored as the current text.", number=number), "success")
    except SERVICE_ERRORS as exc:
        _flash_errors(exc)
    return redirect(url_for("kb.history", article_id=item.id, language=language))


# --- files ------------------------------------------------------------------------------------


@bp.route("/<int:article_id>/files", methods=["POST"])
@everyone
def upload(article_id: int) -> Response:
    item = articles.get(article_id)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Choose a file first."), "error")
    else:
        try:
            added = files.add(
                item,
                attachments.Upload(upload.filename, upload.mimetype or "", upload.read()),
                current_user,
            )
            flash(_("Added. Reference it in the text as %(ref)s.", ref=f"kbfile:{added.id}"), "success")
        except SERVICE_ERRORS as exc:
            _flash_errors(exc)
    return redirect(url_for("kb.article", article_id=item.id))


@bp.route("/files/<int:file_id>")
@everyone
def file(file_id: int) -> Response:
    item = files.get(file_id)
    return attachments.download(files.path_of(item), item.content_type, item.filename)


@bp.route("/files/<int:file_id>/delete", methods=["POST"])
@everyone
def delete_file(file_id: int) -> Response:
    item = files.get(file_id)
    article_id = item.article_id
    try:
        files.remove(item, current_user)
        flash(_("Removed."), "success")
    except SERVICE_ERRORS as exc:
        _flash_errors(exc)
    return redirect(url_for("kb.article", article_id=article_id))


# --- proposals --------------------------------------------------------------------------------


@bp.route("/proposals")
@everyone
def proposal_list() -> str:
    rows = []
    for proposal in proposals.open_proposals():
        item = articles.get(proposal.article_id)
        current = articles.translation(item, proposal.language)
        rows.append((proposal, item, current, proposals.diff_of(proposal, current)))
    return render_template("knowledge/proposals.html", rows=rows, may_decide=_approver())


@bp.route("/proposals/<int:proposal_id>/<any(accept, reject):decision>", methods=["POST"])
@everyone
def decide(proposal_id: int, decision: str) -> Response:
    proposal = proposals.get(proposal_id)
    try:
        if decision == "accept":
            proposals.accept(proposal, current_user)
            flash(_("Accepted: the text is changed."), "success")
        else:
            proposals.reject(proposal, current_user)
            flash(_("Rejected."), "success")
    except SERVICE_ERRORS as exc:
        db.session.rollback()
        _flash_errors(exc)
    return redirect(url_for("kb.proposal_list"))


# --- the feed ---------------------------------------------------------------------------------


@bp.route("/feed")
@everyone
def feed_page() -> str:
    unread_only = request.args.get("unread") == "1"
    entries = feed.entries(current_user, unread_only=unread_only)
    supervising = current_user.role in (Role.SUPERVISOR, Role.PROVIDER_ADMIN, *CLIENT_ROLES)
    return render_template(
        "knowledge/feed.html",
        entries=entries,
        unread_only=unread_only,
        tenants=_tenants(),
        must_acknowledge=current_user.role in feed.READERS,
        unread_counts=feed.unread_by_change([e.change for e in entries]) if supervising else {},
    )


@bp.route("/feed/<int:change_id>/ack", methods=["POST"])
@everyone
def acknowledge(change_id: int) -> Response:
    feed.acknowledge(feed.get_change(change_id), current_user)
    flash(_("Marked as read."), "success")
    target = request.form.get("next", "")
    local = target.startswith("/") and not target.startswith("//") and "\\" not in target
    return redirect(target if local else url_for("kb.feed_page"))


@bp.route("/feed/<int:change_id>/readers")
@roles_required(Role.SUPERVISOR, Role.PROVIDER_ADMIN, *CLIENT_ROLES)
def readers(change_id: int) -> str:
    change = feed.get_change(change_id)
    item = articles.get(change.article_id)
    text, _fallback = articles.text_for(item, current_user.locale or "")
    return render_template(
        "knowledge/readers.html",
        change=change,
        article=item,
        title=text.title if text else "",
        readers=feed.readers(change),
    )


# --- categories -------------------------------------------------------------------------------

writers = roles_required(Role.CLIENT_ADMIN, Role.CLIENT_EXPERT, Role.PROVIDER_ADMIN)


def _names_from(form: object, tenant: Tenant) -> dict[str, str]:
    return {lang: form.get(f"name_{lang}", "") for lang in tenant.languages}  # type: ignore[attr-defined]


@bp.route("/categories", methods=["GET", "POST"])
@writers
def category_list() -> str | Response | tuple[str, int]:
    choices = _tenants()
    tenant = _tenant_arg(choices)
    status = 200
    if request.method == "POST" and tenant is not None:
        try:
            categories.save(tenant.id, _names_from(request.form, tenant), _int(request.form.get("parent_id")))
            flash(_("Category added."), "success")
            return redirect(url_for("kb.category_list", tenant_id=tenant.id))
        except SERVICE_ERRORS as exc:
            _flash_errors(exc)
            status = exc.status
    return (
        render_template(
            "knowledge/categories.html",
            tenants=choices,
            tenant=tenant,
            tree=categories.flat(tenant.id, current_user.locale) if tenant else [],
        ),
        status,
    )


@bp.route("/categories/<int:category_id>", methods=["POST"])
@writers
def category_save(category_id: int) -> Response:
    category = categories.get(category_id)
    tenant = db.session.get_one(Tenant, category.tenant_id)
    try:
        if request.form.get("delete") == "1":
            categories.delete(category)
            flash(_("Category removed; its articles moved up."), "success")
        else:
            categories.save(
                tenant.id, _names_from(request.form, tenant), _int(request.form.get("parent_id")), category
            )
            flash(_("Saved."), "success")
    except SERVICE_ERRORS as exc:
        _flash_errors(exc)
    return redirect(url_for("kb.category_list", tenant_id=tenant.id))
