"""Shared fixtures: one schema per session (built by the real migrations), one rolled-back
transaction per test, and at least two tenants in every database fixture.

`DATABASE_URL` (PostgreSQL, the non-owner application role) and `MIGRATE_DATABASE_URL` (the
owner) select PostgreSQL; unset, a SQLite file in a temporary directory is used. `REDIS_URL`
enables the tests that run a real RQ worker.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

_INSTANCE = tempfile.mkdtemp(prefix="firstline-test-")
os.environ["FIRSTLINE_INSTANCE"] = _INSTANCE
os.environ.pop("SMTP_HOST", None)

from flask import Flask  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from flask_sqlalchemy.session import Session as FlaskSession  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from core import create_app, tenancy  # noqa: E402
from core.extensions import db  # noqa: E402

DATABASE_URL = os.environ.get("DATABASE_URL", "")
REDIS_URL = os.environ.get("REDIS_URL", "")
ON_POSTGRES = DATABASE_URL.startswith("postgres")

TEST_SETTINGS: dict[str, Any] = {
    "TESTING": True,
    "ARGON2_TIME_COST": 1,
    "ARGON2_MEMORY_COST": 64,
    "RATELIMIT_LOGIN": "10000 per minute",
    "RATELIMIT_WEBFORM": "10000 per minute",
    "RATELIMIT_CHAT": "10000 per minute",
    # Jobs run inline in the rolled-back test transaction; tests marked `worker` build their own
    # app that enqueues to Redis for a real RQ worker.
    "JOBS_INLINE": True,
    "SCHEDULER_IN_PROCESS": False,
    "SERVER_NAME": "firstline.test",
}


# --- guards -----------------------------------------------------------------------------------

_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: Any) -> Any:
    host = address[0] if isinstance(address, tuple) else address
    inet = self.family in (socket.AF_INET, socket.AF_INET6)
    if inet and isinstance(host, str) and host not in ("localhost", "::1") and not host.startswith("127."):
        raise OSError(f"tests may not reach the network ({host})")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)


# --- application and database -----------------------------------------------------------------


def _reset_schema(app: Flask) -> None:
    import flask_migrate

    with app.app_context():
        owner = create_engine(app.config["MIGRATE_DATABASE_URL"])
        with owner.begin() as conn:
            db.metadata.drop_all(conn)
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        owner.dispose()
        flask_migrate.upgrade()


class IsolatedClient(FlaskClient):
    """Each request gets its own app context (its own `g` and session), as in production,
    even though the test body holds an app context of its own."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        from flask.globals import _cv_app

        token = _cv_app.set(None)  # type: ignore[arg-type]
        try:
            return super().open(*args, **kwargs)
        finally:
            _cv_app.reset(token)


@pytest.fixture(scope="session")
def app() -> Iterator[Flask]:
    application = create_app(TEST_SETTINGS)
    application.test_client_class = IsolatedClient
    _reset_schema(application)
    return application


class _BoundSession(FlaskSession):
    """Flask-SQLAlchemy picks the engine per table; the test session must use its connection."""

    def get_bind(self, mapper: Any = None, clause: Any = None, bind: Any = None, **kwargs: Any) -> Any:
        return bind or self.bind


@pytest.fixture
def db_session(app: Flask) -> Iterator[Any]:
    """Everything a test does, requests included, happens in one transaction rolled back after."""
    with app.app_context():
        connection = db.engine.connect()
        transaction = connection.begin()
        session = db._make_scoped_session(
            {
                "bind": connection,
                "join_transaction_mode": "create_savepoint",
                "class_": _BoundSession,
                "expire_on_commit": False,
            }
        )
        original, db.session = db.session, session
        try:
            yield session
        finally:
            db.session = original
            try:
                session.remove()
            finally:
                transaction.rollback()
                connection.close()


@pytest.fixture
def client(app: Flask, db_session: Any) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def system(db_session: Any) -> Iterator[None]:
    """Run the test body with every tenant in scope (as the demo loader and sweeps do)."""
    with tenancy.system_scope():
        yield


# --- the two-tenant world ---------------------------------------------------------------------

from tests.factories import PASSWORD, World, build_world  # noqa: E402


@pytest.fixture
def world(db_session: Any) -> World:
    return build_world()


# --- signing in -------------------------------------------------------------------------------

CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    html = client.get(path).get_data(as_text=True)
    match = CSRF_RE.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1) or match.group(2)


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD) -> Any:
    token = csrf_token(client)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


@dataclass
class Api:
    client: FlaskClient
    token: str

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **(extra or {})}

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, headers=self._headers(kwargs.pop("headers", None)), **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.client.post(path, headers=self._headers(kwargs.pop("headers", None)), **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Any:
        return self.client.patch(path, headers=self._headers(kwargs.pop("headers", None)), **kwargs)

    def put(self, path: str, **kwargs: Any) -> Any:
        return self.client.put(path, headers=self._headers(kwargs.pop("headers", None)), **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.client.delete(path, headers=self._headers(kwargs.pop("headers", None)), **kwargs)


def api_as(client: FlaskClient, email: str, password: str = PASSWORD) -> Api:
    response = client.post("/api/v1/auth/token", json={"email": email, "password": password})
    assert response.status_code == 201, response.get_json()
    return Api(client, response.get_json()["token"])


# --- a real RQ worker process -----------------------------------------------------------------


def worker_process(queues: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`flask jobs worker --burst` in a process of its own, on the tests' database and Redis
    (the environment's), with `env` on top; it stops when the queues are empty."""
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "jobs", "worker", "--burst", "--queues", queues],
        cwd=Path(__file__).resolve().parents[1],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


# --- a real SMTP server on loopback -----------------------------------------------------------


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        from email import message_from_bytes
        from email.policy import default

        self.messages.append(message_from_bytes(envelope.original_content, policy=default))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class SmtpServer:
    host: str
    port: int
    inbox: _Inbox

    @property
    def messages(self) -> list[Any]:
        return self.inbox.messages


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    from aiosmtpd.controller import Controller

    inbox = _Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", port, inbox)
    finally:
        controller.stop()


@pytest.fixture
def smtp_to(app: Flask, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> SmtpServer:
    """Point the app's outgoing mail at the loopback SMTP server for this test."""
    monkeypatch.setitem(app.config, "SMTP_HOST", smtp_server.host)
    monkeypatch.setitem(app.config, "SMTP_PORT", smtp_server.port)
    return smtp_server
