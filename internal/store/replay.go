package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/mla-flow/mla-flow/internal/auth"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// replayChunk is how many requests verifyRequests compares at a time: their
// rows, history and audited changes are held in memory together.
const replayChunk = 1000

// requestBreak is the first request (or account) whose row disagrees with
// its audited changes, and how many disagree in all.
type requestBreak struct {
	id, reference string
	seq           int64 // the last entry recorded for it; 1 when none
	problem       string
	count         int
	user          bool // an account, not a request
}

// verifyRows replays the audited changes of every account and every
// request and compares them with the rows (verifyUsers, verifyRequests).
// It returns nil when every row agrees.
func (s *Store) verifyRows(ctx context.Context) (*requestBreak, error) {
	if b, err := s.inSnapshot(ctx, s.verifyUsers); err != nil || b != nil {
		return b, err
	}
	return s.verifyRequests(ctx)
}

// inSnapshot runs fn in one read-only snapshot of the database, so that
// changes committed meanwhile cannot make the rows and the log it reads
// disagree.
func (s *Store) inSnapshot(ctx context.Context, fn func(context.Context, *sql.Tx) (*requestBreak, error)) (*requestBreak, error) {
	db, err := s.r.DB()
	if err != nil {
		return nil, err
	}
	opts := &sql.TxOptions{ReadOnly: true}
	if s.postgres {
		opts.Isolation = sql.LevelRepeatableRead // one snapshot for every query
	}
	tx, err := db.BeginTx(ctx, opts) // SQLite: a deferred read, one snapshot too
	if err != nil {
		return nil, s.fail(err, "begin verification of rows")
	}
	defer tx.Rollback()
	return fn(ctx, tx)
}

// verifyRequests replays every request's audited changes
// (workflow.AuditedRequest) and compares the result with its row and its
// history: a state, an authority, a version or a content changed behind the
// server's back, a transition deleted or added, a row inserted without a
// record or deleted with its record left behind. It works in chunks of
// about replayChunk requests by id, so that memory stays flat, each chunk
// in a snapshot of its own and the chunks on every CPU at once (reading a
// request's entries and history by request is random access, several
// times the cost of reading the chain in order). The first request that
// disagrees, in id order, is reported, with the count of all.
func (s *Store) verifyRequests(ctx context.Context) (*requestBreak, error) {
	bounds, err := s.replayBounds(ctx)
	if err != nil {
		return nil, s.fail(err, "read request ids")
	}
	chunks := len(bounds) + 1 // chunk k holds the ids after bounds[k-1], up to bounds[k]
	results := make([][]requestBreak, chunks)
	errs := make([]error, chunks)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range max(1, min(runtime.GOMAXPROCS(0), readerConns)) {
		wg.Go(func() {
			for k := int(next.Add(1) - 1); k < chunks; k = int(next.Add(1) - 1) {
				after, upTo := "", ""
				if k > 0 {
					after = bounds[k-1]
				}
				if k < len(bounds) {
					upTo = bounds[k]
				}
				_, errs[k] = s.inSnapshot(ctx, func(ctx context.Context, tx *sql.Tx) (*requestBreak, error) {
					var err error
					results[k], err = s.replayChunkOf(ctx, tx, after, upTo)
					return nil, err
				})
				if errs[k] != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var found *requestBreak
	for _, breaks := range results {
		for _, b := range breaks {
			if found == nil {
				found = &b
			}
			found.count++
		}
	}
	return found, nil
}

// replayBounds returns every replayChunk-th request id, in order: the
// upper bounds of the chunks of verifyRequests but the last.
func (s *Store) replayBounds(ctx context.Context) ([]string, error) {
	q := rebind(s.postgres, "SELECT id FROM requests WHERE id > ? ORDER BY id LIMIT 1 OFFSET ?")
	var bounds []string
	after := ""
	for {
		var id string
		err := s.r.WithContext(ctx).Raw(q, after, replayChunk-1).Row().Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return bounds, nil
		}
		if err != nil {
			return nil, err
		}
		bounds = append(bounds, id)
		after = id
	}
}

// replayChunkOf compares the requests with ids after after, up to upTo (""
// for no bound), with their audited changes, and returns those that
// disagree, in id order.
func (s *Store) replayChunkOf(ctx context.Context, tx *sql.Tx, after, upTo string) ([]requestBreak, error) {
	rows, err := s.replayRequestRows(ctx, tx, after, upTo)
	if err != nil {
		return nil, s.fail(err, "read requests")
	}
	history, err := s.replayHistory(ctx, tx, after, upTo)
	if err != nil {
		return nil, s.fail(err, "read request history")
	}
	audited, err := s.replayAudited(ctx, tx, after, upTo)
	if err != nil {
		return nil, s.fail(err, "read audited changes")
	}
	breaks := s.compareChunk(rows, history, audited)
	threads, err := s.replayThreads(ctx, tx, rows, after, upTo)
	if err != nil {
		return nil, s.fail(err, "read the threads")
	}
	return mergeBreaks(breaks, threads), nil
}

// replayThreads compares the messages of the chunk's requests with their
// message.post entries (workflow.AuditedMessage): every row must match an
// accepted entry, and every such entry must still have its row. It returns
// the requests whose thread disagrees, one break each, in id order.
func (s *Store) replayThreads(ctx context.Context, tx *sql.Tx, rows []requestRow, after, upTo string) ([]requestBreak, error) {
	cond, args := idRange("request_id", after, upTo)
	posted := map[string]workflow.AuditedMessage{}
	var undecodable error
	err := s.eachAuditedChange(ctx, tx, cond+" AND action = '"+workflow.ActionMessagePost+"' ORDER BY seq", args,
		workflow.ChangesThread, func(e workflow.AuditEntry) {
			id, m, err := workflow.AuditedMessageOf(e)
			if err != nil {
				undecodable = errors.Join(undecodable, err)
				return
			}
			posted[id] = m
		})
	if err != nil {
		return nil, err
	}
	if undecodable != nil {
		return nil, undecodable
	}
	rs, err := tx.QueryContext(ctx, rebind(s.postgres,
		"SELECT "+messageColumns+" FROM messages WHERE "+cond+" ORDER BY request_id, seq"), args...)
	if err != nil {
		return nil, err
	}
	problems := map[string]requestBreak{}
	note := func(requestID string, seq int64, problem string) {
		if _, seen := problems[requestID]; !seen {
			problems[requestID] = requestBreak{id: requestID, seq: seq, problem: problem}
		}
	}
	for rs.Next() {
		m, err := scanMessage(rs)
		if err != nil {
			rs.Close()
			return nil, err
		}
		a, ok := posted[m.ID]
		delete(posted, m.ID)
		switch {
		case !ok:
			note(m.RequestID, 1, fmt.Sprintf("the log records no post of message %s: the row was written behind the server's back", m.ID))
		case a.Disagreement(m, s.digests) != "":
			note(m.RequestID, a.Seq, a.Disagreement(m, s.digests))
		}
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return nil, err
	}
	for _, id := range slices.Sorted(maps.Keys(posted)) {
		a := posted[id]
		note(a.RequestID, a.Seq, fmt.Sprintf("message %s is gone, though the log records its post", id))
	}
	references := make(map[string]string, len(rows))
	for _, row := range rows {
		references[row.ID] = row.Reference
	}
	out := make([]requestBreak, 0, len(problems))
	for _, id := range slices.Sorted(maps.Keys(problems)) {
		b := problems[id]
		b.reference = references[id]
		out = append(out, b)
	}
	return out, nil
}

// mergeBreaks joins two lists of breaks in id order into one, with one
// break per request: the first list's where both name it.
func mergeBreaks(first, second []requestBreak) []requestBreak {
	if len(second) == 0 {
		return first
	}
	byID := make(map[string]requestBreak, len(first)+len(second))
	for _, b := range second {
		byID[b.id] = b
	}
	for _, b := range first {
		byID[b.id] = b
	}
	out := make([]requestBreak, 0, len(byID))
	for _, id := range slices.Sorted(maps.Keys(byID)) {
		out = append(out, byID[id])
	}
	return out
}

// compareChunk compares the requests of one chunk with their audited
// changes, in id order, and returns those that disagree.
func (s *Store) compareChunk(rows []requestRow, history map[string][]workflow.HistoryEntry, audited map[string]*workflow.AuditedRequest) []requestBreak {
	var out []requestBreak
	for _, row := range rows {
		a, ok := audited[row.ID]
		delete(audited, row.ID)
		if !ok {
			out = append(out, requestBreak{id: row.ID, reference: row.Reference, seq: 1,
				problem: "the log records no change of it: the row was written behind the server's back"})
			continue
		}
		r, err := row.toDomain()
		why := ""
		if err != nil {
			why = fmt.Sprintf("its row does not decode: %v", err)
		} else {
			why = a.Disagreement(r, history[row.ID], s.digests)
		}
		if why != "" {
			out = append(out, requestBreak{id: row.ID, reference: row.Reference, seq: a.LastSeq, problem: why})
		}
	}
	// What is left was audited but has no row: deleted behind the
	// server's back. In id order, like the rest.
	for _, id := range slices.Sorted(maps.Keys(audited)) {
		a := audited[id]
		out = append(out, requestBreak{id: id, reference: a.Reference, seq: a.LastSeq,
			problem: "its row is gone, though the log records its changes"})
	}
	return out
}

// replayRequestRows reads the requests of a chunk, by id.
func (s *Store) replayRequestRows(ctx context.Context, tx *sql.Tx, after, upTo string) ([]requestRow, error) {
	cond, args := idRange("id", after, upTo)
	rs, err := tx.QueryContext(ctx, rebind(s.postgres,
		"SELECT "+requestColumns+" FROM requests WHERE "+cond+" ORDER BY id"), args...)
	if err != nil {
		return nil, err
	}
	return scanRequestRows(rs, replayChunk)
}

// idRange is the condition on a request id column for the chunk after the
// id after, up to upTo ("" for no bound), and its arguments.
func idRange(column, after, upTo string) (string, []any) {
	if upTo == "" {
		return column + " > ?", []any{after}
	}
	return column + " > ? AND " + column + " <= ?", []any{after, upTo}
}

// replayHistory reads the history of the chunk's requests, each oldest
// first.
func (s *Store) replayHistory(ctx context.Context, tx *sql.Tx, after, upTo string) (map[string][]workflow.HistoryEntry, error) {
	cond, args := idRange("request_id", after, upTo)
	rs, err := tx.QueryContext(ctx, rebind(s.postgres,
		"SELECT "+strings.Join(historyColumns, ", ")+" FROM request_history WHERE "+cond+" ORDER BY request_id, id"), args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := map[string][]workflow.HistoryEntry{}
	for rs.Next() {
		var row historyRow
		if err := rs.Scan(&row.RequestID, &row.Event, &row.FromState, &row.ToState, &row.Actor, &row.Authority,
			&row.AtUS, &row.Comment, &row.Grounds, &row.Documents); err != nil {
			return nil, err
		}
		h, err := row.toDomain()
		if err != nil {
			return nil, err
		}
		out[h.RequestID] = append(out[h.RequestID], h)
	}
	return out, rs.Err()
}

// replayAudited replays the audited changes of the chunk's requests.
func (s *Store) replayAudited(ctx context.Context, tx *sql.Tx, after, upTo string) (map[string]*workflow.AuditedRequest, error) {
	cond, args := idRange("request_id", after, upTo)
	out := map[string]*workflow.AuditedRequest{}
	// The actions that change a request: request.* and deadline.extend
	// (workflow.ChangesRequest decides among them).
	err := s.eachAuditedChange(ctx, tx, cond+" AND (action LIKE 'request.%' OR action = '"+workflow.ActionExtendDeadline+"') ORDER BY request_id, seq", args,
		workflow.ChangesRequest, func(e workflow.AuditEntry) {
			a := out[e.RequestID]
			if a == nil {
				a = &workflow.AuditedRequest{}
				out[e.RequestID] = a
			}
			a.Replay(e)
		})
	return out, err
}

// eachAuditedChange calls each for the accepted entries that match where
// (a condition with its order, over args) and that changes says change a
// row, in the order where gives.
func (s *Store) eachAuditedChange(ctx context.Context, tx *sql.Tx, where string, args []any,
	changes func(action, outcome string) bool, each func(workflow.AuditEntry)) error {
	rs, err := tx.QueryContext(ctx, rebind(s.postgres,
		"SELECT seq, at_us, actor, authority, action, request_id, outcome, details FROM audit_entries WHERE outcome = ? AND "+
			where), append([]any{workflow.OutcomeOK}, args...)...)
	if err != nil {
		return err
	}
	defer rs.Close()
	for rs.Next() {
		var e workflow.AuditEntry
		var at int64
		if err := rs.Scan(&e.Seq, &at, &e.Actor, &e.Authority, &e.Action, &e.RequestID, &e.Outcome, &e.Details); err != nil {
			return err
		}
		if changes(e.Action, e.Outcome) {
			e.At = fromMicros(at)
			each(e)
		}
	}
	return rs.Err()
}

// verifyUsers replays every account's audited changes (auth.AuditedUser)
// and compares the result with its row: a role, an authority, a disabled
// flag or a username changed behind the server's back, an account inserted
// without a record or deleted with its record left behind. Accounts are
// few: all of them, and their changes, are read at once.
func (s *Store) verifyUsers(ctx context.Context, tx *sql.Tx) (*requestBreak, error) {
	rs, err := tx.QueryContext(ctx, rebind(s.postgres, "SELECT "+userColumns+" FROM users ORDER BY id"))
	if err != nil {
		return nil, s.fail(err, "read users")
	}
	var users []workflow.User
	sealedRows := map[string]bool{}
	for rs.Next() {
		var row userRow
		if err := rs.Scan(row.scanTargets()...); err != nil {
			rs.Close()
			return nil, s.fail(err, "read users")
		}
		users = append(users, row.toDomain())
		sealedRows[row.ID] = s.userSealed(row)
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return nil, s.fail(err, "read users")
	}
	audited, err := s.replayUserChanges(ctx, tx)
	if err != nil {
		return nil, s.fail(err, "read audited account changes")
	}
	var found *requestBreak
	note := func(b requestBreak) {
		b.user = true
		if found == nil {
			found = &b
		}
		found.count++
	}
	for _, u := range users {
		a, ok := audited[u.ID]
		delete(audited, u.ID)
		switch {
		case !ok:
			note(requestBreak{id: u.ID, reference: u.Username, seq: 1,
				problem: "the log records no change of it: the row was written behind the server's back"})
		case a.Disagreement(u) != "":
			note(requestBreak{id: u.ID, reference: u.Username, seq: a.LastSeq, problem: a.Disagreement(u)})
		case !sealedRows[u.ID]:
			note(requestBreak{id: u.ID, reference: u.Username, seq: a.LastSeq,
				problem: "its row is not sealed with the audit key: a column (its password hash, say) was changed behind the server's back"})
		}
	}
	for _, id := range slices.Sorted(maps.Keys(audited)) {
		a := audited[id]
		note(requestBreak{id: id, reference: a.Username, seq: a.LastSeq, problem: "its row is gone, though the log records its changes"})
	}
	return found, nil
}

// replayUserChanges replays the audited changes of every account.
func (s *Store) replayUserChanges(ctx context.Context, tx *sql.Tx) (map[string]*auth.AuditedUser, error) {
	placeholders := strings.TrimSuffix(strings.Repeat("?, ", len(auth.UserActions)), ", ")
	args := []any{}
	for _, a := range auth.UserActions {
		args = append(args, a)
	}
	out := map[string]*auth.AuditedUser{}
	err := s.eachAuditedChange(ctx, tx, "action IN ("+placeholders+") ORDER BY seq", args,
		auth.ChangesUser, func(e workflow.AuditEntry) {
			id := auth.UserOf(e)
			a := out[id]
			if a == nil {
				a = &auth.AuditedUser{}
				out[id] = a
			}
			a.Replay(e)
		})
	return out, err
}
