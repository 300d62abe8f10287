-- What every Supabase project already has, recreated for plain PostgreSQL 15.
-- Applied only where the target is not a Supabase project (the conformance
-- provider, `mentordb dev`). Never apply this to a real Supabase project.
--
-- Idempotent: roles are cluster-wide, so they are created once per cluster and
-- every other object is guarded, which lets the provider run this file for
-- every template database it builds.

-- Roles, as on today's Supabase: anon and authenticated NOLOGIN, service_role
-- NOLOGIN BYPASSRLS, all INHERIT; authenticator LOGIN NOINHERIT and a member
-- of the three; the migration role `postgres` a member of the three.
--
-- Cluster-wide objects are written only when missing: once they exist, any
-- number of databases can be prepared at once (parallel tests) without two
-- sessions updating the same catalog row. A role created by another session
-- between our check and our CREATE is fine too.
CREATE OR REPLACE FUNCTION pg_temp.ensure_role(p_name text, p_options text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = p_name) THEN
    EXECUTE format('CREATE ROLE %I %s', p_name, p_options);
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL;
END
$$;

CREATE OR REPLACE FUNCTION pg_temp.ensure_member(p_role text, p_member text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF NOT pg_has_role(p_member, p_role, 'MEMBER') THEN
    EXECUTE format('GRANT %I TO %I', p_role, p_member);
  END IF;
END
$$;

CREATE OR REPLACE FUNCTION pg_temp.ensure_setting(p_role text, p_name text, p_value text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (
    SELECT 1 FROM pg_roles
    WHERE rolname = p_role AND p_name || '=' || p_value = ANY (coalesce(rolconfig, '{}'))
  ) THEN
    EXECUTE format('ALTER ROLE %I SET %I = %L', p_role, p_name, p_value);
  END IF;
END
$$;

SELECT pg_temp.ensure_role('anon', 'NOLOGIN INHERIT');
SELECT pg_temp.ensure_role('authenticated', 'NOLOGIN INHERIT');
SELECT pg_temp.ensure_role('service_role', 'NOLOGIN INHERIT BYPASSRLS');
SELECT pg_temp.ensure_role('authenticator', 'LOGIN NOINHERIT');
SELECT pg_temp.ensure_role('postgres', 'LOGIN CREATEDB CREATEROLE BYPASSRLS');

SELECT pg_temp.ensure_member(r, m)
FROM unnest(ARRAY['anon', 'authenticated', 'service_role']) AS r,
     unnest(ARRAY['authenticator', 'postgres']) AS m;

SELECT pg_temp.ensure_setting('anon', 'statement_timeout', '3s');
SELECT pg_temp.ensure_setting('authenticated', 'statement_timeout', '8s');

-- Extensions live in their own schema, as on Supabase.
CREATE SCHEMA IF NOT EXISTS extensions;
GRANT USAGE ON SCHEMA extensions TO anon, authenticated, service_role;
CREATE EXTENSION IF NOT EXISTS "uuid-ossp" WITH SCHEMA extensions;
CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA extensions;

GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role;

-- The 2026 grant behaviour: nothing in public is exposed to the API roles
-- unless a migration grants it. Plain PostgreSQL gives tables and sequences to
-- nobody by default already; functions still get EXECUTE for PUBLIC, which
-- PostgreSQL itself grants and migrations must revoke explicitly.
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public
  REVOKE ALL ON TABLES FROM anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public
  REVOKE ALL ON SEQUENCES FROM anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public
  REVOKE ALL ON FUNCTIONS FROM anon, authenticated, service_role;

-- The auth schema: the part of the auth service's schema that policies and
-- foreign keys use.
CREATE SCHEMA IF NOT EXISTS auth;
GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role;

CREATE TABLE IF NOT EXISTS auth.users (
  id uuid PRIMARY KEY,
  email varchar(255),
  phone text,
  raw_user_meta_data jsonb,
  raw_app_meta_data jsonb,
  is_sso_user boolean NOT NULL DEFAULT false,
  created_at timestamptz DEFAULT now(),
  updated_at timestamptz DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS users_email_partial_key
  ON auth.users (email) WHERE is_sso_user = false;

-- The auth service's current definitions: the legacy per-claim setting first,
-- then the key of request.jwt.claims. missing_ok, so an unset claim is NULL.
CREATE OR REPLACE FUNCTION auth.uid() RETURNS uuid
LANGUAGE sql STABLE
AS $$
  SELECT coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;

CREATE OR REPLACE FUNCTION auth.role() RETURNS text
LANGUAGE sql STABLE
AS $$
  SELECT coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;

CREATE OR REPLACE FUNCTION auth.email() RETURNS text
LANGUAGE sql STABLE
AS $$
  SELECT coalesce(
    nullif(current_setting('request.jwt.claim.email', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
  )::text
$$;

CREATE OR REPLACE FUNCTION auth.jwt() RETURNS jsonb
LANGUAGE sql STABLE
AS $$
  SELECT coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;

GRANT EXECUTE ON FUNCTION auth.uid(), auth.role(), auth.email(), auth.jwt()
  TO anon, authenticated, service_role;
