package db

import (
	"errors"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
)

// requireTyped checks that err is an *Error with exactly kind and class.
func requireTyped(t *testing.T, err error, kind, class error) *Error {
	t.Helper()
	var e *Error
	require.True(t, errors.As(err, &e), "%v is a *db.Error", err)
	require.Equal(t, kind, e.Kind)
	require.Equal(t, class, e.Class)
	require.ErrorIs(t, err, kind)
	require.ErrorIs(t, err, class)
	return e
}

func TestPauseErrorsHaveKindAndClass(t *testing.T) {
	t.Parallel()
	// What the pause functions and triggers raise (see the migrations'
	// table of codes), and what the pause tables' declarative constraints
	// report.
	cases := []struct {
		code, constraint string
		kind, class      error
	}{
		{SQLStateOrgMismatch, ConstraintPauseOrgMismatch, ErrOrgMismatch, ErrCheck},
		{SQLStateInvalidTransition, ConstraintPauseTransition, ErrInvalidTransition, ErrCheck},
		{"23514", ConstraintPauseLogChangeCheck, ErrInvalidTransition, ErrCheck},
		{SQLStateUnknownMentor, ConstraintPauseUnknownMentor, ErrUnknownMentor, ErrNotFound},
		{SQLStateMissingOrgClaim, ConstraintPauseOrgClaim, ErrInvalidClaims, ErrInvalidInput},
		{SQLStateLogImmutable, ConstraintPauseLogImmutable, ErrImmutable, ErrNotPermitted},
		{SQLStateNotPermitted, ConstraintPauseNotPermitted, ErrNotPermitted, ErrNotPermitted},
		{SQLStateNotPermitted, ConstraintPauseLogDirectInsert, ErrNotPermitted, ErrNotPermitted},
		{"23514", ConstraintPauseStatusCheck, ErrCheck, ErrCheck},
		{"23505", ConstraintPauseMentorOrgKey, ErrUnique, ErrUnique},
		{"23503", ConstraintPauseMentorFkey, ErrForeignKey, ErrForeignKey},
	}
	for _, c := range cases {
		t.Run(c.constraint, func(t *testing.T) {
			t.Parallel()
			e := requireTyped(t, interpretError(&pgconn.PgError{Code: c.code, ConstraintName: c.constraint, Message: "m"}), c.kind, c.class)
			require.Equal(t, c.code, e.Code)
			require.Equal(t, c.constraint, e.Constraint)
		})
	}
}

func TestNotFoundHasClass(t *testing.T) {
	t.Parallel()
	e := requireTyped(t, interpretError(pgx.ErrNoRows), ErrNotFound, ErrNotFound)
	require.ErrorIs(t, e, pgx.ErrNoRows, "the cause stays reachable")
}

func TestInvalidClaimsAreTypedBeforeTheDatabase(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]Claims{
		"role outside the API roles":  {Role: "postgres"},
		"no role":                     {},
		"authenticated without sub":   {Role: RoleAuthenticated},
		"metadata that is not JSON":   {Role: RoleServiceRole, UserMetadata: map[string]any{"f": func() {}}},
		"service_role in other case":  {Role: "Service_Role"},
		"authenticated with nil user": User(uuid.Nil, uuid.New()),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			raw, err := c.encode()
			require.Empty(t, raw)
			e := requireTyped(t, err, ErrInvalidClaims, ErrInvalidInput)
			require.Empty(t, e.Code, "refused before the database: no SQLSTATE")
			require.Equal(t, err, interpretError(err), "passes interpretError unchanged")
		})
	}
	for _, c := range []Claims{Anon(), ServiceRole(), User(uuid.New(), uuid.Nil), User(uuid.New(), uuid.New())} {
		raw, err := c.encode()
		require.NoError(t, err, c.Role)
		require.Contains(t, raw, `"role":"`+c.Role+`"`)
	}
}
