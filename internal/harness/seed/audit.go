package seed

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
)

// auditColumns are the columns of proxy_audit_log the audit trigger writes
// (id is the identity, at the transaction time).
var auditColumns = []string{"activity_id", "org_id", "actor", "actor_role", "action", "old_row", "new_row", "at"}

// auditSource generates, for every activity of an activitySource and in the
// same order, the proxy_audit_log row that the trigger
// proxy_activities_write_audit would have written when the coordinator
// registered it through the API: actor the coordinator (auth.uid()),
// actor_role 'authenticated', action INSERT, new_row to_jsonb of the stored
// row as a session in UTC (Supabase's default) renders it, and at the
// registering transaction's time, which is the row's created_at. The audit
// log thus rises in time with insertion order, as it does in production.
type auditSource struct {
	acts *activitySource
	row  []any
	buf  []byte
}

func newAuditSource(cfg Config, orgs []Org) *auditSource {
	cfg.Progress = nil
	return &auditSource{acts: newActivitySource(cfg, orgs), row: make([]any, len(auditColumns))}
}

func (s *auditSource) Next() bool {
	if !s.acts.Next() {
		return false
	}
	v := s.acts.row
	created := v[10].(time.Time)
	s.buf = activityJSON(s.buf[:0], v)
	s.row[0], s.row[1], s.row[2], s.row[3] = v[0], v[3], v[1], "authenticated"
	s.row[4], s.row[5], s.row[6], s.row[7] = "INSERT", nil, string(s.buf), created
	return true
}

func (s *auditSource) Values() ([]any, error) { return s.row, nil }
func (s *auditSource) Err() error             { return nil }

// activityJSON appends to_jsonb(row) of an activitySource row: every column
// of proxy_activities by name, uuids and dates as text, timestamps as
// PostgreSQL renders a timestamptz in JSON (ISO 8601, microseconds without
// trailing zeros, UTC offset +00:00). The key order is irrelevant: jsonb
// normalises it.
func activityJSON(b []byte, v []any) []byte {
	b = append(b, '{')
	for i, col := range activityColumns {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, col)
		b = append(b, ':')
		switch x := v[i].(type) {
		case pgtype.UUID:
			if !x.Valid {
				b = append(b, "null"...)
				continue
			}
			b = append(b, '"')
			b = append(b, uuid.UUID(x.Bytes).String()...)
			b = append(b, '"')
		case pgtype.Text:
			if !x.Valid {
				b = append(b, "null"...)
				continue
			}
			s, _ := json.Marshal(x.String) // plain strings; cannot fail
			b = append(b, s...)
		case string:
			s, _ := json.Marshal(x)
			b = append(b, s...)
		case pgtype.Date:
			b = append(b, '"')
			b = x.Time.AppendFormat(b, "2006-01-02")
			b = append(b, '"')
		case int32:
			b = strconv.AppendInt(b, int64(x), 10)
		case bool:
			b = strconv.AppendBool(b, x)
		case time.Time:
			b = append(b, '"')
			b = x.UTC().AppendFormat(b, "2006-01-02T15:04:05.999999-07:00")
			b = append(b, '"')
		default:
			panic("seed: no JSON rendering for column " + col)
		}
	}
	return append(b, '}')
}
