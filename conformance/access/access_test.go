package access

import (
	"bytes"
	"strings"
	"testing"
)

func TestMatrixIsConsistent(t *testing.T) {
	if err := Matrix.Validate(); err != nil {
		t.Fatalf("the access spec contradicts itself:\n%v", err)
	}
}

func TestValidateCatchesContradictions(t *testing.T) {
	clone := func() Spec {
		s := Matrix
		s.Objects = append([]Object(nil), Matrix.Objects...)
		for i := range s.Objects {
			s.Objects[i].Probes = append([]Probe(nil), Matrix.Objects[i].Probes...)
			for j := range s.Objects[i].Probes {
				e := Expectations{}
				for k, v := range Matrix.Objects[i].Probes[j].Expect {
					e[k] = v
				}
				s.Objects[i].Probes[j].Expect = e
			}
		}
		return s
	}
	cases := map[string]func(s *Spec){
		"anon allowed without a grant": func(s *Spec) { s.Objects[0].Probes[0].Expect[ActAnon] = Rows(1) },
		"missing actor":                func(s *Spec) { delete(s.Objects[0].Probes[0].Expect, ActMentorSelf) },
		"unknown requirement ID":       func(s *Spec) { s.Objects[0].Probes[0].IDs = []string{"PA-RLS-99"} },
		"one direction only": func(s *Spec) {
			for _, a := range s.Actors {
				if a.Role != Anon {
					s.Objects[0].Probes[0].Expect[a.Key] = Zero
				}
			}
		},
		"no TRUNCATE probe": func(s *Spec) {
			o := &s.Objects[0]
			o.Probes = o.Probes[:len(o.Probes)-1]
		},
		"unknown fixture": func(s *Spec) { s.Objects[0].Probes[0].Args = []Ref{"nowhere"} },
	}
	for name, mutate := range cases {
		s := clone()
		mutate(&s)
		if err := s.Validate(); err == nil {
			t.Errorf("%s: Validate accepted it", name)
		}
	}
}

func TestObserve(t *testing.T) {
	table := &Object{Name: "proxy_activities", Kind: Table}
	function := &Object{Name: "activate_pause", Kind: Function}
	for _, c := range []struct {
		on                    *Object
		code, constraint, msg string
		want                  Outcome
	}{
		{table, "42501", "", "permission denied for table proxy_activities", NoGrant},
		{function, "42501", "", "permission denied for function activate_pause", NoGrant},
		// A denial on another object (a trigger's query) is not o's grant.
		{table, "42501", "", "permission denied for table peer_mentor_status",
			Outcome{Kind: Denied, SQLState: "42501", Rule: "no privilege on table peer_mentor_status"}},
		{function, "42501", "", "permission denied for schema private",
			Outcome{Kind: Denied, SQLState: "42501", Rule: "no privilege on schema private"}},
		{table, "42501", "", `new row violates row-level security policy for table "proxy_activities"`, RLSCheck},
		{function, "42501", "peer_mentor_status_not_permitted", "only the mentor ...", Raise("42501", "peer_mentor_status_not_permitted")},
		{function, "MD001", "peer_mentor_status_org_mismatch", "x", Raise("MD001", "peer_mentor_status_org_mismatch")},
	} {
		if got := Observe(c.on, c.code, c.constraint, c.msg); got != c.want {
			t.Errorf("Observe(%s, %q, %q, %q) = %v, want %v", c.on.Name, c.code, c.constraint, c.msg, got, c.want)
		}
	}
}

func TestRenderIsDeterministicAndShowsResults(t *testing.T) {
	res := Results{}
	var firstKey string
	for i := range Matrix.Objects {
		o := &Matrix.Objects[i]
		for j := range o.Probes {
			p := &o.Probes[j]
			for k := range Matrix.Actors {
				a := &Matrix.Actors[k]
				if firstKey == "" {
					firstKey = CellKey(o, p, a)
				}
				res[CellKey(o, p, a)] = p.Expect[a.Key]
			}
		}
	}
	a, b := Render(&Matrix, res), Render(&Matrix, res)
	if !bytes.Equal(a, b) {
		t.Fatal("Render is not deterministic")
	}
	if bytes.Contains(a, []byte("✗ got")) || bytes.Contains(a, []byte("not run")) {
		t.Fatal("all cells passed, yet the document shows a failure")
	}
	res[firstKey] = Rows(7)
	if !strings.Contains(string(Render(&Matrix, res)), "✗ got 7 rows") {
		t.Fatal("a failed cell is not shown as failed")
	}
}
