package report

import (
	"encoding/xml"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// junitOf writes JUnit XML shaped as gotestsum writes it (one testsuite per
// package; a TestMain case with an empty classname for a package failure).
func junitOf(cases ...string) *strings.Reader {
	return strings.NewReader(`<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="3" failures="1" errors="0" time="1.0">
	<testsuite tests="3" failures="1" time="1.0" name="p" timestamp="2026-12-01T00:00:00Z">
		<properties><property name="go.version" value="go1.26.8 linux/amd64"></property></properties>
` + strings.Join(cases, "\n") + `
	</testsuite>
</testsuites>`)
}

func TestCheckJUnit(t *testing.T) {
	t.Parallel()
	rep, err := Build(stream(
		`{"Action":"pass","Package":"p","Test":"TestA/one"}`,
		`{"Action":"output","Package":"p","Test":"TestA/two","Output":"boom\n"}`,
		`{"Action":"fail","Package":"p","Test":"TestA/two"}`,
		`{"Action":"skip","Package":"p","Test":"TestB"}`,
		`{"Action":"fail","Package":"p","Test":"TestA"}`,
		`{"Action":"fail","Package":"p"}`,
	))
	require.NoError(t, err)
	require.Len(t, rep.Results, 4)

	pass := func(name string) string { return `<testcase classname="p" name="` + name + `" time="0.1"></testcase>` }
	fail := func(name string) string {
		return `<testcase classname="p" name="` + name + `" time="0.1"><failure message="Failed" type="">boom</failure></testcase>`
	}
	skip := `<testcase classname="p" name="TestB" time="0"><skipped message="skipped"></skipped></testcase>`

	t.Run("same tests, same results", func(t *testing.T) {
		require.NoError(t, CheckJUnit(junitOf(pass("TestA/one"), fail("TestA/two"), skip, fail("TestA")), rep))
	})
	t.Run("a different result", func(t *testing.T) {
		err := CheckJUnit(junitOf(pass("TestA/one"), pass("TestA/two"), skip, fail("TestA")), rep)
		require.ErrorContains(t, err, "p TestA/two: fail in the JSON stream, pass in the JUnit file")
	})
	t.Run("a test missing from either side", func(t *testing.T) {
		err := CheckJUnit(junitOf(pass("TestA/one"), fail("TestA/two"), fail("TestA"), pass("TestC")), rep)
		require.ErrorContains(t, err, "p TestB: skip in the JSON stream, absent from the JUnit file")
		require.ErrorContains(t, err, "p TestC: pass in the JUnit file, absent from the JSON stream")
		require.ErrorContains(t, err, "in 2 places")
	})
	t.Run("a package failure outside any test", func(t *testing.T) {
		pkgOnly, err := Build(stream(`{"Action":"fail","Package":"q"}`))
		require.NoError(t, err)
		require.ErrorContains(t, CheckJUnit(junitOf(), pkgOnly), "q: package failed in the JSON stream")
		ok := strings.NewReader(`<testsuites><testsuite name="q"><testcase classname="" name="TestMain"><failure message="Failed"></failure></testcase></testsuite></testsuites>`)
		require.NoError(t, CheckJUnit(ok, pkgOnly))
	})
	t.Run("not XML", func(t *testing.T) {
		require.ErrorContains(t, CheckJUnit(strings.NewReader("{}"), rep), "JUnit XML")
	})
}

// TestServerLine: the servers the test binaries name reach the report's
// Markdown, its summary and the JUnit file's root element, on one line.
func TestServerLine(t *testing.T) {
	t.Parallel()
	rep, err := Build(stream(
		`{"Action":"output","Package":"p","Output":"mentordb-server: PostgreSQL 17.12 (Debian 17.12-1) via docker (image mentordb-postgres:17-0123456789ab)\n"}`,
		`{"Action":"output","Package":"q","Output":"mentordb-server: PostgreSQL 17.12 (Debian 17.12-1) via docker (image mentordb-postgres:17-0123456789ab)\n"}`,
		`{"Action":"output","Package":"q","Test":"TestA","Output":"    a_test.go:1: the line mentordb-server: x inside a test's log is not a server\n"}`,
		`{"Action":"pass","Package":"p","Test":"TestA"}`,
	))
	require.NoError(t, err)
	const want = "PostgreSQL 17.12 (Debian 17.12-1) via docker (image mentordb-postgres:17-0123456789ab)"
	require.Equal(t, []string{want}, rep.Servers, "one line per distinct server")
	require.Equal(t, want, rep.Server())
	var md, sum strings.Builder
	require.NoError(t, rep.Markdown(&md))
	require.Contains(t, md.String(), "\nServer: "+want+"\n")
	require.NoError(t, rep.Summary(&sum))
	require.Contains(t, sum.String(), "- server: "+want+"\n")

	doc := []byte(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<testsuites name="old" tests="1" failures="0">` + "\n\t<testsuite name=\"p\"></testsuite>\n</testsuites>")
	named, err := NameJUnit(doc, `A "quoted" <server> & more`)
	require.NoError(t, err)
	require.Equal(t, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<testsuites name="A &#34;quoted&#34; &lt;server&gt; &amp; more" tests="1" failures="0">`+"\n\t<testsuite name=\"p\"></testsuite>\n</testsuites>", string(named))
	var root struct {
		Name string `xml:"name,attr"`
	}
	require.NoError(t, xml.Unmarshal(named, &root))
	require.Equal(t, `A "quoted" <server> & more`, root.Name)
	_, err = NameJUnit([]byte("<x/>"), "s")
	require.ErrorContains(t, err, "without a <testsuites>")
}
