package db

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/google/uuid"

	"github.com/mentordb/mentordb/gen"
)

// Conversions at the boundary between sqlc's gen types and db's own: dates,
// durations, optional values (nil pointers in gen, zero values in db) and
// rows.

// proxyMinutes converts a duration for an integer column. Non-positive
// values are left to the CHECK constraint (ErrNonPositiveDuration); values
// PostgreSQL's integer cannot hold are ErrInvalidInput.
func proxyMinutes(m int) (int32, error) {
	if m > math.MaxInt32 || m < math.MinInt32 {
		return 0, &Error{Kind: ErrInvalidInput, Class: ErrInvalidInput, Code: "22003", Message: fmt.Sprintf("duration_minutes %d out of range", m)}
	}
	return int32(m), nil
}

// proxyDate keeps a time's calendar date, at UTC midnight, so the date sent
// is the one the caller meant whatever its location.
func proxyDate(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// bufdirFromTypeRows folds per-(mentor, type) rows, ordered by mentor and
// type, into per-mentor lines with their breakdown.
func bufdirFromTypeRows(rows []gen.BufdirReportByTypeRow) []BufdirMentorTotal {
	out := make([]BufdirMentorTotal, 0)
	for _, row := range rows {
		if n := len(out); n == 0 || out[n-1].AttributedMentorID != row.AttributedMentorID {
			out = append(out, BufdirMentorTotal{AttributedMentorID: row.AttributedMentorID})
		}
		line := &out[len(out)-1]
		line.ActivityCount += row.ActivityCount
		line.TotalMinutes += row.TotalMinutes
		line.ByType = append(line.ByType, BufdirTypeTotal{
			ActivityType:  row.ActivityType,
			ActivityCount: row.ActivityCount,
			TotalMinutes:  row.TotalMinutes,
		})
	}
	return out
}

func proxyActivityFromGen(row gen.ProxyActivity) ProxyActivity {
	return ProxyActivity{
		ID:                 row.ID,
		CoordinatorID:      row.CoordinatorID,
		AttributedMentorID: row.AttributedMentorID,
		OrgID:              row.OrgID,
		ActivityType:       row.ActivityType,
		Date:               row.Date,
		DurationMinutes:    int(row.DurationMinutes),
		Notes:              derefString(row.Notes),
		IsRecurring:        row.IsRecurring,
		TemplateID:         derefUUID(row.TemplateID),
		CreatedAt:          derefTime(row.CreatedAt),
		UpdatedAt:          derefTime(row.UpdatedAt),
	}
}

// proxyActivityFromCreateRow is the row CreateProxyActivity returns (the
// table's columns and same_payload) as an activity.
func proxyActivityFromCreateRow(row gen.CreateProxyActivityRow) ProxyActivity {
	return proxyActivityFromGen(gen.ProxyActivity{
		ID:                 row.ID,
		CoordinatorID:      row.CoordinatorID,
		AttributedMentorID: row.AttributedMentorID,
		OrgID:              row.OrgID,
		ActivityType:       row.ActivityType,
		Date:               row.Date,
		DurationMinutes:    row.DurationMinutes,
		Notes:              row.Notes,
		IsRecurring:        row.IsRecurring,
		TemplateID:         row.TemplateID,
		CreatedAt:          row.CreatedAt,
		UpdatedAt:          row.UpdatedAt,
	})
}

func proxyActivitiesFromGen(rows []gen.ProxyActivity) []ProxyActivity {
	return convertAll(rows, proxyActivityFromGen)
}

// convertAll converts every row of a query's result.
func convertAll[R, T any](rows []R, convert func(R) T) []T {
	out := make([]T, len(rows))
	for i, row := range rows {
		out[i] = convert(row)
	}
	return out
}

// convertRows is a list query's answer for the caller: its rows converted,
// or its error interpreted.
func convertRows[R, T any](rows []R, err error, convert func(R) T) ([]T, error) {
	if err != nil {
		return nil, interpretError(err)
	}
	return convertAll(rows, convert), nil
}

// optString maps "" to SQL NULL; optUUID maps uuid.Nil to it. The deref
// functions map NULL back to the zero value.
func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func optUUID(u uuid.UUID) *uuid.UUID {
	if u == uuid.Nil {
		return nil
	}
	return &u
}

func derefString(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func derefUUID(u *uuid.UUID) uuid.UUID {
	if u == nil {
		return uuid.Nil
	}
	return *u
}

func derefTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

func rawJSON(b []byte) json.RawMessage {
	if b == nil {
		return nil
	}
	return json.RawMessage(b)
}

func proxyAuditEntryFromGen(row gen.ProxyAuditLog) ProxyAuditEntry {
	return ProxyAuditEntry{
		ID:         row.ID,
		ActivityID: row.ActivityID,
		OrgID:      row.OrgID,
		Actor:      derefUUID(row.Actor),
		ActorRole:  derefString(row.ActorRole),
		Action:     row.Action,
		OldRow:     rawJSON(row.OldRow),
		NewRow:     rawJSON(row.NewRow),
		At:         row.At,
	}
}
