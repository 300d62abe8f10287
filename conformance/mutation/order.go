package mutation

import (
	"slices"
	"sort"
	"strings"
	"sync"
)

// hintSize is how many tests a hint holds: enough to hold the test that
// kills most mutants of an object (the access matrix's cells of a table, the
// foreign-key test) and a second choice, few enough that a binary running
// them costs little more than starting it.
const hintSize = 3

// killers counts, during a run, how many mutants each test (one level below
// the suites) has killed, so that a mutant's stage runs first, on its own,
// the few of its tests that killed most so far. The order changes how soon
// a kill is found, never whether one is: a hint that kills nothing is
// followed by the rest of the stage.
type killers struct {
	mu    sync.Mutex
	kills map[string]int
}

func newKillers() *killers { return &killers{kills: map[string]int{}} }

// record counts one kill for each test (by its level-4 name) in killedBy.
func (k *killers) record(killedBy []string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	seen := map[string]bool{}
	for _, t := range killedBy {
		t = level4(t)
		if !seen[t] {
			seen[t] = true
			k.kills[t]++
		}
	}
}

// hint returns up to hintSize of tests that have killed before, most kills
// first (ties by name), or nil when that would be all of tests.
func (k *killers) hint(tests []string) []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []string
	for _, t := range tests {
		if k.kills[t] > 0 {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if k.kills[out[i]] != k.kills[out[j]] {
			return k.kills[out[i]] > k.kills[out[j]]
		}
		return out[i] < out[j]
	})
	if len(out) > hintSize {
		out = out[:hintSize]
	}
	if len(out) == 0 || len(out) == len(tests) {
		return nil
	}
	return out
}

// level4 cuts a test name to its first four levels (TestConformance/matrix/
// suite/test), the level RunPattern selects.
func level4(test string) string {
	if p := strings.SplitN(test, "/", 5); len(p) == 5 {
		return strings.Join(p[:4], "/")
	}
	return test
}

// without returns tests minus those in drop.
func without(tests, drop []string) []string {
	var out []string
	for _, t := range tests {
		if !slices.Contains(drop, t) {
			out = append(out, t)
		}
	}
	return out
}
