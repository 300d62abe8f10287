package schemadump

import (
	"strings"
	"testing"
)

// A pg_dump 15.14+ output in miniature: preamble, \restrict key, the
// session SETs before the first table, two entries, the trailer.
const sample = `--
-- PostgreSQL database dump
--

\restrict AbC123

-- Dumped from database version 15.20
-- Dumped by pg_dump version 15.20

SET statement_timeout = 0;
SELECT pg_catalog.set_config('search_path', '', false);

--
-- Name: f(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.f() RETURNS integer
    LANGUAGE sql
    SET search_path TO ''
    AS $$ SELECT 1 $$;


SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: t; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.t (
    id integer NOT NULL
);


--
-- Name: TABLE t; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT ON TABLE public.t TO anon;


--
-- PostgreSQL database dump complete
--

\unrestrict AbC123
`

func TestParse(t *testing.T) {
	got, err := Parse(sample)
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{
		{Name: "f()", Type: "FUNCTION", Schema: "public", SQL: "CREATE FUNCTION public.f() RETURNS integer\n    LANGUAGE sql\n    SET search_path TO ''\n    AS $$ SELECT 1 $$;"},
		{Name: "t", Type: "TABLE", Schema: "public", SQL: "CREATE TABLE public.t (\n    id integer NOT NULL\n);"},
		{Name: "TABLE t", Type: "ACL", Schema: "public", SQL: "GRANT SELECT ON TABLE public.t TO anon;"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d entries, want %d: %#v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d:\n got %#v\nwant %#v", i, got[i], want[i])
		}
	}
	if _, err := Parse("SET statement_timeout = 0;\n"); err == nil {
		t.Error("an output with no entries must be an error")
	}
}

func TestWithoutAndRender(t *testing.T) {
	platform := []Entry{{Name: "uid()", Type: "FUNCTION", Schema: "auth", SQL: "CREATE FUNCTION auth.uid() ..."},
		{Name: "SCHEMA public", Type: "ACL", Schema: "-", SQL: "GRANT USAGE ON SCHEMA public TO anon;"}}
	full := []Entry{platform[0],
		{Name: "SCHEMA public", Type: "ACL", Schema: "-", SQL: "GRANT USAGE ON SCHEMA public TO anon;\nGRANT CREATE ON SCHEMA public TO anon;"},
		{Name: "t", Type: "TABLE", Schema: "public", SQL: "CREATE TABLE public.t ();"}}
	got := Without(full, platform)
	if len(got) != 2 || got[0].Name != "SCHEMA public" || got[1].Name != "t" {
		t.Fatalf("Without kept %#v; want the changed ACL and the new table", got)
	}
	out := string(Render(got))
	if strings.Contains(out, "auth.uid") {
		t.Error("Render wrote an entry the platform holds unchanged")
	}
	if !strings.Contains(out, "\n-- Name: t; Type: TABLE; Schema: public\nCREATE TABLE public.t ();\n") {
		t.Errorf("Render does not write the table under its header:\n%s", out)
	}
}

func TestTitle(t *testing.T) {
	for _, c := range []struct {
		e    Entry
		want string
	}{
		{Entry{Type: "TABLE", Schema: "public", Name: "t"}, "TABLE public.t"},
		{Entry{Type: "POLICY", Schema: "public", Name: "t p"}, "POLICY public.t p"},
		{Entry{Type: "ACL", Schema: "public", Name: "TABLE t"}, "ACL on TABLE public.t"},
		{Entry{Type: "COMMENT", Schema: "public", Name: "COLUMN t.c"}, "COMMENT on COLUMN public.t.c"},
		{Entry{Type: "ACL", Schema: "-", Name: "SCHEMA private"}, "ACL SCHEMA private"},
	} {
		if got := c.e.Title(); got != c.want {
			t.Errorf("%#v: %q, want %q", c.e, got, c.want)
		}
	}
}
