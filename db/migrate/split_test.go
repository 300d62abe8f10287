package migrate

import (
	"io/fs"
	"testing"

	"github.com/stretchr/testify/require"
)

// The expectations are what the Supabase CLI's SplitAndTrim returns for the
// same input (several come from its own parser tests), quirks included.
func TestSplit(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		sql  string
		want []string
	}{
		{"empty file", "", nil},
		{"whitespace only", " \n\t\n", nil},
		{"no trailing semicolon", "SELECT 1", []string{"SELECT 1"}},
		{"trims semicolons and whitespace", "  SELECT 1 ;\n\nSELECT 2;\n", []string{"SELECT 1", "SELECT 2"}},
		{"empty statements dropped", ";; ;\n SELECT 1;;", []string{"SELECT 1"}},
		{"trailing comment is a statement", "SELECT 1;\n-- the end\n", []string{"SELECT 1", "-- the end"}},
		{"comment kept with its statement", "-- first\nSELECT 1;", []string{"-- first\nSELECT 1"}},
		{"dollar quote hides semicolons",
			"CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$\nBEGIN\n  RETURN 1;\nEND;\n$$;\nSELECT 1;",
			[]string{"CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$\nBEGIN\n  RETURN 1;\nEND;\n$$", "SELECT 1"}},
		{"named tag", "SELECT $tag$ any ; string$tag$; SELECT 2", []string{"SELECT $tag$ any ; string$tag$", "SELECT 2"}},
		{"nested tags",
			"DO $outer$ BEGIN EXECUTE $q$SELECT 1; SELECT 2$q$; PERFORM $$;$$; END $outer$; SELECT 3",
			[]string{"DO $outer$ BEGIN EXECUTE $q$SELECT 1; SELECT 2$q$; PERFORM $$;$$; END $outer$", "SELECT 3"}},
		{"anonymous tag with quotes inside", `SELECT $$"Dane's horse"$$; SELECT 2`, []string{`SELECT $$"Dane's horse"$$`, "SELECT 2"}},
		{"dollar after identifier is not a quote", "SELECT a$b; SELECT $$;$$", []string{"SELECT a$b", "SELECT $$;$$"}},
		{"dollar inside quoted identifier", `SELECT "$"; SELECT $$ x $$`, []string{`SELECT "$"`, "SELECT $$ x $$"}},
		{"line comment hides semicolon", "SELECT 1 -- not; here\n; SELECT 2", []string{"SELECT 1 -- not; here", "SELECT 2"}},
		{"single dash is not a comment", "SELECT 2 - 1; SELECT 3", []string{"SELECT 2 - 1", "SELECT 3"}},
		{"block comment hides semicolon", "SELECT /* ; */ 1; SELECT 2", []string{"SELECT /* ; */ 1", "SELECT 2"}},
		{"nested block comment", "SELECT /*; /*;*/ ;*/ 1; SELECT 2", []string{"SELECT /*; /*;*/ ;*/ 1", "SELECT 2"}},
		{"slash star with space is no comment", "/ * ; */ END", []string{"/ *", "*/ END"}},
		{"doubled single quote", "SELECT 'it''s; fine'; SELECT 2", []string{"SELECT 'it''s; fine'", "SELECT 2"}},
		{"E string with doubled quote", "SELECT E'a''b;c\\n'; SELECT 2", []string{"SELECT E'a''b;c\\n'", "SELECT 2"}},
		// The CLI does not know E'' backslash escapes: \' ends the string,
		// the next ' opens one that runs to the end of the file.
		{"E string backslash quote quirk", "SELECT E'it\\'s'; SELECT 2", []string{"SELECT E'it\\'s'; SELECT 2"}},
		{"backslash in plain string is literal", "SELECT '\\'; SELECT 2", []string{"SELECT '\\'", "SELECT 2"}},
		{"backslash outside quotes escapes", "\\;;\\;", []string{"\\", "\\"}},
		{"quoted identifier", `CREATE POLICY "cats;dogs" ON t; SELECT 1`, []string{`CREATE POLICY "cats;dogs" ON t`, "SELECT 1"}},
		{"quoted identifier with doubled quote", `SELECT "pet""name;x" FROM t; SELECT 1`, []string{`SELECT "pet""name;x" FROM t`, "SELECT 1"}},
		{"single quote inside quoted identifier", `CREATE POLICY "cat's" ON t; SELECT 1`, []string{`CREATE POLICY "cat's" ON t`, "SELECT 1"}},
		{"parentheses group statements",
			"CREATE RULE r AS ON UPDATE TO t DO (NOTIFY t; SELECT 1); SELECT 2",
			[]string{"CREATE RULE r AS ON UPDATE TO t DO (NOTIFY t; SELECT 1)", "SELECT 2"}},
		{"parenthesis in string ignored", "SELECT (')'; 1); SELECT 2", []string{"SELECT (')'; 1)", "SELECT 2"}},
		{"begin atomic body",
			"CREATE FUNCTION add(a int, b int) RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT 'add';\n  SELECT a + b;\nEND;\nSELECT 1;",
			[]string{"CREATE FUNCTION add(a int, b int) RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT 'add';\n  SELECT a + b;\nEND", "SELECT 1"}},
		{"begin atomic any case", "begin atomic; select 'end'; end", []string{"begin atomic; select 'end'; end"}},
		{"end inside identifiers does not close atomic",
			"CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1 AS pending; SELECT endpoint FROM t; END; SELECT 2",
			[]string{"CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1 AS pending; SELECT endpoint FROM t; END", "SELECT 2"}},
		{"atomic in identifiers", "create table public.atomic_test (id int);\nselect is_atomic, col1atomic from t;",
			[]string{"create table public.atomic_test (id int)", "select is_atomic, col1atomic from t"}},
		{"multibyte text", "SELECT 'blåbær;'; SELECT 'ø'", []string{"SELECT 'blåbær;'", "SELECT 'ø'"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, Split(tc.sql))
		})
	}
}

// Every embedded migration and rollback splits into non-empty statements.
func TestSplitEmbedded(t *testing.T) {
	t.Parallel()
	src := Default()
	for _, fsys := range []fs.FS{src.Migrations, src.Rollbacks} {
		ms, err := load(fsys)
		require.NoError(t, err)
		require.NotEmpty(t, ms)
		for _, m := range ms {
			require.NotEmpty(t, m.Statements, m.File)
			for _, s := range m.Statements {
				require.NotEmpty(t, s, m.File)
			}
		}
	}
}
