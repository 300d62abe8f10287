package bench

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mentordb/mentordb/db"
	"github.com/mentordb/mentordb/internal/harness/provision"
	"github.com/mentordb/mentordb/internal/harness/seed"
)

// dbURL returns the server URL with another database name.
func dbURL(server, name string) (string, error) {
	cfg, err := pgx.ParseConfig(server)
	if err != nil {
		return "", err
	}
	// Rebuild from the parsed pieces: the URL forms differ by provider.
	u := fmt.Sprintf("postgres://%s:%s@%s:%d/%s?sslmode=disable", cfg.User, cfg.Password, cfg.Host, cfg.Port, name)
	return u, nil
}

func openPool(ctx context.Context, url string, maxConns int32) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = maxConns
	cfg.MinConns = 0
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

func (b *bench) setup(ctx context.Context) error {
	opts := b.opts
	admin, err := pgx.Connect(ctx, b.srv.URL)
	if err != nil {
		return fmt.Errorf("bench: connect: %w", err)
	}
	defer admin.Close(ctx)
	for _, q := range []string{`DROP DATABASE IF EXISTS bench50`, `DROP DATABASE IF EXISTS bench`, `CREATE DATABASE bench`} {
		if _, err := admin.Exec(ctx, q); err != nil {
			return fmt.Errorf("bench: %s: %w", q, err)
		}
	}
	url, err := dbURL(b.srv.URL, "bench")
	if err != nil {
		return err
	}
	t0 := time.Now()
	if err := provision.Prepare(ctx, url); err != nil {
		return fmt.Errorf("bench: prepare: %w", err)
	}
	b.res.Timings = append(b.res.Timings, Timing{"prepare (platform shim + migrations)", time.Since(t0)})

	pool, err := openPool(ctx, url, int32(opts.PauseClients+4))
	if err != nil {
		return fmt.Errorf("bench: connect bench: %w", err)
	}
	b.pool = pool
	st, err := b.load(ctx, pool, seed.Config{Orgs: opts.Orgs, ActivitiesPerOrg: opts.ActivitiesPerOrg, Seed: opts.Seed},
		fmt.Sprintf("seed %d orgs × %d activities", opts.Orgs, opts.ActivitiesPerOrg))
	if err != nil {
		return err
	}
	b.orgs = st.Orgs
	b.res.Rows10 = st.Activities
	if err := pool.QueryRow(ctx, `SELECT current_user`).Scan(&b.owner); err != nil {
		return err
	}
	o := b.orgs[0]
	b.coord = db.User(o.Coordinators[0], o.ID)

	if opts.GrowthOrgs > 0 {
		// The template must have no other connection.
		pool.Close()
		t0 := time.Now()
		if _, err := admin.Exec(ctx, `CREATE DATABASE bench50 TEMPLATE bench STRATEGY FILE_COPY`); err != nil {
			return fmt.Errorf("bench: clone bench: %w", err)
		}
		b.res.Timings = append(b.res.Timings, Timing{"clone bench into bench50 (CREATE DATABASE ... TEMPLATE)", time.Since(t0)})
		if b.pool, err = openPool(ctx, url, int32(opts.PauseClients+4)); err != nil {
			return fmt.Errorf("bench: connect bench: %w", err)
		}
		url50, err := dbURL(b.srv.URL, "bench50")
		if err != nil {
			return err
		}
		if b.pool50, err = openPool(ctx, url50, 4); err != nil {
			return fmt.Errorf("bench: connect bench50: %w", err)
		}
		st50, err := b.load(ctx, b.pool50, seed.Config{Orgs: opts.GrowthOrgs, FirstOrg: opts.Orgs, ActivitiesPerOrg: opts.ActivitiesPerOrg, Seed: opts.Seed, NoAuditTrail: true},
			fmt.Sprintf("growth: seed %d more orgs × %d activities (FirstOrg %d) into bench50", opts.GrowthOrgs, opts.ActivitiesPerOrg, opts.Orgs))
		if err != nil {
			return err
		}
		if err := b.pool50.QueryRow(ctx, `SELECT count(*) FROM proxy_activities`).Scan(&b.res.Rows50); err != nil {
			return err
		}
		b.res.GrowthLoad = st50.Total
	}

	if err := b.buildCopies(ctx); err != nil {
		return err
	}
	return b.prepareSQL()
}

func (b *bench) load(ctx context.Context, pool *pgxpool.Pool, cfg seed.Config, what string) (seed.Stats, error) {
	b.opts.logf("%s", what)
	cfg.Phase = func(name string) { b.opts.logf("  %s", name) }
	cfg.ProgressEvery = 500_000
	cfg.Progress = func(done, total int64) { b.opts.logf("  activities %d/%d", done, total) }
	st, err := seed.Load(ctx, pool, cfg)
	if err != nil {
		return st, fmt.Errorf("bench: %s: %w", what, err)
	}
	if !st.TriggersSkipped {
		b.opts.logf("  note: loaded with all triggers (not a superuser)")
	}
	b.res.Timings = append(b.res.Timings, Timing{fmt.Sprintf("%s (copy %s at %.0f rows/s, vacuum/analyze %s)",
		what, st.ActivityLoad.Round(time.Millisecond), st.Rate(), st.Analyze.Round(time.Millisecond)), st.Total})
	return st, nil
}

// seedIndexes are the six indexes of the seed (the original task card); the
// schema adds the covering report index and the partial template index.
var seedIndexes = []string{
	"proxy_activities_org_id_idx",
	"proxy_activities_coordinator_id_idx",
	"proxy_activities_attributed_mentor_id_idx",
	"proxy_activities_date_idx",
	"proxy_activities_org_id_attributed_mentor_id_idx",
	"proxy_activities_created_at_brin_idx",
}

// buildCopies creates pa_seed_only and pa_bare with proxy_activities' rows in
// the same physical order (so the interleaving of orgs is the same), indexes
// built after the copy, then VACUUM ANALYZE, as the seed does for the table.
func (b *bench) buildCopies(ctx context.Context) error {
	type idx struct{ name, def string }
	rows, err := b.pool.Query(ctx, `
		SELECT c.relname, pg_get_indexdef(i.indexrelid)
		FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid
		WHERE i.indrelid = 'public.proxy_activities'::regclass
		ORDER BY i.indexrelid`)
	if err != nil {
		return err
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (idx, error) {
		var x idx
		return x, r.Scan(&x.name, &x.def)
	})
	if err != nil {
		return err
	}
	rename := func(x idx, table string) (string, error) {
		from := " ON public.proxy_activities "
		if !strings.Contains(x.def, from) || !strings.HasPrefix(x.name, "proxy_activities_") {
			return "", fmt.Errorf("bench: unexpected index definition %q", x.def)
		}
		def := strings.Replace(x.def, from, " ON public."+table+" ", 1)
		return strings.Replace(def, " "+x.name+" ", " "+table+"_"+strings.TrimPrefix(x.name, "proxy_activities_")+" ", 1), nil
	}
	byName := map[string]idx{}
	for _, x := range all {
		byName[x.name] = x
	}

	t0 := time.Now()
	b.opts.logf("building pa_seed_only (the seed's six indexes)")
	stmts := []string{
		`DROP TABLE IF EXISTS public.pa_seed_only`,
		`CREATE TABLE public.pa_seed_only (LIKE public.proxy_activities INCLUDING DEFAULTS)`,
		`INSERT INTO public.pa_seed_only SELECT * FROM public.proxy_activities`,
	}
	for _, n := range seedIndexes {
		x, ok := byName[n]
		if !ok {
			return fmt.Errorf("bench: proxy_activities has no index %s (the seed's six)", n)
		}
		def, err := rename(x, "pa_seed_only")
		if err != nil {
			return err
		}
		stmts = append(stmts, def)
	}
	if err := b.execAll(ctx, stmts); err != nil {
		return err
	}
	if err := vacuumAnalyze(ctx, b.pool, "public.pa_seed_only"); err != nil {
		return err
	}
	b.res.Timings = append(b.res.Timings, Timing{"build pa_seed_only (copy, six indexes, VACUUM ANALYZE)", time.Since(t0)})

	t0 = time.Now()
	b.opts.logf("building pa_bare (all indexes and CHECKs; no RLS, no triggers)")
	// INCLUDING ALL: defaults, CHECK constraints, identity, statistics,
	// comments; indexes are built after the copy. LIKE never copies foreign
	// keys (triggers), triggers or policies, and RLS is off on a new table.
	stmts = []string{
		`DROP TABLE IF EXISTS public.pa_bare`,
		`CREATE TABLE public.pa_bare (LIKE public.proxy_activities INCLUDING ALL EXCLUDING INDEXES)`,
		`INSERT INTO public.pa_bare SELECT * FROM public.proxy_activities`,
	}
	for _, x := range all {
		def, err := rename(x, "pa_bare")
		if err != nil {
			return err
		}
		stmts = append(stmts, def)
	}
	stmts = append(stmts, `ALTER TABLE public.pa_bare ADD CONSTRAINT pa_bare_pkey PRIMARY KEY USING INDEX pa_bare_pkey`)
	if err := b.execAll(ctx, stmts); err != nil {
		return err
	}
	if err := vacuumAnalyze(ctx, b.pool, "public.pa_bare"); err != nil {
		return err
	}
	var trig, rls int
	if err := b.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM pg_trigger WHERE tgrelid = 'public.pa_bare'::regclass),
		(SELECT count(*) FROM pg_class WHERE oid = 'public.pa_bare'::regclass AND relrowsecurity)`).Scan(&trig, &rls); err != nil {
		return err
	}
	if trig != 0 || rls != 0 {
		return fmt.Errorf("bench: pa_bare has %d triggers, rls=%d", trig, rls)
	}
	b.res.Timings = append(b.res.Timings, Timing{"build pa_bare (copy, all indexes, VACUUM ANALYZE)", time.Since(t0)})
	return nil
}

func (b *bench) execAll(ctx context.Context, stmts []string) error {
	for _, q := range stmts {
		if _, err := b.pool.Exec(ctx, q); err != nil {
			return fmt.Errorf("bench: %s: %w", firstLine(q), err)
		}
	}
	return nil
}

func vacuumAnalyze(ctx context.Context, pool *pgxpool.Pool, table string) error {
	// A synchronous commit first, so VACUUM can set hint bits and the
	// visibility map (see seed.vacuum).
	if _, err := pool.Exec(ctx, `BEGIN; SET LOCAL synchronous_commit = on; SELECT txid_current(); COMMIT`); err != nil {
		return err
	}
	_, err := pool.Exec(ctx, `VACUUM (ANALYZE) `+table)
	return err
}
