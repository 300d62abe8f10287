package mutation

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/mentordb/mentordb/conformance/pgtest"
)

// outcome is what one run of the test binary reported.
type outcome struct {
	// results maps every test that finished to PASS, FAIL or SKIP.
	results map[string]string
	// failed are the tests that failed on their own: failed, with no failed
	// subtest (a parent fails whenever a subtest does). A test that was
	// still running when the binary timed out counts as failed.
	failed  []string
	elapsed time.Duration
	output  []byte
	err     error
}

var (
	resultLine  = regexp.MustCompile(`^\s*--- (PASS|FAIL|SKIP): (\S+) \(`)
	runningLine = regexp.MustCompile(`^\s+(\S+) \([0-9.hms]+\)$`)
)

// runTests runs the compiled conformance binary in dir with pattern (all
// tests when empty), without the tests skip matches, with extra
// environment, and parses its -test.v output.
func runTests(ctx context.Context, binary, dir, pattern, skip string, timeout time.Duration, env []string) outcome {
	args := []string{"-test.v", "-test.count=1", "-test.timeout=" + timeout.String()}
	if pattern != "" {
		args = append(args, "-test.run="+pattern)
	}
	if skip != "" {
		args = append(args, "-test.skip="+skip)
	}
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	o := parseOutput(out)
	o.elapsed, o.output = time.Since(start), out
	if bytes.Contains(out, []byte(pgtest.MutantNotApplied)) {
		// Not a kill: the mutant never reached the test that failed.
		o.err = fmt.Errorf("the mutant does not apply to a clone:\n%s", tail(out, 4000))
		return o
	}
	if err != nil && len(o.failed) == 0 {
		o.err = fmt.Errorf("%s -test.run=%q: %v and no failed test:\n%s", binary, pattern, err, tail(out, 4000))
	}
	return o
}

func parseOutput(out []byte) outcome {
	o := outcome{results: map[string]string{}}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	timedOut := false
	for sc.Scan() {
		line := sc.Text()
		if m := resultLine.FindStringSubmatch(line); m != nil {
			o.results[m[2]] = m[1]
			continue
		}
		if strings.HasPrefix(line, "panic: test timed out after") {
			timedOut = true
			continue
		}
		if timedOut {
			if m := runningLine.FindStringSubmatch(line); m != nil {
				o.results[m[1]] = "FAIL"
			}
		}
	}
	for name, r := range o.results {
		if r != "FAIL" {
			continue
		}
		own := true
		for other, r2 := range o.results {
			if r2 == "FAIL" && strings.HasPrefix(other, name+"/") {
				own = false
				break
			}
		}
		if own {
			o.failed = append(o.failed, name)
		}
	}
	sort.Strings(o.failed)
	return o
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
