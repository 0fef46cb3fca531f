"""Configuration: safe defaults for the demo, a clear list of what production still needs."""

from __future__ import annotations

import os
import subprocess
import sys

from core import config


def test_defaults_need_nothing(tmp_path) -> None:
    settings = config.load({"FIRSTLINE_INSTANCE": str(tmp_path)})
    assert str(settings["SQLALCHEMY_DATABASE_URI"]).startswith("sqlite:///")
    assert settings["JOBS_INLINE"] is True
    assert settings["SCHEDULER_IN_PROCESS"] is True
    # The generated secret key is kept, so sessions survive a restart.
    assert settings["SECRET_KEY"] == config.load({"FIRSTLINE_INSTANCE": str(tmp_path)})["SECRET_KEY"]
    assert oct((tmp_path / "secret_key").stat().st_mode)[-3:] == "600"


def test_postgres_urls_get_the_psycopg_driver(tmp_path) -> None:
    settings = config.load(
        {
            "FIRSTLINE_INSTANCE": str(tmp_path),
            "DATABASE_URL": "postgres://u@h/db",
            "REDIS_URL": "redis://r:6379/0",
        }
    )
    assert settings["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"
    assert settings["JOBS_INLINE"] is False
    assert settings["RATELIMIT_STORAGE_URI"] == "redis://r:6379/0"


def test_check_lists_what_production_misses(tmp_path) -> None:
    findings = {f.key for f in config.check_production(config.load({"FIRSTLINE_INSTANCE": str(tmp_path)}))}
    assert {"DATABASE_URL", "REDIS_URL", "SMTP_HOST", "SESSION_COOKIE_SECURE"} <= findings


def test_check_wants_a_separate_owner_role(tmp_path) -> None:
    settings = config.load({"FIRSTLINE_INSTANCE": str(tmp_path), "DATABASE_URL": "postgresql://app@h/db"})
    assert "MIGRATE_DATABASE_URL" in {f.key for f in config.check_production(settings)}


def test_config_check_command_exits_non_zero_when_something_is_missing(tmp_path) -> None:
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "MIGRATE_DATABASE_URL")
    }
    env["FIRSTLINE_INSTANCE"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "config", "check"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "DATABASE_URL" in result.stdout
