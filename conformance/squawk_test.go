package conformance

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/pgtest"
	"github.com/mentordb/mentordb/conformance/squawk"
)

// squawkBin returns the pinned squawk. As with the Supabase CLI, outside CI
// a missing binary is installed once (scripts/setup npm) and, if that cannot
// work, the tests skip with the command that installs it; in CI it fails.
func squawkBin(t *testing.T) *squawk.Squawk {
	t.Helper()
	s, err := squawk.Find()
	if err != nil && os.Getenv("CI") != "true" {
		if err := installTools(); err != nil {
			t.Skipf("EXT-2 not run: %v (install squawk with: scripts/setup npm)", err)
		}
		s, err = squawk.Find()
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("EXT-2 needs squawk: %v (run scripts/setup npm)", err)
		}
		t.Skipf("EXT-2 not run: %v (run scripts/setup npm)", err)
	}
	return s
}

// squawkSets are the two file sets squawk checks, each with its config.
var squawkSets = []struct{ name, dir, config string }{
	{"migration", "../sql/migrations", "squawk/migrations.toml"},
	{"rollback", "../sql/rollback", "squawk/rollbacks.toml"},
}

func testSquawk(t *testing.T) {
	t.Parallel()

	t.Run("EXT-2 the pinned squawk-cli is the version the package pins", func(t *testing.T) {
		t.Parallel()
		s := squawkBin(t)
		v, err := s.Version(pgtest.Ctx(t))
		require.NoError(t, err)
		require.Equal(t, squawk.Version, v)
		var pkg struct{ Dependencies map[string]string }
		b, err := os.ReadFile("squawk/npm/package.json")
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(b, &pkg))
		require.Equal(t, squawk.Version, pkg.Dependencies["squawk-cli"], "package.json pins the version the Go package expects")
	})

	for _, set := range squawkSets {
		t.Run("EXT-2 squawk reports no finding on any "+set.name+" (excluded rules in "+set.config+")", func(t *testing.T) {
			t.Parallel()
			s := squawkBin(t)
			files := sqlFiles(t, set.dir)
			findings, err := s.Lint(pgtest.Ctx(t), set.config, files...)
			require.NoError(t, err)
			var lines []string
			for _, f := range findings {
				lines = append(lines, f.String())
			}
			require.Empty(t, lines, "squawk findings: fix the new file, or (for an applied one) exclude the rule with its reason in %s", set.config)
		})

		t.Run("EXT-2 every rule "+set.config+" excludes has its reason and is still needed", func(t *testing.T) {
			t.Parallel()
			s := squawkBin(t)
			ctx := pgtest.Ctx(t)
			rules := excludedRules(t, set.config)
			require.NotEmpty(t, rules)
			files := sqlFiles(t, set.dir)
			for rule, reason := range rules {
				require.NotEmpty(t, reason, "%s excludes %s without a reason", set.config, rule)
				findings, err := s.Lint(ctx, configWithout(t, set.config, rule), files...)
				require.NoError(t, err)
				found := false
				for _, f := range findings {
					found = found || f.Rule == rule
				}
				require.True(t, found, "%s excludes %s, which finds nothing any more: remove it", set.config, rule)
			}
		})
	}
}

func sqlFiles(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.sql"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	return files
}

// excludedRules reads the config's excluded_rules, each with the "# reason:"
// comment right above it (continued on the following comment lines).
func excludedRules(t *testing.T, config string) map[string]string {
	t.Helper()
	f, err := os.Open(config)
	require.NoError(t, err)
	defer f.Close()
	rules := map[string]string{}
	in := false
	var reason []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "excluded_rules"):
			in = true
		case !in:
		case line == "]":
			in = false
		case strings.HasPrefix(line, "# reason:"):
			reason = []string{strings.TrimSpace(strings.TrimPrefix(line, "# reason:"))}
		case strings.HasPrefix(line, "#") && reason != nil:
			reason = append(reason, strings.TrimSpace(strings.TrimPrefix(line, "#")))
		case strings.HasPrefix(line, `"`):
			rules[strings.Trim(line, `",`)] = strings.Join(reason, " ")
			reason = nil
		}
	}
	require.NoError(t, sc.Err())
	return rules
}

// configWithout writes a copy of config whose excluded_rules lacks rule.
func configWithout(t *testing.T, config, rule string) string {
	t.Helper()
	b, err := os.ReadFile(config)
	require.NoError(t, err)
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(line) != `"`+rule+`",` {
			out = append(out, line)
		}
	}
	require.Len(t, out, len(strings.Split(string(b), "\n"))-1, "rule %s is listed once as %q", rule, `"`+rule+`",`)
	p := filepath.Join(t.TempDir(), "squawk.toml")
	require.NoError(t, os.WriteFile(p, []byte(strings.Join(out, "\n")), 0o644))
	return p
}
