package db

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Input bounds (migration 20261201000000_input_bounds). Every text a caller
// writes has an upper bound, dates lie in a window and durations have a
// maximum, enforced by named CHECK constraints whoever writes; the limits and
// their reasons are documented beside each constraint in the migration. The
// repositories check the same bounds before they touch the database, so a
// caller gets the typed error without a round trip; the database remains
// the authority (its clock decides "today").

// Limits, in characters (what a user sees in a form), as in the migration.
const (
	MaxActivityTypeLength   = 100
	MaxNotesLength          = 4000
	MaxTemplateTitleLength  = 200
	MaxRecurrenceRuleLength = 500
	MaxPauseReasonLength    = 1000
	// MaxDurationMinutes is 24 hours: one activity per occasion and day.
	MaxDurationMinutes = 1440
	// MaxReturnDays: an expected return date is at most this many days after
	// the (UTC) day of the pause, and not before it.
	MaxReturnDays = 730
)

// EarliestActivityDate is the first date an activity may have; the last is
// one year after today (UTC).
var EarliestActivityDate = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// Sentinels of the bounds. Each is also ErrCheck (its class).
var (
	// ErrTooLong: a text is longer than its bound (Constraint says which).
	ErrTooLong = errors.New("db: text longer than its limit")
	// ErrBlankActivityType: an activity's or template's type is empty or
	// only spaces.
	ErrBlankActivityType = errors.New("db: activity type is blank")
	// ErrDateOutOfRange: an activity date before EarliestActivityDate or
	// more than a year ahead.
	ErrDateOutOfRange = errors.New("db: activity date outside the accepted window")
	// ErrDurationTooLong: a duration over MaxDurationMinutes.
	ErrDurationTooLong = errors.New("db: duration longer than 24 hours")
	// ErrCoordinatorNotInOrg: coordinator_id does not hold the coordinator
	// role in the activity's org (whoever writes, service_role included).
	ErrCoordinatorNotInOrg = errors.New("db: coordinator is not a coordinator of the organization")
	// ErrReturnDateOutOfRange: an expected return date before the day of the
	// pause or more than MaxReturnDays after it.
	ErrReturnDateOutOfRange = errors.New("db: expected return date outside the accepted window")
)

// boundError is the error of a repository pre-check: the same Kind, Class,
// Constraint and SQLSTATE the database would report.
func boundError(kind error, constraint Constraint, format string, args ...any) error {
	return &Error{Kind: kind, Class: ErrCheck, Constraint: constraint, Code: "23514", Message: fmt.Sprintf(format, args...)}
}

// checkLength checks a text a caller writes: first that PostgreSQL text
// can hold it (checkText), then its bound.
func checkLength(s string, limit int, constraint Constraint, what string) error {
	if err := checkText(s, what); err != nil {
		return err
	}
	if n := utf8.RuneCountInString(s); n > limit {
		return boundError(ErrTooLong, constraint, "%s has %d characters, more than %d", what, n, limit)
	}
	return nil
}

// checkText refuses what PostgreSQL text cannot hold: a NUL byte, or bytes
// that are not UTF-8 (the database's encoding). The database would refuse
// either with SQLSTATE 22021; the error is the one it would come back as.
func checkText(s, what string) error {
	if i := strings.IndexByte(s, 0); i >= 0 {
		return textError("%s holds a NUL byte (at byte %d)", what, i)
	}
	if !utf8.ValidString(s) {
		return textError("%s is not valid UTF-8", what)
	}
	return nil
}

func textError(format string, args ...any) error {
	return &Error{Kind: ErrInvalidText, Class: ErrInvalidInput, Code: "22021", Message: fmt.Sprintf(format, args...)}
}

// claimsText returns the encoded claims as the text of request.jwt.claims,
// or ErrInvalidClaims when their JSON holds a NUL or invalid UTF-8 anywhere
// (a key or a value, at any depth). auth.jwt() casts the claims to jsonb,
// which refuses "\u0000" (22P05), and a user can write one into their own
// user_metadata. encoding/json writes a NUL as the escape \u0000 and each
// byte that is not UTF-8 as the escape \ufffd (a U+FFFD of the text itself
// as that character), and passes a json.Marshaler's bytes through, so the
// encoding shows all three; an escaped U+FFFD from a json.Marshaler is
// refused with them.
func claimsText(raw []byte) (string, error) {
	problem := jsonTextProblem(raw)
	if problem == "" {
		return string(raw), nil
	}
	// Name the claim; only on this path is the JSON read again.
	claim := "claims"
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) == nil {
		for _, k := range []string{"sub", "role", "email", "user_metadata", "app_metadata"} {
			if jsonTextProblem(fields[k]) != "" {
				claim = "claim " + k
				break
			}
		}
	}
	return "", invalidClaims(fmt.Sprintf("the %s holds %s, which PostgreSQL text cannot", claim, problem))
}

// jsonTextProblem says what in a JSON encoding PostgreSQL text cannot hold
// (see claimsText), or "".
func jsonTextProblem(raw []byte) string {
	if !utf8.Valid(raw) {
		return "invalid UTF-8"
	}
	for i := bytes.IndexByte(raw, '\\'); i >= 0 && i+1 < len(raw); {
		i++ // the escaped character
		if raw[i] == 'u' && i+4 < len(raw) {
			switch string(raw[i+1 : i+5]) {
			case "0000":
				return "a NUL (\\u0000)"
			case "fffd", "FFFD":
				return "invalid UTF-8 (\\ufffd)"
			}
		}
		next := bytes.IndexByte(raw[i+1:], '\\')
		if next < 0 {
			break
		}
		i += 1 + next
	}
	return ""
}

// isBlank is the database's length(btrim(s)) = 0: btrim removes spaces only.
func isBlank(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != ' ' {
			return false
		}
	}
	return true
}

// checkActivityInput pre-checks an activity's bounds; now is this
// process's clock (within a day of the window's end the database decides).
func checkActivityInput(activityType string, date time.Time, minutes int, notes string, now time.Time) error {
	if isBlank(activityType) {
		return boundError(ErrBlankActivityType, ConstraintProxyActivitiesActivityTypeCheck, "activity_type is blank")
	}
	if err := checkLength(activityType, MaxActivityTypeLength, ConstraintProxyActivitiesActivityTypeLengthCheck, "activity_type"); err != nil {
		return err
	}
	if err := checkLength(notes, MaxNotesLength, ConstraintProxyActivitiesNotesLengthCheck, "notes"); err != nil {
		return err
	}
	if minutes > MaxDurationMinutes {
		return boundError(ErrDurationTooLong, ConstraintProxyActivitiesDurationMinutesMaxCheck, "duration_minutes %d is more than %d", minutes, MaxDurationMinutes)
	}
	d := proxyDate(date)
	// One day of tolerance past the last date: this clock and the
	// database's may disagree on "today", and the database decides.
	if last := proxyDate(now.UTC()).AddDate(1, 0, 1); d.Before(EarliestActivityDate) || d.After(last) {
		return boundError(ErrDateOutOfRange, ConstraintProxyActivitiesDateWindowCheck, "date %s is outside [%s, %s]",
			d.Format(time.DateOnly), EarliestActivityDate.Format(time.DateOnly), last.Format(time.DateOnly))
	}
	return nil
}

// checkTemplateInput pre-checks a template's bounds.
func checkTemplateInput(activityType, title, rule string, minutes int) error {
	if isBlank(activityType) {
		return boundError(ErrBlankActivityType, ConstraintRecurringActivityTemplatesActivityTypeCheck, "activity_type is blank")
	}
	for _, c := range []struct {
		s          string
		constraint Constraint
		what       string
		limit      int
	}{
		{activityType, ConstraintRecurringActivityTemplatesActivityTypeLengthCheck, "activity_type", MaxActivityTypeLength},
		{title, ConstraintRecurringActivityTemplatesTitleLengthCheck, "title", MaxTemplateTitleLength},
		{rule, ConstraintRecurringActivityTemplatesRecurrenceRuleLengthCheck, "recurrence_rule", MaxRecurrenceRuleLength},
	} {
		if err := checkLength(c.s, c.limit, c.constraint, c.what); err != nil {
			return err
		}
	}
	if minutes > MaxDurationMinutes {
		return boundError(ErrDurationTooLong, ConstraintRecurringActivityTemplatesDefaultDurationMinutesMaxCheck, "default_duration_minutes %d is more than %d", minutes, MaxDurationMinutes)
	}
	return nil
}

// checkPauseInput pre-checks a pause's reason and expected return date
// (zero: none) against today (UTC) as the day of the pause, leaving the day
// at each end of the window to the database.
func checkPauseInput(reason string, expectedReturn time.Time, now time.Time) error {
	if err := checkLength(reason, MaxPauseReasonLength, ConstraintPeerMentorStatusReasonLengthCheck, "reason"); err != nil {
		return err
	}
	if expectedReturn.IsZero() {
		return nil
	}
	// One day of tolerance at both ends, as for activity dates.
	day := proxyDate(now.UTC()).AddDate(0, 0, -1)
	ret := proxyDate(expectedReturn)
	if last := day.AddDate(0, 0, MaxReturnDays+2); ret.Before(day) || ret.After(last) {
		return boundError(ErrReturnDateOutOfRange, ConstraintPeerMentorStatusExpectedReturnWindowCheck, "expected return date %s is outside [%s, %s]",
			ret.Format(time.DateOnly), day.Format(time.DateOnly), last.Format(time.DateOnly))
	}
	return nil
}
