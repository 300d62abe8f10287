package db

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func requireBound(t *testing.T, err error, kind error, constraint string) {
	t.Helper()
	require.ErrorIs(t, err, kind)
	require.ErrorIs(t, err, ErrCheck)
	var e *Error
	require.True(t, errors.As(err, &e))
	require.Equal(t, constraint, e.Constraint)
	require.Equal(t, "23514", e.Code)
}

func TestActivityBoundsBothSides(t *testing.T) {
	now := time.Date(2026, 12, 1, 23, 30, 0, 0, time.UTC)
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	ok := func(typ string, d time.Time, minutes int, notes string) {
		t.Helper()
		require.NoError(t, checkActivityInput(typ, d, minutes, notes, now))
	}
	ok(strings.Repeat("å", MaxActivityTypeLength), day, MaxDurationMinutes, strings.Repeat("ø", MaxNotesLength))
	ok(" x ", EarliestActivityDate, 1, "")
	ok("visit", time.Date(2027, 12, 1, 0, 0, 0, 0, time.UTC), 1, "")
	requireBound(t, checkActivityInput(strings.Repeat("a", MaxActivityTypeLength+1), day, 1, "", now), ErrTooLong, ConstraintActivityTypeLength)
	requireBound(t, checkActivityInput("   ", day, 1, "", now), ErrBlankActivityType, ConstraintActivityTypeBlank)
	requireBound(t, checkActivityInput("", day, 1, "", now), ErrBlankActivityType, ConstraintActivityTypeBlank)
	requireBound(t, checkActivityInput("v", day, 1, strings.Repeat("o", MaxNotesLength+1), now), ErrTooLong, ConstraintNotesLength)
	requireBound(t, checkActivityInput("v", day, MaxDurationMinutes+1, "", now), ErrDurationTooLong, ConstraintDurationMax)
	requireBound(t, checkActivityInput("v", EarliestActivityDate.AddDate(0, 0, -1), 1, "", now), ErrDateOutOfRange, ConstraintDateWindow)
	// The day after the last date is the database's to decide; the one after
	// that is refused here.
	ok("v", time.Date(2027, 12, 2, 0, 0, 0, 0, time.UTC), 1, "")
	requireBound(t, checkActivityInput("v", time.Date(2027, 12, 3, 0, 0, 0, 0, time.UTC), 1, "", now), ErrDateOutOfRange, ConstraintDateWindow)
}

func TestTemplateAndPauseBoundsBothSides(t *testing.T) {
	require.NoError(t, checkTemplateInput(strings.Repeat("å", MaxActivityTypeLength), strings.Repeat("å", MaxTemplateTitleLength),
		strings.Repeat("r", MaxRecurrenceRuleLength), MaxDurationMinutes))
	requireBound(t, checkTemplateInput(" ", "t", "", 0), ErrBlankActivityType, ConstraintTemplateActivityTypeCheck)
	requireBound(t, checkTemplateInput(strings.Repeat("a", MaxActivityTypeLength+1), "t", "", 0), ErrTooLong, ConstraintTemplateActivityTypeLength)
	requireBound(t, checkTemplateInput("v", strings.Repeat("a", MaxTemplateTitleLength+1), "", 0), ErrTooLong, ConstraintTemplateTitleLength)
	requireBound(t, checkTemplateInput("v", "t", strings.Repeat("a", MaxRecurrenceRuleLength+1), 0), ErrTooLong, ConstraintTemplateRecurrenceLength)
	requireBound(t, checkTemplateInput("v", "t", "", MaxDurationMinutes+1), ErrDurationTooLong, ConstraintTemplateDurationMax)

	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	today := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	require.NoError(t, checkPauseInput(strings.Repeat("æ", MaxPauseReasonLength), today, now))
	require.NoError(t, checkPauseInput("", today.AddDate(0, 0, MaxReturnDays), now))
	require.NoError(t, checkPauseInput("", time.Time{}, now))
	requireBound(t, checkPauseInput(strings.Repeat("a", MaxPauseReasonLength+1), time.Time{}, now), ErrTooLong, ConstraintPauseReasonLength)
	requireBound(t, checkPauseInput("", today.AddDate(0, 0, -2), now), ErrReturnDateOutOfRange, ConstraintPauseReturnWindow)
	requireBound(t, checkPauseInput("", today.AddDate(0, 0, MaxReturnDays+2), now), ErrReturnDateOutOfRange, ConstraintPauseReturnWindow)
}

// requireInvalidText checks a pre-check's refusal of a text PostgreSQL
// cannot store: the Kind, Class and SQLSTATE the database would report.
func requireInvalidText(t *testing.T, err error, what string) {
	t.Helper()
	e := requireTyped(t, err, ErrInvalidText, ErrInvalidInput)
	require.Equal(t, "22021", e.Code)
	require.Contains(t, e.Message, what)
}

func TestTextBoundsRefuseNULAndInvalidUTF8(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for name, bad := range map[string]string{"NUL": "a\x00b", "invalid UTF-8": "a\xffb", "a lone continuation byte": "\x80", "a cut rune": "å"[:1]} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			requireInvalidText(t, checkActivityInput(bad, day, 1, "", now), "activity_type")
			requireInvalidText(t, checkActivityInput("visit", day, 1, bad, now), "notes")
			requireInvalidText(t, checkTemplateInput(bad, "t", "", 0), "activity_type")
			requireInvalidText(t, checkTemplateInput("v", bad, "", 0), "title")
			requireInvalidText(t, checkTemplateInput("v", "t", bad, 0), "recurrence_rule")
			requireInvalidText(t, checkPauseInput(bad, time.Time{}, now), "reason")
		})
	}
	// What PostgreSQL stores is accepted: every other control character,
	// U+FFFD itself, and text that only looks like an escape.
	require.NoError(t, checkActivityInput("visit\t\x01", day, 1, "\uFFFD \\u0000 \x7f", now))
}
