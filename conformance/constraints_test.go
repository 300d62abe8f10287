package conformance

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/pgtest"
	"github.com/mentordb/mentordb/db"
	"github.com/mentordb/mentordb/internal/harness/constraintgen"
)

// testConstraints proves DB-ERR-1: the names db knows are the catalog's, and
// every one of them comes back from db as a typed error.
func testConstraints(t *testing.T) {
	t.Parallel()

	t.Run("DB-ERR-1 the committed constraint constants are what make generate writes from the migrated catalog", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		cat, err := constraintgen.Read(pgtest.Ctx(t), d.Pool)
		require.NoError(t, err)
		want, err := constraintgen.Render(cat)
		require.NoError(t, err)
		got, err := os.ReadFile(filepath.Join("..", constraintgen.File))
		require.NoError(t, err)
		require.Equal(t, string(want), string(got), "%s is stale: run make generate and commit it", constraintgen.File)
	})

	t.Run("DB-ERR-1 every name the catalog holds or a function raises comes back from db typed, with a kind and a class", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		ctx := pgtest.Ctx(t)
		cat, err := constraintgen.Read(ctx, d.Pool)
		require.NoError(t, err)
		require.NotEmpty(t, cat.Names)

		// The database reports exactly this pair when the constraint or the
		// function fires; raising it in a request takes it through the same
		// path to the caller as the real violation.
		raise := func(code, name string) error {
			using := fmt.Sprintf("ERRCODE = %s", quote(code))
			if name != "" {
				using += ", CONSTRAINT = " + quote(name)
			}
			return d.App.Do(ctx, db.ServiceRole(), func(r *db.Request) error {
				tx := r.Tx()
				_, err := tx.Exec(ctx, `DO $$ BEGIN RAISE EXCEPTION 'conformance' USING `+using+`; END $$`)
				return err
			})
		}
		var untyped []string
		check := func(code, name string) {
			err := raise(code, name)
			var e *db.Error
			if !errors.As(err, &e) || e.Kind == nil || e.Class == nil || !errors.Is(err, e.Kind) || !errors.Is(err, e.Class) {
				untyped = append(untyped, fmt.Sprintf("%q with SQLSTATE %s: %v", name, code, err))
				return
			}
			require.Equal(t, db.Constraint(name), e.Constraint)
			require.Equal(t, code, e.Code)
		}
		pairs := 0
		for _, n := range cat.Names {
			require.NotEmpty(t, n.Codes, "%s (%s) is never raised with a SQLSTATE", n.Name, strings.Join(n.Sources, "; "))
			for _, code := range n.Codes {
				check(code, n.Name)
				pairs++
			}
		}
		for code := range cat.Unnamed {
			check(code, "")
			pairs++
		}
		require.Empty(t, untyped, "names without a typed mapping in db (map the name to a sentinel in constraintKinds, or give its SQLSTATE a class in codeKinds: db/error_table.go)")
		t.Logf("%d names, %d name/SQLSTATE pairs, all typed", len(cat.Names), pairs)

		// The check can fail: a name and SQLSTATE db has never heard of come
		// back as they are.
		err = raise("MD999", "no_such_constraint")
		var e *db.Error
		require.False(t, errors.As(err, &e), "an unknown name and SQLSTATE must not look typed: %v", err)
	})
}

// quote is a SQL string literal.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
