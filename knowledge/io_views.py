"""Pages to import a client's existing FAQ into its knowledge base and to download the whole base."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request, send_file
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, SelectField

from core.auth.access import roles_required
from core.auth.roles import Role
from knowledge import export as kb_export
from knowledge import services
from knowledge.importing import csv_file, folder
from tenants import services as tenants

bp = Blueprint("kb_io", __name__, template_folder="templates")
IMPORTERS = (Role.CLIENT_ADMIN, Role.CLIENT_EXPERT, Role.PROVIDER_ADMIN)


class ImportForm(FlaskForm):
    tenant_id = SelectField(_l("Client"), coerce=int, choices=[])
    file = FileField(
        _l("File"),
        validators=[
            FileRequired(_l("Choose a file.")),
            FileAllowed(["csv", "zip"], _l("Upload a .csv file or a .zip of Markdown or HTML files.")),
        ],
    )
    publish = BooleanField(_l("Publish immediately (otherwise the articles arrive as drafts)"))


@bp.route("/kb/import", methods=["GET", "POST"])
@roles_required(*IMPORTERS)
def import_page() -> ResponseReturnValue:
    form = ImportForm()
    form.tenant_id.choices = tenants.tenant_choices()
    may_publish = services.may_approve(current_user)
    report = None
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            upload = form.file.data
            importer = (
                folder.import_folder if upload.filename.lower().endswith(".zip") else csv_file.import_csv
            )
            report = importer(
                form.tenant_id.data, upload.stream, current_user, publish=may_publish and form.publish.data
            )
            # Nothing was created when there are errors; the answer says so and rolls back.
            status = 200 if report.ok else 422
        else:
            status = 422
    return render_template(
        "knowledge/import.html",
        form=form,
        report=report,
        may_publish=may_publish,
        max_mb=(current_app.config.get("MAX_CONTENT_LENGTH") or 0) // (1024 * 1024),
        limits={"zip_files": folder.MAX_ZIP_FILES, "zip_mb": folder.MAX_ZIP_TOTAL // (1024 * 1024)},
    ), status


@bp.route("/kb/export.json")
@roles_required(*IMPORTERS)
def export() -> ResponseReturnValue:
    tenant_id = request.args.get("tenant_id", type=int) or current_user.tenant_id
    if tenant_id is None:
        abort(404)
    filename, data = kb_export.export_download(tenant_id)
    return send_file(data, mimetype="application/json", as_attachment=True, download_name=filename, max_age=0)
