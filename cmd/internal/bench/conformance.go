package bench

import (
	"context"
	"os/exec"
	"strings"
	"time"
)

// timeConformance times the conformance suite (`make conformance`, what
// the DESIGN target names) in a subprocess after an untimed build of every
// test binary of the workspace's modules (a warm Go build cache).
func timeConformance(ctx context.Context, opts Options) (*ConformanceRun, error) {
	run := &ConformanceRun{Cmd: strings.Join(opts.ConformanceCmd, " ")}
	opts.logf("warming the Go build cache: go test -count=1 -exec /bin/true work")
	warm := exec.CommandContext(ctx, "go", "test", "-count=1", "-exec", "/bin/true", "work")
	warm.Dir = opts.ConformanceDir
	if out, err := warm.CombinedOutput(); err != nil {
		run.Note = "build failed: " + lastLines(string(out), 5)
	}
	opts.logf("timing: %s", run.Cmd)
	cmd := exec.CommandContext(ctx, opts.ConformanceCmd[0], opts.ConformanceCmd[1:]...)
	cmd.Dir = opts.ConformanceDir
	t0 := time.Now()
	out, err := cmd.CombinedOutput()
	run.Wall = time.Since(t0)
	if st := cmd.ProcessState; st != nil {
		run.CPU = st.UserTime() + st.SystemTime()
	}
	run.Passed = err == nil
	run.Output = lastLines(string(out), 20)
	opts.logf("  %s (passed: %v)", run.Wall.Round(10*time.Millisecond), run.Passed)
	return run, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
