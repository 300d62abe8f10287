-- Fixture: a new table in public, granted to authenticated, without RLS.
CREATE TABLE public.mentor_notes (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  body text NOT NULL
);
GRANT SELECT ON public.mentor_notes TO authenticated;
