"""knowledge-base search index: SQLite FTS5 table, or PostgreSQL's generated tsvector with GIN and
trigram indexes and per-language text-search configurations

Revision ID: 9fc76b031eaf
Revises: 9488eb92d258
Create Date: 2026-11-27 10:00:00.000000

SQLite: `kb_fts` (FTS5) holds each translation's title and body as stemmed, tenant- and
language-prefixed words (knowledge/search/sqlite_fts.py), rowid = article_translations.id; it is
filled by `knowledge.search.index()`, and backfilled here (with the application's stemming). A trigger removes a translation's row
when the translation is deleted by any path (a cascade from its article included).

PostgreSQL: `article_translations.search_vector` is a STORED GENERATED column, not filled by the
application. Why: it can never disagree with the text, whoever writes the row (the services'
conditional UPDATE, a restore, a bulk import, a SQL fix by hand), costs no extra statement per
save, and needs no backfill. What it takes: an IMMUTABLE expression, hence
`kb_search_config(language)` as a `BEGIN ATOMIC` function (its configuration names are resolved to
OIDs when it is created, so no search_path is involved), and accent folding inside the text-search
configurations (the `unaccent` dictionary) instead of calling the STABLE unaccent() function. Each
`kb_<language>` configuration is a copy of PostgreSQL's with a stopword filter for the accented
words first ("für", "über"), then unaccent, then the Snowball stemmer; `kb_simple` (every other
language) folds accents only. Markdown link targets are left out of the body, as on SQLite.

Indexes: GIN on (tenant_id, search_vector), the tenant first (btree_gin) so that a small tenant's
search never walks a big tenant's postings; GIN trigram on (tenant_id, title) for the typo
fallback. unaccent, pg_trgm and btree_gin are trusted extensions: the database owner creates them.

Row-level security hides these indexes from the application role: a query's own conditions are
only used in an index scan when their operator is LEAKPROOF (else they must run after the
policy), and `@@` and pg_trgm's `<%` are not; a search then reads and tests every text of the
tenant (50 ms at 20,000 texts, measured). Marking the operators leakproof needs a superuser.
Instead, `kb_search_rank()` and `kb_search_similar()` are SECURITY DEFINER functions owned by the
owner (to whom the policy does not apply): they return only the ids (and scores) of a tenant's
texts that match, and only for a tenant the caller's `app.tenant_ids` allows, the very test the
policy makes. The texts themselves are then read by id as the application role, under the policy
as always. Ranking inside the function also reads each candidate once instead of twice.
EXECUTE goes to the roles that may read article_translations, not to PUBLIC.

`kb_terms` (tenant, language, lexeme, texts): how many of a tenant's texts in a language have each
lexeme, and (lexeme '') how many texts there are. The ranking needs these document frequencies
for its inverse document frequency and to decide which words may select candidates; counting
them from the GIN index costs a heap visit per text (PostgreSQL 15 cannot count from a GIN index
alone): 10 ms for a word in 2,000 texts. Statement-level triggers with transition tables keep it
current for every write path (a bulk insert costs one grouped upsert per statement, in key order,
so concurrent writers lock the same rows in the same order). It is under the tenant policy like
every tenant table. A lexeme no text has any more is deleted, so a deleted tenant's words go
with its texts; that is also why there is no foreign key to tenants (the test suite's drop_all
could not drop tenants past it).
"""
import sqlalchemy as sa
from alembic import op

from core.tenancy import ALL_TENANTS, RLS_SETTING, rls_policy_sql
from knowledge.search import sqlite_fts


# revision identifiers, used by Alembic.
revision = '9fc76b031eaf'
down_revision = '9488eb92d258'
branch_labels = None
depends_on = None

CONFIGS = {"german": "kb_german", "english": "kb_english", "french": "kb_french", "italian": "kb_italian"}
TOKENS = "asciiword, asciihword, hword_asciipart, word, hword, hword_part"


# The row-level security policy's test (core.tenancy.rls_policy_sql) for the function's argument.
ALLOWED = (
    f"(current_setting('{RLS_SETTING}', true) = '{ALL_TENANTS}' OR tenant = ANY(string_to_array("
    f"NULLIF(current_setting('{RLS_SETTING}', true), '{ALL_TENANTS}'), ',')::int[]))"
)
# The tenant's texts in one language that match `match`, at most `candidates` of them, scored
# sum(idfs[i] * ts_rank(weights, vector, terms[i], normalization)); the best `best` as (id, score).
# Dynamic SQL for one reason: each term's ts_rank() is its own expression, no subquery per text
# (only array subscripts are formatted into it).
RANK_FUNCTION = f"""
    CREATE FUNCTION kb_search_rank(
        tenant integer, lang text, match tsquery, terms tsquery[], idfs float8[], weights real[],
        normalization integer, candidates integer, best integer
    )
    RETURNS TABLE (id integer, score float8)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
    AS $$
    DECLARE
        scoring text := '0';
    BEGIN
        IF NOT {ALLOWED} THEN
            RETURN;
        END IF;
        FOR i IN 1 .. coalesce(array_length(terms, 1), 0) LOOP
            scoring := scoring || format(' + $5[%s] * ts_rank($6, c.vector, $4[%s], $7)', i, i);
        END LOOP;
        RETURN QUERY EXECUTE format(
            'SELECT c.id, %s FROM ('
            '    SELECT t.id, t.search_vector AS vector FROM article_translations t'
            '    WHERE t.tenant_id = $1 AND t.language = $2 AND t.search_vector @@ $3 LIMIT $8 OFFSET 0'
            ') AS c ORDER BY 2 DESC, 1 DESC LIMIT $9', scoring)
            USING tenant, lang, match, terms, idfs, weights, normalization, candidates, best;
    END
    $$
"""
SIMILAR_FUNCTION = f"""
    CREATE FUNCTION kb_search_similar(tenant integer, langs text[], word text, threshold real, lim integer)
    RETURNS TABLE (id integer, similarity real)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
    AS $$
    BEGIN
        PERFORM set_config('pg_trgm.word_similarity_threshold', threshold::text, true);
        RETURN QUERY
            SELECT t.id, word_similarity(word, t.title) FROM article_translations t
            WHERE {ALLOWED} AND t.tenant_id = tenant AND t.language = ANY(langs) AND word <% t.title
            ORDER BY 2 DESC, t.id DESC
            LIMIT lim;
    END
    $$
"""
FUNCTIONS = (
    "kb_search_rank(integer, text, tsquery, tsquery[], float8[], real[], integer, integer, integer)",
    "kb_search_similar(integer, text[], text, real, integer)",
)
_LEXEMES = "unnest(array_append(tsvector_to_array(r.search_vector), '')) AS l(lexeme)"
TERMS_FUNCTION = f"""
    CREATE FUNCTION kb_terms_apply() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            INSERT INTO kb_terms AS k (tenant_id, language, lexeme, texts)
            SELECT r.tenant_id, r.language, l.lexeme, count(*) FROM new_rows r, {_LEXEMES}
            GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
            ON CONFLICT (tenant_id, language, lexeme) DO UPDATE SET texts = k.texts + EXCLUDED.texts;
            RETURN NULL;
        END IF;
        IF TG_OP = 'UPDATE' THEN
            INSERT INTO kb_terms AS k (tenant_id, language, lexeme, texts)
            SELECT tenant_id, language, lexeme, sum(delta)
            FROM (SELECT r.tenant_id, r.language, l.lexeme, 1 AS delta FROM new_rows r, {_LEXEMES}
                  UNION ALL
                  SELECT r.tenant_id, r.language, l.lexeme, -1 FROM old_rows r, {_LEXEMES}) AS d
            GROUP BY 1, 2, 3 HAVING sum(delta) <> 0 ORDER BY 1, 2, 3
            ON CONFLICT (tenant_id, language, lexeme) DO UPDATE SET texts = k.texts + EXCLUDED.texts;
        ELSE
            INSERT INTO kb_terms AS k (tenant_id, language, lexeme, texts)
            SELECT r.tenant_id, r.language, l.lexeme, -count(*) FROM old_rows r, {_LEXEMES}
            GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
            ON CONFLICT (tenant_id, language, lexeme) DO UPDATE SET texts = k.texts + EXCLUDED.texts;
        END IF;
        -- Lexemes no text has any more: the statistics keep no word of a deleted text.
        DELETE FROM kb_terms AS k
        USING (SELECT DISTINCT r.tenant_id, r.language, l.lexeme FROM old_rows r, {_LEXEMES}) AS d
        WHERE k.tenant_id = d.tenant_id AND k.language = d.language AND k.lexeme = d.lexeme
          AND k.texts <= 0;
        RETURN NULL;
    END
    $$
"""
TRIGGERS = {
    "kb_terms_insert": "AFTER INSERT ON article_translations REFERENCING NEW TABLE AS new_rows",
    "kb_terms_update": "AFTER UPDATE ON article_translations REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "kb_terms_delete": "AFTER DELETE ON article_translations REFERENCING OLD TABLE AS old_rows",
}


def _drop_text_search_objects():
    """They outlive their table: a schema rebuilt with drop_all (the test suite's) finds them."""
    op.execute("DROP TABLE IF EXISTS kb_terms")
    op.execute("DROP FUNCTION IF EXISTS kb_terms_apply() CASCADE")
    for function in FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {function}")
    op.execute("DROP FUNCTION IF EXISTS kb_search_config(text)")
    for name in (*CONFIGS.values(), "kb_simple"):
        op.execute(f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {name}")
    for name in CONFIGS.values():
        op.execute(f"DROP TEXT SEARCH DICTIONARY IF EXISTS {name}_stop")


def _postgres_upgrade():
    _drop_text_search_objects()
    for extension in ("unaccent", "pg_trgm", "btree_gin"):
        op.execute(f"CREATE EXTENSION IF NOT EXISTS {extension}")
    for language, name in CONFIGS.items():
        op.execute(
            f"CREATE TEXT SEARCH DICTIONARY {name}_stop "
            f"(TEMPLATE = pg_catalog.simple, STOPWORDS = {language}, ACCEPT = false)"
        )
        op.execute(f"CREATE TEXT SEARCH CONFIGURATION {name} (COPY = pg_catalog.{language})")
        op.execute(
            f"ALTER TEXT SEARCH CONFIGURATION {name} ALTER MAPPING FOR {TOKENS} "
            f"WITH {name}_stop, unaccent, {language}_stem"
        )
    op.execute("CREATE TEXT SEARCH CONFIGURATION kb_simple (COPY = pg_catalog.simple)")
    op.execute(f"ALTER TEXT SEARCH CONFIGURATION kb_simple ALTER MAPPING FOR {TOKENS} WITH unaccent, simple")
    op.execute(
        """
        CREATE FUNCTION kb_search_config(language text) RETURNS regconfig
        LANGUAGE sql IMMUTABLE PARALLEL SAFE
        BEGIN ATOMIC
            SELECT CASE split_part(split_part(lower(language), '-', 1), '_', 1)
                WHEN 'de' THEN 'kb_german'::regconfig
                WHEN 'en' THEN 'kb_english'::regconfig
                WHEN 'fr' THEN 'kb_french'::regconfig
                WHEN 'it' THEN 'kb_italian'::regconfig
                ELSE 'kb_simple'::regconfig
            END;
        END
        """
    )
    op.execute(
        """
        ALTER TABLE article_translations ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
            setweight(to_tsvector(kb_search_config(language), title), 'A')
            || setweight(to_tsvector(kb_search_config(language),
                                     regexp_replace(body, '\\]\\([^)]*\\)', '] ', 'g')), 'B')
        ) STORED
        """
    )
    # Kept in the row, uncompressed where it fits (the body moves to TOAST first): ranking reads
    # the vector of every candidate, and a TOAST fetch per candidate doubled the search's time.
    op.execute("ALTER TABLE article_translations ALTER COLUMN search_vector SET STORAGE MAIN")
    op.execute(
        "CREATE INDEX ix_article_translations_tenant_id_search_vector "
        "ON article_translations USING gin (tenant_id, search_vector)"
    )
    op.execute(
        "CREATE INDEX ix_article_translations_tenant_id_title_trgm "
        "ON article_translations USING gin (tenant_id, title gin_trgm_ops)"
    )
    op.execute(RANK_FUNCTION)
    op.execute(SIMILAR_FUNCTION)
    op.execute(
        """
        CREATE TABLE kb_terms (
            tenant_id integer NOT NULL,
            language varchar(8) NOT NULL,
            lexeme text NOT NULL,
            texts integer NOT NULL,
            CONSTRAINT pk_kb_terms PRIMARY KEY (tenant_id, language, lexeme)
        )
        """
    )
    for statement in rls_policy_sql("kb_terms"):
        op.execute(statement)
    op.execute(TERMS_FUNCTION)
    for name, timing in TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {timing} FOR EACH STATEMENT EXECUTE FUNCTION kb_terms_apply()")
    op.execute(
        "INSERT INTO kb_terms (tenant_id, language, lexeme, texts) "
        "SELECT t.tenant_id, t.language, l.lexeme, count(*) FROM article_translations t, "
        "unnest(array_append(tsvector_to_array(t.search_vector), '')) AS l(lexeme) GROUP BY 1, 2, 3"
    )
    readers = op.get_bind().execute(
        sa.text(
            "SELECT DISTINCT pg_get_userbyid(a.grantee) FROM pg_class c, aclexplode(c.relacl) a "
            "WHERE c.oid = 'article_translations'::regclass AND a.privilege_type = 'SELECT' "
            "AND a.grantee <> 0 AND a.grantee <> c.relowner"
        )
    ).scalars().all()
    for function in FUNCTIONS:
        op.execute(f"REVOKE EXECUTE ON FUNCTION {function} FROM PUBLIC")
        for role in readers:
            quoted = '"' + role.replace('"', '""') + '"'
            op.execute(f"GRANT EXECUTE ON FUNCTION {function} TO {quoted}")


def _postgres_downgrade():
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON article_translations")
    op.execute("DROP INDEX IF EXISTS ix_article_translations_tenant_id_title_trgm")
    op.execute("DROP INDEX IF EXISTS ix_article_translations_tenant_id_search_vector")
    op.execute("ALTER TABLE article_translations DROP COLUMN IF EXISTS search_vector")
    _drop_text_search_objects()
    # The extensions stay: other objects may use them by now.


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        _postgres_upgrade()
        return
    op.execute(
        "CREATE VIRTUAL TABLE kb_fts USING fts5(title, body, "
        "tokenize = \"unicode61 remove_diacritics 0 tokenchars '_'\")"
    )
    op.execute(
        "CREATE TRIGGER kb_fts_article_translations_delete AFTER DELETE ON article_translations "
        "BEGIN DELETE FROM kb_fts WHERE rowid = old.id; END"
    )
    rows = bind.execute(
        sa.text("SELECT id, tenant_id, language, title, body FROM article_translations ORDER BY id")
    ).all()
    for start in range(0, len(rows), 500):
        sqlite_fts.insert_rows(bind, rows[start : start + 500])


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        _postgres_downgrade()
        return
    op.execute("DROP TRIGGER IF EXISTS kb_fts_article_translations_delete")
    op.execute("DROP TABLE IF EXISTS kb_fts")
