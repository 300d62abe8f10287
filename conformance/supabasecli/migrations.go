package supabasecli

import "context"

// MigrationUp applies the pending migrations of migrationsDir to dbURL:
//
//	supabase migration up --yes --remote=<url> --workdir <tmp> --agent no --output-format json
//
// where <tmp>/supabase/migrations is a symlink to migrationsDir. The CLI
// skips files not named <digits>_<name>.sql, applies the others that
// supabase_migrations.schema_migrations lacks (creating that table), and
// records each with its statements. A failing file is an *Error whose Code is
// MigrationApplyError and whose Message holds the SQLSTATE and statement.
func (c *CLI) MigrationUp(ctx context.Context, dbURL, migrationsDir string) error {
	_, err := c.MigrationUpApplied(ctx, dbURL, migrationsDir)
	return err
}

// MigrationUpApplied is MigrationUp that also returns the base names of the
// files the CLI applied (empty when the database was up to date).
func (c *CLI) MigrationUpApplied(ctx context.Context, dbURL, migrationsDir string) ([]string, error) {
	w, err := NewWorkdir(migrationsDir)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	args := []string{"migration", "up", "--yes", remote(dbURL)}
	out, err := c.run(ctx, w, args...)
	if err != nil {
		return nil, err
	}
	return parseMigrationUp(args, out)
}

// Row is one line of `supabase migration list`: a version present as a
// local file, in the remote history, or both.
type Row struct {
	Local  string `json:"local"`  // version of the local file; "" when there is none
	Remote string `json:"remote"` // version in schema_migrations; "" when not applied
	Time   string `json:"time"`   // the version as a UTC time, "2006-01-02 15:04:05"
}

// Applied reports whether the database's history holds the version.
func (r Row) Applied() bool { return r.Remote != "" }

// Pending reports whether a local file is not yet applied.
func (r Row) Pending() bool { return r.Local != "" && r.Remote == "" }

// Version is the row's version, whichever side has it.
func (r Row) Version() string {
	if r.Local != "" {
		return r.Local
	}
	return r.Remote
}

// MigrationList compares migrationsDir with dbURL's history:
//
//	supabase migration list --remote=<url> --workdir <tmp> --agent no --output-format json
func (c *CLI) MigrationList(ctx context.Context, dbURL, migrationsDir string) ([]Row, error) {
	w, err := NewWorkdir(migrationsDir)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	args := []string{"migration", "list", remote(dbURL)}
	out, err := c.run(ctx, w, args...)
	if err != nil {
		return nil, err
	}
	return parseMigrationList(args, out)
}

func parseMigrationUp(args []string, out []byte) ([]string, error) {
	var doc struct {
		Applied []string `json:"applied"`
	}
	if err := decode(args, out, &doc); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(doc.Applied))
	for _, p := range doc.Applied {
		names = append(names, baseName(p))
	}
	return names, nil
}

func baseName(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' || p[i] == '\\' {
			return p[i+1:]
		}
	}
	return p
}

func parseMigrationList(args []string, out []byte) ([]Row, error) {
	var doc struct {
		Migrations []Row `json:"migrations"`
	}
	if err := decode(args, out, &doc); err != nil {
		return nil, err
	}
	if doc.Migrations == nil {
		doc.Migrations = []Row{}
	}
	return doc.Migrations, nil
}

// DBPush applies the pending migrations of migrationsDir to dbURL the way a
// team that deploys with the CLI does:
//
//	supabase db push --yes --skip-vault [--include-all] --remote=<url> --workdir <tmp> --agent no --output-format json
//
// and returns the base names of the files it applied. Without includeAll
// the CLI refuses a local file older than the newest version in the
// history (that is what --include-all overrides).
func (c *CLI) DBPush(ctx context.Context, dbURL, migrationsDir string, includeAll bool) ([]string, error) {
	w, err := NewWorkdir(migrationsDir)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	args := []string{"db", "push", "--yes", "--skip-vault"}
	if includeAll {
		args = append(args, "--include-all")
	}
	args = append(args, remote(dbURL))
	out, err := c.run(ctx, w, args...)
	if err != nil {
		return nil, err
	}
	return parseDBPush(args, out)
}

func parseDBPush(args []string, out []byte) ([]string, error) {
	var doc struct {
		Migrations []string `json:"migrations"`
	}
	if err := decode(args, out, &doc); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(doc.Migrations))
	for _, p := range doc.Migrations {
		names = append(names, baseName(p))
	}
	return names, nil
}
