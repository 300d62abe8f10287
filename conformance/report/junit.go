package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
)

// junitSuites is the part of gotestsum's JUnit XML the check reads: one
// testsuite per package, one testcase per test or subtest (classname the
// package, name the test), a <failure> or <skipped> child for those results,
// and a testcase named TestMain with an empty classname for a package that
// failed outside any test.
type junitSuites struct {
	Suites []struct {
		Name  string `xml:"name,attr"`
		Cases []struct {
			Classname string    `xml:"classname,attr"`
			Name      string    `xml:"name,attr"`
			Failure   *struct{} `xml:"failure"`
			Skipped   *struct{} `xml:"skipped"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

// CheckJUnit compares a JUnit XML file with the report built from the JSON
// stream of the same run: every test and subtest must be in both, with the
// same result, and every package failure outside a test must be in the JUnit
// file too. CI systems show the JUnit file; this proves it says what the run
// said. It returns nil or an error listing up to 20 differences.
func CheckJUnit(r io.Reader, rep *Report) error {
	var doc junitSuites
	if err := xml.NewDecoder(r).Decode(&doc); err != nil {
		return fmt.Errorf("report: JUnit XML: %w", err)
	}
	junit := map[string]string{}
	pkgFail := map[string]bool{}
	for _, s := range doc.Suites {
		for _, c := range s.Cases {
			res := Pass
			switch {
			case c.Failure != nil:
				res = Fail
			case c.Skipped != nil:
				res = Skip
			}
			if c.Classname == "" && c.Name == "TestMain" {
				pkgFail[s.Name] = res == Fail
				continue
			}
			junit[c.Classname+"\x00"+c.Name] = res
		}
	}
	var diffs []string
	seen := map[string]bool{}
	for _, t := range rep.Results {
		k := t.Package + "\x00" + t.Name
		seen[k] = true
		got, ok := junit[k]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("%s %s: %s in the JSON stream, absent from the JUnit file", t.Package, t.Name, t.Result))
		case got != t.Result:
			diffs = append(diffs, fmt.Sprintf("%s %s: %s in the JSON stream, %s in the JUnit file", t.Package, t.Name, t.Result, got))
		}
	}
	for k, res := range junit {
		if !seen[k] {
			pkg, name, _ := strings.Cut(k, "\x00")
			diffs = append(diffs, fmt.Sprintf("%s %s: %s in the JUnit file, absent from the JSON stream", pkg, name, res))
		}
	}
	for _, f := range rep.Failures {
		if f.Test == "" && !pkgFail[f.Package] && !hasFailedTest(rep, f.Package) {
			diffs = append(diffs, fmt.Sprintf("%s: package failed in the JSON stream, no failure in the JUnit file", f.Package))
		}
	}
	if len(diffs) == 0 {
		return nil
	}
	sort.Strings(diffs)
	n := len(diffs)
	if n > 20 {
		diffs = append(diffs[:20], "...")
	}
	return fmt.Errorf("report: the JUnit file disagrees with the JSON stream in %d places:\n  %s", n, strings.Join(diffs, "\n  "))
}

func hasFailedTest(rep *Report, pkg string) bool {
	for _, t := range rep.Results {
		if t.Package == pkg && t.Result == Fail {
			return true
		}
	}
	return false
}

// rootTag is the opening tag of gotestsum's root element.
var rootTag = regexp.MustCompile(`<testsuites\b[^>]*>`)

// NameJUnit gives the root <testsuites> element of a JUnit file the name
// name (the run's server, Report.Server), replacing a name it had, so the
// CI views that show the file name the server version and provider. The
// rest of the file is left byte for byte.
func NameJUnit(doc []byte, name string) ([]byte, error) {
	loc := rootTag.FindIndex(doc)
	if loc == nil {
		return nil, fmt.Errorf("report: JUnit file without a <testsuites> element")
	}
	tag := string(doc[loc[0]:loc[1]])
	tag = regexp.MustCompile(`\sname="[^"]*"`).ReplaceAllString(tag, "")
	var esc bytes.Buffer
	if err := xml.EscapeText(&esc, []byte(name)); err != nil {
		return nil, err
	}
	tag = strings.Replace(tag, "<testsuites", `<testsuites name="`+strings.ReplaceAll(esc.String(), `"`, "&#34;")+`"`, 1)
	out := append([]byte(nil), doc[:loc[0]]...)
	out = append(out, tag...)
	return append(out, doc[loc[1]:]...), nil
}
