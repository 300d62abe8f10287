package mutation

import (
	"regexp"
	"sort"
)

// A snapshot test compares the catalog, a file or a tool's findings with a
// recorded expectation. It fails on any change of the schema, so its
// failure proves nothing about behaviour: a mutant killed only by snapshot
// tests is reported as a snapshot-only kill and does not count. Every other
// test of the matrix acts as a user or exercises the constraint, trigger,
// function or plan, and is behavioural.
//
// The list is reviewed like code: a test belongs here when what it asserts
// is read from pg_catalog, a file or a linter, not observed by running
// statements against the schema. Names are as `go test` prints them
// (spaces as underscores).
var Snapshot = []struct {
	Pattern *regexp.Regexp
	Reason  string
}{
	{re(`^TestConformance/matrix/Access/catalog_drift`), "compares pg_catalog's grants and policies with the access spec"},
	{re(`^TestConformance/matrix/Harness/`), "checks the harness and sqlc's output, not the schema"},
	{re(`^TestConformance/matrix/Lint/`), "static analysis of the PL/pgSQL bodies (plpgsql_check)"},
	{re(`^TestConformance/matrix/Supabase/`), "the Supabase CLI's migration history, advisors and linter; catalog comparison with the Go runner's schema"},
	{re(`^TestConformance/matrix/Rollback/`), "compares catalogs before a migration and after its rollback"},
	{re(`^TestConformance/matrix/Squawk/`), "lints the migration files (squawk)"},
	{re(`^TestConformance/matrix/Locks/`), "applies the migration files and their rollbacks under live locks (CONF-3): the files, not the migrated schema"},
	{re(`^TestConformance/matrix/Schema/`), "compares pg_dump's schema with sql/schema.sql"},
	{re(`/DB-ERR-1_`), "compares the catalog's constraint and raised names with db's generated constants and error table"},
	{re(`^TestConformance/matrix/SharedHistory/`), "the migration runner's history shared with a project's own migrations, on fresh databases"},
	{re(`/PA-MIG-1_`), "the migration file, its comments and its history row"},
	{re(`/PS-MIG-1_`), "the migration file's statement order and its history row"},
	{re(`/PA-COL-1_columns,_types,_nullability_and_defaults`), "compares the columns in pg_attribute with the seed's list"},
	{re(`/PA-FK-1_PA-FK-2_PA-ORG-2_the_catalog's_foreign_keys`), "compares pg_constraint with the seed's foreign keys"},
	{re(`/PA-IDX-1_the_seed's_six_indexes_exist`), "compares pg_index with the seed's index list"},
	{re(`/PA-IDX-1_every_foreign_key_of_.*covered_by_an_index`), "reads pg_index and pg_constraint"},
	{re(`/PA-PLAN-1_the_seed's_six_indexes_alone`), "asserts the list of proxy_activities' indexes in pg_index before it compares plans (which only dropping the covering index changes)"},
	{re(`/PS-RPC-6_EXECUTE_on_the_RPCs_is_granted_to_authenticated_only`), "reads the functions' ACLs"},
	{re(`/DB-2_the_repository's_constraint_and_policy_names_are_the_catalog's`), "compares the Go error table with pg_constraint and pg_policy"},
	{re(`^TestConformance/PS-COV-1`), "measures the matrix's branch coverage, not the schema"},
	{re(`^TestConformance/matrix/Mutation/`), "reads the catalog through the mutation generator"},
	{re(`/CONF-5_static_pin:`), "reads the function bodies' table dependencies (plpgsql_check), the static pin of the equivalences that rest on them"},
}

// slowSnapshot are snapshot tests left out of the snapshot stage (which
// only tells a snapshot-only kill from a survivor): external tools that
// take seconds each and see no more than the catalog comparisons do.
var slowSnapshot = re(`^TestConformance/matrix/(` + slowSuites + `)/`)

// slowSuites run external tools (the Supabase CLI, squawk, sqlc,
// plpgsql_check, pg_dump) over files or fresh databases: they can tell no mutant
// apart by its behaviour, and the mutation run, its unmutated run
// included, leaves them to the matrix run (make conformance).
const slowSuites = "Supabase|Harness|Lint|Squawk|SharedHistory|Locks|Schema"

// SkipPattern is the -test.skip pattern of the mutation run's unmutated
// matrix.
const SkipPattern = "^TestConformance$/^matrix$/^(" + slowSuites + ")$"

func re(s string) *regexp.Regexp { return regexp.MustCompile(s) }

// IsSnapshot reports whether test is a snapshot test, and why.
func IsSnapshot(test string) (bool, string) {
	for _, s := range Snapshot {
		if s.Pattern.MatchString(test) {
			return true, s.Reason
		}
	}
	return false, ""
}

// splitKills divides the failed tests into behavioural and snapshot ones,
// each sorted.
func splitKills(failed []string) (behavioural, snapshot []string) {
	for _, t := range failed {
		if snap, _ := IsSnapshot(t); snap {
			snapshot = append(snapshot, t)
		} else {
			behavioural = append(behavioural, t)
		}
	}
	sort.Strings(behavioural)
	sort.Strings(snapshot)
	return behavioural, snapshot
}
