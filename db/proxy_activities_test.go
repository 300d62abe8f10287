package db

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/gen"
)

func TestProxyConstraintErrorsMapToSentinels(t *testing.T) {
	t.Parallel()
	cases := []struct {
		code       string
		constraint Constraint
		want       error
	}{
		{"23514", ConstraintProxyActivitiesNoSelfAttributionCheck, ErrSelfAttribution},
		{"23514", ConstraintProxyActivitiesDurationMinutesCheck, ErrNonPositiveDuration},
		{"23514", ConstraintRecurringActivityTemplatesDefaultDurationMinutesCheck, ErrNonPositiveDuration},
		{"23514", ConstraintProxyActivitiesMentorInOrgCheck, ErrMentorNotInOrg},
		{"23503", ConstraintProxyActivitiesTemplateSameOrgFkey, ErrTemplateOtherOrg},
		{"23514", ConstraintProxyActivitiesOrgIDImmutable, ErrOrgChange},
		{"23514", ConstraintProxyActivitiesCoordinatorIDImmutable, ErrCoordinatorChange},
		{"42501", ConstraintProxyAuditLogImmutable, ErrImmutable},
		{"23503", ConstraintProxyActivitiesTemplateIDFkey, ErrForeignKey},
		{"23503", ConstraintProxyActivitiesAttributedMentorIDFkey, ErrForeignKey},
		{"42501", "", ErrNotPermitted},
	}
	for _, c := range cases {
		t.Run(string(c.constraint), func(t *testing.T) {
			t.Parallel()
			err := interpretError(&pgconn.PgError{Code: c.code, ConstraintName: string(c.constraint), Message: "m"})
			require.ErrorIs(t, err, c.want)
			var e *Error
			require.True(t, errors.As(err, &e))
			require.Equal(t, c.constraint, e.Constraint)
			require.Equal(t, c.code, e.Code)
		})
	}
}

func TestProxyPrecheckErrorsAreTyped(t *testing.T) {
	t.Parallel()
	id := uuid.New()
	err := checkAttribution(id, id)
	require.ErrorIs(t, err, ErrSelfAttribution)
	require.Equal(t, err, interpretError(err), "repository errors pass interpretError unchanged")
	require.ErrorIs(t, proxyNotPermitted(PolicyProxyInsertOwn, "x"), ErrNotPermitted)
	_, err = proxyMinutes(1 << 40)
	require.ErrorIs(t, err, ErrInvalidInput)
	m, err := proxyMinutes(-5)
	require.NoError(t, err, "non-positive durations are the CHECK constraint's to refuse")
	require.Equal(t, int32(-5), m)
}

func TestProxyDateKeepsCalendarDate(t *testing.T) {
	t.Parallel()
	oslo := time.FixedZone("CET", 3600)
	got := proxyDate(time.Date(2026, 3, 1, 0, 30, 0, 0, oslo)) // 2026-02-28T23:30Z
	require.Equal(t, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), got)
}

func TestProxyKeysetPaging(t *testing.T) {
	t.Parallel()
	period := Period{From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}
	first := proxyStart(period, nil)
	require.Equal(t, period.To, first.Date)
	require.Equal(t, maxUUID, first.ID)

	rows := make([]gen.ProxyActivity, 3)
	for i := range rows {
		rows[i] = gen.ProxyActivity{ID: uuid.New(), Date: period.To.AddDate(0, 0, -1-i)}
	}
	page := proxyPage(rows, 2)
	require.Len(t, page.Items, 2)
	require.NotNil(t, page.Next)
	require.Equal(t, ProxyActivityCursor{Date: rows[1].Date, ID: rows[1].ID}, *page.Next)
	require.Equal(t, *page.Next, proxyStart(period, page.Next))

	last := proxyPage(rows[:2], 2)
	require.Nil(t, last.Next)
	require.Len(t, last.Items, 2)

	for _, c := range []struct{ in, page int }{{0, 1}, {-3, 1}, {7, 7}, {1000, 1000}, {5000, 1000}} {
		page, fetch := pageLimit(c.in)
		require.Equal(t, c.page, page, "page size for %d", c.in)
		require.Equal(t, int32(c.page+1), fetch, "rows fetched for %d", c.in)
	}
}

func TestBufdirFoldsTypesIntoMentorLines(t *testing.T) {
	t.Parallel()
	a, b := uuid.MustParse("00000000-0000-0000-0000-00000000000a"), uuid.MustParse("00000000-0000-0000-0000-00000000000b")
	out := bufdirFromTypeRows([]gen.BufdirReportByTypeRow{
		{AttributedMentorID: a, ActivityType: "call", ActivityCount: 2, TotalMinutes: 30},
		{AttributedMentorID: a, ActivityType: "visit", ActivityCount: 1, TotalMinutes: 60},
		{AttributedMentorID: b, ActivityType: "visit", ActivityCount: 3, TotalMinutes: 90},
	})
	require.Equal(t, []BufdirMentorTotal{
		{AttributedMentorID: a, ActivityCount: 3, TotalMinutes: 90, ByType: []BufdirTypeTotal{
			{ActivityType: "call", ActivityCount: 2, TotalMinutes: 30},
			{ActivityType: "visit", ActivityCount: 1, TotalMinutes: 60},
		}},
		{AttributedMentorID: b, ActivityCount: 3, TotalMinutes: 90, ByType: []BufdirTypeTotal{
			{ActivityType: "visit", ActivityCount: 3, TotalMinutes: 90},
		}},
	}, out)
	require.Empty(t, bufdirFromTypeRows(nil))
}
