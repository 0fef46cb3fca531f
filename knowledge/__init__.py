"""Each client's knowledge base: articles, their translations and history, search, the public
help center, and the loop between the client's experts and the first-level desk."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from knowledge import models  # noqa: F401  (registers the models)
