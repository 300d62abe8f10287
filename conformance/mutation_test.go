package conformance

import (
	"context"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/mentordb/mentordb/conformance/mutation"
	"github.com/mentordb/mentordb/conformance/pgtest"
)

// testMutation checks the generator of the mutation run (CONF-4) on the
// migrated schema: its mutants come from the catalog, so a new object gets
// them without a change to the generator. The run itself (make mutants)
// judges CONF-4; this suite only proves where its mutants come from.
func testMutation(t *testing.T) {
	t.Parallel()

	t.Run("CONF-4 objects added to the schema get their mutants from the catalog, with no change to the generator", func(t *testing.T) {
		t.Parallel()
		ctx := pgtest.Ctx(t)
		d := pgtest.New(t)
		// Everything happens in one transaction that is rolled back, so
		// the scratch objects never outlive the test (nor count in PS-COV-1).
		c, err := pgx.Connect(ctx, d.URL)
		require.NoError(t, err)
		defer c.Close(ctx)
		tx, err := c.Begin(ctx)
		require.NoError(t, err)
		defer tx.Rollback(ctx)
		before := generate(t, ctx, c)
		_, err = tx.Exec(ctx, `
			CREATE TABLE public.scratch (id uuid PRIMARY KEY, org_id uuid NOT NULL REFERENCES public.organizations (id),
				n integer NOT NULL CONSTRAINT scratch_n_check CHECK (n > 0));
			CREATE INDEX scratch_org_id_idx ON public.scratch (org_id);
			ALTER TABLE public.scratch ENABLE ROW LEVEL SECURITY;
			CREATE POLICY scratch_select ON public.scratch FOR SELECT TO authenticated
				USING (org_id = ANY (ARRAY(SELECT private.org_ids_with_role(ARRAY['coordinator']))));
			GRANT SELECT ON public.scratch TO authenticated;
			CREATE FUNCTION private.scratch_guard() RETURNS trigger LANGUAGE plpgsql SET search_path = '' AS $$
			BEGIN
			  IF NEW.n > 10 THEN
			    RAISE EXCEPTION 'too big' USING ERRCODE = '23514';
			  END IF;
			  RETURN NEW;
			END $$;
			CREATE TRIGGER scratch_guard BEFORE INSERT ON public.scratch FOR EACH ROW EXECUTE FUNCTION private.scratch_guard();`)
		require.NoError(t, err)
		after := generate(t, ctx, c)

		added := map[string]mutation.Mutant{}
		for id, m := range after {
			if _, ok := before[id]; !ok {
				added[id] = m
			}
		}
		for _, id := range []string{
			"policy-using-true:public.scratch.scratch_select",
			"policy-drop:public.scratch.scratch_select",
			"rls-disable:public.scratch",
			"grant-narrow:public.scratch:authenticated:SELECT",
			"grant-widen:public.scratch:anon:SELECT",
			"grant-widen:public.scratch:authenticated:INSERT",
			"check-drop:public.scratch.scratch_n_check",
			"fk-on-delete:public.scratch.scratch_org_id_fkey:cascade",
			"fk-on-delete:public.scratch.scratch_org_id_fkey:set-null",
			"not-null-drop:public.scratch.org_id",
			"not-null-drop:public.scratch.n",
			"trigger-drop:public.scratch.scratch_guard",
			"trigger-disable:public.scratch.scratch_guard",
			"index-drop:public.scratch_org_id_idx",
			"function-security-flip:private.scratch_guard()",
			"function-guard-drop:private.scratch_guard():1",
			"policy-permissive-flip:public.scratch.scratch_select:restrictive",
			"rls-force:public.scratch",
			"unique-drop:public.scratch.scratch_pkey",
			"fk-drop:public.scratch.scratch_org_id_fkey",
			"trigger-timing:public.scratch.scratch_guard:after",
			"trigger-enable-mode:public.scratch.scratch_guard:always",
			"function-search-path-unsafe:private.scratch_guard():user-public",
			"function-volatility:private.scratch_guard():stable",
			"function-execute-revoke:private.scratch_guard():PUBLIC",
		} {
			require.Contains(t, added, id)
		}
		for id := range before {
			require.Contains(t, after, id, "adding objects removes no mutant")
		}

		// Every new mutant applies (each in a savepoint rolled back), and
		// the guard-drop mutant's body no longer raises.
		for _, id := range sortedKeys(added) {
			m := added[id]
			err := pgx.BeginFunc(ctx, tx, func(sp pgx.Tx) error {
				if _, err := sp.Exec(ctx, m.SQL); err != nil {
					return err
				}
				return errRollbackCell
			})
			require.ErrorIs(t, err, errRollbackCell, "%s does not apply:\n%s", id, m.SQL)
		}
		require.NotContains(t, added["function-guard-drop:private.scratch_guard():1"].SQL, "RAISE EXCEPTION")
	})
}

func generate(t *testing.T, ctx context.Context, c *pgx.Conn) map[string]mutation.Mutant {
	t.Helper()
	// The pending families too: their mutants must apply as well.
	ms, err := mutation.Generate(ctx, c, true)
	require.NoError(t, err)
	out := map[string]mutation.Mutant{}
	for _, m := range ms {
		out[m.ID] = m
	}
	return out
}

func sortedKeys(m map[string]mutation.Mutant) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
