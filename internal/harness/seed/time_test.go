package seed

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/require"
)

// created_at rises with insertion order over the seed's years, a day holds
// about 1/(365 x Years) of the rows, and every activity is registered on or
// after its date, mostly within days.
func TestRegistrationTime(t *testing.T) {
	cfg := Config{Orgs: 3, ActivitiesPerOrg: 20_000, Seed: 5}.Defaults()
	src := newActivitySource(cfg, Plan(cfg))
	var prev time.Time
	perDay := map[string]int{}
	lags := map[int]int{}
	var n int
	for src.Next() {
		v, _ := src.Values()
		created := v[10].(time.Time)
		require.Equal(t, created, v[11], "updated_at = created_at at registration")
		require.False(t, created.Before(prev), "row %d: created_at %s before the previous %s", n, created, prev)
		prev = created
		require.False(t, created.Before(cfg.Start()) || !created.Before(cfg.End), "created_at %s in the seed's years", created)
		h := created.Hour()
		require.True(t, h >= 7 && h < 21, "registered in working hours: %s", created)
		date := v[5].(pgtype.Date).Time
		lag := int(created.Truncate(24*time.Hour).Sub(date).Hours() / 24)
		require.GreaterOrEqual(t, lag, 0, "registered on or after the activity's date")
		require.LessOrEqual(t, lag, 31)
		lags[lag]++
		perDay[created.Format(time.DateOnly)]++
		n++
	}
	days := int(cfg.End.Sub(cfg.Start()).Hours() / 24)
	require.Len(t, perDay, days, "every day has registrations")
	for day, c := range perDay {
		require.InDelta(t, n/days, c, float64(n/days)/10+2, "day %s holds about 1/%d of the rows", day, days)
	}
	require.Greater(t, lags[0]+lags[1], n/2, "most are registered the same day or the next")
	require.Positive(t, lags[14]+lags[21]+lags[30], "some weeks later")
}

// The audit rows follow the activities one to one, in the same order, as
// the trigger writes them for a coordinator's request.
func TestAuditTrail(t *testing.T) {
	cfg := Config{Orgs: 2, ActivitiesPerOrg: 50, Seed: 9}.Defaults()
	orgs := Plan(cfg)
	acts, audit := newActivitySource(cfg, orgs), newAuditSource(cfg, orgs)
	for acts.Next() {
		require.True(t, audit.Next())
		a, _ := acts.Values()
		l, _ := audit.Values()
		require.Equal(t, a[0], l[0], "activity_id")
		require.Equal(t, a[3], l[1], "org_id")
		require.Equal(t, a[1], l[2], "actor is the coordinator")
		require.Equal(t, []any{"authenticated", "INSERT", nil}, l[3:6])
		require.Equal(t, a[10], l[7], "at is the registering transaction's time")
		var row map[string]any
		require.NoError(t, json.Unmarshal([]byte(l[6].(string)), &row))
		require.Len(t, row, len(activityColumns))
		require.Equal(t, a[10].(time.Time).Format("2006-01-02T15:04:05.999999-07:00"), row["created_at"])
	}
	require.False(t, audit.Next())
}
