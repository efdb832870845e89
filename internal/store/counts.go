package store

import (
	"cmp"
	"fmt"
	"slices"
)

// The dashboard's counts come from request_counts: how many requests each
// pair of authorities has in each state. Counting the requests themselves
// took seconds at a million of them (a scan of the state index and a sort
// for the grouping); the table has a row per pair and state.
//
// Every command that creates a request or changes its authorities or
// state records the change of the counts in its transaction (countDelta);
// the batch adds them up and writes the sums when it ends
// (batchTx.applyCounts), so that commands that cancel out, as a request
// asked for information and then given it, cost nothing, and the others a
// statement per pair and state per batch. An item rolled back to its
// savepoint takes its changes of the counts with it.
//
// The table is made by migration 0001 (migrations/*/0001_baseline.sql).

// countKey is a row of request_counts.
type countKey struct{ requesting, requested, state string }

func countKeyOf(r requestRow) countKey {
	return countKey{r.RequestingAuthority, r.RequestedAuthority, r.State}
}

// countChange is one change of a count.
type countChange struct {
	key countKey
	n   int64
}

// countDelta records that a request left the counts of from and joined
// those of to (either may be the zero key: none).
func (t *tx) countDelta(from, to countKey) {
	if from == to {
		return
	}
	if from != (countKey{}) {
		t.counts = append(t.counts, countChange{from, -1})
	}
	if to != (countKey{}) {
		t.counts = append(t.counts, countChange{to, 1})
	}
}

// addCounts adds the changes of a transaction that succeeded to its batch.
func (b *batchTx) addCounts(changes []countChange) {
	if len(changes) == 0 {
		return
	}
	if b.counts == nil {
		b.counts = map[countKey]int64{}
	}
	for _, c := range changes {
		b.counts[c.key] += c.n
	}
}

// applyCounts writes the batch's changes of the counts, in the order of
// their keys, so that two servers on one PostgreSQL database lock the rows
// they share in the same order. The batch holds the audit head's lock
// from its start, which orders those servers' batches anyway; the key
// order keeps that true of any other writer.
func (b *batchTx) applyCounts() error {
	keys := make([]countKey, 0, len(b.counts))
	for k, n := range b.counts {
		if n != 0 {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(x, y countKey) int {
		return cmp.Or(cmp.Compare(x.requesting, y.requesting), cmp.Compare(x.requested, y.requested), cmp.Compare(x.state, y.state))
	})
	// One statement for them all (the keys are distinct, as PostgreSQL
	// requires of one INSERT ... ON CONFLICT).
	args := make([]any, 0, len(keys)*len(countsTable.cols))
	for _, k := range keys {
		args = append(args, k.requesting, k.requested, k.state, b.counts[k])
	}
	err := b.insertRows(countsTable, args)
	if err != nil {
		return fmt.Errorf("request counts: %w", err)
	}
	return nil
}

// countColumns are the columns of request_counts, in the order
// applyCounts gives their values.
var countColumns = []string{"requesting_authority", "requested_authority", "state", "n"}

// addCountSuffix makes the INSERT of applyCounts add to the counts that
// exist.
const addCountSuffix = ` ON CONFLICT (requesting_authority, requested_authority, state) DO UPDATE SET n = request_counts.n + excluded.n`
