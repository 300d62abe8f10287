package review

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/mentordb/mentordb/conformance/squawk"
	"github.com/mentordb/mentordb/db/migrate"
	"github.com/mentordb/mentordb/internal/harness/schemadump"
)

// FileRisk is the deployment risk of one new migration file.
type FileRisk struct {
	File string `json:"file"`
	// Locks are the table locks its statements take on tables that existed
	// before it, each where a statement first takes it (or a stronger one).
	Locks []StatementLock `json:"locks"`
	// Rollback is "restores" (applied, rolled back, the catalog equals the
	// one before, applied again), "missing", or "differs".
	Rollback     string           `json:"rollback"`
	RollbackDiff *CatalogDelta    `json:"rollback_diff,omitempty"`
	Squawk       []squawk.Finding `json:"squawk"`
	Error        string           `json:"error,omitempty"`
}

// StatementLock is one lock a statement takes.
type StatementLock struct {
	Statement int    `json:"statement"` // 1-based, as migrate.Split cuts the file
	SQL       string `json:"sql"`       // its first line
	Table     string `json:"table"`
	Mode      string `json:"mode"` // pg_locks' name: AccessExclusiveLock, ...
	Blocks    string `json:"blocks"`
}

// strength orders pg_locks' modes, weakest first (the Locks suite's order).
var strength = []string{"AccessShareLock", "RowShareLock", "RowExclusiveLock", "ShareUpdateExclusiveLock",
	"ShareLock", "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock"}

// blocks says whom a lock mode makes wait, in a reviewer's words.
var blocks = map[string]string{
	"AccessShareLock":          "only ACCESS EXCLUSIVE DDL",
	"RowShareLock":             "EXCLUSIVE and ACCESS EXCLUSIVE",
	"RowExclusiveLock":         "SHARE and stronger: CREATE INDEX, some DDL",
	"ShareUpdateExclusiveLock": "VACUUM, ANALYZE, other schema changes; not reads or writes",
	"ShareLock":                "every write (reads go on)",
	"ShareRowExclusiveLock":    "every write (reads go on)",
	"ExclusiveLock":            "every write (reads go on)",
	"AccessExclusiveLock":      "every read and write of the table",
}

func rankMode(m string) int {
	for i, s := range strength {
		if s == m {
			return i
		}
	}
	return -1
}

// measureLocks runs the file's statements one at a time in a transaction
// that is rolled back, and reads pg_locks after each: the CONF-3 suite's
// observation (conformance/locks_test.go), per statement.
func measureLocks(ctx context.Context, url, body string) ([]StatementLock, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // the measurement never commits
	existing, err := pairs(ctx, tx, `SELECT c.oid::text, format('%I.%I', n.nspname, c.relname)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p') AND `+userSchemas)
	if err != nil {
		return nil, err
	}
	held := map[string]string{}
	var out []StatementLock
	for i, stmt := range migrate.Split(body) {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return out, fmt.Errorf("statement %d (%s): %w", i+1, firstLine(stmt), err)
		}
		locks, err := pairs(ctx, tx, `SELECT relation::text || ' ' || mode, mode FROM pg_locks
			WHERE pid = pg_backend_pid() AND locktype = 'relation' AND granted`)
		if err != nil {
			return out, err
		}
		for _, k := range sortedKeys(locks) {
			mode := locks[k]
			oid, _, _ := strings.Cut(k, " ")
			table, ok := existing[oid]
			if !ok || rankMode(mode) <= rankMode(held[oid]) {
				continue
			}
			held[oid] = mode
			out = append(out, StatementLock{Statement: i + 1, SQL: firstLine(stmt), Table: table, Mode: mode, Blocks: blocks[mode]})
		}
	}
	return out, nil
}

// firstLine is a statement's first line that is not a comment.
func firstLine(stmt string) string {
	for _, l := range strings.Split(stmt, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "--") {
			if len(l) > 120 {
				l = l[:117] + "..."
			}
			return l
		}
	}
	return ""
}

// applyNew applies one new file on the head database: the locks its
// statements take, then the file by the runner, then its rollback (the
// catalog must equal the one before) and the file again. intact is false
// when the database is not left at the file's schema (a rollback that
// failed or left something behind, so the file did not apply again): the
// caller rebuilds it.
func applyNew(ctx context.Context, url string, sqlDB *sql.DB, head Files, file, prev string, r *Report) (fr FileRisk, intact bool, err error) {
	fr = FileRisk{File: file, Squawk: []squawk.Finding{}}
	locks, err := measureLocks(ctx, url, string(head.Migrations[file]))
	fr.Locks = locks
	if err != nil {
		fr.Error = "lock measurement: " + err.Error()
	}
	before, err := schemadump.Dump(ctx, url)
	if err != nil {
		return fr, false, err
	}
	runner := migrate.New(sqlDB, head.source(file[:14]))
	if _, err := runner.Up(ctx); err != nil {
		return fr, false, fmt.Errorf("%s does not apply: %w", file, err)
	}
	if _, ok := head.Rollbacks[file]; !ok {
		fr.Rollback = "missing"
		r.add(Finding{Level: Fail, Rule: RuleRollbackMissing, Section: "risk", Object: file,
			Message: file + " has no rollback in sql/rollback (one per migration, same name)"})
		return fr, true, nil
	}
	if _, err := runner.Down(ctx, prev); err != nil {
		fr.Rollback = "differs"
		r.add(Finding{Level: Fail, Rule: RuleRollbackDiffers, Section: "risk", Object: file, Message: "the rollback of " + file + " fails: " + err.Error()})
		return fr, true, nil
	}
	restored, err := schemadump.Dump(ctx, url)
	if err != nil {
		return fr, false, err
	}
	if d := diffEntries(before, restored); !d.empty() {
		fr.Rollback, fr.RollbackDiff = "differs", d
		var what []string
		for _, e := range d.Added {
			what = append(what, "left behind: "+e.Title())
		}
		for _, e := range d.Dropped {
			what = append(what, "not restored: "+e.Title())
		}
		for _, c := range d.Changed {
			what = append(what, "not as before: "+c.Title())
		}
		r.add(Finding{Level: Fail, Rule: RuleRollbackDiffers, Section: "risk", Object: file,
			Message: "the rollback of " + file + " does not restore the catalog before it: " + strings.Join(what, "; ")})
	} else {
		fr.Rollback = "restores"
	}
	if _, err := runner.Up(ctx); err != nil {
		if fr.Rollback == "differs" {
			return fr, false, nil
		}
		return fr, false, fmt.Errorf("%s does not apply again after its rollback: %w", file, err)
	}
	return fr, true, nil
}

// lintNew runs squawk, with the repository's configs, over the new files
// and their rollbacks (written to a temporary directory under their names).
func lintNew(ctx context.Context, sq *squawk.Squawk, configDir string, head Files, risks []FileRisk, r *Report) error {
	dir, err := os.MkdirTemp("", "mentordb-review-squawk-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	for i := range risks {
		fr := &risks[i]
		for _, set := range []struct {
			kind, config string
			body         []byte
		}{{"migration", "migrations.toml", head.Migrations[fr.File]}, {"rollback", "rollbacks.toml", head.Rollbacks[fr.File]}} {
			if set.body == nil {
				continue
			}
			sub := filepath.Join(dir, set.kind)
			if err := os.MkdirAll(sub, 0o755); err != nil {
				return err
			}
			path := filepath.Join(sub, fr.File)
			if err := os.WriteFile(path, set.body, 0o644); err != nil {
				return err
			}
			found, err := sq.Lint(ctx, filepath.Join(configDir, set.config), path)
			if err != nil {
				return err
			}
			for _, f := range found {
				f.File = set.kind + " " + fr.File
				fr.Squawk = append(fr.Squawk, f)
				r.add(Finding{Level: Warn, Rule: RuleSquawk, Section: "risk", Object: f.File,
					Message: fmt.Sprintf("line %d %s: %s", f.Line, f.Rule, f.Message)})
			}
		}
	}
	return nil
}
