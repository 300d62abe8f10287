package conformance

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/access"
	"github.com/mentordb/mentordb/conformance/pgtest"
	"github.com/mentordb/mentordb/db"
)

// requestPrivilegeCases prove that a role is refused a write it holds no
// privilege for even when the statement needs nothing else: DELETE and
// UPDATE with no WHERE, and an INSERT of one column, read no column, so only
// the write privilege itself stands between the role and the table. (The access
// matrix's probes name a row, so they also need SELECT, which many roles
// lack; a write privilege granted by mistake would hide behind it.) The
// expectations are the access spec's declared grants.
func requestPrivilegeCases(t *testing.T) {
	t.Run("DB-1 a role without DELETE, UPDATE, INSERT or TRIGGER on a table or column is refused a statement that needs only that privilege", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		ctx := pgtest.Ctx(t)
		user := d.NewUser(t)
		claims := map[access.Role]db.Claims{access.Anon: db.Anon(), access.Authenticated: db.User(user, d.NewOrg(t)), access.ServiceRole: db.ServiceRole()}
		try := func(c db.Claims, sql string) error {
			err := d.As(ctx, c, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, sql); err != nil {
					return err
				}
				return errRollbackCell
			})
			if errors.Is(err, errRollbackCell) {
				return nil
			}
			return err
		}
		refused := func(err error) bool {
			var pgErr *pgconn.PgError
			return errors.As(err, &pgErr) && pgErr.Code == "42501" && strings.HasPrefix(pgErr.Message, "permission denied")
		}
		checked := 0
		for i := range access.Matrix.Objects {
			o := &access.Matrix.Objects[i]
			if o.Kind != access.Table {
				continue
			}
			rows, err := d.Pool.Query(ctx, `SELECT attname::text FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped
				AND attidentity = '' AND attgenerated = '' ORDER BY attnum`, o.QualifiedName())
			require.NoError(t, err)
			cols, err := pgx.CollectRows(rows, pgx.RowTo[string])
			require.NoError(t, err)
			for _, role := range access.APIRoles {
				if !o.Holds(role, "TRIGGER") {
					// A role holding TRIGGER could attach any function it may
					// execute (pg_catalog's are PUBLIC) to every write.
					sql := "CREATE TRIGGER privilege_probe BEFORE UPDATE ON " + o.QualifiedName() +
						" FOR EACH ROW EXECUTE FUNCTION pg_catalog.suppress_redundant_updates_trigger()"
					require.True(t, refused(try(claims[role], sql)), "%s: %s must be refused for lack of TRIGGER", role, sql)
					checked++
				}
				if !o.Holds(role, access.Delete) {
					sql := "DELETE FROM " + o.QualifiedName()
					require.True(t, refused(try(claims[role], sql)), "%s: %s must be refused for lack of DELETE", role, sql)
					checked++
				}
				for _, col := range cols {
					if !o.HoldsFor(role, access.Update, []string{col}) {
						sql := fmt.Sprintf("UPDATE %s SET %s = NULL", o.QualifiedName(), pgx.Identifier{col}.Sanitize())
						require.True(t, refused(try(claims[role], sql)), "%s: %s must be refused for lack of UPDATE on %s", role, sql, col)
						checked++
					}
					if !o.HoldsFor(role, access.Insert, []string{col}) {
						sql := fmt.Sprintf("INSERT INTO %s (%s) VALUES (NULL)", o.QualifiedName(), pgx.Identifier{col}.Sanitize())
						require.True(t, refused(try(claims[role], sql)), "%s: %s must be refused for lack of INSERT on %s", role, sql, col)
						checked++
					}
				}
			}
		}
		require.Greater(t, checked, 50, "the spec declares tables and roles without write privileges")
	})
}
