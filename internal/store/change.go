package store

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// Apply writes one command's change (workflow.Change) in this transaction:
// the request (created, or updated under its version), the audit entry
// built by c.AuditRecord, then the parts the batch writes for all its
// items at once when it ends (history, the outbox message), and the timers.
// The changes of the counts follow from the request's old and new rows
// (countDelta). Everything sits inside the item's savepoint, so that an
// item that fails leaves none of it, and the batch's end writes the rest
// in the same transaction as the change, never after it.
//
// The order matters once: the outbox message takes the number of the
// change's audit entry, so the entry is queued first.
func (t *tx) Apply(ctx context.Context, c workflow.Change) error {
	if r := c.Request; r != nil {
		var err error
		if c.OldVersion == 0 {
			err = t.createRequest(ctx, *r)
		} else {
			err = t.updateRequest(ctx, *r, c.OldVersion)
		}
		if err != nil {
			return err
		}
	}
	if a := c.AuthoritySettings; a != nil {
		if err := t.updateAuthority(ctx, *a); err != nil {
			return err
		}
	}
	if d := c.Document; d != nil {
		if err := t.createDocument(ctx, *d); err != nil {
			return err
		}
	}
	if d := c.DocumentStatus; d != nil {
		if err := t.setDocumentStatus(ctx, *d); err != nil {
			return err
		}
	}
	if h := c.History; h != nil {
		if err := t.appendHistory(*h); err != nil {
			return err
		}
	}
	if m := c.Message; m != nil {
		if err := t.insertMessage(ctx, *m); err != nil {
			return err
		}
	}
	if rm := c.ReadMark; rm != nil {
		if err := t.markRead(ctx, *rm); err != nil {
			return err
		}
	}
	if err := t.appendAudit(c.AuditRecord()); err != nil {
		return err
	}
	if m := c.Outbox; m != nil {
		if err := t.appendOutbox(*m); err != nil {
			return err
		}
	}
	if len(c.CancelTimers)+len(c.Timers) > 0 {
		return t.writeTimers(ctx, c.AuditRecord().At, c.CancelTimers, c.Timers)
	}
	return nil
}

// table is where the rows of a part of a change go: the table's name, the
// columns a multi-row INSERT of them writes, and what follows its VALUES.
// The row types declare their tables; the group-commit writer only inserts
// rows into whichever table it is given.
type table struct {
	name   string
	cols   []string
	suffix string
}

// The tables that parts of changes are written to at the end of a batch.
var (
	historyTable = &table{"request_history", historyColumns, ""}
	outboxTable  = &table{"outbox", outboxColumns, ""}
	auditTable   = &table{"audit_entries", auditColumns, ""}
	countsTable  = &table{"request_counts", countColumns, addCountSuffix}
)

// The parts that items leave to the end of their batch, in the order
// batchTx.finish writes them, and their tables: batchTx.parts is indexed
// by them.
const (
	partHistory = iota
	partOutbox
	numParts
)

var partTables = [numParts]*table{partHistory: historyTable, partOutbox: outboxTable}

// pendingRows are rows of one table that the items of a batch left to its
// end, written then in one statement per insertChunk rows: on PostgreSQL a
// round trip saved per row, on SQLite a statement's overhead. The values
// are kept flat, len(table.cols) per row, so that the INSERT takes them as
// they are.
type pendingRows struct {
	table *table
	args  []any
}

// add appends a row whose values appendArgs appends.
func (p *pendingRows) add(appendArgs func([]any) []any) {
	p.args = appendArgs(p.args)
}

// rows is how many rows are pending.
func (p *pendingRows) rows() int { return len(p.args) / len(p.table.cols) }

// outboxColumns are the columns of the outbox, in the order appendOutbox
// gives their values.
var outboxColumns = []string{"id", "request_id", "action", "audience", "created_at_us", "payload"}

// outboxPayload is the stored payload of an outbox message: what its
// audience may see of the change (workflow.OutboxMessage), in the words of
// the webhooks' data (CONTRACT 8). The request's id is a column of its
// own. appendOutbox encodes it by hand (encodePayload), OutboxAfter
// decodes it with encoding/json.
type outboxPayload struct {
	Reference           string `json:"reference"`
	Kind                string `json:"kind"`
	Event               string `json:"event,omitempty"`
	From                string `json:"from"`
	To                  string `json:"to"`
	Version             int    `json:"version"`
	RequestingAuthority string `json:"requesting_authority"`
	RequestedAuthority  string `json:"requested_authority"`
}

// The payload is kept short, for it is written with every transition:
// the keys are those of the webhooks' data, no more.

// appendOutbox queues the outbox row of m, numbered as the audit entry
// just queued. That number is final already: the batch numbers its
// entries in order after the head it read when it began, and an item
// rolled back takes only its own, later, entries with it.
//
// Why the audit entry's number, and not a sequence: a sequence gives its
// numbers in the order transactions ask for them, and on PostgreSQL a
// transaction that asked later may commit earlier, so that a consumer
// having read "up to id N" could later find a smaller id committed. The
// audit entries are numbered under the head's lock, which a batch holds
// from its begin until its COMMIT (the row lock on PostgreSQL, the write
// lock on SQLite): a batch that commits later began after every earlier
// one had committed, and its numbers are higher. So the ids increase in
// commit order, for every server on one database, and a consumer that
// reads "after id N" misses nothing. They have gaps (log-ins and refused
// attempts write no message), which says nothing.
func (t *tx) appendOutbox(m workflow.OutboxMessage) error {
	id := t.batch.headSeq + int64(len(t.batch.audit))
	p := &t.batch.parts[partOutbox]
	audience := ""
	switch len(m.Audience) {
	case 0:
	case 1:
		audience = m.Audience[0]
	default:
		audience = strings.Join(m.Audience, ",")
	}
	p.args = append(p.args, id, cleanText(m.RequestID), cleanText(m.Action), audience, toMicros(m.At), encodePayload(m))
	return nil
}

// encodePayload is the JSON of m's outboxPayload, written by hand: every
// transition writes one, and encoding/json's reflection cost as much as
// the row's insert.
func encodePayload(m workflow.OutboxMessage) string {
	b := make([]byte, 0, 192)
	field := func(name, value string) {
		b = append(b, name...)
		b = appendJSONString(b, value)
	}
	field(`{"reference":`, m.Reference)
	field(`,"kind":`, string(m.Kind))
	if m.Event != "" {
		field(`,"event":`, string(m.Event))
	}
	field(`,"from":`, string(m.From))
	field(`,"to":`, string(m.To))
	b = append(b, `,"version":`...)
	b = strconv.AppendInt(b, int64(m.Version), 10)
	field(`,"requesting_authority":`, m.RequestingAuthority)
	field(`,"requested_authority":`, m.RequestedAuthority)
	b = append(b, '}')
	return string(b)
}

// appendJSONString appends s as a JSON string: quoted, with the quote, the
// backslash and the control characters escaped. s is valid UTF-8 without
// NUL (cleanText), which JSON takes as it is.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	s = cleanText(s)
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// writeTimers cancels the timers of refs, then inserts timers, in the
// transaction now: a cancel must see the timers earlier commands of the
// batch set, and timers are rare enough not to be worth keeping for the
// batch's end.
func (t *tx) writeTimers(ctx context.Context, at time.Time, refs []workflow.TimerRef, timers []workflow.Timer) error {
	ctx = context.WithoutCancel(ctx)
	for _, r := range refs {
		if _, err := t.batch.sqlTx.ExecContext(ctx, t.store.sql.cancelTimers, r.Kind, r.Subject); err != nil {
			return err
		}
	}
	now := toMicros(at)
	for _, tm := range timers {
		_, err := t.batch.sqlTx.ExecContext(ctx, t.store.sql.insertTimer,
			cleanText(tm.Kind), cleanText(tm.Subject), toMicros(tm.DueAt), cleanText(tm.Payload), now)
		if err != nil {
			return err
		}
	}
	return nil
}
