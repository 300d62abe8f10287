package conformance

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/mentordb/mentordb/db"
)

// tally counts what became of the requests of one fault scenario, judged
// against what committed (read afterwards, as the owner, once every session
// of the scenario has ended). DB-FAULT-1's contract: a success committed; a
// definite failure (any *db.Error but ErrOutcomeUnknown) committed nothing;
// ErrOutcomeUnknown is the only error after which it may have.
type tally struct {
	name string
	// issued requests; ok returned no error; committed are those whose
	// write is in the database.
	issued, ok, committed int
	// unknown returned ErrOutcomeUnknown; unknownCommitted of them committed.
	unknown, unknownCommitted int
	// Violations: failedCommitted returned an error other than
	// ErrOutcomeUnknown (typed or not) yet committed;
	// okMissing returned no error yet did not commit; untyped returned an
	// error that is no *db.Error; otherKind a *db.Error of a kind outside
	// the outcomes; badClass a connection outcome without Class
	// ErrConnection.
	failedCommitted, okMissing, untyped, otherKind, badClass int
	kinds                                                    map[string]int
	examples                                                 []string
}

// faultKinds are the kinds a request broken by a fault may report.
var faultKinds = map[error]string{
	db.ErrNotSent:          "not-sent",
	db.ErrRolledBack:       "rolled-back",
	db.ErrOutcomeUnknown:   "outcome-unknown",
	db.ErrCanceled:         "canceled",
	db.ErrStatementTimeout: "statement-timeout",
}

func newTally(name string) *tally { return &tally{name: name, kinds: map[string]int{}} }

// record judges one request: err is what it returned, committed whether
// its write is in the database.
func (s *tally) record(err error, committed bool) {
	s.issued++
	if committed {
		s.committed++
	}
	if err == nil {
		s.ok++
		if !committed {
			s.okMissing++
			s.example("succeeded but nothing committed")
		}
		return
	}
	var e *db.Error
	if !errors.As(err, &e) {
		s.untyped++
		s.kinds["untyped"]++
		s.example(fmt.Sprintf("untyped error (committed=%v): %v", committed, err))
		if committed {
			// Nothing said the outcome was unknown: the caller reads a
			// failure.
			s.failedCommitted++
		}
		return
	}
	kind, known := faultKinds[e.Kind]
	if !known {
		s.otherKind++
		kind = "other:" + fmt.Sprint(e.Kind)
		s.example(fmt.Sprintf("kind outside the outcomes (committed=%v): %v", committed, err))
	}
	s.kinds[kind]++
	switch e.Kind {
	case db.ErrNotSent, db.ErrRolledBack, db.ErrOutcomeUnknown:
		if !errors.Is(err, db.ErrConnection) {
			s.badClass++
			s.example("connection outcome without Class ErrConnection: " + err.Error())
		}
	}
	if errors.Is(err, db.ErrOutcomeUnknown) {
		s.unknown++
		if committed {
			s.unknownCommitted++
		}
		return
	}
	if committed {
		s.failedCommitted++
		s.example("definite error yet committed: " + err.Error())
	}
}

func (s *tally) example(msg string) {
	if len(s.examples) < 3 {
		s.examples = append(s.examples, msg)
	}
}

const tallyHeader = "scenario | issued | ok | committed | outcome-unknown (committed) | FAILED-BUT-COMMITTED | ok-but-missing | untyped | kinds"

func (s *tally) String() string {
	var ks []string
	for k, n := range s.kinds {
		ks = append(ks, fmt.Sprintf("%s=%d", k, n))
	}
	sort.Strings(ks)
	return fmt.Sprintf("%s | %d | %d | %d | %d (%d) | %d | %d | %d | %s",
		s.name, s.issued, s.ok, s.committed, s.unknown, s.unknownCommitted, s.failedCommitted, s.okMissing, s.untyped, strings.Join(ks, " "))
}

// check logs the scenario's line and fails the test on any violation of
// the contract.
func (s *tally) check(t *testing.T) {
	t.Helper()
	t.Logf("%s\n%s", tallyHeader, s)
	for _, ex := range s.examples {
		t.Logf("  e.g. %s", ex)
	}
	if s.failedCommitted+s.okMissing+s.untyped+s.otherKind+s.badClass > 0 {
		t.Errorf("%s: %d failed but committed, %d succeeded but missing, %d untyped errors, %d of another kind, %d connection outcomes without Class ErrConnection (of %d requests)",
			s.name, s.failedCommitted, s.okMissing, s.untyped, s.otherKind, s.badClass, s.issued)
	}
}
