package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strings"

	"gorm.io/gorm"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

var errRequestNotFound = workflow.Errorf(workflow.ErrNotFound, "request not found")

// Request reads one request, without locking it.
func (s *Store) Request(ctx context.Context, id string) (workflow.Request, error) {
	var row requestRow
	err := s.r.WithContext(ctx).Where("id = ?", id).Take(&row).Error
	if notFound(err) {
		return workflow.Request{}, errRequestNotFound
	}
	if err != nil {
		return workflow.Request{}, s.fail(err, "load request")
	}
	return row.toDomain()
}

// ListRequests returns one page of the requests in f.Scope, newest first,
// narrowed by f.States and f.Kind, and the cursor of the next page ("" on
// the last). The scope is read through scopeSides.
//
// The two sides are asked separately, each for a page, and merged: each
// query then walks its side's index of (authority, seq) newest first and
// stops at the page's end, whatever the planner knows about the data.
// Asked as one query with OR, SQLite either read every request of the
// authority on both sides and sorted them, or scanned the whole table
// newest first, depending on its statistics (TestListRequests_queryPlans).
func (s *Store) ListRequests(ctx context.Context, f workflow.ListFilter) ([]workflow.Request, string, error) {
	limit := pageLimit(f.Limit)
	var pos listPosition
	var err error
	switch {
	case f.UrgentFirst:
		// A worklist has one page: a cursor would be a rank, not a place.
	case f.DueFirst:
		var v []int64
		if v, err = s.decodeCursorAt(dueCursor, f.Cursor, 2); v != nil {
			pos = listPosition{seq: v[1], due: v[0], byDue: true}
		}
	default:
		pos.seq, err = s.decodeCursor(requestCursor, f.Cursor)
	}
	if err != nil {
		return nil, "", err
	}
	rows, err := s.listRows(ctx, f, pos, limit+1)
	if err != nil {
		return nil, "", s.fail(err, "list requests")
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[limit-1]
		switch {
		case f.UrgentFirst:
		case f.DueFirst:
			next = s.encodeCursorAt(dueCursor, dueKey(last), last.Seq)
		default:
			next = s.encodeCursor(requestCursor, last.Seq)
		}
	}
	out := make([]workflow.Request, 0, len(rows))
	for _, row := range rows {
		r, err := row.toDomain()
		if err != nil {
			return nil, "", err
		}
		out = append(out, r)
	}
	return out, next, nil
}

// listRows reads up to n rows of f's list after pos, in f's order. One
// query is read as it is. The rows of several (listQueries) are picked in
// two steps, in one snapshot of the database: the keys of each query's
// rows, merged into the list's order, and then the whole rows of the n
// first only. A worklist asks a dozen queries for a page each, and reading
// every whole row of every query was most of its time; under a deadline
// filter, the first step is answered from the running-deadline indexes
// alone (migration 0005).
func (s *Store) listRows(ctx context.Context, f workflow.ListFilter, pos listPosition, n int) ([]requestRow, error) {
	if queries := s.listQueries(s.r.WithContext(ctx), f, pos, n); !inTwoSteps(f, queries) {
		var rows []requestRow
		for _, q := range queries {
			page, err := scanRequests(q.db)
			if err != nil {
				return nil, err
			}
			rows = page
		}
		return rows, nil
	}
	opts := &sql.TxOptions{ReadOnly: true}
	if s.postgres {
		opts.Isolation = sql.LevelRepeatableRead // one snapshot for both steps
	}
	var rows []requestRow
	err := s.r.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var keys []requestRow
		tier := 0
		for _, q := range s.listQueries(tx, f, pos, n) {
			if q.tier > tier && len(keys) >= n {
				break // every row of a later tier comes after these
			}
			tier = q.tier
			page, err := scanListKeys(q.db, f)
			if err != nil {
				return err
			}
			keys = mergeInListOrder(keys, page, f)
		}
		if len(keys) > n {
			keys = keys[:n]
		}
		if len(keys) == 0 {
			return nil
		}
		seqs := make([]int64, len(keys))
		at := make(map[int64]int, len(keys))
		for i, k := range keys {
			seqs[i], at[k.Seq] = k.Seq, i
		}
		whole, err := scanRequests(tx.Model(&requestRow{}).Where("seq IN ?", seqs))
		if err != nil {
			return err
		}
		if len(whole) != len(keys) {
			return fmt.Errorf("list: %d of %d rows read back in one snapshot", len(whole), len(keys))
		}
		rows = make([]requestRow, len(keys))
		for _, row := range whole {
			rows[at[row.Seq]] = row
		}
		return nil
	}, opts)
	return rows, err
}

// inTwoSteps reports whether listRows reads f's list, of those queries, in
// two steps: when there are several, and under a deadline filter, whose
// first step the running-deadline indexes answer alone.
func inTwoSteps(f workflow.ListFilter, queries []listQuery) bool {
	return len(queries) > 1 || !f.DueBefore.IsZero() || !f.DueFrom.IsZero()
}

// listKeyColumns are what mergeInListOrder orders f's rows by: what the
// first step of a list in two steps reads (the urgency only in a
// worklist, so that the other lists are answered by indexes without it).
func listKeyColumns(f workflow.ListFilter) string {
	if f.UrgentFirst {
		return "seq, next_due_at_us, urgency"
	}
	return "seq, next_due_at_us"
}

// scanListKeys reads what mergeInListOrder orders f's rows by, and nothing
// else.
func scanListKeys(q *gorm.DB, f workflow.ListFilter) ([]requestRow, error) {
	rs, err := q.Select(listKeyColumns(f)).Rows()
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []requestRow
	for rs.Next() {
		var k requestRow
		targets := []any{&k.Seq, &k.NextDueUS}
		if f.UrgentFirst {
			targets = append(targets, &k.Urgency)
		}
		if err := rs.Scan(targets...); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rs.Err()
}

// noDue is the due key of a request without a running deadline: it sorts
// after every due time.
const noDue = math.MaxInt64

// dueKey is the key a list by due time sorts row by.
func dueKey(row requestRow) int64 {
	if row.NextDueUS == nil {
		return noDue
	}
	return *row.NextDueUS
}

// listPosition is where the previous page ended: after seq, and in a list
// by due time (byDue) after the due key due.
type listPosition struct {
	seq   int64
	due   int64
	byDue bool
}

// listPart is one index range of a side that listQueries reads in order:
// a condition, whether it is read by due time (else newest first), and
// whether it holds only requests without a due time (noDue).
type listPart struct {
	cond  string
	args  []any
	byDue bool
	noDue bool
	tier  int
}

// listQuery is one query of a list, and its tier: every row of a query of
// a lower tier comes before every row of a higher one in the list's order
// (those with a due time before those without, in a worklist the urgent
// ones of the latter before the others), so that once the queries of the
// lower tiers have filled a page the others need not be asked.
type listQuery struct {
	db   *gorm.DB
	tier int
}

// listQueries returns the queries of the sides of f's scope, each for up
// to n requests under f's filters, after pos, in f's order. Each side is
// one query, or several that each read one index range in order and stop
// at n rows instead of sorting all of the side's requests: in a list by
// due time (f.DueFirst), those with a due time (by due time) and those
// without (newest first), the latter left out under a deadline filter,
// which they never match; in a worklist (f.UrgentFirst), each of the
// side's states and each urgency on its own, through the side's worklist
// index of (authority, state, urgency, due time): the few states a
// worklist asks for would otherwise be picked out of every request of the
// side with a due time, and the urgent ones out of the others.
func (s *Store) listQueries(db *gorm.DB, f workflow.ListFilter, pos listPosition, n int) []listQuery {
	parts := []listPart{{}}
	switch {
	case f.DueFirst && pos.byDue && pos.due == noDue:
		parts = []listPart{{cond: "next_due_at_us IS NULL AND seq < ?", args: []any{pos.seq}, noDue: true, tier: 1}}
	case f.DueFirst && pos.byDue:
		parts = []listPart{
			{cond: "(next_due_at_us > ? OR (next_due_at_us = ? AND seq < ?))", args: []any{pos.due, pos.due, pos.seq}, byDue: true},
			{cond: "next_due_at_us IS NULL", noDue: true, tier: 1},
		}
	case f.DueFirst:
		parts = []listPart{{cond: "next_due_at_us IS NOT NULL", byDue: true}, {cond: "next_due_at_us IS NULL", noDue: true, tier: 1}}
	case pos.seq > 0:
		parts = []listPart{{cond: "seq < ?", args: []any{pos.seq}}}
	}
	if !f.DueBefore.IsZero() || !f.DueFrom.IsZero() {
		parts = slices.DeleteFunc(parts, func(p listPart) bool { return p.noDue })
	}
	if f.UrgentFirst {
		// Each urgency apart, by equality (an urgency is one of the two,
		// Urgency.Valid), so that each part is one range of the worklist
		// index.
		var split []listPart
		for _, p := range parts {
			for _, u := range []workflow.Urgency{workflow.UrgencyUrgent, workflow.UrgencyNormal} {
				cond := "urgency = ?"
				if p.cond != "" {
					cond = p.cond + " AND " + cond
				}
				tier := p.tier
				if p.noDue && u != workflow.UrgencyUrgent {
					tier++
				}
				split = append(split, listPart{cond: cond, args: append(slices.Clone(p.args), string(u)), byDue: p.byDue, noDue: p.noDue, tier: tier})
			}
		}
		parts = split
	}
	var out []listQuery
	for _, sd := range scopeSides(f.Scope) {
		sides := []scopeSide{sd}
		if f.UrgentFirst {
			sides = sd.byState(f.States)
		}
		for _, one := range sides {
			for _, p := range parts {
				q := listSide(s.listFrom(db, f, p, one), f, one)
				if p.cond != "" {
					q = q.Where(p.cond, p.args...)
				}
				if p.byDue {
					q = q.Order("next_due_at_us").Order("seq DESC")
				} else {
					q = q.Order("seq DESC")
				}
				out = append(out, listQuery{q.Limit(n), p.tier})
			}
		}
	}
	slices.SortStableFunc(out, func(a, b listQuery) int { return a.tier - b.tier })
	return out
}

// listFrom is db on the requests table, and on SQLite, for a deadline
// filter in the default, newest-first order, on the side's index of its
// running deadlines (migration 0005), named: asked the same with bound
// values, SQLite's planner took the side's (authority, seq) index for the
// requested side at a million requests, and read every row of the side's
// newest requests to find the few overdue (13 ms instead of 0.3).
// PostgreSQL's planner needs no such hint.
func (s *Store) listFrom(db *gorm.DB, f workflow.ListFilter, p listPart, sd scopeSide) *gorm.DB {
	if s.postgres || p.byDue || f.DueBefore.IsZero() {
		return db.Table("requests")
	}
	return db.Table("requests INDEXED BY ix_requests_" + string(sd.side) + "_running")
}

// scopeSide is one side of a scope in SQL: the requests of the scope's
// authority on that side (cond and args, its states included), and the
// column that names the other side's authority; of the condition, the
// side's part without the states (on, onArgs) and the states.
type scopeSide struct {
	side         workflow.Side
	cond         string
	args         []any
	counterparts string
	on           string
	onArgs       []any
	states       []workflow.State
}

// byState splits the side into one side per state, of those of its states
// that also are in only when only lists any.
func (sd scopeSide) byState(only []workflow.State) []scopeSide {
	var out []scopeSide
	for _, st := range sd.states {
		if len(only) > 0 && !slices.Contains(only, st) {
			continue
		}
		one := sd
		one.cond, one.args = stateCond(sd.on, slices.Clone(sd.onArgs), []workflow.State{st})
		one.states = []workflow.State{st}
		out = append(out, one)
	}
	return out
}

// scopeSides returns the sides of the scope that hold any state, the
// requesting side first: the rule of workflow.Scope.Includes, in SQL,
//
//	(requesting_authority = A AND state IN RequestingStates)
//	OR (requested_authority = A AND requesting_authority <> A AND state IN RequestedStates)
//
// where an empty list contributes nothing and a list of every state needs
// no IN. The requesting_authority <> A term mirrors Request.SideOf, which
// takes an authority on both sides as the requesting one. Lists and counts
// both read it from here.
func scopeSides(scope workflow.Scope) []scopeSide {
	a := scope.Authority
	if a == "" {
		return nil
	}
	var out []scopeSide
	side := func(side workflow.Side, on string, onArgs []any, states []workflow.State, counterparts string) {
		cond, args := stateCond(on, slices.Clone(onArgs), states)
		out = append(out, scopeSide{side, cond, args, counterparts, on, onArgs, states})
	}
	if len(scope.RequestingStates) > 0 {
		side(workflow.SideRequesting, "requesting_authority = ?", []any{a}, scope.RequestingStates, "requested_authority")
	}
	if len(scope.RequestedStates) > 0 {
		side(workflow.SideRequested, "requested_authority = ? AND requesting_authority <> ?", []any{a, a}, scope.RequestedStates, "requesting_authority")
	}
	return out
}

// listSide is the query of one side of a scope under f's filters, without
// order or position: see listQueries.
func listSide(db *gorm.DB, f workflow.ListFilter, sd scopeSide) *gorm.DB {
	q := db.Where(sd.cond, sd.args...)
	if len(f.States) > 0 {
		q = q.Where("state IN ?", statesToStrings(f.States))
	}
	if f.Kind != "" {
		q = q.Where("kind = ?", string(f.Kind))
	}
	if f.Counterpart != "" {
		// Whom the authority asks on its requesting side, who asks it on
		// the other.
		q = q.Where(sd.counterparts+" = ?", f.Counterpart)
	}
	if f.TitleContains != "" {
		q = q.Where("LOWER(title) LIKE ? ESCAPE '\\'", "%"+escapeLike(strings.ToLower(f.TitleContains))+"%")
	}
	if !f.DueBefore.IsZero() {
		q = q.Where("next_due_at_us < ?", toMicros(f.DueBefore))
	}
	if !f.DueFrom.IsZero() {
		q = q.Where("next_due_at_us >= ?", toMicros(f.DueFrom))
	}
	return q
}

// mergeInListOrder merges two lists in f's order (see ListRequests), each
// in that order already. The queries of listQueries never share a request.
func mergeInListOrder(a, b []requestRow, f workflow.ListFilter) []requestRow {
	if len(a) == 0 {
		return b
	}
	if len(b) == 0 {
		return a
	}
	before := func(x, y requestRow) bool {
		if f.DueFirst {
			if xd, yd := dueKey(x), dueKey(y); xd != yd {
				return xd < yd
			}
		}
		if f.UrgentFirst && (!f.DueFirst || x.NextDueUS == nil) {
			if xu, yu := x.Urgency == string(workflow.UrgencyUrgent), y.Urgency == string(workflow.UrgencyUrgent); xu != yu {
				return xu
			}
		}
		return x.Seq > y.Seq
	}
	out := make([]requestRow, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if before(a[0], b[0]) {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return append(append(out, a...), b...)
}

// escapeLike escapes LIKE's wildcards so that a search for "50%" finds
// that text, not everything starting with 50.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// CountRequests counts the requests in scope by side and state, with one
// grouped query per side of the counts that request_counts keeps (see
// counts.go).
func (s *Store) CountRequests(ctx context.Context, scope workflow.Scope) (workflow.Counts, error) {
	out := workflow.Counts{Incoming: map[workflow.State]int{}, Outgoing: map[workflow.State]int{}}
	type count struct {
		State string
		N     int
	}
	for _, sd := range scopeSides(scope) {
		into := out.Outgoing
		if sd.side == workflow.SideRequested {
			into = out.Incoming
		}
		var rows []count
		err := s.r.WithContext(ctx).Table("request_counts").Select("state, SUM(n) AS n").
			Where(sd.cond, sd.args...).Group("state").Having("SUM(n) > 0").Scan(&rows).Error
		if err != nil {
			return out, s.fail(err, "count requests")
		}
		for _, r := range rows {
			into[workflow.State(r.State)] = r.N
		}
	}
	return out, nil
}

// stateCond returns "(side AND state IN ?)", leaving the IN out when states
// lists every state: it would match everything and only cost the planner.
func stateCond(side string, args []any, states []workflow.State) (string, []any) {
	if coversAllStates(states) {
		return "(" + side + ")", args
	}
	return "(" + side + " AND state IN ?)", append(args, statesToStrings(states))
}

func coversAllStates(states []workflow.State) bool {
	for _, known := range workflow.States {
		if !slices.Contains(states, known) {
			return false
		}
	}
	return true
}

func statesToStrings(states []workflow.State) []string {
	out := make([]string, len(states))
	for i, s := range states {
		out[i] = string(s)
	}
	return out
}

// History returns the transitions of a request, oldest first.
func (s *Store) History(ctx context.Context, requestID string) ([]workflow.HistoryEntry, error) {
	var rows []historyRow
	if err := s.r.WithContext(ctx).Where("request_id = ?", requestID).Order("id").Find(&rows).Error; err != nil {
		return nil, s.fail(err, "load history")
	}
	out := make([]workflow.HistoryEntry, 0, len(rows))
	for _, row := range rows {
		h, err := row.toDomain()
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, nil
}

// Authorities lists the central authorities by code.
func (s *Store) Authorities(ctx context.Context) ([]workflow.Authority, error) {
	var rows []authorityRow
	if err := s.r.WithContext(ctx).Order("code").Find(&rows).Error; err != nil {
		return nil, s.fail(err, "list authorities")
	}
	out := make([]workflow.Authority, len(rows))
	for i, row := range rows {
		out[i] = row.toDomain()
	}
	return out, nil
}

// Authority reads one central authority; ErrNotFound when none.
func (s *Store) Authority(ctx context.Context, code string) (workflow.Authority, error) {
	a, err := authorityByCode(s.r.WithContext(ctx), code)
	if err != nil {
		return workflow.Authority{}, s.fail(err, "load authority")
	}
	return a, nil
}

// pageLimit bounds a page size: the default when unset, never more than
// workflow.MaxLimit, so that no caller can make one query load everything.
func pageLimit(n int) int {
	switch {
	case n <= 0:
		return workflow.DefaultLimit
	case n > workflow.MaxLimit:
		return workflow.MaxLimit
	}
	return n
}
