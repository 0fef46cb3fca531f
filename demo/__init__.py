"""Demo data for `make run`: two client companies and an account for every role."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from demo import cli

    app.cli.add_command(cli.group)
