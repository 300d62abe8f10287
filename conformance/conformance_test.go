package conformance

import (
	"sync/atomic"
	"testing"
)

// suites are the groups of the matrix. Each calls t.Parallel and runs its
// cases as parallel subtests, every one on its own cloned database.
var suites = []struct {
	name string
	run  func(*testing.T)
}{
	// The longest suites first, so the rest overlap them.
	{"Plans", testPlans},
	{"PlanVet", testPlanVet},
	{"Supabase", testSupabase},
	{"Harness", testHarness},
	{"Platform", testPlatform},
	{"Request", testRequest},
	{"RequestCompose", testRequestCompose},
	{"Migrate", testMigrate},
	{"SharedHistory", testSharedHistory},
	{"Token", testToken},
	{"Rollback", testRollback},
	{"Pause", testPause},
	{"ProxyActivities", testProxyActivities},
	{"ReportPlans", testReportPlans},
	{"Lint", testLint},
	{"Access", testAccess},
	{"Pooler", testPooler},
	{"Bounds", testBounds},
	{"Squawk", testSquawk},
	{"Constraints", testConstraints},
	{"Schema", testSchema},
	{"Admin", testAdmin},
	{"Locks", testLocks},
	{"Wire", testWire},
	{"TxContract", testTxContract},
	{"Trace", testTrace},
	{"Faults", testFaults},
	{"OwnerGuarantees", testOwner},
	{"TriggerScope", testTriggerScope},
	{"ThreatModel", testThreatModel},
	{"Mutation", testMutation},
}

// TestConformance runs the whole matrix, then the checks that need all of it
// to have run (coverage of the PL/pgSQL functions by the matrix).
func TestConformance(t *testing.T) {
	t.Run("matrix", func(t *testing.T) {
		for _, s := range suites {
			t.Run(s.name, func(t *testing.T) {
				suitesRun.Add(1)
				s.run(t)
			})
		}
	})
	for _, a := range afterMatrix {
		t.Run(a.name, a.run)
	}
}

// suitesRun counts the suites that -run let run: the checks after the
// matrix judge the whole matrix only (see matrixRanFully).
var suitesRun atomic.Int32

// afterMatrix runs once the matrix is done.
var afterMatrix = []struct {
	name string
	run  func(*testing.T)
}{
	{"PS-COV-1 every branch of every PL/pgSQL function is executed by the matrix", testCoverage},
}
