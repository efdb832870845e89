package store

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// replayChunk is how many requests verifyRequests compares at a time: their
// rows, history and audited changes are held in memory together.
const replayChunk = 1000

// requestBreak is the first request whose row or history disagrees with
// its audited changes, and how many disagree in all.
type requestBreak struct {
	id, reference string
	seq           int64 // the last entry recorded for it; 1 when none
	problem       string
	count         int
}

// verifyRequests replays every request's audited changes
// (workflow.AuditedRequest) and compares the result with its row and its
// history: a state, an authority, a version or a content changed behind the
// server's back, a transition deleted or added, a row inserted without a
// record or deleted with its record left behind. It reads everything in one
// read-only snapshot, so that changes committed meanwhile cannot make row
// and log disagree, in chunks of requests by id, so that memory stays flat.
// It returns nil when every request agrees.
func (s *Store) verifyRequests(ctx context.Context) (*requestBreak, error) {
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
		return nil, s.fail(err, "begin verification of requests")
	}
	defer tx.Rollback()
	var found *requestBreak
	after := ""
	for {
		rows, err := s.replayRequestRows(ctx, tx, after)
		if err != nil {
			return nil, s.fail(err, "read requests")
		}
		upTo := "" // "": no upper bound, the last chunk
		if len(rows) == replayChunk {
			upTo = rows[len(rows)-1].ID
		}
		history, err := s.replayHistory(ctx, tx, after, upTo)
		if err != nil {
			return nil, s.fail(err, "read request history")
		}
		audited, err := s.replayAudited(ctx, tx, after, upTo)
		if err != nil {
			return nil, s.fail(err, "read audited changes")
		}
		for _, b := range s.compareChunk(rows, history, audited) {
			if found == nil {
				found = &b
			}
			found.count++
		}
		if upTo == "" {
			return found, nil
		}
		after = upTo
	}
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
	for _, a := range sortedAudited(audited) {
		out = append(out, requestBreak{id: a.ID, reference: a.Reference, seq: a.LastSeq,
			problem: "its row is gone, though the log records its changes"})
	}
	return out
}

func sortedAudited(m map[string]*workflow.AuditedRequest) []*workflow.AuditedRequest {
	out := slices.Collect(maps.Values(m))
	slices.SortFunc(out, func(a, b *workflow.AuditedRequest) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// replayRequestRows reads the next chunk of requests after the id after.
func (s *Store) replayRequestRows(ctx context.Context, tx *sql.Tx, after string) ([]requestRow, error) {
	rs, err := tx.QueryContext(ctx, rebind(s.postgres,
		"SELECT "+requestColumns+" FROM requests WHERE id > ? ORDER BY id LIMIT ?"), after, replayChunk)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := make([]requestRow, 0, replayChunk)
	for rs.Next() {
		var row requestRow
		if err := rs.Scan(row.scanTargets()...); err != nil {
			return nil, err
		}
		out = append(out, row)
	}
	return out, rs.Err()
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
			&row.AtUS, &row.Comment, &row.Grounds); err != nil {
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
	rs, err := tx.QueryContext(ctx, rebind(s.postgres,
		"SELECT seq, at_us, actor, authority, action, request_id, outcome, details FROM audit_entries WHERE "+cond+
			" AND outcome = ? AND action LIKE 'request.%' ORDER BY request_id, seq"), append(args, workflow.OutcomeOK)...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := map[string]*workflow.AuditedRequest{}
	for rs.Next() {
		var e workflow.AuditEntry
		var at int64
		if err := rs.Scan(&e.Seq, &at, &e.Actor, &e.Authority, &e.Action, &e.RequestID, &e.Outcome, &e.Details); err != nil {
			return nil, err
		}
		if !workflow.ChangesRequest(e.Action, e.Outcome) {
			continue
		}
		e.At = fromMicros(at)
		a := out[e.RequestID]
		if a == nil {
			a = &workflow.AuditedRequest{}
			out[e.RequestID] = a
		}
		a.Replay(e)
	}
	return out, rs.Err()
}
