package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/pgtest"
	"github.com/mentordb/mentordb/db"
	"github.com/mentordb/mentordb/internal/preamble"
)

// DB-TX-1: the pgx.Tx a request hands out (r.Tx()) keeps pgx's contract.
// Every probe runs twice: on r.Tx() inside d.Do, and on a plain pgx.Tx from
// pool.Begin that acts as the same user (preamble.Apply with the same role
// and claims). The two outcomes must be equal. Each side has a pool of its
// own, so a session-level leftover of one (a prepared statement) cannot
// change the other; the owner reads the committed effect back and clears it
// between the two.

// txFixture is one probe's database: a user of org, another org whose row
// RLS hides from that user, and tx_probe, a table of the test's own that
// the request role may write (no RLS: grants only), for committed effects.
type txFixture struct {
	d        *pgtest.DB
	org      uuid.UUID
	otherOrg uuid.UUID
	claims   db.Claims
}

func txSetup(t *testing.T) *txFixture {
	t.Helper()
	d := pgtest.New(t)
	f := &txFixture{d: d, org: d.NewOrg(t), otherOrg: d.NewOrg(t)}
	f.claims = db.User(d.NewMember(t, f.org, "peer_mentor"), f.org)
	d.Exec(t, `CREATE TABLE public.tx_probe (id int PRIMARY KEY, note text NOT NULL);
		GRANT SELECT, INSERT, UPDATE, DELETE ON public.tx_probe TO authenticated`)
	return f
}

// txPool is a pool on d configured as db.Open configures one.
func txPool(t *testing.T, d *pgtest.DB, maxConns int32) *pgxpool.Pool {
	t.Helper()
	cfg, err := db.PoolConfig(d.URL)
	require.NoError(t, err)
	cfg.MaxConns = maxConns
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool
}

// txOutcome is what one side of a probe observed.
type txOutcome struct {
	Err    string   // class of the probe's error (txErrClass), or the panic it raised
	Rows   []string // what the probe read, formatted
	End    string   // class of how the transaction ended: Do's error, or the plain Commit's
	Effect string   // what was committed, read back by the owner
}

// txErrClass is a stable name for an error: pgx's sentinels by name, a
// server error by its SQLSTATE.
func txErrClass(err error) string {
	var pgErr *pgconn.PgError
	switch {
	case err == nil:
		return ""
	case errors.Is(err, pgx.ErrTxClosed):
		return "ErrTxClosed"
	case errors.Is(err, pgx.ErrTxCommitRollback):
		return "ErrTxCommitRollback"
	case errors.Is(err, pgx.ErrNoRows):
		return "ErrNoRows"
	case errors.As(err, &pgErr):
		return pgErr.Code
	}
	return "other: " + err.Error()
}

// txProbe is one use of pgx.Tx's contract. wantErr is pgx's documented
// outcome of the probe, checked on the plain side first: it proves the
// probe tests what it says, so two sides failing alike for a reason of the
// test's own cannot pass as a match.
type txProbe struct {
	name    string
	wantErr string
	run     func(ctx context.Context, tx pgx.Tx, f *txFixture) ([]string, error)
	// notOnRequest, when set, is why the probe does not apply to a
	// request's transaction; it then runs on the plain side only.
	notOnRequest string
}

// runTxProbe runs p on tx; a panic is reported as the outcome, so a probe
// that crashes one side fails its own subtest and not the suite.
func runTxProbe(ctx context.Context, tx pgx.Tx, f *txFixture, p txProbe) (rows []string, class string) {
	defer func() {
		if v := recover(); v != nil {
			class = fmt.Sprintf("panic: %v", v)
		}
	}()
	rows, err := p.run(ctx, tx, f)
	return rows, txErrClass(err)
}

// onRequest runs p on r.Tx() in d.Do; fn returns nil, so Do commits what
// the probe left, as the plain side does.
func onRequest(ctx context.Context, pool *pgxpool.Pool, f *txFixture, p txProbe) txOutcome {
	var out txOutcome
	end := db.New(pool).Do(ctx, f.claims, func(r *db.Request) error {
		out.Rows, out.Err = runTxProbe(ctx, r.Tx(), f, p)
		return nil
	})
	out.End = txErrClass(end)
	return out
}

// onPlain runs p on a plain pgx.Tx acting as the same user, then commits.
func onPlain(ctx context.Context, pool *pgxpool.Pool, f *txFixture, p txProbe) (txOutcome, error) {
	claims, err := json.Marshal(f.claims)
	if err != nil {
		return txOutcome{}, err
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		return txOutcome{}, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if err := preamble.Apply(ctx, tx, f.claims.Role, string(claims)); err != nil {
		return txOutcome{}, err
	}
	var out txOutcome
	out.Rows, out.Err = runTxProbe(ctx, tx, f, p)
	out.End = txErrClass(tx.Commit(ctx))
	return out, nil
}

// txEffect reads, as the owner, what the side committed (tx_probe's rows and
// the large objects), and clears it for the other side.
func txEffect(t *testing.T, f *txFixture) string {
	t.Helper()
	var effect string
	f.d.QueryRow(t, `SELECT 'tx_probe: ' || coalesce((SELECT string_agg(id || '=' || note, ',' ORDER BY id) FROM tx_probe), '')
		|| '; large objects: ' || coalesce((SELECT string_agg(convert_from(lo_get(oid), 'UTF8'), ',') FROM pg_largeobject_metadata), '')`).Scan(t, &effect)
	f.d.Exec(t, `TRUNCATE tx_probe; SELECT lo_unlink(oid) FROM pg_largeobject_metadata`)
	return effect
}

func testTxContract(t *testing.T) {
	t.Parallel()
	for _, p := range txProbes {
		t.Run("DB-TX-1 "+p.name, func(t *testing.T) {
			t.Parallel()
			f := txSetup(t)
			ctx := pgtest.Ctx(t)
			plain, err := onPlain(ctx, txPool(t, f.d, 2), f, p)
			require.NoError(t, err, "the plain side's own transaction")
			plain.Effect = txEffect(t, f)
			require.Equal(t, p.wantErr, plain.Err, "the probe on a plain pgx.Tx does not give pgx's outcome: the probe is wrong (%+v)", plain)
			if p.notOnRequest != "" {
				t.Logf("not run on a request: %s", p.notOnRequest)
				return
			}
			req := onRequest(ctx, txPool(t, f.d, 2), f, p)
			req.Effect = txEffect(t, f)
			require.Equal(t, plain, req, "r.Tx() in d.Do (second) differs from a plain pgx.Tx acting as the same user (first)")
		})
	}
	txCacheCases(t)
}

// insertProbe is the INSERT the probes commit through.
const insertProbe = `INSERT INTO tx_probe (id, note) VALUES ($1, $2)`

var txProbes = []txProbe{
	{name: "LargeObjects: create, write and read a large object", run: func(ctx context.Context, tx pgx.Tx, _ *txFixture) ([]string, error) {
		lo := tx.LargeObjects()
		oid, err := lo.Create(ctx, 0)
		if err != nil {
			return nil, err
		}
		obj, err := lo.Open(ctx, oid, pgx.LargeObjectModeRead|pgx.LargeObjectModeWrite)
		if err != nil {
			return nil, err
		}
		if _, err := obj.Write([]byte("large object probe")); err != nil {
			return nil, err
		}
		if _, err := obj.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
		b, err := io.ReadAll(obj)
		if err != nil {
			return nil, err
		}
		return []string{string(b)}, obj.Close()
	}},
	{name: "pgx.NamedArgs query", run: func(ctx context.Context, tx pgx.Tx, _ *txFixture) ([]string, error) {
		var n int
		var role string
		err := tx.QueryRow(ctx, `SELECT @a::int + @b::int, current_user`, pgx.NamedArgs{"a": 40, "b": 2}).Scan(&n, &role)
		return []string{fmt.Sprint(n), role}, err
	}},
	{name: "multi-statement Exec without arguments", run: func(ctx context.Context, tx pgx.Tx, _ *txFixture) ([]string, error) {
		tag, err := tx.Exec(ctx, `INSERT INTO tx_probe (id, note) VALUES (1, 'one'); INSERT INTO tx_probe (id, note) VALUES (2, 'two')`)
		return []string{tag.String()}, err
	}},
	{name: "Prepare(name, sql) then QueryRow by the statement's name", run: func(ctx context.Context, tx pgx.Tx, _ *txFixture) ([]string, error) {
		sd, err := tx.Prepare(ctx, "tx_probe_double", `SELECT $1::int * 2`)
		if err != nil {
			return nil, err
		}
		var n int
		err = tx.QueryRow(ctx, "tx_probe_double", 21).Scan(&n)
		return []string{sd.Name, fmt.Sprint(n)}, err
	}},
	{name: "pgx.QueryResultFormats binary", run: func(ctx context.Context, tx pgx.Tx, _ *txFixture) ([]string, error) {
		rows, err := tx.Query(ctx, `SELECT 42::int4, 'x'::text`, pgx.QueryResultFormats{pgx.BinaryFormatCode})
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []string
		for _, fd := range rows.FieldDescriptions() {
			out = append(out, fmt.Sprintf("format %d", fd.Format))
		}
		for rows.Next() {
			var n int32
			var s string
			if err := rows.Scan(&n, &s); err != nil {
				return out, err
			}
			out = append(out, fmt.Sprint(n), s)
		}
		return out, rows.Err()
	}},
	{name: "QueryExecModeSimpleProtocol", run: func(ctx context.Context, tx pgx.Tx, _ *txFixture) ([]string, error) {
		var n int
		var role string
		err := tx.QueryRow(ctx, `SELECT $1::int + 1, current_user`, pgx.QueryExecModeSimpleProtocol, 41).Scan(&n, &role)
		return []string{fmt.Sprint(n), role}, err
	}},
	{name: "SendBatch with several queries", run: func(ctx context.Context, tx pgx.Tx, _ *txFixture) ([]string, error) {
		b := &pgx.Batch{}
		b.Queue(insertProbe, 1, "batched")
		b.Queue(`SELECT count(*) FROM tx_probe`)
		b.Queue(`SELECT current_user`)
		br := tx.SendBatch(ctx, b)
		tag, err := br.Exec()
		if err != nil {
			_ = br.Close()
			return nil, err
		}
		var n int
		var role string
		if err := br.QueryRow().Scan(&n); err != nil {
			_ = br.Close()
			return nil, err
		}
		if err := br.QueryRow().Scan(&role); err != nil {
			_ = br.Close()
			return nil, err
		}
		return []string{tag.String(), fmt.Sprint(n), role}, br.Close()
	}},
	{name: "CopyFrom into a table", run: func(ctx context.Context, tx pgx.Tx, _ *txFixture) ([]string, error) {
		n, err := tx.CopyFrom(ctx, pgx.Identifier{"tx_probe"}, []string{"id", "note"}, pgx.CopyFromRows([][]any{{1, "copied"}, {2, "copied"}}))
		return []string{fmt.Sprint(n)}, err
	}},
	{name: "nested Begin (savepoint) then Commit, then Exec on the committed savepoint is ErrTxClosed", wantErr: "ErrTxClosed", run: func(ctx context.Context, tx pgx.Tx, _ *txFixture) ([]string, error) {
		sp, err := tx.Begin(ctx)
		if err != nil {
			return nil, err
		}
		if _, err := sp.Exec(ctx, insertProbe, 1, "in savepoint"); err != nil {
			return nil, err
		}
		commit := txErrClass(sp.Commit(ctx))
		_, err = sp.Exec(ctx, insertProbe, 2, "after release")
		return []string{"commit: " + commit}, err
	}},
	{name: "savepoint Rollback undoes its work", run: func(ctx context.Context, tx pgx.Tx, _ *txFixture) ([]string, error) {
		if _, err := tx.Exec(ctx, insertProbe, 1, "before savepoint"); err != nil {
			return nil, err
		}
		sp, err := tx.Begin(ctx)
		if err != nil {
			return nil, err
		}
		if _, err := sp.Exec(ctx, insertProbe, 2, "rolled back"); err != nil {
			return nil, err
		}
		rollback := txErrClass(sp.Rollback(ctx))
		var n int
		err = tx.QueryRow(ctx, `SELECT count(*) FROM tx_probe`).Scan(&n)
		return []string{"rollback: " + rollback, fmt.Sprint(n)}, err
	}},
	{name: "savepoint Rollback, then Exec on the rolled-back savepoint is ErrTxClosed", wantErr: "ErrTxClosed", run: func(ctx context.Context, tx pgx.Tx, _ *txFixture) ([]string, error) {
		sp, err := tx.Begin(ctx)
		if err != nil {
			return nil, err
		}
		rollback := txErrClass(sp.Rollback(ctx))
		_, err = sp.Exec(ctx, insertProbe, 1, "after rollback")
		return []string{"rollback: " + rollback}, err
	}},
	{name: "rows.Conn() is non-nil and the same *pgx.Conn as tx.Conn()", run: func(ctx context.Context, tx pgx.Tx, _ *txFixture) ([]string, error) {
		rows, err := tx.Query(ctx, `SELECT 1`)
		if err != nil {
			return nil, err
		}
		c := rows.Conn()
		rows.Close()
		return []string{fmt.Sprintf("non-nil %v, same as tx.Conn() %v", c != nil, c != nil && c == tx.Conn())}, rows.Err()
	}},
	{name: "QueryRow with no rows is pgx.ErrNoRows", wantErr: "ErrNoRows", run: func(ctx context.Context, tx pgx.Tx, _ *txFixture) ([]string, error) {
		var n int
		return nil, tx.QueryRow(ctx, `SELECT 1 FROM tx_probe WHERE false`).Scan(&n)
	}},
	{name: "an error, then a further statement is 25P02", wantErr: "25P02", run: func(ctx context.Context, tx pgx.Tx, _ *txFixture) ([]string, error) {
		_, err := tx.Exec(ctx, insertProbe, 1, nil) // note is NOT NULL
		first := txErrClass(err)
		_, err = tx.Exec(ctx, insertProbe, 2, "after the error")
		return []string{"first: " + first}, err
	}},
	{name: "Commit, then Exec is ErrTxClosed", wantErr: "ErrTxClosed",
		notOnRequest: "a request's Commit belongs to Do and DoTx, which commit when fn returns (Request.Tx's contract: do not call Commit or Rollback); committing it from inside fn is outside what a request offers, so only the plain side shows pgx's outcome",
		run: func(ctx context.Context, tx pgx.Tx, _ *txFixture) ([]string, error) {
			commit := txErrClass(tx.Commit(ctx))
			_, err := tx.Exec(ctx, insertProbe, 1, "after commit")
			return []string{"commit: " + commit}, err
		}},
	{name: "Conn() as the request's first use runs inside the transaction as the caller, under RLS", run: func(ctx context.Context, tx pgx.Tx, f *txFixture) ([]string, error) {
		c := tx.Conn()
		var role string
		var own, other int
		err := c.QueryRow(ctx, `SELECT current_user,
			(SELECT count(*) FROM organizations WHERE id = $1),
			(SELECT count(*) FROM organizations WHERE id = $2)`, f.org, f.otherOrg).Scan(&role, &own, &other)
		return []string{
			"current_user " + role,
			fmt.Sprintf("own org rows %d, other org rows %d", own, other),
			fmt.Sprintf("transaction status %c", c.PgConn().TxStatus()),
		}, err
	}},
}

// txSide runs fn in one transaction acting as f's user: a request, or a
// plain pgx.Tx with the same role and claims. fn's error rolls back and is
// returned.
type txSide struct {
	name string
	run  func(ctx context.Context, pool *pgxpool.Pool, f *txFixture, fn func(tx pgx.Tx) error) error
}

var txSides = []txSide{
	{"plain pgx.Tx", func(ctx context.Context, pool *pgxpool.Pool, f *txFixture, fn func(tx pgx.Tx) error) error {
		claims, err := json.Marshal(f.claims)
		if err != nil {
			return err
		}
		return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if err := preamble.Apply(ctx, tx, f.claims.Role, string(claims)); err != nil {
				return err
			}
			return fn(tx)
		})
	}},
	{"request", func(ctx context.Context, pool *pgxpool.Pool, f *txFixture, fn func(tx pgx.Tx) error) error {
		return db.New(pool).Do(ctx, f.claims, func(r *db.Request) error { return fn(r.Tx()) })
	}},
}

// txCacheCases are the probes of what a request leaves on its connection's
// statement cache. Each side gets a pool of one connection, so every
// transaction reuses the session of the one before.
func txCacheCases(t *testing.T) {
	t.Run("DB-TX-1 statement cache: after the owner adds a column, SELECT * through a request fails at most once, then succeeds", func(t *testing.T) {
		t.Parallel()
		f := txSetup(t)
		ctx := pgtest.Ctx(t)
		f.d.Exec(t, `CREATE TABLE public.tx_cache (id int PRIMARY KEY, note text);
			INSERT INTO tx_cache VALUES (1, 'cached');
			GRANT SELECT ON public.tx_cache TO authenticated`)
		selectAll := func(tx pgx.Tx, cols *int) error {
			rows, err := tx.Query(ctx, `SELECT * FROM tx_cache`)
			if err != nil {
				return err
			}
			defer rows.Close()
			*cols = len(rows.FieldDescriptions())
			for rows.Next() {
				if _, err := rows.Values(); err != nil {
					return err
				}
			}
			return rows.Err()
		}
		for i, s := range txSides {
			pool := txPool(t, f.d, 1)
			try := func() string {
				var cols int
				if err := s.run(ctx, pool, f, func(tx pgx.Tx) error { return selectAll(tx, &cols) }); err != nil {
					return txErrClass(err)
				}
				return fmt.Sprintf("ok, %d columns", cols)
			}
			ownerCols := func() string {
				var n int
				f.d.QueryRow(t, `SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'tx_cache'`).Scan(t, &n)
				return fmt.Sprintf("ok, %d columns", n)
			}
			require.Equal(t, ownerCols(), try(), "%s: SELECT * before the change", s.name)
			// The owner changes the table on another connection.
			f.d.Exec(t, fmt.Sprintf(`ALTER TABLE tx_cache ADD COLUMN extra_%d int`, i))
			want := ownerCols()
			tries := []string{try(), try(), try()}
			t.Logf("%s: three tries after the change: %q", s.name, tries)
			ok := (tries[0] == want || tries[0] == "0A000") && tries[1] == want && tries[2] == want
			require.True(t, ok, "%s: three tries after the change: %q; want at most the first to fail (0A000, cached plan must not change result type), then %q", s.name, tries, want)
		}
	})

	t.Run("DB-TX-1 statement count: 600 distinct statements through requests on one connection leave a bounded number prepared on the session", func(t *testing.T) {
		t.Parallel()
		f := txSetup(t)
		ctx := pgtest.Ctx(t)
		const requests, perRequest = 20, 30 // 600 distinct SQL texts, more than pgx's cache holds (512)
		for _, s := range txSides {
			pool := txPool(t, f.d, 1)
			// pgx's statement cache holds this many; the request layer may
			// keep a few statements of its own (BEGIN, the preamble, COMMIT).
			bound := pool.Config().ConnConfig.StatementCacheCapacity + 16
			for i := range requests {
				require.NoError(t, s.run(ctx, pool, f, func(tx pgx.Tx) error {
					for j := range perRequest {
						var n int
						if err := tx.QueryRow(ctx, fmt.Sprintf(`SELECT $1::int + %d`, i*perRequest+j), 1).Scan(&n); err != nil {
							return err
						}
					}
					return nil
				}), s.name)
			}
			var prepared int
			require.NoError(t, s.run(ctx, pool, f, func(tx pgx.Tx) error {
				return tx.QueryRow(ctx, `SELECT count(*) FROM pg_prepared_statements`).Scan(&prepared)
			}), s.name)
			t.Logf("%s: %d statements prepared on the session (bound %d)", s.name, prepared, bound)
			require.LessOrEqual(t, prepared, bound, "%s: statements prepared on the session after %d distinct ones", s.name, requests*perRequest)
		}
	})
}
