"""knowledge-base search: the GIN index keyed by (tenant_id, language, search_vector)

Revision ID: 5e2a9c41d7b3
Revises: 807740cfd56d
Create Date: 2026-12-02 09:00:00.000000

PostgreSQL only. `kb_search_rank()` looks for a tenant's texts in one language; with the index on
(tenant_id, search_vector) the language could only be tested on the heap. Words that several
languages share (the Swedish "en" in English texts, stemmed alike) then selected tens of
thousands of a big tenant's texts to keep a few hundred, and because the planner's estimate for
`@@` is table-wide, it often preferred reading every text of the tenant in that language through
the unique btree (25,000 heap visits, 100 ms at 100,000 texts; bench/kb_search.py). With the
language as a key of the GIN index the posting lists intersect in the index: 346 heap visits,
3.7 ms for the same query. The old index serves nothing else and goes.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '5e2a9c41d7b3'
down_revision = '807740cfd56d'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute(
        "CREATE INDEX ix_article_translations_tenant_id_language_search_vector "
        "ON article_translations USING gin (tenant_id, language, search_vector)"
    )
    op.execute("DROP INDEX IF EXISTS ix_article_translations_tenant_id_search_vector")


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute(
        "CREATE INDEX ix_article_translations_tenant_id_search_vector "
        "ON article_translations USING gin (tenant_id, search_vector)"
    )
    op.execute("DROP INDEX IF EXISTS ix_article_translations_tenant_id_language_search_vector")
