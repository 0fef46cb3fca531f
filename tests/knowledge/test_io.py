"""Importing a client's FAQ (CSV, a zipped folder of Markdown and HTML) and exporting the KB."""

from __future__ import annotations

import io
import os
import resource
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from core import tenancy
from core.auth import services as auth
from core.auth.models import User
from core.errors import Conflict, NotFound, PermissionDenied
from core.extensions import db
from knowledge import editing, html_markdown, services, text_history
from knowledge import export as kb_export
from knowledge.importing import csv_file, folder
from knowledge.models import (
    Article,
    ArticleChange,
    ArticleStatus,
    ArticleTranslation,
    ArticleVersion,
    KbCategory,
)
from tests.conftest import csrf_token, sign_in
from tests.factories import World


def _as(user: User) -> Any:
    return tenancy.using(auth.scope_for(user))


def _csv(*lines: str) -> io.BytesIO:
    return io.BytesIO(("\n".join(lines) + "\n").encode())


def _count(model: Any, tenant_id: int) -> int:
    with tenancy.system_scope():
        return db.session.scalar(select(func.count()).select_from(model).where(model.tenant_id == tenant_id))


def _zip(files: dict[str, bytes | str]) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    buffer.seek(0)
    return buffer


GOOD_CSV = (
    "title,body,language,category,tags,visibility,key",
    'Rechnung fehlt,"Die Rechnung steht im **Kundenportal**.",de,'
    "Rechnungen/Mahnungen,rechnung; portal,public,inv",
    'Invoice missing,"The invoice is in the customer portal.",en,Billing/Reminders,,,inv',
    "Passwort vergessen,Klicken Sie auf «Passwort vergessen».,de,Konto,,,pw",
    'Lost password,"Click ""Forgot password"".",en,,,,pw',
    "Opening hours,We answer 24/7.,en,,,internal,",
)


def test_csv_with_keys_makes_one_article_per_key_with_its_languages(world: World) -> None:
    with _as(world.alpha_expert):
        report = csv_file.import_csv(world.alpha.id, _csv(*GOOD_CSV), world.alpha_expert, publish=False)
        assert report.ok, report.errors
        assert (report.created, report.translations, report.published) == (3, 5, False)
        rows = services.listing(language="en")
        assert sorted(r.title for r in rows) == ["Invoice missing", "Lost password", "Opening hours"]
        invoice = next(r.article for r in rows if r.title == "Invoice missing")
        assert invoice.status == ArticleStatus.DRAFT.value
        assert (invoice.visibility, invoice.tags) == ("public", ["rechnung", "portal"])
        texts = services.translations(invoice)
        assert sorted(texts) == ["de", "en"]
        assert "<strong>Kundenportal</strong>" in texts["de"].body_html
        assert [v.number for v in text_history.versions(invoice, "de")] == [1]
        # The category was created in German and got its English names from the English row.
        category = db.session.get(KbCategory, invoice.category_id)
        parent = db.session.get(KbCategory, category.parent_id)
        assert category.names == {"de": "Mahnungen", "en": "Reminders"}
        assert parent.names == {"de": "Rechnungen", "en": "Billing"}
        lost = next(r.article for r in rows if r.title == "Lost password")
        assert services.translations(lost)["en"].body == 'Click "Forgot password".'


def test_csv_again_reuses_the_categories_by_name(world: World) -> None:
    with _as(world.alpha_admin):
        csv_file.import_csv(world.alpha.id, _csv(*GOOD_CSV), world.alpha_admin)
        again = csv_file.import_csv(
            world.alpha.id,
            _csv("title,body,language,category", "Mahngebühr,Fünf Franken.,de,rechnungen/Mahnungen"),
            world.alpha_admin,
        )
        assert again.ok
    assert _count(KbCategory, world.alpha.id) == 3


def test_csv_with_errors_reports_every_line_and_creates_nothing(world: World) -> None:
    lines = [
        "title,body,language,key",
        "One,First answer.,de,a",
        "Two,,de,b",  # line 3: empty body
        "Three,Third answer.,en,a",
        "Four,Fourth answer.,de,c",
        '"Five, multi-line","Line one',
        'line two",en,c',
        "Six,Sixth answer.,es,d",  # line 8: a language alpha does not serve
    ]
    before = _count(Article, world.alpha.id)
    with _as(world.alpha_admin):
        report = csv_file.import_csv(world.alpha.id, _csv(*lines), world.alpha_admin, publish=True)
    assert not report.ok
    assert [(p.line, p.field) for p in report.errors] == [(3, "body"), (8, "language")]
    assert report.created == 0
    assert _count(Article, world.alpha.id) == before
    assert "Line 3, body: " in report.lines()[0]


def test_a_refusal_while_creating_undoes_the_whole_import(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file was valid, but the services refuse one text half-way: nothing stays, not even the
    articles and categories made before it."""
    real = editing.save_text

    def refuse_english(article: Any, language: str, **kwargs: Any) -> Any:
        if language == "en" and kwargs["title"] == "Lost password":
            raise Conflict("Someone else saved this text.")
        return real(article, language, **kwargs)

    monkeypatch.setattr(editing, "save_text", refuse_english)
    with _as(world.alpha_admin):
        report = csv_file.import_csv(world.alpha.id, _csv(*GOOD_CSV), world.alpha_admin, publish=True)
    assert [(p.line, p.field, p.message) for p in report.errors] == [(5, "", "Someone else saved this text.")]
    assert (report.created, report.published) == (0, False)
    assert _count(Article, world.alpha.id) == 0
    assert _count(KbCategory, world.alpha.id) == 0
    assert _count(ArticleChange, world.alpha.id) == 0


def test_csv_reports_lines_3_and_7(world: World) -> None:
    lines = [
        "title,body,language",
        "A,Answer a.,de",
        "B,Answer b.,xx",  # 3
        "C,Answer c.,de",
        "D,Answer d.,en",
        "E,Answer e.,en",
        "F" * 301 + ",Answer f.,de",  # 7
        "G,Answer g.,de",
    ]
    with _as(world.alpha_admin):
        report = csv_file.import_csv(world.alpha.id, _csv(*lines), world.alpha_admin)
    assert [(p.line, p.field) for p in report.errors] == [(3, "language"), (7, "title")]
    assert _count(Article, world.alpha.id) == 0


def test_csv_structural_problems_are_reported(world: World) -> None:
    with _as(world.alpha_admin):
        missing = csv_file.import_csv(
            world.alpha.id, _csv("title,text,language", "A,B,de"), world.alpha_admin
        )
        assert [(p.line, p.field) for p in missing.errors] == [(1, "body")]
        assert [(p.line, p.field) for p in missing.skipped] == [(1, "text")]
        short = csv_file.import_csv(
            world.alpha.id, _csv("title,body,language,key", "A,B", "C,D,de,k", "E,F,de,k"), world.alpha_admin
        )
        assert [(p.line, p.field) for p in short.errors] == [(2, "language"), (4, "key")]
        assert "Line 3" in short.errors[1].message
        wide = csv_file.import_csv(
            world.alpha.id, _csv("title,body,language", "A,B,de,extra"), world.alpha_admin
        )
        assert [p.line for p in wide.errors] == [2]
        latin = csv_file.import_csv(
            world.alpha.id, io.BytesIO("title,body,language\nÄ,B,de\n".encode("latin-1")), world.alpha_admin
        )
        assert not latin.ok
        assert "UTF-8" in latin.errors[0].message
        unclosed = csv_file.import_csv(
            world.alpha.id,
            _csv("title,body,language", "A,B,de", 'C,"never closed' + "x" * 100),
            world.alpha_admin,
        )
        assert not unclosed.ok
        empty = csv_file.import_csv(world.alpha.id, io.BytesIO(b""), world.alpha_admin)
        assert not empty.ok
    assert _count(Article, world.alpha.id) == 0


def test_csv_semicolons_bom_text_streams_and_large_fields(world: World) -> None:
    body = "x" * 150_000  # above the csv module's default field limit, below the article's
    data = "\ufefftitle;body;language\nLang;" + body + ";de\n"
    with _as(world.alpha_admin):
        report = csv_file.import_csv(world.alpha.id, io.StringIO(data), world.alpha_admin)
        assert report.ok, report.errors
        too_big = csv_file.import_csv(
            world.alpha.id, _csv("title,body,language", "Big," + "y" * 200_001 + ",de"), world.alpha_admin
        )
        assert [(p.line, p.field) for p in too_big.errors] == [(2, "body")]
    assert _count(Article, world.alpha.id) == 1


def test_csv_strips_script_from_titles_and_bodies(world: World) -> None:
    lines = (
        "title,body,language",
        '"<b>Bold</b> <script>alert(1)</script>title",'
        '"Text <script>alert(2)</script> and <img src=x onerror=alert(3)>",de',
    )
    with _as(world.alpha_admin):
        assert csv_file.import_csv(world.alpha.id, _csv(*lines), world.alpha_admin).ok
        tr = db.session.scalar(select(ArticleTranslation))
    assert tr.title == "Bold title"
    assert "<script" not in tr.body
    assert "alert(2)" not in tr.body
    # Raw HTML left in the Markdown is shown as text, never as markup.
    assert "<img" not in tr.body_html
    assert "&lt;img" in tr.body_html


def test_too_many_errors_are_capped(world: World) -> None:
    lines = ["title,body,language", *[f"T{i},,de" for i in range(150)]]
    with _as(world.alpha_admin):
        report = csv_file.import_csv(world.alpha.id, _csv(*lines), world.alpha_admin)
    assert (len(report.errors), report.error_count, report.more_errors) == (100, 150, 50)
    assert report.lines()[-1] == "... and 50 more errors."


def test_large_csv_is_streamed(world: World, tmp_path: Path) -> None:
    """5,000 rows in the suite; KB_IMPORT_ROWS=20000 (or 50 MB worth) for the real thing."""
    rows = int(os.environ.get("KB_IMPORT_ROWS", "5000"))
    source = tmp_path / "large.csv"
    with source.open("w", encoding="utf-8") as handle:
        handle.write("title,body,language,key,category\n")
        for i in range(rows):
            language = "de" if i % 2 else "en"
            handle.write(f"Question {i // 2},Answer {i} with words.,{language},k{i // 2},Cat {i % 7}\n")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kB on Linux
    started = time.perf_counter()
    with _as(world.alpha_admin), source.open("rb") as stream:
        report = csv_file.import_csv(world.alpha.id, stream, world.alpha_admin)
    elapsed = time.perf_counter() - started
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    assert report.ok, report.errors[:3]
    assert (report.created, report.translations) == (rows // 2, rows)
    assert _count(ArticleVersion, world.alpha.id) == rows
    print(f"{rows} rows in {elapsed:.1f}s, peak memory grew by {grown:.0f} MB")
    # Generous (a loaded 2-core machine); what must not grow with the file is the memory.
    assert elapsed < rows * 0.1
    assert grown < 100


def test_publish_is_for_the_clients_approvers_only(world: World) -> None:
    with _as(world.admin):
        report = csv_file.import_csv(world.alpha.id, _csv(*GOOD_CSV), world.admin, publish=True)
        assert report.ok
        assert not report.published
        assert [p.field for p in report.skipped] == ["publish"]
        alpha = select(Article).where(Article.tenant_id == world.alpha.id)
        assert {a.status for a in db.session.scalars(alpha)} == {"draft"}
    with _as(world.alpha_admin):
        report = csv_file.import_csv(world.alpha.id, _csv(*GOOD_CSV), world.alpha_admin, publish=True)
        assert report.published
        assert {a.status for a in db.session.scalars(select(Article))} == {"draft", "published"}
        assert _count(Article, world.alpha.id) == 6
        assert _count(ArticleChange, world.alpha.id) == 3


def test_agents_may_not_import_and_other_tenants_are_not_found(world: World) -> None:
    with _as(world.agent_alpha), pytest.raises(PermissionDenied):
        csv_file.import_csv(world.alpha.id, _csv(*GOOD_CSV), world.agent_alpha)
    with _as(world.alpha_admin), pytest.raises(NotFound):
        csv_file.import_csv(world.beta.id, _csv(*GOOD_CSV), world.alpha_admin)
    with _as(world.alpha_admin), pytest.raises(NotFound):
        list(kb_export.export_json(world.beta.id))


FAQ_ZIP = {
    "faq/de/Konto/passwort.md": (
        "---\ntitle: Passwort vergessen\ntags: konto, login\nvisibility: public\n---\n"
        "Klicken Sie auf **Passwort vergessen**.\n"
    ),
    "faq/en/Konto/passwort.md": "# Forgot your password\n\nClick **Forgot password**.\n",
    "faq/Konto/zugang.en.md": "Access is granted by your administrator.",
    "faq/de/versand.html": (
        "<html><head><title>Versand &amp; Lieferung</title><script>alert('head')</script></head>"
        "<body><h1>Versand</h1><p>Wir liefern <b>schnell</b>.<script>alert('x')</script></p>"
        "<ul><li>Schweiz</li><li><a href='https://example.com/at'>Österreich</a></li>"
        "<li><a href='javascript:alert(1)'>Böse</a></li></ul><img src=x onerror=alert(2)></body></html>"
    ),
    "faq/de/hinweis.htm": "<h1>Hinweis</h1><p>Ein Absatz.</p>",
    "faq/../evil.md": "# Evil\n\nOutside the folder.",
    "faq/bild.png": b"\x89PNG\r\n\x1a\n",
}


def test_zip_folder_with_languages_front_matter_and_html(world: World) -> None:
    with _as(world.alpha_admin):
        report = folder.import_folder(world.alpha.id, _zip(FAQ_ZIP), world.alpha_admin)
        assert report.ok, report.errors
        assert (report.created, report.translations) == (4, 5)
        skipped = {p.line for p in report.skipped}
        assert skipped == {"faq/../evil.md", "faq/bild.png"}
        rows = {r.title: r for r in services.listing(language="de")}
        # Without front matter or a heading, the file name is the title.
        assert set(rows) == {"Passwort vergessen", "zugang", "Versand & Lieferung", "Hinweis"}
        password = rows["Passwort vergessen"].article
        assert (password.visibility, password.tags) == ("public", ["konto", "login"])
        texts = services.translations(password)
        assert texts["en"].title == "Forgot your password"
        assert texts["en"].body == "Click **Forgot password**."
        assert db.session.get(KbCategory, password.category_id).names == {"de": "Konto", "en": "Konto"}
        assert rows["zugang"].article.category_id == password.category_id
        shipping = services.translations(rows["Versand & Lieferung"].article)["de"]
        assert "alert" not in shipping.body
        assert "javascript" not in shipping.body
        assert "[Österreich](https://example.com/at)" in shipping.body
        assert "<script" not in shipping.body_html
        assert "onerror" not in shipping.body_html
        assert "<strong>schnell</strong>" in shipping.body_html
        note = services.translations(rows["Hinweis"].article)["de"]
        assert (note.title, note.body) == ("Hinweis", "Ein Absatz.")


def test_zip_errors_are_reported_per_file_and_nothing_is_created(world: World) -> None:
    files = {
        "de/a.md": "# A\n\nText.",
        "a.de.md": "# A again\n\nText.",
        "es/b.md": "# B\n\nTexto.",
        "c.md": "---\ntitle: C\n---\n",
    }
    with _as(world.alpha_admin):
        report = folder.import_folder(world.alpha.id, _zip(files), world.alpha_admin)
    assert sorted((p.line, p.field) for p in report.errors) == [
        ("c.md", "body"),
        ("de/a.md", "language"),
        ("es/b.md", "language"),
    ]
    assert _count(Article, world.alpha.id) == 0


def test_zip_bomb_and_non_zip_are_refused(world: World) -> None:
    buffer = io.BytesIO()
    chunk = b"0" * (1024 * 1024)
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf,
        zf.open("bomb.md", "w", force_zip64=True) as handle,
    ):
        for _ in range(folder.MAX_ZIP_TOTAL // len(chunk) + 1):
            handle.write(chunk)
    assert buffer.tell() < 1024 * 1024
    buffer.seek(0)
    with _as(world.alpha_admin):
        report = folder.import_folder(world.alpha.id, buffer, world.alpha_admin)
        assert not report.ok
        assert "MB" in report.errors[0].message
        assert not folder.import_folder(world.alpha.id, io.BytesIO(b"not a zip"), world.alpha_admin).ok
    assert _count(Article, world.alpha.id) == 0


def test_zip_with_too_many_files_is_refused(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(folder, "MAX_ZIP_FILES", 3)
    files = {f"f{i}.md": "# T\n\nx" for i in range(4)}
    with _as(world.alpha_admin):
        report = folder.import_folder(world.alpha.id, _zip(files), world.alpha_admin)
    assert not report.ok
    assert _count(Article, world.alpha.id) == 0


def test_export_has_the_whole_kb_of_one_tenant_only(world: World) -> None:
    import json

    with _as(world.beta_admin):
        csv_file.import_csv(
            world.beta.id, _csv("title,body,language", "Secret beta,Beta only.,fr"), world.beta_admin
        )
    with _as(world.alpha_admin):
        csv_file.import_csv(world.alpha.id, _csv(*GOOD_CSV), world.alpha_admin, publish=True)
        article = services.listing(language="en")[0].article
        tr = services.translations(article)["en"]
        editing.save_text(
            article,
            "en",
            title=tr.title,
            body=tr.body + " Updated.",
            base_revision=tr.revision,
            actor=world.alpha_admin,
        )
        document = json.loads("".join(kb_export.export_json(world.alpha.id)))
    assert document["format"] == "firstline-kb"
    assert document["tenant"]["slug"] == "alpha"
    assert [c["names"]["de"] for c in document["categories"]] == ["Rechnungen", "Konto"]
    assert document["categories"][0]["children"][0]["names"] == {"de": "Mahnungen", "en": "Reminders"}
    assert len(document["articles"]) == 3
    assert "Secret beta" not in json.dumps(document)
    first = document["articles"][0]
    assert first["status"] == "published"
    assert first["visibility"] == "public"
    assert sorted(first["translations"]) == ["de", "en"]
    changed = next(a for a in document["articles"] if a["id"] == article.id)["translations"]["en"]
    assert [v["number"] for v in changed["versions"]] == [1, 2]
    assert changed["body"].endswith("Updated.")
    with _as(world.alpha_admin):
        filename, data = kb_export.export_download(world.alpha.id)
    assert filename.startswith("kb-alpha-")
    assert json.loads(data.read())["articles"] == document["articles"]


def test_html_to_markdown_keeps_structure() -> None:
    title, body = html_markdown.html_to_markdown(
        "<h1>Title</h1><h2>Part</h2><p>One *star* and <em>em</em>.<br>Next</p><ol><li>a</li><li>b</li></ol>"
        "<pre><code>x < y</code></pre><style>p{}</style>"
    )
    assert title == "Title"
    assert body == "## Part\n\nOne \\*star\\* and *em*.\\\nNext\n\n1. a\n2. b\n\n```\nx < y\n```"


# --- the pages --------------------------------------------------------------------------------


def _upload(client: FlaskClient, tenant_id: int, name: str, data: bytes, publish: bool = False) -> Any:
    form = {
        "csrf_token": csrf_token(client, "/kb/import"),
        "tenant_id": str(tenant_id),
        "file": (io.BytesIO(data), name),
    }
    if publish:
        form["publish"] = "y"
    return client.post("/kb/import", data=form, content_type="multipart/form-data")


def test_import_page_imports_and_shows_the_report(client: FlaskClient, world: World) -> None:
    sign_in(client, "admin@alpha.example")
    page = client.get("/kb/import").get_data(as_text=True)
    assert "Alpha AG" in page
    assert "Beta AG" not in page
    assert 'name="publish"' in page
    response = _upload(client, world.alpha.id, "faq.CSV", _csv(*GOOD_CSV).getvalue(), publish=True)
    assert response.status_code == 200
    assert "3 articles imported and published." in response.get_data(as_text=True)
    assert _count(Article, world.alpha.id) == 3
    zipped = _upload(client, world.alpha.id, "faq.zip", _zip({"de/neu.md": "# Neu\n\nText."}).getvalue())
    assert "1 article imported as a draft." in zipped.get_data(as_text=True)


def test_import_page_lists_the_errors_and_creates_nothing(client: FlaskClient, world: World) -> None:
    beta_before = _count(Article, world.beta.id)
    sign_in(client, "expert@alpha.example")
    bad = b"title,body,language\nA,Text,de\n<script>x</script>Two,,de\nC,Text,xx\n"
    response = _upload(client, world.alpha.id, "faq.csv", bad)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Nothing was imported: the file has 2 problems." in page
    assert "Line 3" in page
    assert "Line 4" in page
    assert "<script>x" not in page
    assert _count(Article, world.alpha.id) == 0
    # Another client's id is not among the choices; a text file is not an import.
    assert _upload(client, world.beta.id, "faq.csv", _csv(*GOOD_CSV).getvalue()).status_code == 422
    assert _upload(client, world.alpha.id, "faq.txt", b"title,body,language\n").status_code == 422
    assert _count(Article, world.beta.id) == beta_before


def test_import_page_is_for_the_clients_staff_and_provider_admins(client: FlaskClient, world: World) -> None:
    sign_in(client, "agent.both@provider.example")
    assert client.get("/kb/import").status_code == 403
    assert client.get(f"/kb/export.json?tenant_id={world.alpha.id}").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(client, "/profile")})
    sign_in(client, "admin@provider.example")
    page = client.get("/kb/import").get_data(as_text=True)
    assert "Beta AG" in page
    assert 'name="publish"' not in page  # the provider writes, the client approves
    response = _upload(
        client, world.beta.id, "faq.csv", b"title,body,language\nFacture,Texte.,fr\n", publish=True
    )
    assert "1 article imported as a draft." in response.get_data(as_text=True)


def test_export_page_downloads_one_clients_kb(client: FlaskClient, world: World) -> None:
    import json

    with _as(world.beta_admin):
        csv_file.import_csv(
            world.beta.id, _csv("title,body,language", "Secret beta,Beta only.,fr"), world.beta_admin
        )
    sign_in(client, "admin@alpha.example")
    _upload(client, world.alpha.id, "faq.csv", _csv(*GOOD_CSV).getvalue())
    response = client.get("/kb/export.json")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment; filename=kb-alpha-")
    assert len(json.loads(response.data)["articles"]) == 3
    assert client.get(f"/kb/export.json?tenant_id={world.beta.id}").status_code == 404
