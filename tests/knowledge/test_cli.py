"""`flask kb import|export|reindex`."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from core import tenancy
from core.extensions import db
from knowledge import search
from knowledge.models import Article
from tests.factories import World

CSV = (
    "title,body,language,key\n"
    "Rechnung fehlt,Im Kundenportal.,de,inv\n"
    "Invoice missing,In the customer portal.,en,inv\n"
    "Öffnungszeiten,Rund um die Uhr.,de,\n"
)


def _articles(tenant_id: int, status: str | None = None) -> int:
    with tenancy.system_scope():
        query = select(func.count()).select_from(Article).where(Article.tenant_id == tenant_id)
        if status:
            query = query.where(Article.status == status)
        return db.session.scalar(query)


def test_import_csv_and_export(app: Flask, world: World, tmp_path: Path) -> None:
    source = tmp_path / "faq.csv"
    source.write_text(CSV, encoding="utf-8")
    result = app.test_cli_runner().invoke(
        args=["kb", "import", "--tenant", "alpha", str(source), "--publish"]
    )
    assert result.exit_code == 0, result.output
    assert "Imported 2 article(s), 3 text(s), as published." in result.output
    assert _articles(world.alpha.id, "published") == 2

    target = tmp_path / "alpha.json"
    result = app.test_cli_runner().invoke(args=["kb", "export", "--tenant", "alpha", "-o", str(target)])
    assert result.exit_code == 0, result.output
    document = json.loads(target.read_text(encoding="utf-8"))
    assert document["tenant"]["slug"] == "alpha"
    assert sorted(a["translations"]["de"]["title"] for a in document["articles"]) == [
        "Rechnung fehlt",
        "Öffnungszeiten",
    ]
    stdout = app.test_cli_runner().invoke(args=["kb", "export", "--tenant", "beta"])
    beta = json.loads(stdout.output)["articles"]
    assert [a["translations"]["fr"]["title"] for a in beta] == ["Corriger une facture"]


def test_import_with_errors_exits_1_and_creates_nothing(app: Flask, world: World, tmp_path: Path) -> None:
    source = tmp_path / "faq.csv"
    source.write_text("title,body,language\nA,Text,de\nB,,de\nC,Text,fr\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["kb", "import", "--tenant", "alpha", str(source)])
    assert result.exit_code == 1
    assert "Line 3, body: " in result.output
    assert "Line 4, language: " in result.output
    assert "nothing was imported" in result.output
    assert _articles(world.alpha.id) == 0


def test_import_zip_as_drafts(app: Flask, world: World, tmp_path: Path) -> None:
    source = tmp_path / "faq.zip"
    with zipfile.ZipFile(source, "w") as zf:
        zf.writestr("fr/facture.md", "# Facture\n\nDans le portail.")
        zf.writestr("it/facture.md", "# Fattura\n\nNel portale.")
        zf.writestr("logo.png", b"\x89PNG")
    result = app.test_cli_runner().invoke(args=["kb", "import", "--tenant", "beta", str(source)])
    assert result.exit_code == 0, result.output
    assert "ignored: logo.png: " in result.output
    assert "Imported 1 article(s), 2 text(s), as drafts." in result.output
    assert (_articles(world.beta.id, "draft"), _articles(world.alpha.id)) == (
        1,
        0,
    )  # beta's other one is live


def test_unknown_tenant_and_reindex(app: Flask, world: World, tmp_path: Path, monkeypatch: Any) -> None:
    source = tmp_path / "faq.csv"
    source.write_text(CSV, encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["kb", "import", "--tenant", "gamma", str(source)])
    assert result.exit_code != 0
    assert "no client with the slug 'gamma'" in result.output
    app.test_cli_runner().invoke(args=["kb", "import", "--tenant", "alpha", str(source)])
    indexed: list[int] = []
    monkeypatch.delattr(search, "reindex_tenant", raising=False)
    monkeypatch.delattr(search, "reindex_all", raising=False)
    monkeypatch.setattr(search, "index", lambda ids: indexed.extend(ids))
    result = app.test_cli_runner().invoke(args=["kb", "reindex", "--tenant", "alpha"])
    assert result.exit_code == 0, result.output
    assert (result.output, len(indexed)) == ("alpha: 3 text(s) reindexed\n", 3)
    result = app.test_cli_runner().invoke(args=["kb", "reindex"])
    assert result.output == "alpha: 3 text(s) reindexed\nbeta: 1 text(s) reindexed\n"
    # With the search backend's own rebuild.
    monkeypatch.setattr(search, "reindex_tenant", lambda tenant_id: 7, raising=False)
    monkeypatch.setattr(search, "reindex_all", lambda: 9, raising=False)
    assert app.test_cli_runner().invoke(args=["kb", "reindex", "--tenant", "beta"]).output == (
        "beta: 7 text(s) reindexed\n"
    )
    assert app.test_cli_runner().invoke(args=["kb", "reindex"]).output == "all clients: 9 text(s) reindexed\n"
