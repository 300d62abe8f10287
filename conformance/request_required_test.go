package conformance

import (
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/pgtest"
	"github.com/mentordb/mentordb/db"
)

// requestRequiredCases prove, by writing them as service_role through a
// request, that the foundation's and the templates' required columns and
// non-blank names are refused with a typed error naming what fired.
func requestRequiredCases(t *testing.T) {
	t.Run("DB-2 a NULL in a required column of the foundation or of a template is refused as ErrNotNull naming the column; blank names as ErrCheck", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		org := d.NewOrg(t)
		chapter := d.NewChapter(t, org)
		coordinator := d.NewMember(t, org, "coordinator", chapter)
		mentor := d.NewUser(t)
		d.AddMember(t, org, mentor, "peer_mentor")
		ctx := pgtest.Ctx(t)
		insert := func(table string, row map[string]any) error {
			sql, args := insertSQL(table, row)
			err := d.As(ctx, db.ServiceRole(), func(tx pgx.Tx) error {
				_, err := tx.Exec(ctx, sql, args...)
				if err == nil {
					return errRollbackCell
				}
				return err
			})
			if errors.Is(err, errRollbackCell) {
				return nil
			}
			return err
		}
		cases := []struct {
			table    string
			row      map[string]any
			required []string
			blank    map[string]string // column → CHECK that refuses a blank value
		}{
			{"organizations", map[string]any{"name": "org", "created_at": proxyDay}, []string{"name", "created_at"},
				map[string]string{"name": "organizations_name_check"}},
			{"chapters", map[string]any{"org_id": org, "name": "chapter", "created_at": proxyDay}, []string{"org_id", "name", "created_at"},
				map[string]string{"name": "chapters_name_check"}},
			{"org_members", map[string]any{"org_id": org, "user_id": mentor, "role": "coordinator", "created_at": proxyDay}, []string{"created_at"}, nil},
			{"chapter_members", map[string]any{"chapter_id": chapter, "org_id": org, "user_id": mentor, "created_at": proxyDay}, []string{"org_id", "created_at"}, nil},
			{"recurring_activity_templates", map[string]any{"org_id": org, "created_by": coordinator, "activity_type": "visit", "title": "t", "created_at": proxyDay},
				[]string{"org_id", "created_by", "activity_type", "title", "created_at"},
				map[string]string{"activity_type": "recurring_activity_templates_activity_type_check", "title": "recurring_activity_templates_title_check"}},
		}
		for _, c := range cases {
			require.NoError(t, insert(c.table, c.row), "the valid %s row", c.table)
			for _, col := range c.required {
				bad := clone(c.row)
				bad[col] = nil
				err := insert(c.table, bad)
				require.ErrorIs(t, err, db.ErrNotNull, "%s.%s = NULL", c.table, col)
				var pgErr *pgconn.PgError
				require.ErrorAs(t, err, &pgErr)
				require.Equal(t, col, pgErr.ColumnName)
			}
			for col, check := range c.blank {
				bad := clone(c.row)
				bad[col] = "  "
				err := insert(c.table, bad)
				require.ErrorIs(t, err, db.ErrCheck, "%s.%s blank", c.table, col)
				var dbErr *db.Error
				require.ErrorAs(t, err, &dbErr)
				require.Equal(t, db.Constraint(check), dbErr.Constraint)
			}
		}
	})
}

func clone(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
