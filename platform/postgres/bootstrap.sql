-- Firstline: PostgreSQL roles and privileges. Idempotent; run as a superuser, once per cluster
-- and once per database, and again after any manual change you want undone:
--
--   createdb -O firstline_owner firstline      # after the first run has created the role
--   psql -v ON_ERROR_STOP=1 -d firstline -f platform/postgres/bootstrap.sql
--
-- Two roles, because PostgreSQL row-level security does not apply to a table's owner (or to a
-- superuser or a BYPASSRLS role):
--   firstline_owner  owns the schema; only migrations connect as it (MIGRATE_DATABASE_URL).
--   firstline_app    the application (DATABASE_URL): reads and writes rows, owns nothing,
--                    so the tenant policies the migrations create always apply to it.
-- Passwords are not set here (this file lives in git); set them with psql's \password.
--
-- Ownership: the database should be owned by firstline_owner (createdb -O, or
-- ALTER DATABASE firstline OWNER TO firstline_owner). The grants below do not depend on it.

-- Roles are cluster-wide. A re-run also resets the attributes that RLS depends on.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'firstline_owner') THEN
        CREATE ROLE firstline_owner LOGIN;
    END IF;
    -- LOGIN: the migrations connect as this role.
    ALTER ROLE firstline_owner LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;

    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'firstline_app') THEN
        CREATE ROLE firstline_app LOGIN;
    END IF;
    -- NOSUPERUSER and NOBYPASSRLS: either one would switch tenant isolation off.
    ALTER ROLE firstline_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
    -- A member of the owner role counts as the owner, and the owner bypasses RLS.
    IF pg_has_role('firstline_app', 'firstline_owner', 'MEMBER') THEN
        RAISE EXCEPTION 'firstline_app is a member of firstline_owner: REVOKE firstline_owner FROM firstline_app';
    END IF;
END
$$;

-- The rest is per database. Run against a maintenance database (as CI does first, to create
-- the roles before CREATE DATABASE ... OWNER firstline_owner) it stops here.
SELECT current_database() NOT IN ('postgres', 'template0', 'template1') AS firstline_is_app_db \gset
\if :firstline_is_app_db

DO $$
BEGIN
    IF (SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database())
       <> 'firstline_owner' THEN
        RAISE WARNING 'database % is not owned by firstline_owner (ALTER DATABASE % OWNER TO firstline_owner)',
            current_database(), current_database();
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO firstline_owner, firstline_app',
                   current_database());
END
$$;

-- PostgreSQL 15 no longer lets every role create in "public"; the owner needs it for migrations,
-- and nobody else gets it (this also closes the pre-15 default).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO firstline_owner;
GRANT USAGE ON SCHEMA public TO firstline_app;

-- Tables and sequences the migrations create from now on: rows only, no DDL, no TRUNCATE.
ALTER DEFAULT PRIVILEGES FOR ROLE firstline_owner IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO firstline_app;
ALTER DEFAULT PRIVILEGES FOR ROLE firstline_owner IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO firstline_app;

-- Tables that already exist (bootstrap run after a migration): the same grants.
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO firstline_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO firstline_app;

\endif
