-- What the audit log and the pause-status log guarantee for the role that
-- owns the tables (PS-LOG-2), stated exactly, and two guards that make more
-- of it hold.
--
-- "The owner" is the role that owns the tables: on Supabase `postgres`,
-- which is not a superuser. It bypasses RLS and holds every privilege on its
-- tables, so only triggers stop its DML. The conformance suite OwnerGuarantees
-- proves each statement below for a non-superuser owner, with and without
-- session_replication_role = replica. Setting that parameter needs a
-- superuser on PostgreSQL 15 unless the role was granted it
-- (GRANT SET ON PARAMETER session_replication_role); data-only dumps and
-- bulk loads (our seed included) use it. In replica mode only triggers that
-- are ENABLE ALWAYS fire: ordinary triggers, constraint triggers and the
-- foreign-key triggers do not. CHECK, NOT NULL and UNIQUE constraints still
-- hold.
--
-- Holds for the owner's DML, replica mode included (ENABLE ALWAYS triggers):
--   * proxy_audit_log rows cannot be updated, deleted or truncated;
--   * peer_mentor_status_log rows cannot be updated, deleted or truncated,
--     and no row can be inserted except by the status trigger;
--   * every status change of peer_mentor_status writes exactly one log row,
--     and an update that changes nothing is refused;
--   * (new here) a status row that has log rows cannot be deleted, nor its
--     id changed. Until now only the log's foreign key (ON DELETE RESTRICT)
--     stopped that, and foreign keys do not fire in replica mode, so the
--     owner could orphan the log there.
--
-- Holds for the owner's DML outside replica mode only (an ordinary trigger):
--   * (new here) no proxy_audit_log row can be inserted except by the audit
--     trigger. Not ENABLE ALWAYS on purpose: data-only restores and the seed
--     load audit rows with COPY in replica mode, beside the activities whose
--     own audit trigger they switch off the same way.
--
-- Does NOT hold for the owner:
--   * against DDL. The owner may ALTER TABLE ... DISABLE TRIGGER (its own
--     triggers; only the foreign-key system triggers need a superuser),
--     DROP TRIGGER, DROP CONSTRAINT or DROP TABLE; after that nothing above
--     holds. Such DDL is not recorded anywhere unless it is run as a
--     migration. PostgreSQL offers no way to stop a table's owner from
--     altering it (an event trigger needs a superuser to create).
--   * in replica mode: the owner can insert proxy_audit_log rows (see
--     above), and proxy_activities' triggers are not ENABLE ALWAYS,
--     so the owner's writes there are not audited (no proxy_audit_log row),
--     timestamps are not set, org_id and coordinator_id may change, and the
--     mentor-in-org and coordinator-in-org checks and every foreign key are
--     skipped. That is deliberate: it is how a data-only restore reloads
--     proxy_activities beside its already-written audit rows without
--     doubling them, and how the seed loads a million rows; making the
--     audit trigger ALWAYS would write a second audit row per restored
--     activity.
--   * the foreign keys of the two logs to auth.users and organizations do
--     not fire in replica mode: the owner can delete a user or org a log
--     row names (the log keeps the ids; it carries no other copy of them).
--
-- What earlier comments overstate (those files stay as they are: applied
-- migrations are never edited):
--   * 20261121000000_proxy_activities.sql says audit rows "are never
--     updated, deleted or truncated, by any role" and that only DDL
--     "visible in the migration history" could change that: the guarantee
--     is for DML only, and DDL run outside a migration is visible nowhere.
--     Its "every INSERT, UPDATE and DELETE writes one row to
--     proxy_audit_log" does not hold in replica mode.
--   * 20261122000000_peer_mentor_status.sql says the pairing holds "by ANY
--     path (... the table owner)" and that, the triggers being ENABLE
--     ALWAYS, replica mode "does not switch them off either": the pairing
--     also rested on the log's foreign key, which replica mode does switch
--     off (fixed by the guard below), and none of it holds against the
--     owner's DDL.
-- The COMMENT ON statements below replace the objects' comments with what
-- holds.

-- ---------------------------------------------------------------------------
-- proxy_audit_log: no row but the audit trigger's
-- ---------------------------------------------------------------------------

-- The API roles have no INSERT grant on the log; the owner has every
-- privilege, so this guard is what stops the owner (and a superuser) from
-- inserting a forged row, outside replica mode (see the header). The audit trigger runs at trigger depth 1, so its
-- INSERT reaches this guard at depth 2; a direct INSERT arrives at depth 1.
-- Nothing else inserts into the log.
CREATE FUNCTION private.proxy_audit_log_guard_insert()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = ''
AS $$
BEGIN
  IF pg_trigger_depth() < 2 THEN
    RAISE EXCEPTION 'proxy_audit_log rows are written only by the audit trigger of proxy_activities'
      USING ERRCODE = '42501',
            CONSTRAINT = 'proxy_audit_log_direct_insert',
            TABLE = 'proxy_audit_log',
            SCHEMA = 'public';
  END IF;
  RETURN NEW;
END
$$;

REVOKE ALL ON FUNCTION private.proxy_audit_log_guard_insert() FROM PUBLIC;

CREATE TRIGGER proxy_audit_log_direct_insert
  BEFORE INSERT ON public.proxy_audit_log
  FOR EACH ROW EXECUTE FUNCTION private.proxy_audit_log_guard_insert();

-- ---------------------------------------------------------------------------
-- peer_mentor_status: a logged status row stays
-- ---------------------------------------------------------------------------

-- BEFORE DELETE, and BEFORE UPDATE OF id: refused when the row has log rows.
-- ENABLE ALWAYS, so it holds in replica mode, where the log's foreign key
-- (ON DELETE RESTRICT) does not fire. Being BEFORE, it answers ahead of that
-- key outside replica mode too, with the key's SQLSTATE (23503) and its own
-- name. A row without log rows (created active and never changed) may
-- still be deleted by the roles that may delete at all (none of the API
-- roles has a DELETE grant).
CREATE FUNCTION private.peer_mentor_status_keep_logged()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = ''
AS $$
BEGIN
  IF (TG_OP = 'DELETE' OR NEW.id IS DISTINCT FROM OLD.id)
     AND EXISTS (SELECT 1 FROM public.peer_mentor_status_log AS l WHERE l.status_id = OLD.id) THEN
    RAISE EXCEPTION 'peer_mentor_status row % has log rows: it cannot be deleted or renumbered', OLD.id
      USING ERRCODE = '23503',
            CONSTRAINT = 'peer_mentor_status_keep_logged',
            TABLE = 'peer_mentor_status',
            SCHEMA = 'public';
  END IF;
  IF TG_OP = 'DELETE' THEN
    RETURN OLD;
  END IF;
  RETURN NEW;
END
$$;

REVOKE ALL ON FUNCTION private.peer_mentor_status_keep_logged() FROM PUBLIC;

CREATE TRIGGER peer_mentor_status_keep_logged
  BEFORE DELETE OR UPDATE OF id ON public.peer_mentor_status
  FOR EACH ROW EXECUTE FUNCTION private.peer_mentor_status_keep_logged();
ALTER TABLE public.peer_mentor_status ENABLE ALWAYS TRIGGER peer_mentor_status_keep_logged;

-- ---------------------------------------------------------------------------
-- Comments: what holds, for whom
-- ---------------------------------------------------------------------------

COMMENT ON TABLE public.proxy_audit_log IS
  'Append-only audit of proxy_activities, written only by its audit trigger. No role''s DML can update, delete or truncate rows (ENABLE ALWAYS triggers: the owner and replica mode included), nor insert them outside session_replication_role = replica. Not protected against the owner''s DDL (DISABLE/DROP TRIGGER). The owner''s writes to proxy_activities in replica mode are not audited.';
COMMENT ON TABLE public.peer_mentor_status IS
  'One row per (peer_mentor_id, org_id); a mentor without a row is active. Every status change writes exactly one peer_mentor_status_log row, and a logged row cannot be deleted, for every role''s DML including the owner''s in replica mode (ENABLE ALWAYS triggers); not against the owner''s DDL.';
COMMENT ON TABLE public.peer_mentor_status_log IS
  'One immutable row per peer_mentor_status change, written only by the trigger peer_mentor_status_log_change. No role''s DML can insert, update, delete or truncate rows (ENABLE ALWAYS triggers: the owner and replica mode included); not against the owner''s DDL. Its foreign keys to auth.users and organizations do not fire in replica mode.';
COMMENT ON TRIGGER proxy_activities_write_audit ON public.proxy_activities IS
  'Writes one proxy_audit_log row per INSERT, UPDATE and DELETE. Not ENABLE ALWAYS: under session_replication_role = replica (data-only restores, the seed) it does not fire.';
