package conformance

import (
	"errors"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/pgtest"
	"github.com/mentordb/mentordb/db"
)

// shadowedTypes are the type names a function body may write unqualified
// (a declaration, a cast) that are not SQL keywords, so they are looked up
// on the search_path at run time: a temporary domain of the same name is
// found there first unless the path lists pg_temp explicitly, and later.
var shadowedTypes = []string{"text", "uuid", "date", "regclass", "jsonb", "json", "bool", "int4", "int8", "timestamptz", "name", "oid"}

// shadowSQL creates, in the session's temporary schema, a function that
// reports the role it runs as (a WARNING: a notice is not rolled back with
// the statement that raised it) and a domain per shadowed type whose check
// calls it, so any use of the domain runs the caller's code.
func shadowSQL() []string {
	q := []string{`CREATE FUNCTION pg_temp.conf5_whoami(pg_catalog.anyelement) RETURNS pg_catalog.bool LANGUAGE plpgsql AS
		$$BEGIN RAISE WARNING 'conf5_whoami ran as %', pg_catalog."current_user"(); RETURN true; END$$`}
	for _, ty := range shadowedTypes {
		q = append(q, `CREATE DOMAIN pg_temp.`+ty+` AS pg_catalog.`+ty+` CHECK (pg_temp.conf5_whoami(VALUE))`)
	}
	return q
}

// searchPathStep is one statement of the workload, run by the caller
// class's claims for the org's mentor or coordinator.
type searchPathStep struct {
	asMentor bool
	sql      string
}

// searchPathWorkload calls every function of public and private (all of
// which fix their search_path), directly or through the statements that
// fire it. The statements an API role may not run (their triggers guard
// against the owner) are tried as well: they are refused before the
// trigger fires.
var searchPathWorkload = []searchPathStep{
	{true, `SELECT public.activate_pause(@mentor, 'exams', NULL)`},
	{true, `SELECT public.activate_pause(@mentor, 'exams', NULL)`},
	{true, `SELECT public.deactivate_pause(@mentor, 'back')`},
	{true, `SELECT public.activate_pause(@mentor, 'exams', NULL)`},
	{false, `SELECT count(*) FROM public.get_active_pauses_for_chapter(@chapter)`},
	{false, `SELECT private.has_org_role(@coord, @org, 'coordinator'), private.pause_org_context(@mentor), private.assert_mentors_in_org(@org, ARRAY[@mentor]::uuid[])`},
	{false, `SELECT count(*) FROM private.org_ids_with_role(ARRAY['coordinator'])`},
	{false, `INSERT INTO public.proxy_activities (coordinator_id, attributed_mentor_id, org_id, activity_type, date, duration_minutes)
		VALUES (@coord, @mentor, @org, 'visit', DATE '2026-03-10', 30)`},
	{false, `UPDATE public.proxy_activities SET duration_minutes = 45 WHERE org_id = @org`},
	{false, `UPDATE public.proxy_activities SET org_id = org_id, coordinator_id = coordinator_id WHERE org_id = @org`},
	{false, `DELETE FROM public.proxy_activities WHERE org_id = @org`},
	{false, `TRUNCATE public.proxy_activities`},
	{false, `UPDATE public.proxy_audit_log SET at = at`},
	{false, `DELETE FROM public.proxy_audit_log`},
	{false, `TRUNCATE public.proxy_audit_log`},
	{true, `UPDATE public.peer_mentor_status SET status = status`},
	{true, `UPDATE public.peer_mentor_status SET id = id`},
	{true, `DELETE FROM public.peer_mentor_status`},
	{true, `UPDATE public.peer_mentor_status_log SET reason = reason`},
	{true, `DELETE FROM public.peer_mentor_status_log`},
	{true, `TRUNCATE public.peer_mentor_status_log`},
}

// testSearchPathPgTemp proves that no function with a fixed search_path
// resolves a name to an object of the caller's temporary schema: for every
// such function of public and private, a caller (authenticated or
// service_role, as service code in r.Tx() may create temporary objects)
// that shadows each type name the bodies may use with a temporary domain
// never has that domain's check run by the function, which for a SECURITY
// DEFINER function would run the caller's code as the owner. Each caller
// class works on a connection of its own, so the PL/pgSQL bodies are
// compiled after the shadows exist, as they would be on a fresh pooled
// connection.
func testSearchPathPgTemp(t *testing.T) {
	d := pgtest.New(t)
	ctx := pgtest.Ctx(t)
	org := d.NewOrg(t)
	chapter := d.NewChapter(t, org)
	mentor := d.NewMember(t, org, "peer_mentor", chapter)
	coord := d.NewMember(t, org, "coordinator", chapter)

	var fixed []uint32
	var names map[uint32]string
	rows, err := d.Pool.Query(ctx, `SELECT p.oid FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		WHERE n.nspname IN ('public', 'private') AND p.prokind = 'f'`)
	require.NoError(t, err)
	fixed, err = pgx.CollectRows(rows, pgx.RowTo[uint32])
	require.NoError(t, err)
	require.NotEmpty(t, fixed)
	names = map[uint32]string{}
	for _, f := range fixed {
		var name string
		d.QueryRow(t, `SELECT $1::oid::regprocedure::text`, f).Scan(t, &name)
		names[f] = name
	}

	reached := map[uint32]bool{}
	for _, class := range []struct {
		name          string
		mentor, coord db.Claims
		role          string
	}{
		{"authenticated", db.User(mentor, org), db.User(coord, org), "authenticated"},
		{"service_role", db.ServiceRole(), db.ServiceRole(), "service_role"},
	} {
		var mu sync.Mutex
		var ran []string
		cfg, err := pgxpool.ParseConfig(d.URL)
		require.NoError(t, err)
		cfg.MaxConns = 1
		// Counts every call, so the test knows which functions it reached.
		cfg.ConnConfig.RuntimeParams["track_functions"] = "all"
		cfg.ConnConfig.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
			if strings.HasPrefix(n.Message, "conf5_whoami ran as ") {
				mu.Lock()
				ran = append(ran, strings.TrimPrefix(n.Message, "conf5_whoami ran as "))
				mu.Unlock()
			}
		}
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		require.NoError(t, err)
		app := db.New(pool)
		require.NoError(t, app.Do(ctx, class.coord, func(r *db.Request) error {
			for _, q := range shadowSQL() {
				if _, err := r.Tx().Exec(ctx, q); err != nil {
					return err
				}
			}
			return nil
		}), "%s: creating the temporary shadows", class.name)
		var wrong []string
		for _, step := range searchPathWorkload {
			claims := class.coord
			if step.asMentor {
				claims = class.mentor
			}
			require.NoError(t, app.Do(ctx, claims, func(r *db.Request) error {
				sp, err := r.Tx().Begin(ctx)
				if err != nil {
					return err
				}
				_, stepErr := sp.Exec(ctx, step.sql, pgx.NamedArgs{"mentor": mentor, "coord": coord, "org": org, "chapter": chapter})
				// A function that raises is not counted as called; the
				// error's context names it.
				var pgErr *pgconn.PgError
				if errors.As(stepErr, &pgErr) {
					for f, name := range names {
						if strings.Contains(pgErr.Where, "function "+name+" line") {
							reached[f] = true
						}
					}
				}
				if stepErr != nil {
					if err := sp.Rollback(ctx); err != nil {
						return err
					}
				} else if err := sp.Commit(ctx); err != nil {
					return err
				}
				// Function call counts are not undone with the savepoint.
				rows, err := r.Tx().Query(ctx, `SELECT f FROM pg_catalog.unnest($1::pg_catalog.oid[]) f WHERE pg_catalog.pg_stat_get_xact_function_calls(f) > 0`, fixed)
				if err != nil {
					return err
				}
				called, err := pgx.CollectRows(rows, pgx.RowTo[uint32])
				for _, f := range called {
					reached[f] = true
				}
				return err
			}), "%s: %s", class.name, step.sql)
			mu.Lock()
			seen := map[string]bool{}
			for _, who := range ran {
				if who != class.role && !seen[who] {
					seen[who] = true
					wrong = append(wrong, strings.Join(strings.Fields(step.sql), " ")+": ran as "+who)
				}
			}
			ran = nil
			mu.Unlock()
		}
		pool.Close()
		require.Empty(t, wrong, "%s: a function ran the caller's temporary domain check as another role", class.name)
	}

	// Every function of public and private (those whose search_path a
	// mutant resets included) was called, but those whose only callers are
	// statements no API role may run.
	var missed []string
	for _, f := range fixed {
		if !reached[f] {
			missed = append(missed, names[f])
		}
	}
	sort.Strings(missed)
	require.Equal(t, refusedToAPI, missed, "functions of public and private the workload did not reach")
}

// refusedToAPI are the functions that fire only on statements no API role
// may run (the workload tries each and is refused for want of the
// privilege): they guard against the owner, who needs no shadow to run
// code as itself.
var refusedToAPI = []string{
	"private.peer_mentor_status_keep_logged()",
	"private.peer_mentor_status_log_immutable()",
	"private.proxy_activities_refuse_truncate()",
	"private.proxy_audit_log_reject_change()",
}
