package store

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// The deadlines column is JSON (deadlineDoc), written and read on every
// transition, inside the writer's transaction, and read for every row of
// every list. encoding/json, with its reflection, was about 4 % of the
// CPU time of a transition, inside the writer's transaction. What follows writes the same document by hand,
// and reads the shape it writes; any other (an escaped string, spaces,
// another order of the fields) falls back to encoding/json, so that every
// stored value stays readable (TestDeadlinesCodec).

// appendDeadlinesJSON appends docs as JSON, the fields in the order of
// deadlineDoc and those with omitempty left out when empty, as
// encoding/json writes them.
func appendDeadlinesJSON(b []byte, docs []deadlineDoc) []byte {
	b = append(b, '[')
	for i, d := range docs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"kind":`...)
		b = appendJSONString(b, d.Kind)
		b = append(b, `,"basis":`...)
		b = appendJSONString(b, d.Basis)
		b = append(b, `,"side":`...)
		b = appendJSONString(b, d.Side)
		b = appendJSONInt(b, `,"starts_at_us":`, d.StartsUS)
		b = appendJSONInt(b, `,"due_at_us":`, d.DueUS)
		if d.StoppedUS != 0 {
			b = appendJSONInt(b, `,"stopped_since_us":`, d.StoppedUS)
		}
		if d.MetUS != 0 {
			b = appendJSONInt(b, `,"met_at_us":`, d.MetUS)
		}
		if d.EndedUS != 0 {
			b = appendJSONInt(b, `,"ended_at_us":`, d.EndedUS)
		}
		if len(d.Extensions) > 0 {
			b = append(b, `,"extensions":[`...)
			for j, x := range d.Extensions {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendJSONInt(b, `{"days":`, int64(x.Days))
				b = append(b, `,"reason":`...)
				b = appendJSONString(b, x.Reason)
				b = append(b, `,"actor":`...)
				b = appendJSONString(b, x.Actor)
				b = appendJSONInt(b, `,"at_us":`, x.AtUS)
				b = append(b, '}')
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

func appendJSONInt(b []byte, key string, v int64) []byte {
	return strconv.AppendInt(append(b, key...), v, 10)
}

// plainJSON reports whether s is printable ASCII without the characters
// JSON escapes (nor those encoding/json escapes besides): the strings
// readDeadlinesJSON reads itself.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c >= utf8.RuneSelf, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}

// readDeadlinesJSON reads what appendDeadlinesJSON writes; ok is false for
// anything else.
func readDeadlinesJSON(s string) (docs []deadlineDoc, ok bool) {
	p := &jsonScan{s: s, ok: true}
	p.lit("[")
	for p.ok && !p.next("]") {
		if len(docs) > 0 {
			p.lit(",")
		}
		var d deadlineDoc
		p.lit(`{"kind":`)
		d.Kind = p.str()
		p.lit(`,"basis":`)
		d.Basis = p.str()
		p.lit(`,"side":`)
		d.Side = p.str()
		p.lit(`,"starts_at_us":`)
		d.StartsUS = p.int()
		p.lit(`,"due_at_us":`)
		d.DueUS = p.int()
		if p.next(`,"stopped_since_us":`) {
			d.StoppedUS = p.int()
		}
		if p.next(`,"met_at_us":`) {
			d.MetUS = p.int()
		}
		if p.next(`,"ended_at_us":`) {
			d.EndedUS = p.int()
		}
		if p.next(`,"extensions":[`) {
			for p.ok && !p.next("]") {
				if len(d.Extensions) > 0 {
					p.lit(",")
				}
				var x extensionDoc
				p.lit(`{"days":`)
				x.Days = int(p.int())
				p.lit(`,"reason":`)
				x.Reason = p.str()
				p.lit(`,"actor":`)
				x.Actor = p.str()
				p.lit(`,"at_us":`)
				x.AtUS = p.int()
				p.lit("}")
				d.Extensions = append(d.Extensions, x)
			}
		}
		p.lit("}")
		docs = append(docs, d)
	}
	if !p.ok || p.s != "" {
		return nil, false
	}
	return docs, true
}

// jsonScan reads a string of JSON of a known shape; the first surprise
// clears ok, and everything after it reads as nothing.
type jsonScan struct {
	s  string
	ok bool
}

// lit consumes x, which must come next.
func (p *jsonScan) lit(x string) {
	if !p.next(x) {
		p.ok = false
	}
}

// next consumes x if it comes next, and reports whether it did.
func (p *jsonScan) next(x string) bool {
	if p.ok && strings.HasPrefix(p.s, x) {
		p.s = p.s[len(x):]
		return true
	}
	return false
}

// str consumes a string without escapes.
func (p *jsonScan) str() string {
	if !p.ok || p.s == "" || p.s[0] != '"' {
		p.ok = false
		return ""
	}
	end := strings.IndexByte(p.s[1:], '"')
	if end < 0 {
		p.ok = false
		return ""
	}
	v := p.s[1 : 1+end]
	if !plainJSON(v) {
		p.ok = false // escapes and non-ASCII text: encoding/json's to read
		return ""
	}
	p.s = p.s[2+end:]
	return v
}

// int consumes an integer.
func (p *jsonScan) int() int64 {
	if !p.ok {
		return 0
	}
	n := 0
	if n < len(p.s) && p.s[n] == '-' {
		n++
	}
	for n < len(p.s) && p.s[n] >= '0' && p.s[n] <= '9' {
		n++
	}
	v, err := strconv.ParseInt(p.s[:n], 10, 64)
	if err != nil {
		p.ok = false
		return 0
	}
	p.s = p.s[n:]
	return v
}

// deadlineDocs converts tracks to their stored form.
func deadlineDocs(list []workflow.DeadlineTrack) []deadlineDoc {
	docs := make([]deadlineDoc, len(list))
	for i, t := range list {
		d := deadlineDoc{Kind: t.Kind, Basis: t.Basis, Side: string(t.Side), StartsUS: toMicros(t.StartsAt),
			DueUS: toMicros(t.DueAt), StoppedUS: optMicros(t.StoppedSince), MetUS: optMicros(t.MetAt), EndedUS: optMicros(t.EndedAt)}
		for _, x := range t.Extensions {
			d.Extensions = append(d.Extensions, extensionDoc{x.Days, x.Reason, x.Actor, toMicros(x.At)})
		}
		docs[i] = d
	}
	return docs
}
