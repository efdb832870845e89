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

// authoritySettingsJSON is an authority in GET /authorities: with its
// completeness policy (CONTRACT 5).
type authoritySettingsJSON struct {
	Code               string                      `json:"code"`
	Name               string                      `json:"name"`
	CompletenessPolicy workflow.CompletenessPolicy `json:"completeness_policy"`
}

func toAuthoritySettingsJSON(a workflow.Authority) authoritySettingsJSON {
	p := a.CompletenessPolicy
	if p == "" {
		p = workflow.CompletenessAdvisory
	}
	return authoritySettingsJSON{Code: a.Code, Name: a.Name, CompletenessPolicy: p}
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
	// CONTRACT 5.
	Instrument         *string               `json:"instrument"`
	Purpose            string                `json:"purpose"`
	RequestedReference *string               `json:"requested_reference"`
	Persons            []personConcernedJSON `json:"persons"`
	Deadlines          []deadlineJSON        `json:"deadlines"`
	Completeness       completenessJSON      `json:"completeness"`
	CreatedAt          string                `json:"created_at"`
	UpdatedAt          string                `json:"updated_at"`
	AllowedEvents      []workflow.Event      `json:"allowed_events"`
	// UnreadMessages (added, in lists only) counts the counterpart's
	// messages the caller's authority has not read.
	UnreadMessages *int `json:"unread_messages,omitempty"`
}

// personConcernedJSON is a person a request concerns. A concealed
// protected person shows its id, role and protected: true, and null for
// everything that would identify it.
type personConcernedJSON struct {
	ID          string              `json:"id"`
	Role        workflow.PersonRole `json:"role"`
	Name        *string             `json:"name"`
	Aliases     []string            `json:"aliases"`
	DateOfBirth *string             `json:"date_of_birth"`
	Nationality *string             `json:"nationality"`
	Location    *string             `json:"location"`
	Protected   bool                `json:"protected"`
}

func toPersonsJSON(list []workflow.PersonConcerned) []personConcernedJSON {
	out := make([]personConcernedJSON, len(list))
	for i, p := range list {
		if p.Concealed {
			out[i] = personConcernedJSON{ID: p.ID, Role: p.Role, Protected: true}
			continue
		}
		name, nationality, location := p.Name, p.Nationality, p.Location
		out[i] = personConcernedJSON{
			ID: p.ID, Role: p.Role, Name: &name, Aliases: nonNil(p.Aliases), DateOfBirth: optionalString(p.DateOfBirth),
			Nationality: &nationality, Location: &location, Protected: p.Protected,
		}
	}
	return out
}

// personInput is a person concerned in a request's body; id names a
// person the request has, and is left out for a new one.
type personInput struct {
	ID          string              `json:"id"`
	Role        workflow.PersonRole `json:"role"`
	Name        string              `json:"name"`
	Aliases     []string            `json:"aliases"`
	DateOfBirth *string             `json:"date_of_birth"`
	Nationality string              `json:"nationality"`
	Location    string              `json:"location"`
	Protected   bool                `json:"protected"`
}

func personsToDomain(list []personInput) []workflow.PersonConcerned {
	out := make([]workflow.PersonConcerned, len(list))
	for i, p := range list {
		out[i] = workflow.PersonConcerned{ID: p.ID, Role: p.Role, Name: p.Name, Aliases: p.Aliases,
			DateOfBirth: deref(p.DateOfBirth), Nationality: p.Nationality, Location: p.Location, Protected: p.Protected}
	}
	return out
}

// deadlineJSON is a deadline as it stands when the answer is made.
type deadlineJSON struct {
	Kind       string                  `json:"kind"`
	Basis      string                  `json:"basis"`
	Side       workflow.Side           `json:"side"`
	StartsAt   string                  `json:"starts_at"`
	DueAt      string                  `json:"due_at"`
	Status     workflow.DeadlineStatus `json:"status"`
	MetAt      *string                 `json:"met_at"`
	Paused     bool                    `json:"paused"` // added: the clock stands (postponed, information awaited)
	Extensions []extensionJSON         `json:"extensions"`
}

type extensionJSON struct {
	Days   int    `json:"days"`
	Reason string `json:"reason"`
	Actor  string `json:"actor"`
	At     string `json:"at"`
}

func toDeadlinesJSON(list []workflow.Deadline) []deadlineJSON {
	out := make([]deadlineJSON, len(list))
	for i, d := range list {
		j := deadlineJSON{Kind: d.Kind, Basis: d.Basis, Side: d.Side, StartsAt: timeJSON(d.StartsAt),
			DueAt: timeJSON(d.DueAt), Status: d.Status, Paused: d.Paused, Extensions: make([]extensionJSON, len(d.Extensions))}
		if d.MetAt != nil {
			met := timeJSON(*d.MetAt)
			j.MetAt = &met
		}
		for k, x := range d.Extensions {
			j.Extensions[k] = extensionJSON{Days: x.Days, Reason: x.Reason, Actor: x.Actor, At: timeJSON(x.At)}
		}
		out[i] = j
	}
	return out
}

// completenessJSON is what a request lacks (CONTRACT 5).
type completenessJSON struct {
	Complete bool          `json:"complete"`
	Missing  []missingJSON `json:"missing"`
}

type missingJSON struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

func toCompletenessJSON(c workflow.Completeness) completenessJSON {
	out := completenessJSON{Complete: c.Complete, Missing: make([]missingJSON, len(c.Missing))}
	for i, m := range c.Missing {
		out.Missing[i] = missingJSON{Field: m.Field, Reason: m.Reason}
	}
	return out
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

// toRequestJSON is r as every answer but the one that reads a single
// request shows it: its protected persons concealed.
func toRequestJSON(wf *workflow.Service, a workflow.Actor, r workflow.Request) requestJSON {
	out := requestJSONOf(wf, a, r)
	out.Persons = toPersonsJSON(r.Concealed().Persons)
	return out
}

// requestJSONOf is r as it is: the single request that Service.Read
// answered, which disclosed its protected persons only to whom it may.
// Completeness is computed before: a concealed person is not incomplete.
func requestJSONOf(wf *workflow.Service, a workflow.Actor, r workflow.Request) requestJSON {
	now := wf.Now()
	out := requestJSON{
		ID: r.ID, Reference: r.Reference, Kind: r.Kind, State: r.State, Version: r.Version,
		RequestingAuthority: r.RequestingAuthority, RequestedAuthority: r.RequestedAuthority,
		Title: r.Title, Summary: r.Summary, LegalBasis: r.LegalBasis,
		Offences: nonNil(r.Offences), Measures: nonNil(r.Measures), Urgency: r.Urgency,
		UrgencyReason: r.UrgencyReason, DueDate: optionalString(r.DueDate),
		PersonSought: toPersonJSON(r.PersonSought), Warrant: toWarrantJSON(r.Warrant),
		Instrument: optionalString(r.Instrument), Purpose: r.Purpose,
		RequestedReference: optionalString(r.RequestedReference), Persons: toPersonsJSON(r.Persons),
		Deadlines: toDeadlinesJSON(r.DeadlinesAt(now)), Completeness: toCompletenessJSON(r.CompletenessAt(now)),
		CreatedAt: timeJSON(r.CreatedAt), UpdatedAt: timeJSON(r.UpdatedAt),
		AllowedEvents: nonNil(wf.AllowedEvents(a, r)),
	}
	return out
}

func toRequestsJSON(wf *workflow.Service, a workflow.Actor, list []workflow.Request, unread map[string]int) []requestJSON {
	items := make([]requestJSON, len(list))
	for i, r := range list {
		items[i] = toRequestJSON(wf, a, r)
		n := unread[r.ID]
		items[i].UnreadMessages = &n
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

// itemsOf is the answer {items} of list, each turned into its JSON by to.
func itemsOf[T, J any](list []T, to func(T) J) itemsJSON[J] {
	items := make([]J, len(list))
	for i, v := range list {
		items[i] = to(v)
	}
	return itemsJSON[J]{Items: items}
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
	Documents []string       `json:"documents"` // added: the evidence a delivery handed over
}

func toHistoryJSON(h workflow.HistoryEntry) historyJSON {
	return historyJSON{
		Event: h.Event, From: h.From, To: h.To, Actor: h.Actor, Authority: h.Authority,
		At: timeJSON(h.At), Comment: h.Comment, Grounds: nonNil(h.Grounds),
		Documents: nonNil(h.Documents),
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
