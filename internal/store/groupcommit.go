package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"

	"github.com/mla-flow/mla-flow/internal/audit"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// Group commit.
//
// Every write transaction of the store (Store.WithTx and the package's own
// commands) goes to a writer goroutine (one on SQLite; see below for
// PostgreSQL). The writer takes the transactions that are waiting, runs them
// one after the other inside ONE database transaction, each after a
// SAVEPOINT of its own, commits once, and only then answers every caller.
// An item that fails rolls back to its savepoint and is answered with its
// own error; the others are not affected.
//
// A batch can also fail as a whole before its COMMIT: when what the items
// left to its end (history rows, audit entries, counts) cannot be written,
// when a savepoint cannot be taken or rolled back, or when PostgreSQL
// cancels it to break a deadlock or for a serialization failure. Nothing of
// it is kept then, so it is run again rather than failing its callers
// (settle): after a deadlock or serialization failure the whole batch,
// after a short jittered pause, a bounded number of times (then its
// callers get ErrUnavailable, 503); after any other failure each item
// alone, in the batch's order, so that an item whose data the database
// refuses fails by itself and its batch-mates commit. If the COMMIT itself
// fails, nothing runs again, since the commit may have reached the disk:
// every item of the batch is answered ErrUnavailable, so clients may retry.
// A transaction function may therefore run more than once, each time in a
// fresh transaction; only the last run's answer and effects count.
//
// What this keeps, exactly as with a transaction per command:
//
//   - Durability: a caller is answered only after the COMMIT that holds its
//     transaction returned, and the COMMIT runs with the same
//     synchronous=FULL (SQLite) or synchronous_commit=on (PostgreSQL) as
//     before. The fsync is shared by the batch, which is the whole point:
//     on SQLite one transaction per transition is bounded by the disk's
//     fsync rate.
//   - Isolation between commands: items run one after the other on one
//     connection, so an item sees everything that earlier items of its
//     batch wrote (as it would see them committed), and two commands on one
//     request serialise: the second reads the first's result, and of two
//     racing events exactly one wins. An item run again alone, or in a
//     batch run again, reads the database afresh and decides again.
//   - Ordering: items run, and their audit entries are chained, in the
//     order they were queued, in a batch and when run again one by one.
//   - One audit entry per change, in one contiguous chain: an item's audit
//     entries are kept with the batch, and dropped if the item rolls back
//     to its savepoint; the batch reads the chain head when it begins
//     (locking its row on PostgreSQL), and before the commit numbers and
//     seals the entries in the order the items ran, writes them, and moves
//     the head, all in the same transaction. If that fails, the batch
//     fails before its COMMIT, as above.
//   - Nothing without its record: an item's change and its audit entry sit
//     inside one savepoint; they are kept or rolled back together.
//
// A batch of one item runs without a savepoint: a failure rolls back the
// whole transaction, which holds nothing else.
//
// There is one writer goroutine on both databases. SQLite writes one
// transaction at a time anyway. On PostgreSQL two writers (each with its
// own connection and batches) measured no faster on a two-core machine,
// which the server, PostgreSQL and the clients saturate. The committer
// still takes a number of writers (writersPostgres), for a server whose
// database is far enough away that round trips, not CPU, bound it.
//
// Lock order on PostgreSQL, for several writers or servers on one
// database: a batch locks the audit head's row first, when it begins, then
// the rows its items take (requests, reference counters), then the counts
// in key order. Two batches that took the same rows in opposite orders
// used to deadlock (two batches drafting requests of two authorities each,
// on the reference counters; two servers firing events at the same
// requests); with the head first, the second batch waits for the head
// before it holds anything, so the batches of several servers serialise
// instead. Their appends to the chain serialised on the head anyway; what
// they lose is running their items at the same time, which on one shared
// database mostly fought over the same rows.
// Deadlocks with anything else (a command-line tool's transaction) are
// still retried as above.
//
// Statements inside a batch are not cancelled by the caller's context: a
// cancelled statement can abort the whole transaction (SQLite rolls back an
// interrupted write), and with it the other callers' work. A caller whose
// context is done before its turn is answered with the context's error
// without running.

// Batch sizes. At most so many waiting transactions share one commit. On
// PostgreSQL every item that writes takes a subtransaction id; above 64 per
// transaction PostgreSQL's snapshot cache overflows and every other session
// slows down, so its batches stay below that.
const (
	maxBatchSQLite   = 128
	maxBatchPostgres = 48
)

// Writer goroutines (see above).
const (
	writersSQLite   = 1
	writersPostgres = 1
)

// errStoreClosed answers writes that arrive after Close.
var errStoreClosed = errors.New("the store is closed")

// errCommitFailed is what every item of a batch gets when its commit
// fails: nothing of it was recorded, and trying again may well succeed.
var errCommitFailed = workflow.Errorf(workflow.ErrUnavailable, "the database could not commit the change; try again later")

// errHeadNotSealed fails a batch whose audit head this store's key did not
// seal (see batchTx.chainAudit): nothing is written until an operator has
// found out why (server audit verify).
var errHeadNotSealed = workflow.Errorf(workflow.ErrUnavailable,
	"the audit log's head is not sealed with this server's audit key; writes are refused until it is checked (server audit verify)")

// writeJob is one transaction waiting for the writer.
type writeJob struct {
	ctx  context.Context
	fn   func(*tx) error
	done chan struct{} // closed when the job has been answered
	err  error
	// panicked and panicVal carry a panic of fn back to its caller, who
	// panics again with it, as a panic inside a transaction would have.
	panicked bool
	panicVal any
}

// committer is the writer goroutine and its queue.
type committer struct {
	s        *Store
	maxBatch int
	jobs     chan *writeJob

	// mu guards closed: no job is sent after Close has begun, so that none
	// is left unanswered.
	mu      sync.RWMutex
	closed  bool
	quit    chan struct{}
	writers sync.WaitGroup

	// gathering is held by the writer that is taking the next batch from
	// the queue, so that writers take whole batches, one after the other.
	gathering sync.Mutex

	// gate is held by the writer between taking the first job of a batch
	// and gathering the others. Tests hold it to build a batch of known
	// content (HoldWriter in export_test.go).
	gate sync.Mutex
	// commitFn ends a batch; tests replace it to inject a failing commit.
	commitFn atomic.Pointer[func() error]
	// abortFn, when set, runs after finish and before the COMMIT; tests
	// set it to make a batch fail there (FailBeforeCommit).
	abortFn atomic.Pointer[func() error]

	// Counters for the debug listener and the benchmarks.
	batches    atomic.Int64
	items      atomic.Int64
	failed     atomic.Int64 // batches whose commit failed
	reruns     atomic.Int64 // batches run again (retries and items run alone)
	runNanos   atomic.Int64 // time spent beginning batches and running their items
	flushNanos atomic.Int64 // time spent committing (and syncing) batches
}

// WriteStats counts the work of the group-commit writer since Open.
type WriteStats struct {
	Commits       int64 // batches committed or attempted
	Transactions  int64 // write transactions run (items of all batches)
	FailedCommits int64 // batches whose commit failed
	// Reruns counts batches run again because they failed before their
	// COMMIT: retries after a conflict, and transactions run alone.
	Reruns int64
	// RunSeconds is the writer's time spent beginning batches and running
	// their transactions; CommitSeconds its time spent in COMMIT, which
	// includes waiting for the disk. The rest of its time it waited for
	// work.
	RunSeconds    float64
	CommitSeconds float64
}

func newCommitter(s *Store, writers, maxBatch int) *committer {
	c := &committer{
		s:        s,
		maxBatch: maxBatch,
		jobs:     make(chan *writeJob, 4*maxBatch),
		quit:     make(chan struct{}),
	}
	c.writers.Add(writers)
	for range writers {
		go c.loop()
	}
	return c
}

// WriteStats returns the counters of the group-commit writer.
func (s *Store) WriteStats() WriteStats {
	if s.gc == nil {
		return WriteStats{}
	}
	return WriteStats{
		Commits:       s.gc.batches.Load(),
		Transactions:  s.gc.items.Load(),
		FailedCommits: s.gc.failed.Load(),
		Reruns:        s.gc.reruns.Load(),
		RunSeconds:    float64(s.gc.runNanos.Load()) / 1e9,
		CommitSeconds: float64(s.gc.flushNanos.Load()) / 1e9,
	}
}

// submit queues fn and waits for its answer. Once queued a job is always
// answered, after the commit of its batch; the caller waits for that even if
// its context ends meanwhile, because by then its change may be committed.
func (c *committer) submit(ctx context.Context, fn func(*tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	j := &writeJob{ctx: ctx, fn: fn, done: make(chan struct{})}
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return errStoreClosed
	}
	c.jobs <- j
	c.mu.RUnlock()
	<-j.done
	if j.panicked {
		panic(j.panicVal)
	}
	return j.err
}

// close stops the writers after they have answered every queued job.
func (c *committer) close() {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.quit)
	}
	c.mu.Unlock()
	c.writers.Wait()
}

// loop is a writer goroutine.
func (c *committer) loop() {
	stopped := false
	defer func() {
		if stopped {
			c.writers.Done()
			return
		}
		// Only runtime.Goexit inside a transaction function gets here (a
		// test calling t.FailNow in one, say): panics are caught per item,
		// and run has answered its batch. Carry on with a new writer, so
		// that the store does not hang.
		go c.loop()
	}()
	batch := make([]*writeJob, 0, c.maxBatch)
	for {
		batch = c.gather(batch[:0])
		if len(batch) == 0 {
			stopped = true
			return
		}
		c.run(batch)
	}
}

// gather waits for the next job and takes the jobs queued behind it, up to
// a batch. After Close it takes what is still queued, and returns an empty
// batch once nothing is.
func (c *committer) gather(batch []*writeJob) []*writeJob {
	c.gathering.Lock()
	defer c.gathering.Unlock()
	select {
	case j := <-c.jobs:
		batch = append(batch, j)
	case <-c.quit:
		// Close waited for every sender: what is queued is all there is.
		select {
		case j := <-c.jobs:
			batch = append(batch, j)
		default:
			return batch
		}
	}
	c.gate.Lock()
	c.gate.Unlock() //nolint:staticcheck // empty on purpose: tests hold the gate to build a batch
	for len(batch) < c.maxBatch {
		select {
		case j := <-c.jobs:
			batch = append(batch, j)
		default:
			return batch
		}
	}
	return batch
}

// run executes one batch and answers every job in it.
func (c *committer) run(batch []*writeJob) {
	normal := false
	defer func() {
		if !normal {
			// runtime.Goexit in a transaction function: nothing is
			// committed (execute rolled back), and nobody may be told
			// otherwise.
			c.failed.Add(1)
			for _, j := range batch {
				j.err = errItemExited
				j.panicked, j.panicVal = false, nil
			}
		}
		for _, j := range batch {
			close(j.done)
		}
	}()
	c.settle(batch)
	normal = true
}

// errItemExited answers a batch in which a transaction function ended its
// goroutine instead of returning.
var errItemExited = errors.New("write transaction: a transaction function exited its goroutine (runtime.Goexit); nothing was committed")

// settle runs a batch until every job of it has its answer. A batch that
// failed before its COMMIT kept nothing, so its jobs may run again: after
// a deadlock or a serialization failure the whole batch does (retry); after
// any other failure each job runs alone, in the batch's order, so that a
// job whose data the database refuses fails by itself and its batch-mates
// commit. A job that fails alone is answered with its own error.
func (c *committer) settle(batch []*writeJob) {
	err := c.retry(batch)
	switch {
	case err == nil:
		return
	case len(batch) == 1, isConflict(err):
		// Its own failure, or a conflict that retries did not resolve
		// (ErrUnavailable for the caller, who may try again later).
		answerAll(batch, err)
		return
	}
	c.s.log.Warn("write batch failed before commit; running its transactions one by one",
		"err", err.Error(), "items", len(batch))
	for _, j := range batch {
		c.reruns.Add(1)
		c.settle([]*writeJob{j})
	}
}

// Retries of a batch that lost a race with another server's transaction
// (deadlock, serialization failure): PostgreSQL's documented remedy is to
// run the transaction again. The pause before the n-th retry is drawn
// from [n, 2n) × conflictPause, so that the two losers of a deadlock do not
// meet again in step; after maxConflictRetries the batch fails with the
// conflict, which the caller sees as 503.
const (
	maxConflictRetries = 5
	conflictPause      = 2 * time.Millisecond
)

// retry executes a batch, and again after a short pause while it fails
// before its COMMIT on a conflict with another transaction. It returns
// what execute returns the last time.
func (c *committer) retry(batch []*writeJob) error {
	for n := 1; ; n++ {
		err := c.execute(batch)
		if err == nil || !isConflict(err) || n > maxConflictRetries {
			return err
		}
		c.reruns.Add(1)
		time.Sleep(time.Duration(n)*conflictPause + rand.N(time.Duration(n)*conflictPause))
	}
}

// execute runs the items of a batch in one transaction and commits them.
// It returns nil when every job has its answer: the batch committed, its
// COMMIT failed (every job is answered ErrUnavailable: what reached the
// disk is unknown, so nothing runs again), or nothing was left to commit.
// It returns an error when the transaction failed before its COMMIT: it
// was rolled back, nothing of it is kept, and the jobs' answers are not
// final.
func (c *committer) execute(batch []*writeJob) error {
	c.batches.Add(1)
	c.items.Add(int64(len(batch)))
	b := &batchTx{c: c, s: c.s, started: time.Now()}
	for i := range b.parts {
		b.parts[i].table = partTables[i]
	}
	defer func() {
		if b.open {
			b.rollback()
		}
		if b.authChanged {
			// Whether or not it committed: a commit that reports failure
			// may have reached the disk.
			c.s.sessions.invalidate()
		}
	}()
	if err := b.begin(); err != nil {
		if isConflict(err) {
			return err
		}
		// Not the jobs' doing, and no reason to think that running them
		// again would go better: the database cannot start a transaction
		// or read the chain's head.
		answerAll(batch, c.s.fail(err, "begin write transaction"))
		return nil
	}
	savepoints := len(batch) > 1
	ok := 0
	for _, j := range batch {
		if err := j.ctx.Err(); err != nil {
			j.err = err
			continue
		}
		if err := b.runItem(j, savepoints); err != nil {
			// The transaction itself is in doubt (a savepoint could not
			// be taken or rolled back).
			return err
		}
		if isConflict(j.err) {
			// The item lost a race with another server's transaction,
			// whose locks may wait for rows that the earlier items of
			// this batch hold: only running the whole batch again after
			// the other has finished helps.
			return j.err
		}
		if j.err == nil && !j.panicked {
			ok++
		}
	}
	if ok == 0 {
		// Nothing to keep: every item failed and was rolled back (or, in a
		// batch of one, is rolled back now).
		return nil
	}
	if err := b.finish(); err != nil {
		return err
	}
	if f := c.abortFn.Load(); f != nil {
		if err := (*f)(); err != nil {
			return err
		}
	}
	commit := b.commit
	if f := c.commitFn.Load(); f != nil {
		commit = *f
	}
	started := time.Now()
	c.runNanos.Add(int64(started.Sub(b.started)))
	err := commit()
	c.flushNanos.Add(int64(time.Since(started)))
	if err != nil {
		c.s.log.Error("write batch commit failed", "err", err.Error(), "items", len(batch))
		c.failAll(batch)
		return nil
	}
	b.open = false
	return nil
}

// answerAll answers every job of a batch with err.
func answerAll(batch []*writeJob, err error) {
	for _, j := range batch {
		j.err = err
	}
}

// failAll answers every item of a batch whose COMMIT failed ErrUnavailable,
// including those that had failed on their own: what they decided may rest
// on changes of earlier items that are now gone. A panic stays a panic: it
// is a bug to be seen, whatever happened to the batch.
func (c *committer) failAll(batch []*writeJob) {
	c.failed.Add(1)
	for _, j := range batch {
		j.err = errCommitFailed
	}
}

// batchTx is the database transaction of one batch.
type batchTx struct {
	c       *committer
	s       *Store
	sqlTx   *sql.Tx
	open    bool     // begun, and neither committed nor rolled back yet
	db      *gorm.DB // GORM over sqlTx, for the items
	started time.Time
	// headSeq and headHash are the audit chain's head as begin read it
	// (and locked it, on PostgreSQL).
	headSeq  int64
	headHash string
	// audit holds the entries the items appended, in order, to be numbered,
	// sealed and written by finish.
	audit []audit.Entry
	// parts hold the rows the items left to the end of the batch (their
	// transitions, their outbox messages: change.go), to be written by
	// finish in one statement each instead of one per item.
	parts [numParts]pendingRows
	// counts adds up the items' changes of request_counts (counts.go).
	counts map[countKey]int64
	// authChanged says that an item wrote a user or a session: the
	// session cache is invalidated before anyone is answered.
	authChanged bool
}

// begin starts the transaction and reads the audit chain's head: BEGIN
// IMMEDIATE on SQLite (from the writer's DSN), which takes the write lock
// from the start; on PostgreSQL the head's row is locked (FOR UPDATE) as
// the batch's first lock, so that batches of several servers on one
// database take their locks in one order, the head first, and cannot
// deadlock on the rows their items share.
func (b *batchTx) begin() error {
	sqlDB, err := b.s.w.DB()
	if err != nil {
		return err
	}
	if b.sqlTx, err = sqlDB.BeginTx(context.Background(), nil); err != nil {
		return err
	}
	b.open = true
	b.db = b.s.w.Session(&gorm.Session{NewDB: true, Context: context.Background()})
	b.db.Statement.ConnPool = detachedTx{b.sqlTx}
	var seal string
	err = b.sqlTx.QueryRow(b.s.sql.readHead, auditHeadID).Scan(&b.headSeq, &b.headHash, &seal)
	if errors.Is(err, sql.ErrNoRows) {
		return errors.New("read audit head: the audit head record is missing")
	}
	if err != nil {
		return fmt.Errorf("read audit head: %w", err)
	}
	if !audit.HeadSealed(b.s.key, b.headSeq, b.headHash, seal) {
		// Fail closed, for every batch, whether it appends or not: a head
		// this key did not seal was moved by someone without the key, or
		// belongs to a chain written under another key (a second server
		// with another key file). Extending it would bury the break under
		// entries that verify.
		b.s.log.Error("AUDIT HEAD NOT SEALED WITH THIS SERVER'S KEY: refusing to write", "head_seq", b.headSeq)
		return errHeadNotSealed
	}
	return nil
}

// commit ends the transaction, keeping its work.
func (b *batchTx) commit() error {
	b.open = false
	return b.sqlTx.Commit()
}

// rollback ends the transaction, dropping its work.
func (b *batchTx) rollback() {
	b.open = false
	_ = b.sqlTx.Rollback()
}

// exec runs a statement of the batch itself (savepoints, the head).
func (b *batchTx) exec(query string, args ...any) (sql.Result, error) {
	return b.sqlTx.ExecContext(context.Background(), query, args...)
}

// runItem runs one job inside its savepoint "item" (when savepoints is
// set). The job's own failure is recorded in the job; the returned error
// means the transaction can no longer be trusted.
//
// Each item sets a savepoint of the same name, nested in the previous
// item's, which is never released: ROLLBACK TO goes back to the innermost
// one, this item's, and leaves it in place, and the COMMIT releases them
// all. One statement per item instead of two.
func (b *batchTx) runItem(j *writeJob, savepoints bool) error {
	if savepoints {
		if _, err := b.exec("SAVEPOINT item"); err != nil {
			return fmt.Errorf("savepoint: %w", err)
		}
	}
	auditMark := len(b.audit)
	var partMarks [numParts]int
	for i := range b.parts {
		partMarks[i] = len(b.parts[i].args)
	}
	t := &tx{db: b.db, store: b.s, batch: b}
	j.err, j.panicked, j.panicVal = callItem(j.fn, t)
	if j.err == nil && !j.panicked {
		b.addCounts(t.counts)
		return nil
	}
	b.audit = b.audit[:auditMark]
	for i := range b.parts {
		b.parts[i].args = b.parts[i].args[:partMarks[i]]
	}
	if savepoints {
		if _, err := b.exec("ROLLBACK TO SAVEPOINT item"); err != nil {
			return fmt.Errorf("rollback to savepoint: %w", err)
		}
	}
	return nil
}

// callItem runs fn, turning a panic into a value to re-raise in the
// caller's goroutine.
func callItem(fn func(*tx) error, t *tx) (err error, panicked bool, val any) {
	normal := false
	defer func() {
		if !normal {
			if r := recover(); r != nil {
				panicked, val = true, r
			}
		}
	}()
	err = fn(t)
	normal = true
	return err, false, nil
}

// finish writes what the items left to the end of the batch: the parts of
// their changes (transitions, outbox messages), whichever tables they go
// to, then their audit entries, chained after the head that begin read,
// then the counts.
func (b *batchTx) finish() error {
	for i := range b.parts {
		p := &b.parts[i]
		if err := b.insertRows(p.table, p.args); err != nil {
			return fmt.Errorf("append to %s: %w", p.table.name, err)
		}
	}
	if err := b.chainAudit(); err != nil {
		return err
	}
	return b.applyCounts()
}

// chainAudit numbers and seals the batch's audit entries after the chain's
// head, writes them and moves the head.
func (b *batchTx) chainAudit() error {
	if len(b.audit) == 0 {
		return nil
	}
	seq, hash := b.headSeq, b.headHash
	start := seq
	for i := range b.audit {
		e := &b.audit[i]
		seq++
		e.Seq, e.PrevHash = seq, hash
		e.Hash = b.s.sealer.Seal(hash, *e)
		hash = e.Hash
	}
	args := make([]any, 0, len(b.audit)*len(auditTable.cols))
	for i := range b.audit {
		e := &b.audit[i]
		args = append(args, e.Seq, toMicros(e.At), e.Actor, e.Authority, e.Action, e.RequestID, e.Outcome, e.Details, e.PrevHash, e.Hash)
	}
	if err := b.insertRows(auditTable, args); err != nil {
		return fmt.Errorf("append audit entries %d to %d: %w", start+1, seq, err)
	}
	res, err := b.exec(b.s.sql.moveHead, seq, hash, audit.HeadSeal(b.s.key, seq, hash), auditHeadID, start)
	if err != nil {
		return fmt.Errorf("move audit head: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		// Cannot happen while the batch holds the write lock (SQLite) or
		// the head row's lock (PostgreSQL); if it does, the chain would
		// fork, so nothing of the batch is kept.
		return fmt.Errorf("move audit head: the head moved during the batch (%d rows, %v)", n, err)
	}
	return nil
}

// insertChunk is how many rows one INSERT of insertRows carries.
const insertChunk = 100

// insertRows inserts rows into t with multi-row INSERT statements of
// insertChunk rows, and one for the rest, whose texts the statement caches
// keep. args holds the rows' values one row after the other, len(t.cols)
// per row.
func (b *batchTx) insertRows(t *table, args []any) error {
	width := len(t.cols)
	n := len(args) / width
	for lo := 0; lo < n; lo += insertChunk {
		hi := min(lo+insertChunk, n)
		if _, err := b.exec(b.s.sql.insert(t.name, t.cols, hi-lo, t.suffix), args[lo*width:hi*width]...); err != nil {
			return err
		}
	}
	return nil
}

// detachedTx is the batch's *sql.Tx as GORM's connection pool, with every
// statement detached from the cancellation of the context it is given: the
// context belongs to one caller, the transaction to the whole batch, and a
// statement cancelled half-way can abort the whole transaction (SQLite
// rolls back an interrupted write). Values of the context are kept.
type detachedTx struct{ tx *sql.Tx }

func (d detachedTx) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return d.tx.PrepareContext(context.WithoutCancel(ctx), query)
}

func (d detachedTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return d.tx.ExecContext(context.WithoutCancel(ctx), query, args...)
}

func (d detachedTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return d.tx.QueryContext(context.WithoutCancel(ctx), query, args...)
}

func (d detachedTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return d.tx.QueryRowContext(context.WithoutCancel(ctx), query, args...)
}

var _ gorm.ConnPool = detachedTx{}
