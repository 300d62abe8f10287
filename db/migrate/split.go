package migrate

import (
	"bytes"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Split cuts a migration file into statements exactly as the Supabase CLI
// does before it records them in supabase_migrations.schema_migrations
// (pkg/parser SplitAndTrim). It is not a SQL parser and does not try to be a
// better one: the point is that the `statements` column written by this
// runner and by `supabase migration up` is byte-for-byte the same for the
// same file, so either tool can compare what was applied with what is on
// disk. Where the CLI's splitter has quirks, Split has them too, on purpose:
//
//   - a statement ends at a ';' that is outside quotes ('…', "…"), dollar
//     quotes ($$…$$, $tag$…$tag$), line comments (-- … newline), nested
//     block comments (/* … */), parentheses, and BEGIN ATOMIC … END bodies;
//   - a backslash outside quotes hides the next character (so \; does not
//     split); inside '…' a backslash is an ordinary character, and E'…'
//     strings are read as plain '…' strings (a doubled quote is the only
//     escape seen);
//   - a '$' right after an identifier character continues the identifier;
//   - a ')' closes every open parenthesis at once, and BEGIN ATOMIC bodies
//     end at an END that starts an inner statement;
//   - each piece keeps its comments; trailing ';' and surrounding
//     whitespace are trimmed, and pieces that end up empty are dropped.
//
// Split never fails: text that is not terminated (an open quote, say) just
// runs to the end of the file and PostgreSQL reports the error.
func Split(sql string) []string {
	var out []string
	emit := func(piece string) {
		piece = strings.TrimSpace(strings.TrimRight(piece, ";"))
		if piece != "" {
			out = append(out, piece)
		}
	}
	b := []byte(sql)
	var st lexState = &plain{}
	start := 0
	for i := 0; i < len(b); {
		r, w := utf8.DecodeRune(b[i:])
		i += w
		// Every state sees the text of the current piece up to and
		// including r, exactly like the CLI's tokenizer does.
		st = st.next(r, b[start:i])
		if st == nil {
			emit(sql[start:i])
			start = i
			st = &plain{}
		}
	}
	emit(sql[start:])
	return out
}

// lexState is one state of the splitter. next consumes rune r, the last rune
// of seen (the current piece so far), and returns the following state, or
// nil when r is a ';' that ends the piece.
type lexState interface {
	next(r rune, seen []byte) lexState
}

// plain: outside any quote, comment or group.
type plain struct{}

func (p *plain) next(r rune, seen []byte) lexState {
	switch r {
	case ';':
		return nil
	case '\'', '"':
		return &quoted{quote: r}
	case '$':
		at := len(seen) - 1
		if identBefore(seen, at) {
			return p // part of an identifier such as a$b
		}
		return &dollarTag{start: at}
	case '-':
		return &dash{}
	case '/':
		return &slash{}
	case '\\':
		return &backslash{}
	case '(':
		return &paren{inner: p}
	case 'c', 'C':
		if beginsAtomic(seen) {
			return &atomic{inner: p, stmtStart: len(seen)}
		}
	}
	return p
}

// dash: one '-' seen; a second one opens a line comment.
type dash struct{}

func (dash) next(r rune, seen []byte) lexState {
	if r == '-' {
		return &until{end: []byte("\n")}
	}
	return (&plain{}).next(r, seen)
}

// slash: a '/' seen, and, once "/*" followed, a block comment of the given
// depth. Like the CLI it looks only at the last two bytes, so "/*/" both
// opens and closes a comment.
type slash struct{ depth int }

func (s *slash) next(r rune, seen []byte) lexState {
	last2 := seen[len(seen)-2:]
	if bytes.Equal(last2, []byte("/*")) {
		s.depth++
		return s
	}
	if s.depth == 0 {
		return (&plain{}).next(r, seen)
	}
	if bytes.Equal(last2, []byte("*/")) {
		s.depth--
		if s.depth == 0 {
			return &plain{}
		}
	}
	return s
}

// quoted: inside '…' or "…". A doubled quote stays inside; any other rune
// after a closing quote is read in the plain state.
type quoted struct {
	quote  rune
	closed bool
}

func (q *quoted) next(r rune, seen []byte) lexState {
	if q.closed {
		if r == q.quote {
			q.closed = false // '' or "" escape
			return q
		}
		return (&plain{}).next(r, seen)
	}
	if r == q.quote {
		q.closed = true
	}
	return q
}

// until: inside text that nothing escapes, which ends with the bytes end:
// a dollar-quoted body (end is its $tag$) or a line comment (end is "\n").
type until struct{ end []byte }

func (u *until) next(_ rune, seen []byte) lexState {
	if bytes.HasSuffix(seen, u.end) {
		return &plain{}
	}
	return u
}

// dollarTag: a '$' seen at seen[start]; identifier characters extend the
// tag, a second '$' opens the dollar quote.
type dollarTag struct{ start int }

func (d *dollarTag) next(r rune, seen []byte) lexState {
	if r == '$' {
		return &until{end: bytes.Clone(seen[d.start:])}
	}
	if isIdentRune(r) {
		return d
	}
	return (&plain{}).next(r, seen)
}

// backslash: the rune after a backslash is skipped.
type backslash struct{}

func (backslash) next(rune, []byte) lexState { return &plain{} }

// paren: inside ( … ), where ';' does not end the piece (CREATE RULE … DO
// (a; b)). inner tracks quotes and comments inside the group.
type paren struct{ inner lexState }

func (p *paren) next(r rune, seen []byte) lexState {
	n := p.inner.next(r, seen)
	if n == nil {
		p.inner = &plain{}
		return p
	}
	p.inner = n
	if _, ok := n.(*plain); ok && r == ')' {
		return &plain{}
	}
	return p
}

// atomic: inside a BEGIN ATOMIC body, where ';' ends inner statements but
// not the piece. The body ends at an END keyword that starts an inner
// statement (only comments and whitespace before it), confirmed by the
// next rune not being an identifier character (so "endpoint" is not END).
type atomic struct {
	inner      lexState
	stmtStart  int  // offset in seen where the current inner statement began
	sawText    bool // an END that was not the first token was seen
	endPending bool // seen ends with a leading END keyword
}

func (a *atomic) next(r rune, seen []byte) lexState {
	pending := a.endPending
	a.endPending = false
	if pending && !isIdentRune(r) {
		return (&plain{}).next(r, seen)
	}
	n := a.inner.next(r, seen)
	if n == nil {
		a.inner = &plain{}
		a.stmtStart = len(seen)
		a.sawText = false
		return a
	}
	a.inner = n
	if _, ok := n.(*plain); !ok {
		return a
	}
	if !a.sawText && endsWithWord(seen, "END") {
		if onlyCommentsAndSpace(seen[a.stmtStart : len(seen)-len("END")]) {
			a.endPending = true
		} else {
			a.sawText = true
		}
	}
	return a
}

// sqlSpace is the whitespace the CLI allows between BEGIN and ATOMIC.
const sqlSpace = " \t\n\r\f\v"

// beginsAtomic reports whether seen ends with the keywords BEGIN ATOMIC.
func beginsAtomic(seen []byte) bool {
	if !endsWithWord(seen, "ATOMIC") {
		return false
	}
	return endsWithWord(bytes.TrimRight(seen[:len(seen)-len("ATOMIC")], sqlSpace), "BEGIN")
}

// endsWithWord reports whether b ends with word (ASCII, any case) and no
// identifier character precedes it.
func endsWithWord(b []byte, word string) bool {
	at := len(b) - len(word)
	if at < 0 || !strings.EqualFold(string(b[at:]), word) {
		return false
	}
	return !identBefore(b, at)
}

// identBefore reports whether the rune ending just before b[at] is an
// identifier character.
func identBefore(b []byte, at int) bool {
	if at <= 0 {
		return false
	}
	r, _ := utf8.DecodeLastRune(b[:at])
	return isIdentRune(r)
}

// isIdentRune follows PostgreSQL's lexer, where every byte ≥ 0x80 may be
// part of an identifier or a dollar-quote tag.
func isIdentRune(r rune) bool {
	return r >= utf8.RuneSelf || unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '$'
}

// onlyCommentsAndSpace reports whether b holds nothing but whitespace, line
// comments and (nested) block comments. Block comments are scanned with the
// same two-byte window as slash so the two never disagree.
func onlyCommentsAndSpace(b []byte) bool {
	for i := 0; i < len(b); {
		switch {
		case strings.IndexByte(sqlSpace, b[i]) >= 0:
			i++
		case bytes.HasPrefix(b[i:], []byte("--")):
			nl := bytes.IndexByte(b[i+2:], '\n')
			if nl < 0 {
				return true
			}
			i += 2 + nl + 1
		case bytes.HasPrefix(b[i:], []byte("/*")):
			depth := 1
			for i += 2; i < len(b) && depth > 0; i++ {
				if bytes.HasPrefix(b[i-1:], []byte("/*")) {
					depth++
				} else if bytes.HasPrefix(b[i-1:], []byte("*/")) {
					depth--
				}
			}
			if depth > 0 {
				return true
			}
		default:
			return false
		}
	}
	return true
}
