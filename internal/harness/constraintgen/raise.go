package constraintgen

import (
	"fmt"
	"regexp"
	"strings"
)

// A raise is one RAISE EXCEPTION of a PL/pgSQL body: the SQLSTATE it raises
// and the constraint name it reports ("" for none). NameIsTrigger: the name
// is TG_NAME, i.e. that of whichever trigger called the function.
type raise struct {
	Code          string
	Name          string
	NameIsTrigger bool
}

// The conventions a function body must follow for its raised names to be
// read (HACKING.md, "Rules"): the SQLSTATE is a five-character literal,
// ERRCODE = 'MD001' or RAISE SQLSTATE 'MD001'; the constraint is a string
// literal or TG_NAME. Anything else (a variable, a condition name) is an
// error of the generator, so a name can never escape the generated file.
var (
	reLevel      = regexp.MustCompile(`(?is)^RAISE\s+(DEBUG|LOG|INFO|NOTICE|WARNING|EXCEPTION)\b`)
	reSQLState   = regexp.MustCompile(`(?is)^RAISE\s+(?:EXCEPTION\s+)?SQLSTATE\s+'([^']*)'`)
	reErrcode    = regexp.MustCompile(`(?is)\bERRCODE\s*=\s*([^,;]+)`)
	reConstraint = regexp.MustCompile(`(?is)\bCONSTRAINT\s*=\s*([^,;]+)`)
	reCondition  = regexp.MustCompile(`(?is)^RAISE\s+(?:EXCEPTION\s+)?([A-Za-z_][A-Za-z0-9_]*)`)
	reCode       = regexp.MustCompile(`^[0-9A-Z]{5}$`)
)

// raises returns the RAISE EXCEPTION statements of a PL/pgSQL body.
func raises(body string) ([]raise, error) {
	var out []raise
	for _, st := range statements(body) {
		// The statement may follow IF ... THEN, ELSE, BEGIN and the like of
		// its enclosing block: the RAISE starts at its keyword.
		i := keyword(st, "RAISE")
		if i < 0 {
			continue
		}
		st = st[i:]
		if m := reLevel.FindStringSubmatch(st); m != nil && !strings.EqualFold(m[1], "EXCEPTION") {
			continue // a message, not an error
		}
		if strings.TrimSpace(st[len("RAISE"):]) == "" {
			continue // RAISE; re-raises the error being handled
		}
		r := raise{Code: "P0001"} // PostgreSQL's default for RAISE EXCEPTION
		if m := reSQLState.FindStringSubmatch(st); m != nil {
			r.Code = m[1]
		} else if m := reCondition.FindStringSubmatch(st); m != nil && !strings.EqualFold(m[1], "USING") && !strings.EqualFold(m[1], "EXCEPTION") {
			return nil, fmt.Errorf("RAISE %s: write the SQLSTATE as ERRCODE = '<code>', not a condition name (%s)", m[1], oneLine(st))
		}
		opts := usingClause(st)
		if v, ok := option(reErrcode, opts); ok {
			lit, isLit := literal(v)
			if !isLit {
				return nil, fmt.Errorf("RAISE with ERRCODE = %s: write the SQLSTATE as a literal, e.g. ERRCODE = 'MD001' (%s)", v, oneLine(st))
			}
			r.Code = lit
		}
		if !reCode.MatchString(r.Code) {
			return nil, fmt.Errorf("RAISE with SQLSTATE %q: write a five-character SQLSTATE, not a condition name (%s)", r.Code, oneLine(st))
		}
		if v, ok := option(reConstraint, opts); ok {
			lit, isLit := literal(v)
			switch {
			case isLit:
				r.Name = lit
			case strings.EqualFold(v, "TG_NAME"):
				r.NameIsTrigger = true
			default:
				return nil, fmt.Errorf("RAISE with CONSTRAINT = %s: write the name as a literal or TG_NAME (%s)", v, oneLine(st))
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// option returns the value of one USING option, found outside string
// literals (a message or hint may mention the option's name).
func option(re *regexp.Regexp, opts string) (string, bool) {
	loc := re.FindStringSubmatchIndex(maskStrings(opts))
	if loc == nil {
		return "", false
	}
	return strings.TrimSpace(opts[loc[2]:loc[3]]), true
}

// literal unquotes a SQL string literal.
func literal(v string) (string, bool) {
	if len(v) < 2 || v[0] != '\'' || v[len(v)-1] != '\'' {
		return "", false
	}
	inner := strings.ReplaceAll(v[1:len(v)-1], "''", "")
	if strings.Contains(inner, "'") {
		return "", false // more than one literal, e.g. 'a' || 'b'
	}
	return strings.ReplaceAll(v[1:len(v)-1], "''", "'"), true
}

// usingClause returns the text after the statement's USING keyword (outside
// string literals), or "".
func usingClause(st string) string {
	if i := keyword(st, "USING"); i >= 0 {
		return st[i+len("USING"):]
	}
	return ""
}

// statements splits a PL/pgSQL body at semicolons outside string literals,
// quoted identifiers and comments; comments are dropped.
func statements(body string) []string {
	var out []string
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case c == '-' && i+1 < len(body) && body[i+1] == '-':
			for i < len(body) && body[i] != '\n' {
				i++
			}
			b.WriteByte(' ')
		case c == '/' && i+1 < len(body) && body[i+1] == '*':
			end := strings.Index(body[i+2:], "*/")
			if end < 0 {
				i = len(body)
			} else {
				i += end + 3
			}
			b.WriteByte(' ')
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(body) {
				if body[j] == c {
					if j+1 < len(body) && body[j+1] == c {
						j += 2
						continue
					}
					break
				}
				j++
			}
			if j >= len(body) {
				j = len(body) - 1
			}
			b.WriteString(body[i : j+1])
			i = j
		case c == ';':
			out = append(out, strings.TrimSpace(b.String()))
			b.Reset()
		default:
			b.WriteByte(c)
		}
	}
	if s := strings.TrimSpace(b.String()); s != "" {
		out = append(out, s)
	}
	return out
}

// maskStrings replaces the contents of string literals with spaces, keeping
// offsets, so keywords are only found outside them.
func maskStrings(s string) string {
	b := []byte(s)
	in := false
	for i := 0; i < len(b); i++ {
		if b[i] == '\'' {
			if in && i+1 < len(b) && b[i+1] == '\'' {
				b[i], b[i+1] = ' ', ' '
				i++
				continue
			}
			in = !in
			continue
		}
		if in {
			b[i] = ' '
		}
	}
	return string(b)
}

// keyword finds the first whole-word kw outside string literals.
func keyword(s, kw string) int {
	up := strings.ToUpper(maskStrings(s))
	for i := 0; ; {
		j := strings.Index(up[i:], kw)
		if j < 0 {
			return -1
		}
		j += i
		if (j == 0 || !isWord(up[j-1])) && (j+len(kw) == len(up) || !isWord(up[j+len(kw)])) {
			return j
		}
		i = j + len(kw)
	}
}

func isWord(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	return s
}
