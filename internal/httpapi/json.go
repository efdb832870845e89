package httpapi

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// This file holds the converters between domain values and the contract's
// JSON (CONTRACT.md section 4). Every shape a client sees is defined here,
// once; lists are never null, absent values are explicit nulls.

// timeJSON formats a time as RFC 3339 in UTC at microsecond precision.
func timeJSON(t time.Time) string { return t.UTC().Format(timeLayout) }

// timeLayout is RFC 3339 with a fixed six-digit fraction: the precision the
// server stores, and sortable as text.
const timeLayout = "2006-01-02T15:04:05.000000Z07:00"

// nonNil returns s, or an empty slice for nil, so that JSON shows [] and
// never null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// authorityJSON is an authority as the API shows it.
type authorityJSON struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// userJSON is a user as the API shows it: never the password hash, nor
// whether the account is disabled (a disabled user cannot see it anyway).
type userJSON struct {
	ID          string         `json:"id"`
	Username    string         `json:"username"`
	DisplayName string         `json:"display_name"`
	Role        workflow.Role  `json:"role"`
	Authority   *authorityJSON `json:"authority"`
}

func toUserJSON(ctx context.Context, u workflow.User, names *authorityNames) (userJSON, error) {
	out := userJSON{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, Role: u.Role}
	if u.Authority != "" {
		name, err := names.name(ctx, u.Authority)
		if err != nil {
			return userJSON{}, err
		}
		out.Authority = &authorityJSON{Code: u.Authority, Name: name}
	}
	return out, nil
}

// loginJSON is the answer to a successful log-in or refresh: the
// contract's fields, and (added) the refresh token and its lifetime.
type loginJSON struct {
	AccessToken      string   `json:"access_token"`
	TokenType        string   `json:"token_type"`
	ExpiresIn        int      `json:"expires_in"` // seconds
	User             userJSON `json:"user"`
	RefreshToken     string   `json:"refresh_token"`
	RefreshExpiresIn int      `json:"refresh_expires_in"` // seconds
}

// requestJSON is a request as the API shows it to one caller:
// allowed_events depends on who asks.
type requestJSON struct {
	ID                  string           `json:"id"`
	Reference           string           `json:"reference"`
	Kind                workflow.Kind    `json:"kind"`
	State               workflow.State   `json:"state"`
	Version             int              `json:"version"`
	RequestingAuthority string           `json:"requesting_authority"`
	RequestedAuthority  string           `json:"requested_authority"`
	Title               string           `json:"title"`
	Summary             string           `json:"summary"`
	LegalBasis          string           `json:"legal_basis"`
	Offences            []string         `json:"offences"`
	Measures            []string         `json:"measures"`
	Urgency             workflow.Urgency `json:"urgency"`
	UrgencyReason       string           `json:"urgency_reason"`
	DueDate             *string          `json:"due_date"`
	PersonSought        *personJSON      `json:"person_sought"`
	Warrant             *warrantJSON     `json:"warrant"`
	CreatedAt           string           `json:"created_at"`
	UpdatedAt           string           `json:"updated_at"`
	AllowedEvents       []workflow.Event `json:"allowed_events"`
}

// personJSON is the person an extradition request seeks (added to the
// contract's request).
type personJSON struct {
	Name        string   `json:"name"`
	Aliases     []string `json:"aliases"`
	DateOfBirth *string  `json:"date_of_birth"`
	Nationality string   `json:"nationality"`
	Description string   `json:"description"`
	Location    string   `json:"location"`
}

func (p personJSON) toDomain() workflow.Person {
	return workflow.Person{Name: p.Name, Aliases: p.Aliases, DateOfBirth: deref(p.DateOfBirth),
		Nationality: p.Nationality, Description: p.Description, Location: p.Location}
}

func toPersonJSON(p *workflow.Person) *personJSON {
	if p == nil {
		return nil
	}
	return &personJSON{Name: p.Name, Aliases: nonNil(p.Aliases), DateOfBirth: optionalString(p.DateOfBirth),
		Nationality: p.Nationality, Description: p.Description, Location: p.Location}
}

// warrantJSON is the warrant or judgment an extradition request rests on
// (added to the contract's request).
type warrantJSON struct {
	Type      string  `json:"type"`
	Reference string  `json:"reference"`
	IssuedBy  string  `json:"issued_by"`
	IssuedOn  *string `json:"issued_on"`
}

func (w warrantJSON) toDomain() workflow.Warrant {
	return workflow.Warrant{Type: w.Type, Reference: w.Reference, IssuedBy: w.IssuedBy, IssuedOn: deref(w.IssuedOn)}
}

func toWarrantJSON(w *workflow.Warrant) *warrantJSON {
	if w == nil {
		return nil
	}
	return &warrantJSON{Type: w.Type, Reference: w.Reference, IssuedBy: w.IssuedBy, IssuedOn: optionalString(w.IssuedOn)}
}

// optionalString shows "" as null.
func optionalString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func toRequestJSON(wf *workflow.Service, a workflow.Actor, r workflow.Request) requestJSON {
	out := requestJSON{
		ID: r.ID, Reference: r.Reference, Kind: r.Kind, State: r.State, Version: r.Version,
		RequestingAuthority: r.RequestingAuthority, RequestedAuthority: r.RequestedAuthority,
		Title: r.Title, Summary: r.Summary, LegalBasis: r.LegalBasis,
		Offences: nonNil(r.Offences), Measures: nonNil(r.Measures), Urgency: r.Urgency,
		UrgencyReason: r.UrgencyReason, DueDate: optionalString(r.DueDate),
		PersonSought: toPersonJSON(r.PersonSought), Warrant: toWarrantJSON(r.Warrant),
		CreatedAt: timeJSON(r.CreatedAt), UpdatedAt: timeJSON(r.UpdatedAt),
		AllowedEvents: nonNil(wf.AllowedEvents(a, r)),
	}
	return out
}

func toRequestsJSON(wf *workflow.Service, a workflow.Actor, list []workflow.Request) []requestJSON {
	items := make([]requestJSON, len(list))
	for i, r := range list {
		items[i] = toRequestJSON(wf, a, r)
	}
	return items
}

// countsJSON is how many requests the caller sees, by side and state; every
// state is present, zero included, so that clients need no defaults.
type countsJSON struct {
	Incoming map[workflow.State]int `json:"incoming"`
	Outgoing map[workflow.State]int `json:"outgoing"`
}

func toCountsJSON(c workflow.Counts) countsJSON {
	out := countsJSON{Incoming: map[workflow.State]int{}, Outgoing: map[workflow.State]int{}}
	for _, s := range workflow.States {
		out.Incoming[s] = c.Incoming[s]
		out.Outgoing[s] = c.Outgoing[s]
	}
	return out
}

// pageJSON is one page of a list; NextCursor is null on the last page.
type pageJSON[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

func toPage[T any](items []T, next string) pageJSON[T] {
	p := pageJSON[T]{Items: nonNil(items)}
	if next != "" {
		p.NextCursor = &next
	}
	return p
}

// itemsJSON is a complete list.
type itemsJSON[T any] struct {
	Items []T `json:"items"`
}

// historyJSON is one transition of a request's timeline.
type historyJSON struct {
	Event     workflow.Event `json:"event"`
	From      workflow.State `json:"from"`
	To        workflow.State `json:"to"`
	Actor     string         `json:"actor"`
	Authority string         `json:"authority"`
	At        string         `json:"at"`
	Comment   string         `json:"comment"`
	Grounds   []string       `json:"grounds"`
}

func toHistoryJSON(h workflow.HistoryEntry) historyJSON {
	return historyJSON{
		Event: h.Event, From: h.From, To: h.To, Actor: h.Actor, Authority: h.Authority,
		At: timeJSON(h.At), Comment: h.Comment, Grounds: nonNil(h.Grounds),
	}
}

// auditJSON is one audit entry as its reader may read it (see
// workflow.Service.Audit): Details is the stored canonical JSON object,
// passed through as an object so that clients need not parse a string,
// less the keys the reader may not read, which Redacted names.
type auditJSON struct {
	Seq       int64           `json:"seq"`
	At        string          `json:"at"`
	Actor     string          `json:"actor"`
	Authority string          `json:"authority"`
	Action    string          `json:"action"`
	RequestID string          `json:"request_id"`
	Outcome   string          `json:"outcome"`
	Details   json.RawMessage `json:"details"`
	Redacted  []string        `json:"redacted"`
	PrevHash  string          `json:"prev_hash"`
	Hash      string          `json:"hash"`
}

func toAuditJSON(e workflow.AuditEntry) auditJSON {
	return auditJSON{
		Seq: e.Seq, At: timeJSON(e.At), Actor: e.Actor, Authority: e.Authority, Action: e.Action,
		RequestID: e.RequestID, Outcome: e.Outcome, Details: json.RawMessage(e.Details),
		Redacted: nonNil(e.Redacted), PrevHash: e.PrevHash, Hash: e.Hash,
	}
}

// verifyJSON is the result of checking the audit chain; BrokenAt and
// Problem appear only when it is broken, RequestID only when the break is
// a request that disagrees with its audited changes.
type verifyJSON struct {
	OK        bool   `json:"ok"`
	Entries   int64  `json:"entries"`
	Head      string `json:"head"`
	BrokenAt  int64  `json:"broken_at,omitempty"`
	Problem   string `json:"problem,omitempty"`
	RequestID string `json:"request_id,omitempty"`
	UserID    string `json:"user_id,omitempty"`
}

func toVerifyJSON(v workflow.AuditVerification) verifyJSON {
	return verifyJSON{OK: v.OK, Entries: v.Entries, Head: v.Head, BrokenAt: v.BrokenAt, Problem: v.Problem, RequestID: v.RequestID, UserID: v.UserID}
}

// authorityNames caches the names of the central authorities, which change
// (if ever) by administration, not by use; an unknown code reloads the list
// once, so that a new authority appears without a restart.
type authorityNames struct {
	wf    *workflow.Service
	mu    sync.Mutex
	names map[string]string
}

func newAuthorityNames(wf *workflow.Service) *authorityNames {
	return &authorityNames{wf: wf}
}

func (n *authorityNames) name(ctx context.Context, code string) (string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if name, ok := n.names[code]; ok {
		return name, nil
	}
	list, err := n.wf.Authorities(ctx)
	if err != nil {
		return "", err
	}
	n.names = make(map[string]string, len(list))
	for _, a := range list {
		n.names[a.Code] = a.Name
	}
	// An account of an authority that has gone shows the code alone.
	return n.names[code], nil
}
