package migrate

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Export writes the source's migration files, byte for byte and under their
// own names, into dir (a Supabase project's supabase/migrations, created if
// missing), so that `supabase db push` applies them with the project's own
// migrations and recognises the versions this runner recorded. Rollbacks are
// not written: the CLI would take them for migrations.
//
// A file already there with the same name and bytes is left as it is; it
// returns the names it wrote. A file there with one of the source's versions
// but another name or other bytes is a conflict (ErrExportConflict, in an
// *Error per file): nothing is written, because the CLI would record that
// file's statements under mentordb's version and Up would then refuse the
// database as changed.
func Export(src Source, dir string) ([]string, error) {
	files, err := load(src.Migrations)
	if err != nil {
		return nil, err
	}
	present := map[string]string{} // version -> file name in dir
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("migrate: export: %w", err)
	}
	for _, e := range entries {
		if m := fileName.FindStringSubmatch(e.Name()); m != nil && !e.IsDir() {
			present[m[1]] = e.Name()
		}
	}
	var todo []Migration
	var errs []error
	for _, m := range files {
		have, ok := present[m.Version]
		if !ok {
			todo = append(todo, m)
			continue
		}
		if have != m.File {
			errs = append(errs, &Error{Version: m.Version, File: m.File, Op: "export",
				Err: fmt.Errorf("%w (%s)", ErrExportConflict, filepath.Join(dir, have))})
			continue
		}
		body, err := os.ReadFile(filepath.Join(dir, have))
		if err != nil {
			return nil, fmt.Errorf("migrate: export: %w", err)
		}
		if !bytes.Equal(body, []byte(m.sql)) {
			errs = append(errs, &Error{Version: m.Version, File: m.File, Op: "export",
				Err: fmt.Errorf("%w (%s has other content)", ErrExportConflict, filepath.Join(dir, have))})
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(todo) == 0 {
		return nil, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("migrate: export: %w", err)
	}
	var written []string
	for _, m := range todo {
		// Through a temporary name, so an interrupted export never leaves a
		// truncated migration for the CLI to apply.
		tmp := filepath.Join(dir, "."+m.File+".tmp")
		if err := os.WriteFile(tmp, []byte(m.sql), 0o644); err != nil {
			return written, fmt.Errorf("migrate: export %s: %w", m.File, err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, m.File)); err != nil {
			os.Remove(tmp)
			return written, fmt.Errorf("migrate: export %s: %w", m.File, err)
		}
		written = append(written, m.File)
	}
	return written, nil
}
