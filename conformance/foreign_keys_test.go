package conformance

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/pgtest"
)

// foreignKeyCases prove every foreign key's ON DELETE action by deleting
// the row it refers to, as the owner, in a transaction that is rolled back:
// RESTRICT refuses naming the key, CASCADE removes the referring row, SET
// NULL keeps it and clears the reference. Each case's parent row is
// referred to by that one key alone (cascaded memberships aside), so the
// outcome is this key's.
func foreignKeyCases(t *testing.T) {
	t.Run("PA-FK-1 PA-FK-2 PS-LOG-1 every foreign key's ON DELETE action, observed by deleting the row it refers to", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		ctx := pgtest.Ctx(t)
		// build writes, inside tx, an org with a chapter, a coordinator and
		// two peer mentors in it, and whatever the case adds.
		build := func(tx pgx.Tx) fkWorld {
			w := fkWorld{org: uuid.New(), chapter: uuid.New(), coordinator: uuid.New(), mentor: uuid.New(), other: uuid.New()}
			fkExec(t, ctx, tx, `INSERT INTO organizations (id, name) VALUES ($1, 'fk org')`, w.org)
			for _, u := range []uuid.UUID{w.coordinator, w.mentor, w.other} {
				fkExec(t, ctx, tx, `INSERT INTO auth.users (id, email, raw_user_meta_data, raw_app_meta_data) VALUES ($1, $2, '{}', '{}')`, u, u.String()+"@fk.test")
			}
			fkExec(t, ctx, tx, `INSERT INTO org_members (org_id, user_id, role) VALUES ($1, $2, 'coordinator'), ($1, $3, 'peer_mentor'), ($1, $4, 'peer_mentor')`,
				w.org, w.coordinator, w.mentor, w.other)
			return w
		}
		chapter := func(tx pgx.Tx, w *fkWorld) {
			fkExec(t, ctx, tx, `INSERT INTO chapters (id, org_id, name) VALUES ($1, $2, 'fk chapter')`, w.chapter, w.org)
		}
		template := func(tx pgx.Tx, w *fkWorld) {
			w.template = uuid.New()
			fkExec(t, ctx, tx, `INSERT INTO recurring_activity_templates (id, org_id, created_by, activity_type, title) VALUES ($1, $2, $3, 'visit', 'fk')`,
				w.template, w.org, w.coordinator)
		}
		activity := func(tx pgx.Tx, w *fkWorld) {
			w.activity = uuid.New()
			fkExec(t, ctx, tx, `INSERT INTO proxy_activities (id, coordinator_id, attributed_mentor_id, org_id, activity_type, date, duration_minutes, template_id)
				VALUES ($1, $2, $3, $4, 'visit', $5, 30, $6)`, w.activity, w.coordinator, w.mentor, w.org, proxyDay, nullable(w.template))
		}
		// pause pauses w.mentor as user by (a request's claims, set in tx),
		// so that updated_by and the log's changed_by name by.
		pause := func(tx pgx.Tx, w *fkWorld, by uuid.UUID, status string) {
			fkExec(t, ctx, tx, `SELECT set_config('request.jwt.claims', json_build_object('sub', $1::text, 'role', 'authenticated')::text, true)`, by)
			if w.status == uuid.Nil {
				w.status = uuid.New()
				fkExec(t, ctx, tx, `INSERT INTO peer_mentor_status (id, peer_mentor_id, org_id, status) VALUES ($1, $2, $3, $4)`, w.status, w.mentor, w.org, status)
			} else {
				fkExec(t, ctx, tx, `UPDATE peer_mentor_status SET status = $2 WHERE id = $1`, w.status, status)
			}
			fkExec(t, ctx, tx, `SELECT set_config('request.jwt.claims', '', true)`)
		}
		const (
			restrict = "RESTRICT"
			cascade  = "CASCADE"
			setNull  = "SET NULL"
		)
		cases := []struct {
			key    string
			action string
			setup  func(tx pgx.Tx, w *fkWorld)
			delete func(w fkWorld) (string, uuid.UUID)
			// still counts the referring rows (CASCADE: none left; SET NULL:
			// one, with the reference cleared).
			still func(w fkWorld) (string, uuid.UUID)
		}{
			{"chapters_org_id_fkey", restrict, chapter, delOrg, nil},
			{"org_members_org_id_fkey", cascade, nil, delOrg,
				func(w fkWorld) (string, uuid.UUID) {
					return `SELECT count(*) FROM org_members WHERE org_id = $1`, w.org
				}},
			{"org_members_user_id_fkey", cascade, nil, delUser(func(w fkWorld) uuid.UUID { return w.other }),
				func(w fkWorld) (string, uuid.UUID) {
					return `SELECT count(*) FROM org_members WHERE user_id = $1`, w.other
				}},
			{"chapter_members_user_id_fkey", cascade, func(tx pgx.Tx, w *fkWorld) {
				chapter(tx, w)
				fkExec(t, ctx, tx, `INSERT INTO chapter_members (chapter_id, org_id, user_id) VALUES ($1, $2, $3)`, w.chapter, w.org, w.other)
			}, delUser(func(w fkWorld) uuid.UUID { return w.other }),
				func(w fkWorld) (string, uuid.UUID) {
					return `SELECT count(*) FROM chapter_members WHERE user_id = $1`, w.other
				}},
			{"chapter_members_chapter_org_fkey", cascade, func(tx pgx.Tx, w *fkWorld) {
				chapter(tx, w)
				fkExec(t, ctx, tx, `INSERT INTO chapter_members (chapter_id, org_id, user_id) VALUES ($1, $2, $3)`, w.chapter, w.org, w.other)
			}, func(w fkWorld) (string, uuid.UUID) { return `DELETE FROM chapters WHERE id = $1`, w.chapter },
				func(w fkWorld) (string, uuid.UUID) {
					return `SELECT count(*) FROM chapter_members WHERE chapter_id = $1`, w.chapter
				}},
			{"recurring_activity_templates_org_id_fkey", restrict, template, delOrg, nil},
			{"recurring_activity_templates_created_by_fkey", restrict, template, delUser(func(w fkWorld) uuid.UUID { return w.coordinator }), nil},
			{"proxy_activities_coordinator_id_fkey", restrict, activity, delUser(func(w fkWorld) uuid.UUID { return w.coordinator }), nil},
			{"proxy_activities_attributed_mentor_id_fkey", restrict, activity, delUser(func(w fkWorld) uuid.UUID { return w.mentor }), nil},
			{"proxy_activities_org_id_fkey", restrict, activity, delOrg, nil},
			{"proxy_activities_template_id_fkey", setNull, func(tx pgx.Tx, w *fkWorld) { template(tx, w); activity(tx, w) },
				func(w fkWorld) (string, uuid.UUID) {
					return `DELETE FROM recurring_activity_templates WHERE id = $1`, w.template
				},
				func(w fkWorld) (string, uuid.UUID) {
					return `SELECT count(*) FROM proxy_activities WHERE id = $1 AND template_id IS NULL`, w.activity
				}},
			{"peer_mentor_status_peer_mentor_id_fkey", restrict, func(tx pgx.Tx, w *fkWorld) { pause(tx, w, w.coordinator, "active") },
				delUser(func(w fkWorld) uuid.UUID { return w.mentor }), nil},
			{"peer_mentor_status_org_id_fkey", restrict, func(tx pgx.Tx, w *fkWorld) { pause(tx, w, w.coordinator, "active") }, delOrg, nil},
			{"peer_mentor_status_updated_by_fkey", restrict, func(tx pgx.Tx, w *fkWorld) { pause(tx, w, w.other, "active") },
				delUser(func(w fkWorld) uuid.UUID { return w.other }), nil},
			{"peer_mentor_status_log_changed_by_fkey", restrict, func(tx pgx.Tx, w *fkWorld) {
				pause(tx, w, w.other, "paused")
				pause(tx, w, w.coordinator, "active")
			}, delUser(func(w fkWorld) uuid.UUID { return w.other }), nil},
		}
		for _, c := range cases {
			// Each case in its own transaction, rolled back whatever happens
			// (an open one would keep the pool from closing).
			tx, err := d.Pool.Begin(ctx)
			require.NoError(t, err)
			t.Cleanup(func() { _ = tx.Rollback(context.Background()) })
			done := func() { _ = tx.Rollback(context.Background()) }
			w := build(tx)
			if c.setup != nil {
				c.setup(tx, &w)
			}
			sql, arg := c.delete(w)
			_, err = tx.Exec(ctx, sql, arg)
			switch c.action {
			case restrict:
				var pgErr *pgconn.PgError
				require.True(t, errors.As(err, &pgErr), "%s: %s was allowed (%v)", c.key, sql, err)
				require.Equal(t, "23503", pgErr.Code, "%s: %s", c.key, pgErr.Message)
				require.Equal(t, c.key, pgErr.ConstraintName, "%s: %s", c.key, pgErr.Message)
			default:
				require.NoError(t, err, "%s: %s", c.key, sql)
				q, arg := c.still(w)
				var n int
				require.NoError(t, tx.QueryRow(ctx, q, arg).Scan(&n))
				want := map[string]int{cascade: 0, setNull: 1}[c.action]
				require.Equal(t, want, n, "%s %s: %s", c.key, c.action, q)
			}
			done()
		}
	})
}

// fkWorld is one foreign-key case's rows.
type fkWorld struct{ org, chapter, coordinator, mentor, other, template, activity, status uuid.UUID }

func delOrg(w fkWorld) (string, uuid.UUID) { return `DELETE FROM organizations WHERE id = $1`, w.org }

func delUser(who func(fkWorld) uuid.UUID) func(fkWorld) (string, uuid.UUID) {
	return func(w fkWorld) (string, uuid.UUID) { return `DELETE FROM auth.users WHERE id = $1`, who(w) }
}

func fkExec(t *testing.T, ctx context.Context, tx pgx.Tx, sql string, args ...any) {
	t.Helper()
	if _, err := tx.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// nullable is id, or NULL for the zero UUID.
func nullable(id uuid.UUID) any {
	if id == uuid.Nil {
		return nil
	}
	return id
}
