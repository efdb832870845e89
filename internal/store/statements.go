package store

import (
	"strconv"
	"strings"
	"sync"
)

// statements holds the SQL this package writes by hand, in the placeholder
// style of the database: "?" on SQLite, "$1, $2, ..." on PostgreSQL. Hot
// paths (a command's reads and writes of its request, the history and audit
// appends, the user lookup of every API call, verification) skip GORM's
// statement building and reflection; everything else goes through GORM.
type statements struct {
	postgres bool

	readHead         string // the chain head, locked on PostgreSQL (see batchTx.finish)
	readHeadPlain    string // the chain head, for readers
	moveHead         string
	requestForUpdate string
	requestCountKey  string
	// The sessions' (sessions.go).
	sessionUser, sessionForUpdate, tokenForUpdate string
	verifyPage                                    string
	// userBy selects a user by the condition Store.user is given.
	userBy map[string]string

	// The outbox and the timers (change.go, outbox.go).
	outboxAfter, cancelTimers, insertTimer, claimTimers, deleteTimer string
	// promoteDelivery makes the next waiting delivery of a chain pending
	// (webhooks.go).
	promoteDelivery string

	// markIdempotent marks an idempotency key's effect (idempotency.go).
	markIdempotent string

	inserts *sync.Map // "table/rows" → multi-row INSERT (see insert)
}

// historyColumns are the columns the multi-row inserts of history write
// (batchTx.finish), in the order of historyRow.appendArgs.
var historyColumns = []string{"request_id", "event", "from_state", "to_state", "actor", "authority", "at_us", "comment", "grounds", "documents"}

// auditColumns are the columns of an audit entry, in the order batchTx.finish
// gives their values.
var auditColumns = []string{"seq", "at_us", "actor", "authority", "action", "request_id", "outcome", "details", "prev_hash", "hash"}

// appendArgs appends the values of historyColumns to args.
func (h *historyRow) appendArgs(args []any) []any {
	return append(args, h.RequestID, h.Event, h.FromState, h.ToState, h.Actor, h.Authority, h.AtUS, h.Comment, h.Grounds, h.Documents)
}

// userColumns are the columns of userRow in the order of its scanTargets;
// TestUserColumns checks both against the row type.
const userColumns = "id, username, display_name, role, authority, password_hash, password_temporary, disabled, created_at_us, seal"

// scanTargets returns pointers to the fields of row, in the order of
// userColumns.
func (row *userRow) scanTargets() []any {
	return []any{&row.ID, &row.Username, &row.DisplayName, &row.Role, &row.Authority, &row.PasswordHash,
		&row.PasswordTemporary, &row.Disabled, &row.CreatedUS, &row.Seal}
}

func newStatements(postgres bool) statements {
	q := func(s string) string { return rebind(postgres, s) }
	readHead := "SELECT seq, hash, seal FROM audit_head WHERE id = ?"
	if postgres {
		// The lock that serialises the appends of all writers and servers.
		readHead += " FOR UPDATE"
	}
	// On SQLite the text columns come joined by NUL bytes, one value per
	// row (see Store.readAuditPage); PostgreSQL text cannot hold a NUL.
	verifyPage := `SELECT seq, at_us, actor || char(0) || authority || char(0) || action || char(0) ||
request_id || char(0) || outcome || char(0) || details || char(0) || prev_hash || char(0) || hash
FROM audit_entries WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?`
	if postgres {
		verifyPage = `SELECT seq, at_us, actor, authority, action, request_id, outcome, details, prev_hash, hash
FROM audit_entries WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?`
	}
	// Row locks on PostgreSQL: of a command's request (see tx.Request), and
	// of a session and a refresh token, so that two servers cannot both
	// rotate one refresh token. SQLite's write transaction is exclusive
	// anyway.
	forUpdate, skipLocked := "", ""
	if postgres {
		forUpdate, skipLocked = " FOR UPDATE", " FOR UPDATE SKIP LOCKED"
	}
	st := statements{
		postgres:         postgres,
		readHead:         q(readHead),
		readHeadPlain:    q("SELECT seq, hash, seal FROM audit_head WHERE id = ?"),
		moveHead:         q("UPDATE audit_head SET seq = ?, hash = ?, seal = ? WHERE id = ? AND seq = ?"),
		requestForUpdate: q("SELECT " + requestColumns + " FROM requests WHERE id = ? LIMIT 1" + forUpdate),
		sessionUser: q("SELECT " + prefixed("u", userColumns) + ", " + prefixed("s", sessionColumns) +
			" FROM auth_sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ? AND s.user_id = ? LIMIT 1"),
		sessionForUpdate: q("SELECT " + sessionColumns + " FROM auth_sessions WHERE id = ? LIMIT 1" + forUpdate),
		tokenForUpdate:   q("SELECT " + refreshTokenColumns + " FROM refresh_tokens WHERE token_hash = ? LIMIT 1" + forUpdate),
		verifyPage:       q(verifyPage),
		requestCountKey:  q("SELECT requesting_authority, requested_authority, state FROM requests WHERE id = ? AND version = ? LIMIT 1"),
		userBy: map[string]string{
			"id = ?":       q("SELECT " + userColumns + " FROM users WHERE id = ? LIMIT 1"),
			"username = ?": q("SELECT " + userColumns + " FROM users WHERE username = ? LIMIT 1"),
		},
		inserts: &sync.Map{},

		markIdempotent: q("UPDATE idempotency_keys SET effect_seq = ? WHERE owner = ? AND idem_key = ? AND token = ?"),
		outboxAfter:    q("SELECT " + strings.Join(outboxColumns, ", ") + " FROM outbox WHERE id > ? ORDER BY id LIMIT ?"),
		cancelTimers:   q("DELETE FROM timers WHERE kind = ? AND subject = ?"),
		insertTimer: q("INSERT INTO timers (kind, subject, due_at_us, payload, created_at_us, claimed_until_us) " +
			"VALUES (?, ?, ?, ?, ?, 0)"),
		// SKIP LOCKED on PostgreSQL: a runner on another server passes over
		// the timers this one is claiming instead of waiting for them.
		// SQLite has one writer, and no such clause.
		claimTimers: q("UPDATE timers SET claimed_until_us = ? WHERE id IN (SELECT id FROM timers " +
			"WHERE due_at_us <= ? AND claimed_until_us <= ? ORDER BY due_at_us, id LIMIT ?" + skipLocked + ") " +
			"RETURNING id, kind, subject, due_at_us, payload, created_at_us"),
		deleteTimer: q("DELETE FROM timers WHERE id = ?"),
		promoteDelivery: q("UPDATE webhook_deliveries SET status = 'pending', next_attempt_us = ? WHERE id = (" +
			"SELECT n.id FROM webhook_deliveries n JOIN webhook_deliveries d ON n.webhook_id = d.webhook_id AND n.request_id = d.request_id " +
			"WHERE d.id = ? AND n.status = 'waiting' ORDER BY n.outbox_id LIMIT 1) AND status = 'waiting' AND id <> ?"),
	}
	return st
}

// insert returns "INSERT INTO table (cols) VALUES (...), (...)" for rows
// rows. The texts are kept, since the same few come back all the time.
func (st statements) insert(table string, cols []string, rows int, suffix string) string {
	key := table + "/" + strconv.Itoa(rows) + "/" + suffix
	if q, ok := st.inserts.Load(key); ok {
		return q.(string)
	}
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	q := rebind(st.postgres, "INSERT INTO "+table+" ("+strings.Join(cols, ", ")+") VALUES "+
		strings.TrimSuffix(strings.Repeat(one+", ", rows), ", ")+suffix)
	st.inserts.Store(key, q)
	return q
}

// rebind turns "?" placeholders into PostgreSQL's "$n". The statements it
// is given hold no "?" inside literals.
func rebind(postgres bool, q string) string {
	if !postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
