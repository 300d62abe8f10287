package seed

import (
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/require"
)

func rows(cfg Config, n int) []string {
	cfg = cfg.Defaults()
	src := newActivitySource(cfg, Plan(cfg))
	var out []string
	for i := 0; i < n && src.Next(); i++ {
		v, err := src.Values()
		if err != nil {
			panic(err)
		}
		out = append(out, fmt.Sprint(v))
	}
	return out
}

func TestDeterministic(t *testing.T) {
	cfg := Config{Orgs: 3, ActivitiesPerOrg: 100, Seed: 7}
	require.Equal(t, Plan(cfg), Plan(cfg))
	require.Equal(t, rows(cfg, 300), rows(cfg, 300))
	require.NotEqual(t, Plan(cfg)[0].ID, Plan(Config{Orgs: 3, Seed: 8})[0].ID, "the seed matters")
}

func TestOrgsAreStableAcrossFirstOrg(t *testing.T) {
	all := Plan(Config{Orgs: 5, Seed: 3})
	tail := Plan(Config{Orgs: 2, FirstOrg: 3, Seed: 3})
	require.Equal(t, all[3:], tail, "org k is the same whether loaded with others or added later")

	// And so are its activities: org 3's first rows, interleaved with four
	// others or alone.
	both := rows(Config{Orgs: 5, ActivitiesPerOrg: 10, Seed: 3}, 50)
	alone := rows(Config{Orgs: 1, FirstOrg: 3, ActivitiesPerOrg: 10, Seed: 3}, 10)
	for k := 0; k < 10; k++ {
		// Everything but created_at/updated_at, which follow insertion order.
		require.Equal(t, trimTimes(t, both[3+5*k]), trimTimes(t, alone[k]))
	}
}

func trimTimes(t *testing.T, row string) string {
	t.Helper()
	// fmt.Sprint of the row ends with the two timestamps.
	for cut := 0; cut < 2; cut++ {
		i := len(row) - 1
		for i >= 0 && row[i] != ' ' {
			i--
		}
		// A time prints as "2027-01-01 00:00:00.001 +0000 UTC": 4 fields.
		for f := 0; f < 3; f++ {
			i--
			for i >= 0 && row[i] != ' ' {
				i--
			}
		}
		row = row[:i]
	}
	return row
}

func TestInterleavedAndValid(t *testing.T) {
	cfg := Config{Orgs: 4, ActivitiesPerOrg: 1000, Seed: 1}.Defaults()
	orgs := Plan(cfg)
	src := newActivitySource(cfg, orgs)
	mentorOrg := map[[16]byte]int{}
	for i, o := range orgs {
		for _, m := range o.Mentors {
			mentorOrg[m] = i
		}
	}
	var n int64
	start, end := cfg.Start(), cfg.End
	for src.Next() {
		v, err := src.Values()
		require.NoError(t, err)
		org := int(n % int64(len(orgs)))
		require.Equal(t, orgs[org].ID, uuid.UUID(v[3].(pgtype.UUID).Bytes), "round robin over the orgs")
		mentor := v[2].(pgtype.UUID).Bytes
		require.Equal(t, org, mentorOrg[mentor], "the mentor is a peer mentor of the row's org")
		require.NotEqual(t, v[1].(pgtype.UUID).Bytes, mentor, "never self-attributed")
		require.Positive(t, v[6].(int32))
		d := v[5].(pgtype.Date).Time
		require.False(t, d.Before(start) || !d.Before(end), "date %s in [%s, %s)", d, start, end)
		n++
	}
	require.EqualValues(t, 4000, n)
}
