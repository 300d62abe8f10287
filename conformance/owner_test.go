package conformance

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/pgtest"
	"github.com/mentordb/mentordb/db"
	"github.com/mentordb/mentordb/internal/harness/testdb"
)

// PS-LOG-2: the guarantees of the audit log (PA-AUD-2) and the pause log
// (PS-LOG-1) for the role that owns the tables. On Supabase that is
// `postgres`, which is not a superuser; the suite's own connections are a
// superuser, so each test here makes a NOLOGIN, non-superuser role the
// owner of every table, function and the private schema of its clone (the
// way Supabase's postgres owns them: a member of anon, authenticated and
// service_role) and acts as it with SET LOCAL ROLE, which drops the
// session's superuser rights for the transaction. What holds and what does
// not is listed in 20261201000300_owner_guarantees.sql; each test proves one
// part of that list.

type ownerFixture struct {
	d                    *pgtest.DB
	owner                string
	org, coord, mentor   uuid.UUID
	activity, statusID   uuid.UUID
	coordOther, orgOther uuid.UUID
}

func ownerSetup(t *testing.T, canReplica bool) *ownerFixture {
	t.Helper()
	ctx := pgtest.Ctx(t)
	owner := "owner_" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	// Registered before the clone, so it runs after the clone's own
	// clean-up (which harvests the PL/pgSQL profile: plpgsql_check keys it
	// by the functions' catalog rows, so their ownership must not change
	// back before that). The role is cluster-wide; it can be dropped only
	// once its database is gone, else it stays with the disposable server.
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), testdb.Server(t).URL)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		ownerACLMu.Lock()
		defer ownerACLMu.Unlock()
		_, _ = c.Exec(context.Background(), `REVOKE SET ON PARAMETER session_replication_role FROM `+owner)
		_, _ = c.Exec(context.Background(), `DROP ROLE `+owner)
	})
	d := pgtest.New(t)
	f := &ownerFixture{d: d, owner: owner}
	f.org, f.orgOther = d.NewOrg(t), d.NewOrg(t)
	f.coord = d.NewMember(t, f.org, "coordinator")
	f.coordOther = d.NewMember(t, f.orgOther, "coordinator")
	f.mentor = d.NewMember(t, f.org, "peer_mentor")
	a, err := d.App.ProxyActivities().Create(ctx, db.User(f.coord, f.org), db.NewProxyActivity{
		AttributedMentorID: f.mentor, OrgID: f.org, ActivityType: "visit", Date: proxyDay, DurationMinutes: 30})
	require.NoError(t, err)
	f.activity = a.ID
	_, err = d.App.Pauses().Pause(ctx, db.User(f.mentor, f.org), f.mentor, db.PauseOptions{Reason: "exams"})
	require.NoError(t, err)
	d.QueryRow(t, `SELECT id FROM peer_mentor_status WHERE peer_mentor_id = $1`, f.mentor).Scan(t, &f.statusID)

	d.Exec(t, fmt.Sprintf(`CREATE ROLE %[1]s NOLOGIN NOSUPERUSER NOBYPASSRLS; GRANT anon, authenticated, service_role TO %[1]s`, f.owner))
	d.Exec(t, fmt.Sprintf(`DO $$
		DECLARE r record;
		BEGIN
		  FOR r IN SELECT c.oid::regclass AS rel FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		           WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') LOOP
		    EXECUTE format('ALTER TABLE %%s OWNER TO %[1]s', r.rel);
		  END LOOP;
		  FOR r IN SELECT p.oid::regprocedure AS fn FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		           WHERE n.nspname IN ('public', 'private') LOOP
		    EXECUTE format('ALTER FUNCTION %%s OWNER TO %[1]s', r.fn);
		  END LOOP;
		  ALTER SCHEMA private OWNER TO %[1]s;
		END $$`, f.owner))
	if canReplica {
		// What a platform may grant the migration role (PostgreSQL 15).
		f.grantReplica(t)
	}
	var super, bypass bool
	var tableOwner string
	require.NoError(t, f.asOwner(ctx, false, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT r.rolsuper, r.rolbypassrls, pg_get_userbyid(c.relowner) FROM pg_roles r, pg_class c
			WHERE r.rolname = current_user AND c.oid = 'public.proxy_audit_log'::regclass`).Scan(&super, &bypass, &tableOwner)
	}))
	require.False(t, super, "the owner under test is not a superuser")
	require.Equal(t, f.owner, tableOwner)
	return f
}

// ownerACLMu serialises writes of the cluster-wide ACL of
// session_replication_role (one pg_parameter_acl row, which parallel tests
// would otherwise update at once: "tuple concurrently updated").
var ownerACLMu sync.Mutex

func (f *ownerFixture) grantReplica(t *testing.T) {
	t.Helper()
	ownerACLMu.Lock()
	defer ownerACLMu.Unlock()
	f.d.Exec(t, fmt.Sprintf(`GRANT SET ON PARAMETER session_replication_role TO %s`, f.owner))
}

// asOwner runs fn in one transaction as the owner, optionally in replica
// mode, and always rolls back (what a refused statement left is checked by
// the caller in its own reads).
func (f *ownerFixture) asOwner(ctx context.Context, replica bool, fn func(tx pgx.Tx) error) error {
	tx, err := f.d.Pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	if _, err := tx.Exec(ctx, `SET LOCAL ROLE `+pgx.Identifier{f.owner}.Sanitize()); err != nil {
		return err
	}
	if replica {
		if _, err := tx.Exec(ctx, `SET LOCAL session_replication_role = replica`); err != nil {
			return err
		}
	}
	return fn(tx)
}

// ownerTry runs one statement as the owner and returns its error.
func (f *ownerFixture) ownerTry(ctx context.Context, replica bool, sql string, args ...any) error {
	return f.asOwner(ctx, replica, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, sql, args...)
		return err
	})
}

func requireCode(t *testing.T, err error, code string, constraint db.Constraint) {
	t.Helper()
	var pgErr *pgconn.PgError
	require.ErrorAs(t, err, &pgErr)
	require.Equal(t, code, pgErr.Code, pgErr.Message)
	require.Equal(t, string(constraint), pgErr.ConstraintName, pgErr.Message)
}

func testOwner(t *testing.T) {
	t.Parallel()
	ownerRLSCases(t)

	t.Run("PS-LOG-2 a non-superuser owner cannot set session_replication_role unless granted SET on it", func(t *testing.T) {
		t.Parallel()
		f := ownerSetup(t, false)
		ctx := pgtest.Ctx(t)
		requireCode(t, f.ownerTry(ctx, true, `SELECT 1`), "42501", "")
		f.grantReplica(t)
		require.NoError(t, f.ownerTry(ctx, true, `SELECT 1`))
	})

	t.Run("PS-LOG-2 PA-AUD-2 the non-superuser owner cannot update, delete or truncate proxy_audit_log rows, with and without replica mode, nor insert one outside replica mode", func(t *testing.T) {
		t.Parallel()
		f := ownerSetup(t, true)
		ctx := pgtest.Ctx(t)
		dump := func() string {
			var s string
			f.d.QueryRow(t, `SELECT coalesce(string_agg(to_jsonb(l)::text, E'\n' ORDER BY id), '') FROM proxy_audit_log l`).Scan(t, &s)
			return s
		}
		before := dump()
		require.NotEmpty(t, before)
		for _, replica := range []bool{false, true} {
			for _, q := range proxyAuditWrites[:3] {
				requireCode(t, f.ownerTry(ctx, replica, q, proxyArgs(q, f.activity, f.org)...), "42501", db.ConstraintProxyAuditLogImmutable)
			}
			// A direct INSERT is refused outside replica mode only (restores
			// and the seed load audit rows in replica mode).
			q := proxyAuditWrites[3]
			if replica {
				require.NoError(t, f.ownerTry(ctx, replica, q, f.activity, f.org))
			} else {
				requireCode(t, f.ownerTry(ctx, replica, q, f.activity, f.org), "42501", db.ConstraintProxyAuditLogDirectInsert)
			}
			// Outside replica mode the owner's own writes are audited.
			if !replica {
				var n int
				require.NoError(t, f.asOwner(ctx, false, func(tx pgx.Tx) error {
					if _, err := tx.Exec(ctx, `UPDATE proxy_activities SET notes = 'owner' WHERE id = $1`, f.activity); err != nil {
						return err
					}
					return tx.QueryRow(ctx, `SELECT count(*) FROM proxy_audit_log WHERE activity_id = $1`, f.activity).Scan(&n)
				}))
				require.Equal(t, 2, n, "the owner's UPDATE wrote its audit row")
			}
		}
		require.Equal(t, before, dump())
	})

	t.Run("PS-LOG-2 PS-LOG-1 for the non-superuser owner, with and without replica mode: the pause log cannot be written, every status change is logged once, and a logged status row cannot be deleted, renumbered or truncated", func(t *testing.T) {
		t.Parallel()
		f := ownerSetup(t, true)
		ctx := pgtest.Ctx(t)
		logs := func(tx pgx.Tx) (n, orphans int) {
			require.NoError(t, tx.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE NOT EXISTS
				(SELECT 1 FROM peer_mentor_status s WHERE s.id = l.status_id)) FROM peer_mentor_status_log l`).Scan(&n, &orphans))
			return n, orphans
		}
		for _, replica := range []bool{false, true} {
			for _, q := range []struct {
				sql, code  string
				constraint db.Constraint
			}{
				{`UPDATE peer_mentor_status_log SET reason = 'forged'`, db.SQLStateLogImmutable, db.ConstraintPeerMentorStatusLogImmutable},
				{`DELETE FROM peer_mentor_status_log`, db.SQLStateLogImmutable, db.ConstraintPeerMentorStatusLogImmutable},
				{`TRUNCATE peer_mentor_status_log`, db.SQLStateLogImmutable, db.ConstraintPeerMentorStatusLogImmutable},
				{`TRUNCATE peer_mentor_status CASCADE`, db.SQLStateLogImmutable, db.ConstraintPeerMentorStatusLogImmutable},
				{fmt.Sprintf(`INSERT INTO peer_mentor_status_log (status_id, peer_mentor_id, org_id, previous_status, new_status)
					VALUES ('%s', '%s', '%s', 'paused', 'active')`, f.statusID, f.mentor, f.org), "42501", db.ConstraintPeerMentorStatusLogDirectInsert},
				{`DELETE FROM peer_mentor_status`, "23503", db.ConstraintPeerMentorStatusKeepLogged},
				{`UPDATE peer_mentor_status SET id = gen_random_uuid(), status = 'active'`, "23503", db.ConstraintPeerMentorStatusKeepLogged},
				{`UPDATE peer_mentor_status SET reason = 'same status'`, db.SQLStateInvalidTransition, db.ConstraintPeerMentorStatusTransition},
			} {
				requireCode(t, f.ownerTry(ctx, replica, q.sql), q.code, q.constraint)
			}
			// A status row without log rows (created active) may go.
			require.NoError(t, f.asOwner(ctx, replica, func(tx pgx.Tx) error {
				var id uuid.UUID
				if err := tx.QueryRow(ctx, `INSERT INTO peer_mentor_status (peer_mentor_id, org_id, status) VALUES ($1, $2, 'active') RETURNING id`,
					f.coord, f.org).Scan(&id); err != nil {
					return err
				}
				tag, err := tx.Exec(ctx, `DELETE FROM peer_mentor_status WHERE id = $1`, id)
				if err == nil {
					require.EqualValues(t, 1, tag.RowsAffected())
				}
				return err
			}))
			// TRUNCATE of the status table alone is refused by the log's
			// foreign key, which PostgreSQL checks outside the triggers.
			err := f.ownerTry(ctx, replica, `TRUNCATE peer_mentor_status`)
			var pgErr *pgconn.PgError
			require.ErrorAs(t, err, &pgErr)
			require.Equal(t, "0A000", pgErr.Code, pgErr.Message)
			// A change the owner makes is logged exactly once (naming id
			// without changing it is no renumbering).
			require.NoError(t, f.asOwner(ctx, replica, func(tx pgx.Tx) error {
				n0, _ := logs(tx)
				if _, err := tx.Exec(ctx, `UPDATE peer_mentor_status SET id = id, status = 'active'`); err != nil {
					return err
				}
				n1, orphans := logs(tx)
				require.Equal(t, n0+1, n1, "replica=%v: one log row for one change", replica)
				require.Zero(t, orphans)
				return nil
			}))
		}
		var n, orphans int
		f.d.QueryRow(t, `SELECT count(*), count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM peer_mentor_status s WHERE s.id = l.status_id))
			FROM peer_mentor_status_log l`).Scan(t, &n, &orphans)
		require.Equal(t, 1, n, "only the pause's own row")
		require.Zero(t, orphans)
	})

	t.Run("PS-LOG-2 what does not hold for the non-superuser owner, exactly as stated: in replica mode its proxy_activities writes are not audited and skip the attribution checks and foreign keys; by DDL it can disable the log guards, though not the foreign-key system triggers", func(t *testing.T) {
		t.Parallel()
		f := ownerSetup(t, true)
		ctx := pgtest.Ctx(t)
		// Replica mode: an INSERT credited by a coordinator of another org,
		// with no audit row. (Rolled back.)
		require.NoError(t, f.asOwner(ctx, true, func(tx pgx.Tx) error {
			var id uuid.UUID
			if err := tx.QueryRow(ctx, `INSERT INTO proxy_activities (coordinator_id, attributed_mentor_id, org_id, activity_type, date, duration_minutes)
				VALUES ($1, $2, $3, 'visit', DATE '2026-03-10', 30) RETURNING id`, f.coordOther, f.mentor, f.org).Scan(&id); err != nil {
				return err
			}
			var audited int
			require.NoError(t, tx.QueryRow(ctx, `SELECT count(*) FROM proxy_audit_log WHERE activity_id = $1`, id).Scan(&audited))
			require.Zero(t, audited, "not audited in replica mode")
			// The logs' foreign keys to organizations do not fire either.
			_, err := tx.Exec(ctx, `DELETE FROM organizations WHERE id = $1`, f.org)
			return err
		}))
		// CHECK constraints still hold in replica mode.
		err := f.ownerTry(ctx, true, `UPDATE proxy_activities SET duration_minutes = 0 WHERE id = $1`, f.activity)
		requireCode(t, err, "23514", db.ConstraintProxyActivitiesDurationMinutesCheck)
		// DDL: the owner may disable its own triggers, and then delete.
		require.NoError(t, f.asOwner(ctx, false, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `ALTER TABLE proxy_audit_log DISABLE TRIGGER proxy_audit_log_immutable`); err != nil {
				return err
			}
			tag, err := tx.Exec(ctx, `DELETE FROM proxy_audit_log`)
			if err != nil {
				return err
			}
			require.Positive(t, tag.RowsAffected())
			return nil
		}))
		// ... but not the foreign keys' system triggers (DISABLE TRIGGER ALL).
		err = f.ownerTry(ctx, false, `ALTER TABLE peer_mentor_status_log DISABLE TRIGGER ALL`)
		requireCode(t, err, "42501", "")
		// Everything above was rolled back.
		var audit, orgs int
		f.d.QueryRow(t, `SELECT (SELECT count(*) FROM proxy_audit_log), (SELECT count(*) FROM organizations WHERE id = $1)`, f.org).Scan(t, &audit, &orgs)
		require.Equal(t, 1, audit)
		require.Equal(t, 1, orgs)
	})
}
