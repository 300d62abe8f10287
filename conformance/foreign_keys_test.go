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
		// move is the one way a log row comes to name an org or mentor that
		// no status row names, which is what the log's own keys need to be
		// observed: while a status row names them too, its key refuses the
		// delete as well, and which of the two the error names follows the
		// order their triggers fire in. Only the owner can move a status row
		// (no API role may update org_id or peer_mentor_id); the move is
		// made in the UPDATE that resumes the mentor, so it is logged under
		// the new value and the pause's log row keeps the old one.
		move := func(tx pgx.Tx, w *fkWorld, column string, from, to uuid.UUID) {
			fkExec(t, ctx, tx, `UPDATE peer_mentor_status SET status = 'active', `+column+` = $2 WHERE id = $1`, w.status, to)
			var statusRows, logRows int
			require.NoError(t, tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM peer_mentor_status WHERE `+column+` = $1),
				(SELECT count(*) FROM peer_mentor_status_log WHERE `+column+` = $1)`, from).Scan(&statusRows, &logRows))
			require.Equal(t, []int{0, 1}, []int{statusRows, logRows}, "only the pause's log row names %s %s", column, from)
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
			{"peer_mentor_status_log_org_id_fkey", restrict, func(tx pgx.Tx, w *fkWorld) {
				pause(tx, w, w.coordinator, "paused")
				elsewhere := uuid.New()
				fkExec(t, ctx, tx, `INSERT INTO organizations (id, name) VALUES ($1, 'fk other org')`, elsewhere)
				move(tx, w, "org_id", w.org, elsewhere)
			}, delOrg, nil},
			{"peer_mentor_status_log_peer_mentor_id_fkey", restrict, func(tx pgx.Tx, w *fkWorld) {
				pause(tx, w, w.coordinator, "paused")
				move(tx, w, "peer_mentor_id", w.mentor, w.other)
			}, delUser(func(w fkWorld) uuid.UUID { return w.mentor }), nil},
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

	// Deleting a template meets two keys, proxy_activities_template_id_fkey
	// and proxy_activities_template_same_org_fkey, each SET NULL of
	// template_id (and only of it). PostgreSQL fires them in the order of
	// their triggers' names, RI_ConstraintTrigger_a_<oid>, so which acts
	// first follows the OIDs the keys happened to get (a key re-created
	// later may sort on either side), and once one has acted the other finds
	// no row. So each must keep the activity on its own: here the other
	// key's delete trigger is disabled (a superuser's DDL, rolled back with
	// the transaction) before the template is deleted.
	t.Run("PA-FK-2 each of the two template keys on its own sets template_id to NULL and keeps the activity and its org, whichever fires first", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		ctx := pgtest.Ctx(t)
		org := d.NewOrg(t)
		chapter := d.NewChapter(t, org)
		coordinator := d.NewMember(t, org, "coordinator", chapter)
		mentor := d.NewMember(t, org, "peer_mentor", chapter)
		keys := []string{"proxy_activities_template_id_fkey", "proxy_activities_template_same_org_fkey"}
		for i, alone := range keys {
			tx, err := d.Pool.Begin(ctx)
			require.NoError(t, err)
			t.Cleanup(func() { _ = tx.Rollback(context.Background()) })
			var template, activity uuid.UUID
			require.NoError(t, tx.QueryRow(ctx, `INSERT INTO recurring_activity_templates (org_id, created_by, activity_type, title)
				VALUES ($1, $2, 'visit', 'fk') RETURNING id`, org, coordinator).Scan(&template))
			require.NoError(t, tx.QueryRow(ctx, `INSERT INTO proxy_activities (coordinator_id, attributed_mentor_id, org_id, activity_type, date, duration_minutes, template_id)
				VALUES ($1, $2, $3, 'visit', $4, 30, $5) RETURNING id`, coordinator, mentor, org, proxyDay, template).Scan(&activity))
			// tgtype bit 8: the trigger fires on DELETE (the key's other
			// trigger on the template fires on UPDATE).
			rows, err := tx.Query(ctx, `SELECT t.tgname::text FROM pg_trigger t JOIN pg_constraint c ON c.oid = t.tgconstraint
				WHERE c.conname = $1 AND c.conrelid = 'public.proxy_activities'::regclass
					AND t.tgrelid = 'public.recurring_activity_templates'::regclass AND t.tgtype & 8 <> 0`, keys[1-i])
			require.NoError(t, err)
			triggers, err := pgx.CollectRows(rows, pgx.RowTo[string])
			require.NoError(t, err)
			require.Len(t, triggers, 1, "the delete trigger of %s", keys[1-i])
			fkExec(t, ctx, tx, `ALTER TABLE public.recurring_activity_templates DISABLE TRIGGER `+pgx.Identifier{triggers[0]}.Sanitize())

			_, err = tx.Exec(ctx, `DELETE FROM recurring_activity_templates WHERE id = $1`, template)
			require.NoError(t, err, "%s alone: the template can be deleted", alone)
			var templateID *uuid.UUID
			var orgID uuid.UUID
			err = tx.QueryRow(ctx, `SELECT template_id, org_id FROM proxy_activities WHERE id = $1`, activity).Scan(&templateID, &orgID)
			require.NoError(t, err, "%s alone: the activity is kept", alone)
			require.Nil(t, templateID, "%s alone: template_id is cleared", alone)
			require.Equal(t, org, orgID, "%s alone: org_id is kept", alone)
			_ = tx.Rollback(context.Background())
		}
	})

	// Deleting an organization meets every key that refers to it. A
	// chapter_members row always has a chapter of its org
	// (chapter_members_chapter_org_fkey), so chapters_org_id_fkey (RESTRICT)
	// refuses that delete too, and whether chapter_members_org_id_fkey acts
	// before the refusal follows the names of their triggers,
	// RI_ConstraintTrigger_a_<oid>: the string order of OIDs, which flips
	// when a key is re-created or the OIDs gain a digit. So this key's own
	// action is observed on its own: every other key's delete trigger on
	// organizations is disabled (a superuser's DDL, rolled back with the
	// transaction) before the org is deleted.
	t.Run("PA-FK-1 chapter_members_org_id_fkey on its own cascades an org's delete to that org's chapter members and no others, whichever key fires first", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		ctx := pgtest.Ctx(t)
		const key = "chapter_members_org_id_fkey"
		org := d.NewOrg(t)
		chapter := d.NewChapter(t, org)
		d.NewMember(t, org, "coordinator", chapter)
		d.NewMember(t, org, "peer_mentor", chapter)
		other := d.NewOrg(t)
		d.NewMember(t, other, "peer_mentor", d.NewChapter(t, other))

		tx, err := d.Pool.Begin(ctx)
		require.NoError(t, err)
		t.Cleanup(func() { _ = tx.Rollback(context.Background()) })
		// count answers the five counts the delete is judged by: the org,
		// its chapter members, its chapter and its memberships, then the
		// other org's chapter members.
		count := func() []int {
			var n [5]int
			require.NoError(t, tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM organizations WHERE id = $1),
				(SELECT count(*) FROM chapter_members WHERE org_id = $1),
				(SELECT count(*) FROM chapters WHERE org_id = $1),
				(SELECT count(*) FROM org_members WHERE org_id = $1),
				(SELECT count(*) FROM chapter_members WHERE org_id = $2)`, org, other).Scan(&n[0], &n[1], &n[2], &n[3], &n[4]))
			return n[:]
		}
		require.Equal(t, []int{1, 2, 1, 2, 1}, count(), "before the delete: the org, 2 chapter members, its chapter, 2 memberships; 1 chapter member of the other org")

		// tgtype bit 8: the trigger fires on DELETE (each key's other
		// trigger on organizations fires on UPDATE).
		rows, err := tx.Query(ctx, `SELECT c.conname::text, t.tgname::text FROM pg_trigger t JOIN pg_constraint c ON c.oid = t.tgconstraint
			WHERE c.contype = 'f' AND c.confrelid = 'public.organizations'::regclass
				AND t.tgrelid = 'public.organizations'::regclass AND t.tgtype & 8 <> 0
			ORDER BY c.conname`)
		require.NoError(t, err)
		type trigger struct{ Key, Name string }
		triggers, err := pgx.CollectRows(rows, pgx.RowToStructByPos[trigger])
		require.NoError(t, err)
		var own int
		var disabled []string
		for _, tr := range triggers {
			if tr.Key == key {
				own++
				continue
			}
			disabled = append(disabled, tr.Key)
			fkExec(t, ctx, tx, `ALTER TABLE public.organizations DISABLE TRIGGER `+pgx.Identifier{tr.Name}.Sanitize())
		}
		require.Equal(t, 1, own, "the delete trigger of %s", key)
		require.Contains(t, disabled, "chapters_org_id_fkey", "the key that refuses the delete is disabled")

		_, err = tx.Exec(ctx, `DELETE FROM organizations WHERE id = $1`, org)
		require.NoError(t, err, "%s alone: the org can be deleted", key)
		require.Equal(t, []int{0, 0, 1, 2, 1}, count(),
			"%s alone: the org and its chapter members go; its chapter and memberships (their keys disabled) and the other org's chapter member stay", key)
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
