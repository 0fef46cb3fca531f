"""Sign-in pages: thin views over `core.auth.services`."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from core import boundary
from core.auth import invitations, services
from core.auth.forms import LoginForm, PasswordForm, ProfileForm, ResetForm, ResetRequestForm
from core.errors import ValidationFailed
from core.extensions import limiter
from core.i18n import LANGUAGE_NAMES

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("core.home")


def _apply_field_errors(form: object, exc: ValidationFailed) -> None:
    for name, message in exc.fields.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = [*list(field.errors), str(message)]
        else:
            flash(str(message), "error")
    if not exc.fields:
        flash(str(exc.message), "error")


def _form_page(template: str, **context: object) -> tuple[str, int]:
    """A form shown again after a POST had errors is a 422, so the boundary rolls back."""
    return render_template(template, **context), 422 if request.method == "POST" else 200


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"], methods=["POST"])
def login() -> str | Response:
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.email.data or "", form.password.data or "")
        if user is not None:
            chosen = session.get("locale")
            # A fresh session at sign-in: nothing from before survives (no fixation).
            session.clear()
            login_user(user)
            boundary.signed_in(user)
            if chosen and not user.locale:
                services.set_locale(user, chosen)
            return redirect(_safe_next(request.args.get("next")))
        form.password.errors = [_("Wrong e-mail or password.")]
    # 200, not 422: the failed attempt's audit row must be committed.
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


def _profile_form() -> ProfileForm:
    form = ProfileForm(obj=current_user if request.method == "GET" else None)
    form.locale.choices = [("", _("Automatic"))] + list(LANGUAGE_NAMES.items())
    if request.method == "GET":
        form.locale.data = current_user.locale or ""
        form.timezone.data = current_user.timezone or ""
    return form


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile() -> str | Response:
    form = _profile_form()
    password_form = PasswordForm(prefix="pw")
    if form.validate_on_submit():
        try:
            services.update_profile(
                current_user,
                name=form.name.data or "",
                locale=form.locale.data or None,
                timezone=(form.timezone.data or "").strip() or None,
            )
        except ValidationFailed as exc:
            _apply_field_errors(form, exc)
        else:
            flash(_("Your profile is saved."), "success")
            return redirect(url_for("auth.profile"))
    return _form_page("auth/profile.html", form=form, password_form=password_form)


@bp.route("/profile/password", methods=["POST"])
@login_required
def change_password() -> str | Response:
    form = _profile_form()
    password_form = PasswordForm(prefix="pw")
    if password_form.validate_on_submit():
        try:
            services.change_password(
                current_user,
                current=password_form.current_password.data or "",
                new=password_form.new_password.data or "",
            )
        except ValidationFailed as exc:
            _apply_field_errors(password_form, exc)
        else:
            # Every other session is now invalid; keep this one signed in with the new token.
            login_user(current_user._get_current_object())  # type: ignore[attr-defined]
            flash(_("Your password is changed. Other sessions are signed out."), "success")
            return redirect(url_for("auth.profile"))
    return _form_page("auth/profile.html", form=form, password_form=password_form)


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"], methods=["POST"])
def forgot_password() -> str | Response:
    form = ResetRequestForm()
    if form.validate_on_submit():
        services.request_password_reset(
            form.email.data or "",
            lambda token: url_for("auth.reset_password", token=token, _external=True),
        )
        flash(_("If an account exists for this address, we have sent a link to reset the password."), "info")
        return redirect(url_for("auth.login"))
    return _form_page("auth/forgot.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> str | Response:
    form = ResetForm()
    if form.validate_on_submit():
        try:
            services.reset_password(token, form.new_password.data or "")
        except ValidationFailed as exc:
            _apply_field_errors(form, exc)
        else:
            flash(_("Your password is set. Please sign in."), "success")
            return redirect(url_for("auth.login"))
    return _form_page("auth/reset.html", form=form)


@bp.route("/invite/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"], methods=["POST"])
def accept_invitation(token: str) -> str | Response:
    form = ResetForm()
    if form.validate_on_submit():
        try:
            invitations.accept(token, form.new_password.data or "")
        except ValidationFailed as exc:
            _apply_field_errors(form, exc)
        else:
            flash(_("Welcome! Your password is set. Please sign in."), "success")
            return redirect(url_for("auth.login"))
    return _form_page(
        "auth/reset.html",
        form=form,
        heading=_("Welcome to Firstline"),
        intro=_("Choose the password you will sign in with."),
    )
