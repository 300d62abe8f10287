// Package report turns the event stream of `go test -json` into the
// conformance report: every requirement ID of DESIGN.md with the tests that
// carry it in their names and their results. It is derived from the run and
// nothing else, so it cannot claim what did not happen.
package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
)

// Result of a test or a requirement.
const (
	Pass    = "pass"
	Fail    = "fail"
	Skip    = "skip"
	Missing = "missing"
)

// idPattern finds requirement IDs in test names. Go test names replace
// spaces with underscores, so IDs are delimited by anything but [A-Z0-9-].
var idPattern = regexp.MustCompile(`(?:^|[^A-Za-z0-9-])((?:PA|PS|DB)-[A-Z]+-[0-9]+|(?:GEN|DB|CONF|EXT|REV)-[0-9]+)`)

// IDs returns the requirement IDs named in a test name.
func IDs(name string) []string {
	var out []string
	for _, m := range idPattern.FindAllStringSubmatch(name, -1) {
		out = append(out, m[1])
	}
	return out
}

// Test is one test or subtest that names at least one requirement.
type Test struct {
	Package string `json:"package"`
	Name    string `json:"name"`
	Result  string `json:"result"`
}

// Row is one requirement with its evidence.
type Row struct {
	Requirement
	Result string `json:"result"`
	Tests  []Test `json:"tests"`
	// Note says what the tests alone do not: why a requirement was not
	// run, or the score of a run outside the stream.
	Note string `json:"note,omitempty"`
}

// Report is the whole conformance report.
type Report struct {
	Rows []Row `json:"requirements"`
	// Metrics are `mentordb-metric: key=value` lines that tests log, such as
	// measured PL/pgSQL branch coverage.
	Metrics map[string]string `json:"metrics,omitempty"`
	// Servers are the PostgreSQL servers the run's test binaries used, each
	// its version and provider on one line (`mentordb-server: ` lines that
	// testdb prints when it starts one); distinct lines, sorted.
	Servers []string `json:"servers,omitempty"`
	// Unknown lists IDs that tests name but DESIGN.md does not: a typo there
	// would otherwise prove nothing silently.
	Unknown []string `json:"unknown_ids,omitempty"`
	// Failures hold the output of every failed test and package, for the
	// person reading a red CI log.
	Failures []Failure `json:"failures,omitempty"`
	// Tests counts every test and subtest of the run by result.
	Tests map[string]int `json:"tests"`
	// Results are every test and subtest of the run with its final result,
	// sorted by package and name (for CheckJUnit; not in the JSON report).
	Results []Test `json:"-"`
	Passed  int    `json:"passed"`
	Failed  int    `json:"failed"`
	Missing int    `json:"missing"`
	NotRun  int    `json:"not_run"`
	// Mutation is the mutation run (CONF-4), when the report was given one.
	Mutation *Mutation `json:"mutation,omitempty"`
}

// Failure is a failed test (or package, with an empty Test) and its output.
type Failure struct {
	Package string `json:"package"`
	Test    string `json:"test,omitempty"`
	Output  string `json:"output"`
}

type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

const metricPrefix = "mentordb-metric: "

// ServerPrefix starts the line a test binary prints to name its server.
const ServerPrefix = "mentordb-server: "

// Build reads a `go test -json` stream and builds the report.
func Build(r io.Reader) (*Report, error) {
	results := map[string]Test{}
	metrics := map[string]string{}
	servers := map[string]bool{}
	output := map[string]*strings.Builder{}
	counts := map[string]int{}
	var failures []Failure
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1024*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		var ev event
		if err := json.Unmarshal(line, &ev); err != nil {
			return nil, fmt.Errorf("report: bad event %q: %w", line, err)
		}
		key := ev.Package + "\x00" + ev.Test
		if ev.Action == "output" {
			if output[key] == nil {
				output[key] = &strings.Builder{}
			}
			output[key].WriteString(ev.Output)
			if i := strings.Index(ev.Output, metricPrefix); i >= 0 {
				kv := strings.TrimSpace(ev.Output[i+len(metricPrefix):])
				if k, v, ok := strings.Cut(kv, "="); ok {
					metrics[k] = v
				}
			}
			if strings.HasPrefix(ev.Output, ServerPrefix) {
				servers[strings.TrimSpace(ev.Output[len(ServerPrefix):])] = true
			}
			continue
		}
		if ev.Action == "fail" {
			f := Failure{Package: ev.Package, Test: ev.Test}
			if b := output[key]; b != nil {
				f.Output = b.String()
			}
			failures = append(failures, f)
		}
		if ev.Test == "" || (ev.Action != "pass" && ev.Action != "fail" && ev.Action != "skip") {
			continue
		}
		results[key] = Test{Package: ev.Package, Name: ev.Test, Result: ev.Action}
		counts[ev.Action]++
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	rep := build(results, metrics)
	rep.Failures = failures
	rep.Tests = counts
	for srv := range servers {
		rep.Servers = append(rep.Servers, srv)
	}
	sort.Strings(rep.Servers)
	for _, t := range results {
		rep.Results = append(rep.Results, t)
	}
	sort.Slice(rep.Results, func(i, j int) bool {
		a, b := rep.Results[i], rep.Results[j]
		return a.Package < b.Package || a.Package == b.Package && a.Name < b.Name
	})
	return rep, nil
}

func build(results map[string]Test, metrics map[string]string) *Report {
	byID := map[string][]Test{}
	known := map[string]bool{}
	for _, req := range Requirements {
		known[req.ID] = true
	}
	unknown := map[string]bool{}
	for _, t := range results {
		for _, id := range IDs(t.Name) {
			byID[id] = append(byID[id], t)
			if !known[id] {
				unknown[id] = true
			}
		}
	}
	rep := &Report{Metrics: metrics}
	for _, req := range Requirements {
		tests := byID[req.ID]
		sort.Slice(tests, func(i, j int) bool { return tests[i].Package+tests[i].Name < tests[j].Package+tests[j].Name })
		row := Row{Requirement: req, Tests: tests, Result: verdict(tests)}
		if req.ID == mutationID && row.Result != Fail {
			// Proved by the mutation run, which AttachMutation adds.
			row.Result, row.Note = NotRun, notRunReason
		}
		rep.count(row.Result)
		rep.Rows = append(rep.Rows, row)
	}
	for id := range unknown {
		rep.Unknown = append(rep.Unknown, id)
	}
	sort.Strings(rep.Unknown)
	return rep
}

// verdict: any failure fails the requirement; otherwise one pass proves it;
// skips alone prove nothing.
func verdict(tests []Test) string {
	res := Missing
	for _, t := range tests {
		switch t.Result {
		case Fail:
			return Fail
		case Pass:
			res = Pass
		case Skip:
			if res == Missing {
				res = Skip
			}
		}
	}
	return res
}

// OK reports whether every requirement passed and no test named an unknown ID.
func (r *Report) OK() bool {
	return r.Failed == 0 && r.Missing == 0 && len(r.Unknown) == 0 && len(r.Failures) == 0
}
