package mutation

import (
	"regexp"
	"strings"
)

// Function-body mutants rewrite a PL/pgSQL body (pg_proc.prosrc): a
// statement is replaced by NULL;, which keeps the body valid. The scanner
// below knows just enough PL/pgSQL to find statements outside comments and
// string literals; a parser would be a dependency for two patterns.

var (
	raiseException = regexp.MustCompile(`(?i)^RAISE\s+EXCEPTION\b`)
	advisoryLock   = regexp.MustCompile(`(?i)^PERFORM\s+pg_advisory(_xact)?_lock(_shared)?\s*\(`)
)

// dropGuards returns one body per RAISE EXCEPTION statement of src, with that
// statement replaced by NULL;: every check that refuses something (a claim,
// a membership, an immutable column) stops refusing.
func dropGuards(src string) []string { return replaceStatements(src, raiseException) }

// dropAdvisoryLocks returns one body per advisory-lock statement of src
// with that statement removed.
func dropAdvisoryLocks(src string) []string { return replaceStatements(src, advisoryLock) }

func replaceStatements(src string, start *regexp.Regexp) []string {
	var out []string
	for _, s := range statements(src) {
		if start.MatchString(src[s[0]:s[1]]) {
			out = append(out, src[:s[0]]+"NULL;"+src[s[1]:])
		}
	}
	return out
}

// statements returns the [start, end) offsets of every statement of a
// PL/pgSQL body that begins with a word at the start of a line of code
// (after indentation) and ends with the next semicolon outside literals and
// comments. It is used only to find RAISE and PERFORM statements, which
// always look like that in this schema.
func statements(src string) [][2]int {
	var out [][2]int
	code := codeMask(src)
	lineStart := true
	for i := 0; i < len(src); i++ {
		c := src[i]
		if c == '\n' {
			lineStart = true
			continue
		}
		if c == ' ' || c == '\t' || c == '\r' {
			continue
		}
		if lineStart && code[i] && isIdent(c) {
			for j := i; j < len(src); j++ {
				if code[j] && src[j] == ';' {
					out = append(out, [2]int{i, j + 1})
					break
				}
			}
		}
		lineStart = false
	}
	return out
}

// codeMask marks the bytes of src that are code, not comment or literal.
func codeMask(src string) []bool {
	mask := make([]bool, len(src))
	for i := 0; i < len(src); {
		switch {
		case strings.HasPrefix(src[i:], "--"):
			j := strings.IndexByte(src[i:], '\n')
			if j < 0 {
				return mask
			}
			i += j
		case strings.HasPrefix(src[i:], "/*"):
			j := strings.Index(src[i+2:], "*/")
			if j < 0 {
				return mask
			}
			i += j + 4
		case src[i] == '\'':
			j := i + 1
			for j < len(src) {
				if src[j] == '\'' {
					if j+1 < len(src) && src[j+1] == '\'' {
						j += 2
						continue
					}
					break
				}
				j++
			}
			i = j + 1
		default:
			mask[i] = true
			i++
		}
	}
	return mask
}
