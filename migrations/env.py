"""Alembic environment. Migrations run as the table owner (`MIGRATE_DATABASE_URL`), never as
the application role that row-level security applies to."""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app
from sqlalchemy import create_engine

config = context.config
fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

# create_app has imported every domain package, so the metadata holds every model.
target_db = current_app.extensions["migrate"].db


def _url() -> str:
    return current_app.config["MIGRATE_DATABASE_URL"]


def _engine():
    if _url() == current_app.config["SQLALCHEMY_DATABASE_URI"]:
        return target_db.engine
    return create_engine(_url())


def render_item(type_, obj, autogen_context):
    """Write the UTC column type as the plain DateTime it stores (no model type in migrations)."""
    from core.models_base import UTCDateTime

    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


# Search-index objects the migrations create outside the ORM models (knowledge/search): SQLite's
# FTS5 table with its shadow tables (kb_fts_data, kb_fts_idx, ...), PostgreSQL's generated
# search column, its GIN indexes and the term statistics. Autogenerate must neither drop nor
# report them.
UNMODELLED = {
    "kb_fts",
    "kb_terms",
    "search_vector",
    "ix_article_translations_tenant_id_search_vector",
    "ix_article_translations_tenant_id_language_search_vector",
    "ix_article_translations_tenant_id_title_trgm",
}


def include_name(name, type_, parent_names):
    return not (type_ == "table" and name is not None and (name in UNMODELLED or name.startswith("kb_fts_")))


def include_object(obj, name, type_, reflected, compare_to):
    return not (reflected and compare_to is None and name in UNMODELLED)


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_db.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info("No changes in schema detected.")

    conf_args = dict(current_app.extensions["migrate"].configure_args)
    conf_args.setdefault("process_revision_directives", process_revision_directives)
    engine = _engine()
    with engine.connect() as connection:
        conf_args["render_as_batch"] = connection.dialect.name == "sqlite"
        conf_args["compare_type"] = True
        conf_args["render_item"] = render_item
        conf_args["include_name"] = include_name
        conf_args["include_object"] = include_object
        context.configure(
            connection=connection,
            target_metadata=target_db.metadata,
            **conf_args,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
