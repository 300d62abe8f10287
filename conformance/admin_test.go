package conformance

import (
	"context"
	"regexp"
	"slices"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/pgtest"
	"github.com/mentordb/mentordb/db"
)

// adminTables fingerprints the four administered tables as the owner (which
// sees every row): equal fingerprints mean nothing was added, removed or
// changed.
func adminTables(t *testing.T, ctx context.Context, d *pgtest.DB) string {
	t.Helper()
	var s string
	require.NoError(t, d.Pool.QueryRow(ctx, `SELECT
		(SELECT coalesce(md5(string_agg(o::text, ',' ORDER BY o.id)), '') FROM organizations o) ||
		(SELECT coalesce(md5(string_agg(c::text, ',' ORDER BY c.id)), '') FROM chapters c) ||
		(SELECT coalesce(md5(string_agg(m::text, ',' ORDER BY m.org_id, m.user_id, m.role)), '') FROM org_members m) ||
		(SELECT coalesce(md5(string_agg(cm::text, ',' ORDER BY cm.chapter_id, cm.user_id)), '') FROM chapter_members cm)`).Scan(&s))
	return s
}

func testAdmin(t *testing.T) {
	t.Parallel()
	adminChapterCases(t)
	service := db.ServiceRole()

	t.Run("DB-ADM-1 service_role builds an org, a chapter and its memberships in one request, and the members see them through RLS", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		ctx := pgtest.Ctx(t)
		coord, mentor := d.NewUser(t), d.NewUser(t)
		var org db.Organization
		var chapter db.Chapter
		err := d.App.Do(ctx, service, func(r *db.Request) error {
			a := r.Admin()
			var err error
			if org, err = a.CreateOrganization(ctx, "Blue Cross Oslo"); err != nil {
				return err
			}
			if chapter, err = a.CreateChapter(ctx, org.ID, "Grünerløkka"); err != nil {
				return err
			}
			for _, m := range []struct {
				user uuid.UUID
				role db.MemberRole
			}{{coord, db.RoleCoordinator}, {mentor, db.RolePeerMentor}} {
				if _, err := a.AddMember(ctx, org.ID, m.user, m.role); err != nil {
					return err
				}
				if _, err := a.AddChapterMember(ctx, chapter.ID, m.user); err != nil {
					return err
				}
			}
			return nil
		})
		require.NoError(t, err)
		require.Equal(t, "Blue Cross Oslo", org.Name)
		require.Equal(t, org.ID, chapter.OrgID)

		// What the admin calls wrote is what the policies read.
		roster, err := d.App.Admin().Members(ctx, db.User(coord, org.ID), org.ID)
		require.NoError(t, err)
		require.Equal(t, []db.MemberRole{db.RoleCoordinator, db.RolePeerMentor}, rolesOf(roster, coord, mentor))
		own, err := d.App.Admin().Members(ctx, db.User(mentor, org.ID), org.ID)
		require.NoError(t, err)
		require.Len(t, own, 1, "a peer mentor sees only their own membership")
		require.Equal(t, mentor, own[0].UserID)
		inChapter, err := d.App.Admin().ChapterMembers(ctx, db.User(coord, org.ID), chapter.ID)
		require.NoError(t, err)
		require.Len(t, inChapter, 2)
		require.Equal(t, org.ID, inChapter[0].OrgID, "the chapter membership carries the chapter's org")
		_, err = d.App.Admin().Members(ctx, db.User(d.NewUser(t), uuid.Nil), org.ID)
		require.ErrorIs(t, err, db.ErrNotFound, "a user of no org sees neither the org nor its roster")
	})

	t.Run("DB-ADM-1 the one-call forms add and remove memberships, and the role constants are exactly those org_members accepts", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		ctx := pgtest.Ctx(t)
		adm := d.App.Admin()
		org, err := adm.CreateOrganization(ctx, service, "org")
		require.NoError(t, err)
		chapter, err := adm.CreateChapter(ctx, service, org.ID, "chapter")
		require.NoError(t, err)
		user := d.NewUser(t)
		for _, role := range db.MemberRoles() {
			m, err := adm.AddMember(ctx, service, org.ID, user, role)
			require.NoError(t, err, role)
			require.Equal(t, db.Membership{OrgID: org.ID, UserID: user, Role: role, CreatedAt: m.CreatedAt}, m)
		}
		_, err = adm.AddChapterMember(ctx, service, chapter.ID, user)
		require.NoError(t, err)
		members, err := adm.Members(ctx, service, org.ID)
		require.NoError(t, err)
		require.Len(t, members, len(db.MemberRoles()))

		for _, role := range db.MemberRoles() {
			require.NoError(t, adm.RemoveMember(ctx, service, org.ID, user, role), role)
		}
		require.NoError(t, adm.RemoveChapterMember(ctx, service, chapter.ID, user))
		members, err = adm.Members(ctx, service, org.ID)
		require.NoError(t, err)
		require.Empty(t, members)
		inChapter, err := adm.ChapterMembers(ctx, service, chapter.ID)
		require.NoError(t, err)
		require.Empty(t, inChapter)

		// The CHECK's list of roles, read from the catalog, is MemberRoles.
		var def string
		require.NoError(t, d.Pool.QueryRow(ctx, `SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = $1`,
			db.ConstraintOrgMembersRoleCheck).Scan(&def))
		var inCheck []string
		for _, m := range regexp.MustCompile(`'([a-z_]+)'`).FindAllStringSubmatch(def, -1) {
			inCheck = append(inCheck, m[1])
		}
		var ours []string
		for _, r := range db.MemberRoles() {
			ours = append(ours, string(r))
		}
		slices.Sort(inCheck)
		slices.Sort(ours)
		require.Equal(t, inCheck, ours, def)
	})

	t.Run("DB-ADM-1 every admin call on a missing org, chapter or user, or with bad input, is a typed error and changes nothing", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		ctx := pgtest.Ctx(t)
		adm := d.App.Admin()
		org := d.NewOrg(t)
		chapter := d.NewChapter(t, org)
		member := d.NewMember(t, org, db.RolePeerMentor, chapter)
		outsider := d.NewUser(t)
		missing := uuid.New()

		cases := []struct {
			name       string
			call       func() error
			kind       error
			class      error
			constraint db.Constraint
		}{
			{"chapter of a missing org", func() error { _, err := adm.CreateChapter(ctx, service, missing, "c"); return err },
				db.ErrForeignKey, db.ErrForeignKey, db.ConstraintChaptersOrgIDFkey},
			{"blank org name", func() error { _, err := adm.CreateOrganization(ctx, service, "  "); return err },
				db.ErrCheck, db.ErrCheck, db.ConstraintOrganizationsNameCheck},
			{"blank chapter name", func() error { _, err := adm.CreateChapter(ctx, service, org, ""); return err },
				db.ErrCheck, db.ErrCheck, db.ConstraintChaptersNameCheck},
			{"member of a missing org", func() error { _, err := adm.AddMember(ctx, service, missing, outsider, db.RolePeerMentor); return err },
				db.ErrForeignKey, db.ErrForeignKey, db.ConstraintOrgMembersOrgIDFkey},
			{"missing user as member", func() error { _, err := adm.AddMember(ctx, service, org, missing, db.RolePeerMentor); return err },
				db.ErrForeignKey, db.ErrForeignKey, db.ConstraintOrgMembersUserIDFkey},
			{"unknown role", func() error { _, err := adm.AddMember(ctx, service, org, outsider, db.MemberRole("boss")); return err },
				db.ErrUnknownRole, db.ErrCheck, db.ConstraintOrgMembersRoleCheck},
			{"role already held", func() error { _, err := adm.AddMember(ctx, service, org, member, db.RolePeerMentor); return err },
				db.ErrAlreadyMember, db.ErrUnique, db.ConstraintOrgMembersPkey},
			{"remove from a missing org", func() error { return adm.RemoveMember(ctx, service, missing, member, db.RolePeerMentor) },
				db.ErrNotFound, db.ErrNotFound, ""},
			{"remove a missing user", func() error { return adm.RemoveMember(ctx, service, org, missing, db.RolePeerMentor) },
				db.ErrNotFound, db.ErrNotFound, ""},
			{"remove a role not held", func() error { return adm.RemoveMember(ctx, service, org, member, db.RoleCoordinator) },
				db.ErrNotFound, db.ErrNotFound, ""},
			{"join a missing chapter", func() error { _, err := adm.AddChapterMember(ctx, service, missing, outsider); return err },
				db.ErrNotFound, db.ErrNotFound, ""},
			{"missing user joins a chapter", func() error { _, err := adm.AddChapterMember(ctx, service, chapter, missing); return err },
				db.ErrForeignKey, db.ErrForeignKey, db.ConstraintChapterMembersUserIDFkey},
			{"already in the chapter", func() error { _, err := adm.AddChapterMember(ctx, service, chapter, member); return err },
				db.ErrAlreadyMember, db.ErrUnique, db.ConstraintChapterMembersPkey},
			{"leave a missing chapter", func() error { return adm.RemoveChapterMember(ctx, service, missing, member) },
				db.ErrNotFound, db.ErrNotFound, ""},
			{"leave a chapter one is not in", func() error { return adm.RemoveChapterMember(ctx, service, chapter, outsider) },
				db.ErrNotFound, db.ErrNotFound, ""},
			{"members of a missing org", func() error { _, err := adm.Members(ctx, service, missing); return err },
				db.ErrNotFound, db.ErrNotFound, ""},
			{"members of a missing chapter", func() error { _, err := adm.ChapterMembers(ctx, service, missing); return err },
				db.ErrNotFound, db.ErrNotFound, ""},
		}
		before := adminTables(t, ctx, d)
		for _, c := range cases {
			err := c.call()
			require.ErrorIs(t, err, c.kind, c.name)
			require.ErrorIs(t, err, c.class, c.name)
			var e *db.Error
			require.ErrorAs(t, err, &e, c.name)
			require.Equal(t, c.constraint, e.Constraint, c.name)
			require.Equal(t, before, adminTables(t, ctx, d), "%s changed the tables", c.name)
		}

		// In a composed request, a failed call rolls back the calls before it.
		err := d.App.Do(ctx, service, func(r *db.Request) error {
			if _, err := r.Admin().CreateOrganization(ctx, "kept only if all succeed"); err != nil {
				return err
			}
			_, err := r.Admin().AddMember(ctx, missing, outsider, db.RoleCoordinator)
			return err
		})
		require.ErrorIs(t, err, db.ErrForeignKey)
		require.Equal(t, before, adminTables(t, ctx, d))
	})

	t.Run("DB-ADM-1 callers other than service_role, an org admin of the org included, are refused every admin write and change nothing", func(t *testing.T) {
		t.Parallel()
		d := pgtest.New(t)
		ctx := pgtest.Ctx(t)
		adm := d.App.Admin()
		org := d.NewOrg(t)
		chapter := d.NewChapter(t, org)
		admin := d.NewMember(t, org, db.RoleOrgAdmin)
		coord := d.NewMember(t, org, db.RoleCoordinator, chapter)
		user := d.NewUser(t)
		before := adminTables(t, ctx, d)
		for _, claims := range []db.Claims{db.User(admin, org), db.User(coord, org), db.User(user, uuid.Nil), db.Anon()} {
			calls := map[string]func() error{
				"create org":     func() error { _, err := adm.CreateOrganization(ctx, claims, "x"); return err },
				"create chapter": func() error { _, err := adm.CreateChapter(ctx, claims, org, "x"); return err },
				"add member":     func() error { _, err := adm.AddMember(ctx, claims, org, user, db.RoleCoordinator); return err },
				"add to chapter": func() error { _, err := adm.AddChapterMember(ctx, claims, chapter, user); return err },
				"remove member":  func() error { return adm.RemoveMember(ctx, claims, org, coord, db.RoleCoordinator) },
				"leave chapter":  func() error { return adm.RemoveChapterMember(ctx, claims, chapter, coord) },
			}
			for name, call := range calls {
				err := call()
				require.ErrorIs(t, err, db.ErrNotPermitted, "%s as %s", name, claims.Role)
				require.Equal(t, before, adminTables(t, ctx, d), "%s as %s", name, claims.Role)
			}
		}
	})
}

// rolesOf returns the roles of users in memberships, in the order of users.
func rolesOf(ms []db.Membership, users ...uuid.UUID) []db.MemberRole {
	var out []db.MemberRole
	for _, u := range users {
		for _, m := range ms {
			if m.UserID == u {
				out = append(out, m.Role)
			}
		}
	}
	return out
}
