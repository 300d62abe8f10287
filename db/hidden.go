package db

import (
	"fmt"

	"github.com/jackc/pgx/v5/pgtype"
)

// hiddenText is a statement argument that must not reach logs or tracers
// in clear: the request's claims (the caller's email and user metadata).
// pgx's tracers receive every argument of every statement, and a tracer
// that records arguments formats them: every way of formatting a
// hiddenText prints a placeholder, while pgx encodes its value (TextValue).
type hiddenText string

const hiddenPlaceholder = "[claims hidden]"

// TextValue is what pgx sends.
func (h hiddenText) TextValue() (pgtype.Text, error) {
	return pgtype.Text{String: string(h), Valid: true}, nil
}

// Format covers every fmt verb (%v, %+v, %#v, %s, %q).
func (h hiddenText) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(hiddenPlaceholder)) }
func (h hiddenText) String() string             { return hiddenPlaceholder }
func (h hiddenText) GoString() string           { return hiddenPlaceholder }
func (h hiddenText) MarshalJSON() ([]byte, error) {
	return []byte(`"` + hiddenPlaceholder + `"`), nil
}

// hiddenPtr is hiddenText for an optional value: nil stays SQL NULL.
func hiddenPtr(s *string) any {
	if s == nil {
		return nil
	}
	return hiddenText(*s)
}
