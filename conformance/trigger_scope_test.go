package conformance

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/pgtest"
	"github.com/mentordb/mentordb/db"
)

// testTriggerScope proves that the trigger functions of schema private run
// only where they were attached by the migrations: no API role may attach
// one to a table of its own (a temporary table: PUBLIC holds TEMP on the
// database, so every role can create one inside a request's transaction),
// the owner who can gets a refusal when it fires (MD006), and the logs'
// insert guards accept no row written by any other trigger (PS-LOG-2,
// PA-AUD-2, PS-LOG-1). Also the TRUNCATE guard of proxy_activities
// (PA-AUD-1) and the revocation races that show which of the RPCs and
// checks run with whose rights.
func testTriggerScope(t *testing.T) {
	t.Parallel()

	t.Run("PS-LOG-2 PA-AUD-2 PS-LOG-1 no API role may attach a private trigger function to its own temporary table: no forged audit or log row, no membership oracle", func(t *testing.T) {
		t.Parallel()
		f := ownerSetup(t, false)
		ctx := pgtest.Ctx(t)
		fns := privateTriggerFunctions(t, f.d)
		before := scopeRows(t, f.d)
		for _, who := range []struct {
			name   string
			claims db.Claims
		}{{"anon", db.Anon()}, {"authenticated", db.User(f.coord, f.org)}, {"service_role", db.ServiceRole()}} {
			for _, fn := range fns {
				err := f.d.As(ctx, who.claims, func(tx pgx.Tx) error {
					// The role may create the table: that is the threat.
					if _, err := tx.Exec(ctx, scopeProbeTable); err != nil {
						return fmt.Errorf("temporary table: %w", err)
					}
					if _, err := tx.Exec(ctx, `CREATE TRIGGER scope_probe AFTER INSERT ON pg_temp.scope_probe FOR EACH ROW EXECUTE FUNCTION `+fn); err != nil {
						return err
					}
					_, err := tx.Exec(ctx, `INSERT INTO pg_temp.scope_probe (id, org_id, coordinator_id, attributed_mentor_id, peer_mentor_id, status)
						VALUES ($1, $2, $3, $4, $4, 'paused')`, f.activity, f.org, f.coord, f.mentor)
					return err
				})
				// No EXECUTE on the function (or no USAGE on its schema).
				requireCode(t, err, "42501", "")
				require.Regexp(t, `permission denied for (function|schema)`, err.Error(), "%s attaching %s", who.name, fn)
			}
		}
		require.Equal(t, before, scopeRows(t, f.d), "no audit or log row was written")
	})

	t.Run("PS-RPC-6 service_role may not call private.pause_org_context, the pause RPCs' prologue for signed-in callers", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		ctx := pgtest.Ctx(t)
		org := d.NewOrg(t)
		mentor := d.NewMember(t, org, "peer_mentor")
		err := d.As(ctx, db.ServiceRole(), func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `SELECT private.pause_org_context($1)`, mentor)
			return err
		})
		requireCode(t, err, "42501", "")
		require.Contains(t, err.Error(), "permission denied for function pause_org_context")
	})

	t.Run("PS-LOG-2 every private trigger function attached by the owner to a temporary table refuses to run there (MD006) and writes nothing", func(t *testing.T) {
		t.Parallel()
		f := ownerSetup(t, false)
		ctx := pgtest.Ctx(t)
		fns := privateTriggerFunctions(t, f.d)
		before := scopeRows(t, f.d)
		for _, fn := range fns {
			err := f.asOwner(ctx, false, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, scopeProbeTable); err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, `CREATE TRIGGER scope_probe BEFORE INSERT ON pg_temp.scope_probe FOR EACH ROW EXECUTE FUNCTION `+fn); err != nil {
					return err
				}
				_, err := tx.Exec(ctx, `INSERT INTO pg_temp.scope_probe (id, org_id, coordinator_id, attributed_mentor_id, peer_mentor_id, status)
					VALUES ($1, $2, $3, $4, $4, 'paused')`, f.activity, f.org, f.coord, f.mentor)
				return err
			})
			requireCode(t, err, sqlStateWrongTable, constraintWrongTable)
		}
		require.Equal(t, before, scopeRows(t, f.d))
	})

	t.Run("PS-LOG-2 PA-AUD-2 PS-LOG-1 the logs' insert guards refuse a row written by any trigger but their writer on its table: the owner's own function, as a trigger on a temporary table, cannot forge a pause-log or an audit row", func(t *testing.T) {
		t.Parallel()
		f := ownerSetup(t, false)
		ctx := pgtest.Ctx(t)
		before := scopeRows(t, f.d)
		for _, c := range []struct {
			insert     string
			constraint db.Constraint
		}{
			// A row that matches the status row as it now is (the pause),
			// with a previous status the real change never had.
			{fmt.Sprintf(`INSERT INTO public.peer_mentor_status_log (status_id, peer_mentor_id, org_id, previous_status, new_status)
				VALUES ('%s', '%s', '%s', 'active', 'paused')`, f.statusID, f.mentor, f.org), db.ConstraintPeerMentorStatusLogDirectInsert},
			{fmt.Sprintf(`INSERT INTO public.proxy_audit_log (activity_id, org_id, action, new_row)
				VALUES ('%s', '%s', 'DELETE', NULL)`, f.activity, f.org), db.ConstraintProxyAuditLogDirectInsert},
		} {
			err := f.asOwner(ctx, false, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, `CREATE TEMP TABLE scope_forge (x int) ON COMMIT DROP`); err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, `CREATE FUNCTION pg_temp.scope_forge() RETURNS trigger LANGUAGE plpgsql AS $$
					BEGIN `+c.insert+`; RETURN NULL; END $$`); err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, `CREATE TRIGGER scope_forge AFTER INSERT ON pg_temp.scope_forge FOR EACH ROW EXECUTE FUNCTION pg_temp.scope_forge()`); err != nil {
					return err
				}
				_, err := tx.Exec(ctx, `INSERT INTO pg_temp.scope_forge VALUES (1)`)
				return err
			})
			requireCode(t, err, "42501", c.constraint)
		}
		require.Equal(t, before, scopeRows(t, f.d))
		// The writers themselves still write: one pause-log row and one
		// audit row for a real change by the owner.
		require.NoError(t, f.asOwner(ctx, false, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `UPDATE peer_mentor_status SET status = 'active' WHERE id = $1`, f.statusID); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `DELETE FROM proxy_activities WHERE id = $1`, f.activity); err != nil {
				return err
			}
			var logs, audits int
			if err := tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM peer_mentor_status_log), (SELECT count(*) FROM proxy_audit_log)`).Scan(&logs, &audits); err != nil {
				return err
			}
			require.Equal(t, before.logs+1, logs)
			require.Equal(t, before.audits+1, audits)
			return nil
		}))
	})

	t.Run("PA-AUD-1 PS-LOG-2 TRUNCATE of proxy_activities is refused for the owner, with and without replica mode, also by TRUNCATE ... CASCADE, so no activity goes without its DELETE audit row", func(t *testing.T) {
		t.Parallel()
		f := ownerSetup(t, true)
		ctx := pgtest.Ctx(t)
		before := scopeRows(t, f.d)
		for _, replica := range []bool{false, true} {
			for _, q := range []string{`TRUNCATE proxy_activities`, `TRUNCATE proxy_activities, proxy_audit_log`, `TRUNCATE organizations CASCADE`} {
				err := f.ownerTry(ctx, replica, q)
				if q == `TRUNCATE proxy_activities, proxy_audit_log` {
					// Either table's guard may answer first.
					require.Error(t, err)
					continue
				}
				requireCode(t, err, "42501", constraintNoTruncate)
			}
		}
		require.Equal(t, before, scopeRows(t, f.d))
	})

	t.Run("PS-RPC-1 PS-RPC-3 a coordinator whose role is revoked while activate_pause waits on the mentor's advisory lock is refused: the write runs with the caller's rights, after the lock", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		ctx := pgtest.Ctx(t)
		org := d.NewOrg(t)
		coord := d.NewMember(t, org, "coordinator")
		mentor := d.NewMember(t, org, "peer_mentor")
		err := revokedWhileWaiting(t, ctx, d, org, coord, mentor, `SELECT activate_pause($1)`)
		require.ErrorIs(t, err, db.ErrNotPermitted)
		require.Equal(t, "", statusOf(t, d, mentor, org), "no status row")
		require.Empty(t, logRows(t, d, mentor, org))
	})

	t.Run("PS-RPC-2 PS-RPC-3 a coordinator whose role is revoked while deactivate_pause waits on the mentor's advisory lock is refused: the write runs with the caller's rights, after the lock", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		ctx := pgtest.Ctx(t)
		org := d.NewOrg(t)
		coord := d.NewMember(t, org, "coordinator")
		mentor := d.NewMember(t, org, "peer_mentor")
		_, err := d.App.Pauses().Pause(ctx, db.User(mentor, org), mentor, db.PauseOptions{Reason: "exams"})
		require.NoError(t, err)
		err = revokedWhileWaiting(t, ctx, d, org, coord, mentor, `SELECT deactivate_pause($1)`)
		// The status row is no longer the caller's to see.
		require.ErrorIs(t, err, db.ErrUnknownMentor)
		require.Equal(t, "paused", statusOf(t, d, mentor, org))
		require.Len(t, logRows(t, d, mentor, org), 1)
	})

	t.Run("PA-ORG-1 PA-ORG-3 the membership check of proxy_activities reads the roster with the owner's rights: a coordinator revoked while their UPDATE waits on the row still gets the mentor checked, not hidden", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		ctx := pgtest.Ctx(t)
		org := d.NewOrg(t)
		coord := d.NewMember(t, org, "coordinator")
		mentor := d.NewMember(t, org, "peer_mentor")
		mentor2 := d.NewMember(t, org, "peer_mentor")
		a, err := d.App.ProxyActivities().Create(ctx, db.User(coord, org), db.NewProxyActivity{
			AttributedMentorID: mentor, OrgID: org, ActivityType: "visit", Date: proxyDay, DurationMinutes: 30})
		require.NoError(t, err)

		holder, err := d.Pool.Begin(ctx)
		require.NoError(t, err)
		defer holder.Rollback(context.Background()) //nolint:errcheck
		var holderPid int32
		require.NoError(t, holder.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&holderPid))
		_, err = holder.Exec(ctx, `SELECT 1 FROM proxy_activities WHERE id = $1 FOR UPDATE`, a.ID)
		require.NoError(t, err)
		pid, done := pauseStartRequest(t, ctx, d, db.User(coord, org),
			`UPDATE proxy_activities SET attributed_mentor_id = $2 WHERE id = $1`, a.ID, mentor2)
		waitBlockedBy(t, ctx, d, pid, holderPid)
		_, err = holder.Exec(ctx, `DELETE FROM org_members WHERE org_id = $1 AND user_id = $2 AND role = 'coordinator'`, org, coord)
		require.NoError(t, err)
		require.NoError(t, holder.Commit(ctx))
		// The statement passed RLS on its own snapshot, before the
		// revocation; the check (a later snapshot) still sees mentor2's
		// membership, which the revoked writer may no longer read.
		require.NoError(t, <-done)
		var got string
		d.QueryRow(t, `SELECT attributed_mentor_id::text FROM proxy_activities WHERE id = $1`, a.ID).Scan(t, &got)
		require.Equal(t, mentor2.String(), got)
	})
}

// Names the migration 20261206000000_trigger_scope raises.
const (
	sqlStateWrongTable   = "MD006"
	constraintWrongTable = "trigger_function_wrong_table"
	constraintNoTruncate = "proxy_activities_no_truncate"
)

// scopeProbeTable has the columns the private trigger functions read, so
// that only their table check can refuse the row.
const scopeProbeTable = `CREATE TEMP TABLE scope_probe (id uuid, org_id uuid, coordinator_id uuid, attributed_mentor_id uuid,
	peer_mentor_id uuid, status text, reason text, expected_return_date date, paused_at timestamptz,
	updated_by uuid, updated_at timestamptz, created_at timestamptz, status_id uuid, new_status text) ON COMMIT DROP`

// privateTriggerFunctions are the trigger functions of schema private,
// the inputs of the tests above (which assert behaviour, not this list).
func privateTriggerFunctions(t *testing.T, d *pgtest.DB) []string {
	t.Helper()
	rows, err := d.Pool.Query(pgtest.Ctx(t), `SELECT p.oid::regprocedure::text FROM pg_proc p
		WHERE p.pronamespace = 'private'::regnamespace AND p.prorettype = 'trigger'::regtype ORDER BY 1`)
	require.NoError(t, err)
	fns, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Contains(t, fns, "private.proxy_activities_write_audit()")
	require.Contains(t, fns, "private.peer_mentor_status_log_change()")
	require.Contains(t, fns, "private.proxy_activities_check_members_in_org()")
	return fns
}

type scopeCounts struct{ logs, audits, activities int }

func scopeRows(t *testing.T, d *pgtest.DB) scopeCounts {
	t.Helper()
	var c scopeCounts
	d.QueryRow(t, `SELECT (SELECT count(*) FROM peer_mentor_status_log), (SELECT count(*) FROM proxy_audit_log),
		(SELECT count(*) FROM proxy_activities)`).Scan(t, &c.logs, &c.audits, &c.activities)
	return c
}

// revokedWhileWaiting holds mentor's pause lock in a session of its own,
// starts sql (with mentor as $1) as coord in org, waits until that call
// waits on the lock, then revokes coord's coordinator role, commits (which
// releases the lock) and returns the call's result.
func revokedWhileWaiting(t *testing.T, ctx context.Context, d *pgtest.DB, org, coord, mentor uuid.UUID, sql string) error {
	t.Helper()
	holder, err := d.Pool.Begin(ctx)
	require.NoError(t, err)
	defer holder.Rollback(context.Background()) //nolint:errcheck
	var holderPid int32
	require.NoError(t, holder.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&holderPid))
	_, err = holder.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2::text))`, db.PauseLockNamespace, mentor.String())
	require.NoError(t, err)
	pid, done := pauseStartRequest(t, ctx, d, db.User(coord, org), sql, mentor)
	pauseWaitForAdvisoryWait(t, ctx, d, pid, holderPid, mentor)
	_, err = holder.Exec(ctx, `DELETE FROM org_members WHERE org_id = $1 AND user_id = $2 AND role = 'coordinator'`, org, coord)
	require.NoError(t, err)
	require.NoError(t, holder.Commit(ctx))
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		t.Fatal("the call did not finish after the lock was released")
	}
	return nil
}

// waitBlockedBy polls until session waiter is blocked by session holder.
func waitBlockedBy(t *testing.T, ctx context.Context, d *pgtest.DB, waiter, holder int32) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var blocked bool
		require.NoError(t, d.Pool.QueryRow(ctx, `SELECT $2::int = ANY (pg_blocking_pids($1))`, waiter, holder).Scan(&blocked))
		if blocked {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("session %d never waited on %d", waiter, holder)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
