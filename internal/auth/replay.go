package auth

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// Replaying the audit log for accounts.
//
// A user row says who may sign in, with which role, for which authority:
// someone who can write the database could make an officer of one
// authority an officer of another, or an auditor an administrator, and be
// shown cases that are none of theirs. Every account change is audited with
// what it changed (AddUser, UpdateUser), so the log says what each account
// must be now; verification replays it and names any account that differs,
// as it does for requests (workflow.AuditedRequest).

// AuditedUser is what the audit log says of one account.
type AuditedUser struct {
	ID        string
	Username  string
	Role      workflow.Role
	Authority string
	Disabled  bool
	// LastSeq is the sequence number of the last audited change.
	LastSeq int64
	// Problem says why the entries themselves do not replay.
	Problem string
	created bool
}

// ChangesUser tells whether an audit entry of the action and outcome
// records a change of an account (and so takes part in its replay).
func ChangesUser(action, outcome string) bool {
	return outcome == workflow.OutcomeOK && (action == ActionUserCreate || action == ActionUserUpdate)
}

// UserActions are the actions ChangesUser accepts.
var UserActions = []string{ActionUserCreate, ActionUserUpdate}

// userDetails are the detail fields of the account changes replay reads.
type userDetails struct {
	UserID    string         `json:"user_id"`
	Username  string         `json:"username"`
	Role      *workflow.Role `json:"role"`
	Authority *string        `json:"authority"`
	Disabled  *bool          `json:"disabled"`
}

// UserOf returns the account an entry that changes one is about ("" when
// its details do not say).
func UserOf(e workflow.AuditEntry) string {
	var d userDetails
	_ = json.Unmarshal([]byte(e.Details), &d)
	return d.UserID
}

// Replay applies one audited change of the account, in sequence order.
func (a *AuditedUser) Replay(e workflow.AuditEntry) {
	if a.Problem != "" {
		return
	}
	var d userDetails
	if err := json.Unmarshal([]byte(e.Details), &d); err != nil {
		a.Problem = fmt.Sprintf("entry %d: details do not decode: %v", e.Seq, err)
		return
	}
	a.ID, a.LastSeq = d.UserID, e.Seq
	switch {
	case e.Action == ActionUserCreate:
		if a.created {
			a.Problem = fmt.Sprintf("entry %d creates the account a second time", e.Seq)
			return
		}
		a.created, a.Username = true, d.Username
	case !a.created:
		a.Problem = fmt.Sprintf("entry %d changes the account before any entry creates it", e.Seq)
		return
	}
	if d.Role != nil {
		a.Role = *d.Role
	}
	if d.Authority != nil {
		a.Authority = *d.Authority
	}
	if d.Disabled != nil {
		a.Disabled = *d.Disabled
	}
}

// Disagreement compares a stored account with what the audit log says of
// it, and returns what differs ("" when they agree).
func (a *AuditedUser) Disagreement(u workflow.User) string {
	if a.Problem != "" {
		return a.Problem
	}
	var diffs []string
	if !strings.EqualFold(u.Username, a.Username) {
		diffs = append(diffs, fmt.Sprintf("username is %s, the log says %s", u.Username, a.Username))
	}
	if u.Role != a.Role {
		diffs = append(diffs, fmt.Sprintf("role is %s, the log says %s", u.Role, a.Role))
	}
	if u.Authority != a.Authority {
		diffs = append(diffs, fmt.Sprintf("authority is %q, the log says %q", u.Authority, a.Authority))
	}
	if u.Disabled != a.Disabled {
		diffs = append(diffs, fmt.Sprintf("disabled is %v, the log says %v", u.Disabled, a.Disabled))
	}
	return strings.Join(diffs, "; ")
}
