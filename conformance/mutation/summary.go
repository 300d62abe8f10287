package mutation

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/mentordb/mentordb/conformance/report"
)

// count adds one mutant of status to s.
func count(s *report.Score, status string) {
	switch status {
	case Killed:
		s.Killed++
	case Survived:
		s.Survived++
	case SnapshotOnly:
		s.SnapshotOnly++
	case IsEquivalent:
		s.Equivalent++
	case RunnerError:
		s.Errors++
	}
}

// Scores returns the score of every family that has mutants, then the
// total (family "total").
func (r *Run) Scores() []report.Score {
	by := map[Family]*report.Score{}
	total := report.Score{Family: "total"}
	for _, res := range r.Results {
		s := by[res.Family]
		if s == nil {
			s = &report.Score{Family: string(res.Family)}
			by[res.Family] = s
		}
		count(s, res.Status)
		count(&total, res.Status)
	}
	var out []report.Score
	for _, f := range Families {
		if s := by[f]; s != nil {
			out = append(out, *s)
		}
	}
	return append(out, total)
}

// Total returns the whole run's score.
func (r *Run) Total() report.Score { s := r.Scores(); return s[len(s)-1] }

// OK reports whether the gate holds: every mutant that is not declared
// equivalent was killed by a behavioural test, and the run was complete.
func (r *Run) OK() bool {
	t := r.Total()
	return t.Survived == 0 && t.SnapshotOnly == 0 && t.Errors == 0 && r.Partial == ""
}

// With returns the results of one status.
func (r *Run) With(status string) []Result {
	var out []Result
	for _, res := range r.Results {
		if res.Status == status {
			out = append(out, res)
		}
	}
	return out
}

// Text writes the summary `make mutants` prints: the score line first.
func (r *Run) Text(w io.Writer) {
	t := r.Total()
	fmt.Fprintf(w, "mutants: %d killed, %d survived\n", t.Killed, t.Survived+t.SnapshotOnly)
	fmt.Fprintf(w, "snapshot-only kills: %d\n", t.SnapshotOnly)
	for _, res := range r.With(SnapshotOnly) {
		fmt.Fprintf(w, "  %s (killed only by %s)\n", res.ID, strings.Join(res.SnapshotKills, ", "))
	}
	fmt.Fprintf(w, "equivalent mutants: %d (conformance/mutation/equivalent.go)\n", t.Equivalent)
	for _, res := range r.With(IsEquivalent) {
		fmt.Fprintf(w, "  %s (callers: %s; pinned by %s)\n", res.ID, strings.Join(res.Callers, ", "), strings.Join(res.PinnedBy, ", "))
	}
	if t.Errors > 0 {
		fmt.Fprintf(w, "runner errors: %d\n", t.Errors)
		for _, res := range r.With(RunnerError) {
			fmt.Fprintf(w, "  %s: %s\n", res.ID, firstLine(res.Error))
		}
	}
	if t.Survived > 0 {
		fmt.Fprintf(w, "survivors (no test of the matrix fails):\n")
		for _, res := range r.With(Survived) {
			fmt.Fprintf(w, "  %s\n    %s\n", res.ID, strings.ReplaceAll(res.SQL, "\n", "\n    "))
			if res.Error != "" {
				fmt.Fprintf(w, "    (%s)\n", res.Error)
			}
		}
	}
	fmt.Fprintf(w, "by family:\n")
	for _, s := range r.Scores() {
		fmt.Fprintf(w, "  %-30s %4d killed %3d survived %3d snapshot-only %3d equivalent %3d errors\n",
			s.Family, s.Killed, s.Survived, s.SnapshotOnly, s.Equivalent, s.Errors)
	}
	for _, f := range Families {
		if why, ok := Pending[f]; ok {
			fmt.Fprintf(w, "  %-30s pending, not in the gate: %s\n", f, why)
		}
	}
	fmt.Fprintf(w, "wall time %.0fs (unmutated matrix %.0fs, %d tests)\n", r.WallSeconds, r.BaselineSecs, r.BaselineTests)
	if r.Partial != "" {
		fmt.Fprintf(w, "partial run: %s\n", r.Partial)
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// WriteJSON writes the run to path.
func (r *Run) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// ReadJSON reads a run written by WriteJSON.
func ReadJSON(path string) (*Run, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Run
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

// Reclassify applies the snapshot and equivalent lists as they are now to
// a recorded run: both are reviewed code and may be corrected after it.
// The failing tests recorded for a mutant are split again into behavioural
// and snapshot ones; a survivor or snapshot-only kill that the equivalent
// list declares becomes equivalent. A behavioural kill stays a kill.
func (r *Run) Reclassify() {
	for i := range r.Results {
		res := &r.Results[i]
		failed := append(slices.Clone(res.KilledBy), res.SnapshotKills...)
		if (res.Status == Killed || res.Status == SnapshotOnly) && len(failed) > 0 {
			res.KilledBy, res.SnapshotKills = splitKills(failed)
			if len(res.KilledBy) > 0 {
				res.Status = Killed
			} else {
				res.Status = SnapshotOnly
			}
		}
		if res.Status == IsEquivalent {
			// An equivalence stands only while it is declared, for some
			// caller classes, and was pinned in the run (CONF-5).
			if e := EquivalenceOf(res.ID); e == nil || len(e.Callers) == 0 || len(res.PinnedBy) == 0 {
				res.Status, res.Error = Survived, "not run: declared equivalent in the run, but no longer declared or not pinned"
			}
			continue
		}
		if res.Status != Survived && res.Status != SnapshotOnly {
			continue
		}
		// A survivor the list declares equivalent after the run stays one:
		// its pin was not checked in the run.
	}
}

// Report returns the run as the conformance report's CONF-4 section.
func (r *Run) Report() *report.Mutation {
	scores := r.Scores()
	t := scores[len(scores)-1]
	m := &report.Mutation{Killed: t.Killed, Survived: t.Survived, SnapshotOnly: t.SnapshotOnly,
		Equivalent: t.Equivalent, Errors: t.Errors, WallSeconds: r.WallSeconds, Partial: r.Partial, Families: scores}
	for _, f := range Families {
		if why, ok := Pending[f]; ok {
			m.Pending = append(m.Pending, string(f)+": "+why)
		}
	}
	for _, res := range r.Results {
		mu := report.Mutant{ID: res.ID, SQL: res.SQL}
		switch res.Status {
		case Survived:
			mu.Reason = res.Error
			m.Survivors = append(m.Survivors, mu)
		case SnapshotOnly:
			mu.Tests = res.SnapshotKills
			m.SnapshotOnlyKills = append(m.SnapshotOnlyKills, mu)
		case IsEquivalent:
			mu.Reason, mu.Callers, mu.Tests = res.Reason, res.Callers, res.PinnedBy
			m.Equivalents = append(m.Equivalents, mu)
		case RunnerError:
			mu.Reason = firstLine(res.Error)
			m.RunnerErrors = append(m.RunnerErrors, mu)
		}
	}
	return m
}
