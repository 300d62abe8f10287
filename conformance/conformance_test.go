package conformance

import "testing"

// suites are the groups of the matrix. Each calls t.Parallel and runs its
// cases as parallel subtests, every one on its own cloned database.
var suites = []struct {
	name string
	run  func(*testing.T)
}{
	{"Harness", testHarness},
	{"Platform", testPlatform},
	{"Request", testRequest},
	{"Migrate", testMigrate},
	{"Rollback", testRollback},
	{"Supabase", testSupabase},
	{"Lint", testLint},
}

// TestConformance runs the whole matrix, then the checks that need all of it
// to have run (coverage of the PL/pgSQL functions by the matrix).
func TestConformance(t *testing.T) {
	t.Run("matrix", func(t *testing.T) {
		for _, s := range suites {
			t.Run(s.name, s.run)
		}
	})
	for _, a := range afterMatrix {
		t.Run(a.name, a.run)
	}
}

// afterMatrix runs once the matrix is done.
var afterMatrix []struct {
	name string
	run  func(*testing.T)
}
