package constraintgen

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRaises(t *testing.T) {
	body := `
DECLARE
  v text := 'a;b';  -- a semicolon in a string and RAISE in a comment
BEGIN
  /* RAISE EXCEPTION 'commented out' USING CONSTRAINT = 'nope'; */
  RAISE NOTICE 'only a notice %', v;
  IF NEW.x THEN
    RAISE EXCEPTION 'x; uses CONSTRAINT = ''fake''' USING ERRCODE = 'MD002', CONSTRAINT = 'named_one';
  ELSIF NEW.y THEN RAISE EXCEPTION 'trigger %', TG_NAME
      USING ERRCODE = '23514', CONSTRAINT = TG_NAME, TABLE = 'tbl';
  ELSE
    RAISE SQLSTATE 'MD004' USING MESSAGE = 'no name';
  END IF;
  RAISE EXCEPTION 'default code' USING CONSTRAINT = 'default_code';
EXCEPTION WHEN others THEN
  RAISE;
END`
	got, err := raises(body)
	require.NoError(t, err)
	require.Equal(t, []raise{
		{Code: "MD002", Name: "named_one"},
		{Code: "23514", NameIsTrigger: true},
		{Code: "MD004"},
		{Code: "P0001", Name: "default_code"},
	}, got)
}

func TestRaisesRefusesWhatItCannotRead(t *testing.T) {
	for body, want := range map[string]string{
		`BEGIN RAISE EXCEPTION 'x' USING CONSTRAINT = v_name; END`:          "CONSTRAINT = v_name",
		`BEGIN RAISE EXCEPTION 'x' USING ERRCODE = v_code; END`:             "ERRCODE = v_code",
		`BEGIN RAISE EXCEPTION 'x' USING ERRCODE = 'check_violation'; END`:  "five-character SQLSTATE",
		`BEGIN RAISE unique_violation USING MESSAGE = 'dup'; END`:           "not a condition name",
		`BEGIN IF a THEN RAISE EXCEPTION division_by_zero; END IF; END`:     "not a condition name",
		`BEGIN RAISE EXCEPTION 'x' USING CONSTRAINT = 'a' || 'b'; END`:      "literal or TG_NAME",
		`BEGIN RAISE EXCEPTION 'x' USING CONSTRAINT = format('%s', 1); END`: "literal or TG_NAME",
	} {
		_, err := raises(body)
		require.Error(t, err, body)
		require.Contains(t, err.Error(), want, body)
	}
}

func TestGoName(t *testing.T) {
	for in, want := range map[string]string{
		"org_members_user_id_fkey":            "ConstraintOrgMembersUserIDFkey",
		"proxy_audit_log_immutable":           "ConstraintProxyAuditLogImmutable",
		"recurring_activity_templates_pkey":   "ConstraintRecurringActivityTemplatesPkey",
		"chapters_id_org_id_key":              "ConstraintChaptersIDOrgIDKey",
		"peer_mentor_status_log_change_check": "ConstraintPeerMentorStatusLogChangeCheck",
	} {
		require.Equal(t, want, GoName(in))
	}
}

func TestRenderRefusesTwoNamesWithOneGoName(t *testing.T) {
	_, err := Render(&Catalog{Names: []Name{{Name: "a_b"}, {Name: "a__b"}}})
	require.Error(t, err)
	require.True(t, strings.Contains(err.Error(), "ConstraintAB"), err)
}
