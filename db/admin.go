package db

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/mentordb/mentordb/gen"
)

// Administration of organisations, chapters and memberships. The tables grant
// writes to service_role only (signed-in users read their own orgs), so these
// calls succeed in a request with ServiceRole claims; any other caller gets
// ErrNotPermitted and nothing changes.

// MemberRole is a role a user holds in an organisation (org_members.role).
// Policies grant by these roles; a user may hold several in one org.
type MemberRole string

const (
	// RoleCoordinator registers activities on peer mentors' behalf and reads
	// the org's roster and reports.
	RoleCoordinator MemberRole = "coordinator"
	// RolePeerMentor is who activities are attributed to and who pauses.
	RolePeerMentor MemberRole = "peer_mentor"
	// RoleOrgAdmin reads the org's roster.
	RoleOrgAdmin MemberRole = "org_admin"
)

// MemberRoles are every role org_members accepts (its CHECK constraint).
func MemberRoles() []MemberRole { return []MemberRole{RoleCoordinator, RolePeerMentor, RoleOrgAdmin} }

// Sentinels of the admin calls; each is also matched by its class.
var (
	// ErrUnknownRole: a role that is not one of MemberRoles (class ErrCheck).
	ErrUnknownRole = errors.New("db: unknown member role")
	// ErrAlreadyMember: the user already holds that role in the org, or is
	// already in the chapter (class ErrUnique).
	ErrAlreadyMember = errors.New("db: already a member")
)

// Organization is an organisation.
type Organization struct {
	ID        uuid.UUID
	Name      string
	CreatedAt time.Time
}

// Chapter is a chapter of an organisation.
type Chapter struct {
	ID        uuid.UUID
	OrgID     uuid.UUID
	Name      string
	CreatedAt time.Time
}

// Membership is one role of a user in an organisation.
type Membership struct {
	OrgID     uuid.UUID
	UserID    uuid.UUID
	Role      MemberRole
	CreatedAt time.Time
}

// ChapterMembership is a user's membership of a chapter.
type ChapterMembership struct {
	ChapterID uuid.UUID
	OrgID     uuid.UUID
	UserID    uuid.UUID
	CreatedAt time.Time
}

// Admin is the administration repository bound to a request
// (Request.Admin): every call acts as the request's caller, in its
// transaction. Errors come back interpreted; after one, the transaction is
// aborted and the request must end with it.
type Admin struct{ r *Request }

// Admin returns the administration repository bound to r.
func (r *Request) Admin() Admin { return Admin{r: r} }

// CreateOrganization creates an organisation. A blank name is ErrCheck
// (ConstraintOrganizationsNameCheck).
func (a Admin) CreateOrganization(ctx context.Context, name string) (Organization, error) {
	row, err := queries.CreateOrganization(ctx, a.r.tx, name)
	if err != nil {
		return Organization{}, interpretError(err)
	}
	return Organization{ID: row.ID, Name: row.Name, CreatedAt: row.CreatedAt}, nil
}

// CreateChapter creates a chapter of org. An unknown org is ErrForeignKey
// (ConstraintChaptersOrgIDFkey); a blank name is ErrCheck.
func (a Admin) CreateChapter(ctx context.Context, orgID uuid.UUID, name string) (Chapter, error) {
	row, err := queries.CreateChapter(ctx, a.r.tx, gen.CreateChapterParams{OrgID: orgID, Name: name})
	if err != nil {
		return Chapter{}, interpretError(err)
	}
	return chapterFromGen(row), nil
}

// AddMember gives user role in org. Errors: ErrUnknownRole, ErrAlreadyMember,
// ErrForeignKey for an unknown org (ConstraintOrgMembersOrgIDFkey) or user
// (ConstraintOrgMembersUserIDFkey).
func (a Admin) AddMember(ctx context.Context, orgID, userID uuid.UUID, role MemberRole) (Membership, error) {
	row, err := queries.AddOrgMember(ctx, a.r.tx, gen.AddOrgMemberParams{OrgID: orgID, UserID: userID, Role: string(role)})
	if err != nil {
		return Membership{}, interpretError(err)
	}
	return membershipFromGen(row), nil
}

// RemoveMember takes role in org away from user. ErrNotFound when the user
// does not hold it (or the org or user does not exist). Chapter memberships
// are left as they are: remove them with RemoveChapterMember.
func (a Admin) RemoveMember(ctx context.Context, orgID, userID uuid.UUID, role MemberRole) error {
	n, err := queries.RemoveOrgMember(ctx, a.r.tx, gen.RemoveOrgMemberParams{OrgID: orgID, UserID: userID, Role: string(role)})
	if err != nil {
		return interpretError(err)
	}
	if n == 0 {
		return notFound(fmt.Sprintf("user %s does not hold role %s in organization %s", userID, role, orgID))
	}
	return nil
}

// AddChapterMember puts user in chapter; the chapter's org is taken from the
// chapter. ErrNotFound for an unknown chapter, ErrForeignKey for an unknown
// user (ConstraintChapterMembersUserIDFkey), ErrAlreadyMember.
func (a Admin) AddChapterMember(ctx context.Context, chapterID, userID uuid.UUID) (ChapterMembership, error) {
	row, err := queries.AddChapterMember(ctx, a.r.tx, gen.AddChapterMemberParams{ChapterID: chapterID, UserID: userID})
	if errors.Is(err, pgx.ErrNoRows) {
		return ChapterMembership{}, notFound(fmt.Sprintf("no chapter %s", chapterID))
	}
	if err != nil {
		return ChapterMembership{}, interpretError(err)
	}
	return chapterMembershipFromGen(row), nil
}

// RemoveChapterMember takes user out of chapter. ErrNotFound when the user is
// not in it (or the chapter or user does not exist).
func (a Admin) RemoveChapterMember(ctx context.Context, chapterID, userID uuid.UUID) error {
	n, err := queries.RemoveChapterMember(ctx, a.r.tx, gen.RemoveChapterMemberParams{ChapterID: chapterID, UserID: userID})
	if err != nil {
		return interpretError(err)
	}
	if n == 0 {
		return notFound(fmt.Sprintf("user %s is not in chapter %s", userID, chapterID))
	}
	return nil
}

// Members lists the memberships of org the caller can see (all of them for
// service_role), by user and role. ErrNotFound when the caller sees no such
// org (it does not exist, or they are not a member).
func (a Admin) Members(ctx context.Context, orgID uuid.UUID) ([]Membership, error) {
	rows, err := queries.ListOrgMembers(ctx, a.r.tx, orgID)
	return listOf(rows, err, membershipFromGen, fmt.Sprintf("no organization %s", orgID), func() error {
		_, err := queries.GetOrganization(ctx, a.r.tx, orgID)
		return err
	})
}

// ChapterMembers lists the members of chapter the caller can see, by user.
// ErrNotFound when the caller sees no such chapter.
func (a Admin) ChapterMembers(ctx context.Context, chapterID uuid.UUID) ([]ChapterMembership, error) {
	rows, err := queries.ListChapterMembers(ctx, a.r.tx, chapterID)
	return listOf(rows, err, chapterMembershipFromGen, fmt.Sprintf("no chapter %s", chapterID), func() error {
		_, err := queries.GetChapter(ctx, a.r.tx, chapterID)
		return err
	})
}

// listOf is a member list: the rows of a list query (and its error)
// converted, or ErrNotFound saying missing when there are none and the
// parent the list belongs to is not found either (parent reads it). Only an
// empty list needs telling apart from a missing parent, which costs one
// read more.
func listOf[R, T any](rows []R, err error, convert func(R) T, missing string, parent func() error) ([]T, error) {
	if err != nil {
		return nil, interpretError(err)
	}
	if len(rows) == 0 {
		if err := parent(); errors.Is(err, pgx.ErrNoRows) {
			return nil, notFound(missing)
		} else if err != nil {
			return nil, interpretError(err)
		}
	}
	return convertAll(rows, convert), nil
}

// AdminRepository is the one-call form of Admin: each method runs in a
// request of its own as the caller described by claims (ServiceRole() to
// administer). To combine calls in one transaction use Request.Admin in Do.
type AdminRepository struct{ db *DB }

// Admin returns the one-call administration repository of d.
func (d *DB) Admin() *AdminRepository { return &AdminRepository{db: d} }

// CreateOrganization is Admin.CreateOrganization in a request of its own.
func (p *AdminRepository) CreateOrganization(ctx context.Context, claims Claims, name string) (Organization, error) {
	return doOne(ctx, p.db, claims, pgx.ReadWrite, func(r *Request) (Organization, error) { return r.Admin().CreateOrganization(ctx, name) })
}

// CreateChapter is Admin.CreateChapter in a request of its own.
func (p *AdminRepository) CreateChapter(ctx context.Context, claims Claims, orgID uuid.UUID, name string) (Chapter, error) {
	return doOne(ctx, p.db, claims, pgx.ReadWrite, func(r *Request) (Chapter, error) { return r.Admin().CreateChapter(ctx, orgID, name) })
}

// AddMember is Admin.AddMember in a request of its own.
func (p *AdminRepository) AddMember(ctx context.Context, claims Claims, orgID, userID uuid.UUID, role MemberRole) (Membership, error) {
	return doOne(ctx, p.db, claims, pgx.ReadWrite, func(r *Request) (Membership, error) { return r.Admin().AddMember(ctx, orgID, userID, role) })
}

// RemoveMember is Admin.RemoveMember in a request of its own.
func (p *AdminRepository) RemoveMember(ctx context.Context, claims Claims, orgID, userID uuid.UUID, role MemberRole) error {
	_, err := doOne(ctx, p.db, claims, pgx.ReadWrite, func(r *Request) (struct{}, error) {
		return struct{}{}, r.Admin().RemoveMember(ctx, orgID, userID, role)
	})
	return err
}

// AddChapterMember is Admin.AddChapterMember in a request of its own.
func (p *AdminRepository) AddChapterMember(ctx context.Context, claims Claims, chapterID, userID uuid.UUID) (ChapterMembership, error) {
	return doOne(ctx, p.db, claims, pgx.ReadWrite, func(r *Request) (ChapterMembership, error) {
		return r.Admin().AddChapterMember(ctx, chapterID, userID)
	})
}

// RemoveChapterMember is Admin.RemoveChapterMember in a request of its own.
func (p *AdminRepository) RemoveChapterMember(ctx context.Context, claims Claims, chapterID, userID uuid.UUID) error {
	_, err := doOne(ctx, p.db, claims, pgx.ReadWrite, func(r *Request) (struct{}, error) {
		return struct{}{}, r.Admin().RemoveChapterMember(ctx, chapterID, userID)
	})
	return err
}

// Members is Admin.Members in a read-only request of its own.
func (p *AdminRepository) Members(ctx context.Context, claims Claims, orgID uuid.UUID) ([]Membership, error) {
	return doOne(ctx, p.db, claims, pgx.ReadOnly, func(r *Request) ([]Membership, error) { return r.Admin().Members(ctx, orgID) })
}

// ChapterMembers is Admin.ChapterMembers in a read-only request of its own.
func (p *AdminRepository) ChapterMembers(ctx context.Context, claims Claims, chapterID uuid.UUID) ([]ChapterMembership, error) {
	return doOne(ctx, p.db, claims, pgx.ReadOnly, func(r *Request) ([]ChapterMembership, error) {
		return r.Admin().ChapterMembers(ctx, chapterID)
	})
}

// notFound is ErrNotFound for a row a call needed and did not find.
func notFound(msg string) error {
	return &Error{Kind: ErrNotFound, Class: ErrNotFound, Message: msg}
}

func chapterFromGen(row gen.Chapter) Chapter {
	return Chapter{ID: row.ID, OrgID: row.OrgID, Name: row.Name, CreatedAt: row.CreatedAt}
}

func membershipFromGen(row gen.OrgMember) Membership {
	return Membership{OrgID: row.OrgID, UserID: row.UserID, Role: MemberRole(row.Role), CreatedAt: row.CreatedAt}
}

func chapterMembershipFromGen(row gen.ChapterMember) ChapterMembership {
	return ChapterMembership{ChapterID: row.ChapterID, OrgID: row.OrgID, UserID: row.UserID, CreatedAt: row.CreatedAt}
}
