package workflow

import (
	"strings"
	"unicode/utf8"
)

// TextProblem says what makes s unfit to be any text a client sends, or ""
// when nothing does: every text must be valid UTF-8 without the NUL
// character. PostgreSQL refuses both in a text value, so such a text would
// fail the statement that stores or looks it up (and, written at the end of
// a group-commit batch, that batch); SQLite would store it, so the two
// databases would disagree about what was accepted; and NUL cuts strings
// short in the C-based tools that read exports. This is the one rule: the
// domain's validation applies it to every field, the API's JSON decoder to
// every body and internal/textcheck to paths, query strings and forms.
func TextProblem(s string) string {
	switch {
	case !utf8.ValidString(s):
		return "must be valid UTF-8 text"
	case strings.IndexByte(s, 0) >= 0:
		return "must not contain the NUL character"
	}
	return ""
}
