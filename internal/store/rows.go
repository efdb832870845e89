package store

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// toMicros is how times are stored: int64 microseconds since the Unix
// epoch. An integer round-trips exactly on both databases (no time zone, no
// driver rounding, no text format to parse), and a microsecond is the
// precision the audit chain hashes (audit.TimeFormat). Columns holding such
// values end in _us, so that nobody mistakes them for seconds.
func toMicros(t time.Time) int64 { return t.UnixMicro() }

// fromMicros reads a stored time back, in UTC.
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// requestRow is the stored form of workflow.Request. Seq orders the lists
// (newest first) and their keyset cursors; ID is the opaque identifier the
// API shows. The two authority indexes serve the two halves of a scope
// (outgoing and incoming); every composite index ends in seq, so that a
// filtered page is read from the index in list order, without sorting.
type requestRow struct {
	Seq                 int64  `gorm:"column:seq;primaryKey;autoIncrement;index:ix_requests_kind_seq,priority:2;index:ix_requests_state_seq,priority:2;index:ix_requests_requesting_seq,priority:2;index:ix_requests_requested_seq,priority:2"`
	ID                  string `gorm:"column:id;size:64;not null;uniqueIndex:ux_requests_id"`
	Reference           string `gorm:"column:reference;size:64;not null;uniqueIndex:ux_requests_reference"`
	Kind                string `gorm:"column:kind;size:16;not null;index:ix_requests_kind_seq,priority:1"`
	State               string `gorm:"column:state;size:16;not null;index:ix_requests_state_seq,priority:1"`
	Version             int    `gorm:"column:version;not null"`
	RequestingAuthority string `gorm:"column:requesting_authority;size:8;not null;index:ix_requests_requesting_seq,priority:1"`
	RequestedAuthority  string `gorm:"column:requested_authority;size:8;not null;index:ix_requests_requested_seq,priority:1"`
	Title               string `gorm:"column:title;not null"`
	Summary             string `gorm:"column:summary;not null"`
	LegalBasis          string `gorm:"column:legal_basis;not null"`
	Offences            string `gorm:"column:offences;not null"` // JSON array of strings
	Measures            string `gorm:"column:measures;not null"` // JSON array of codes
	Urgency             string `gorm:"column:urgency;size:16;not null"`
	UrgencyReason       string `gorm:"column:urgency_reason;not null;default:''"`
	DueDate             string `gorm:"column:due_date;size:10;not null"`         // YYYY-MM-DD or ""
	PersonSought        string `gorm:"column:person_sought;not null;default:''"` // JSON object, "" when none
	Warrant             string `gorm:"column:warrant;not null;default:''"`       // JSON object, "" when none
	CreatedUS           int64  `gorm:"column:created_at_us;not null"`
	UpdatedUS           int64  `gorm:"column:updated_at_us;not null"`
	// Added by migration 0004 (the legal substance).
	Instrument         string `gorm:"column:instrument;not null;default:''"`
	Purpose            string `gorm:"column:purpose;not null;default:''"`
	RequestedReference string `gorm:"column:requested_reference;not null;default:''"`
	Persons            string `gorm:"column:persons;not null;default:''"`   // JSON array, "" when none
	Deadlines          string `gorm:"column:deadlines;not null;default:''"` // JSON array, "" when none
	// NextDueUS is the earliest due time of a deadline whose clock runs
	// (workflow.Request.NextDue), NULL when none: derived, kept for the
	// deadline filters and sort=due.
	NextDueUS *int64 `gorm:"column:next_due_at_us"`
	CreatedBy string `gorm:"column:created_by;not null;default:''"`

	// The parents exist only to declare the foreign keys; they are never
	// loaded or saved (writes omit associations).
	RequestingParent *authorityRow `gorm:"foreignKey:RequestingAuthority;references:Code;constraint:OnUpdate:RESTRICT,OnDelete:RESTRICT"`
	RequestedParent  *authorityRow `gorm:"foreignKey:RequestedAuthority;references:Code;constraint:OnUpdate:RESTRICT,OnDelete:RESTRICT"`
}

func (requestRow) TableName() string { return "requests" }

func (r requestRow) toDomain() (workflow.Request, error) {
	offences, err := decodeStrings(r.Offences)
	if err != nil {
		return workflow.Request{}, fmt.Errorf("request %s offences: %w", r.ID, err)
	}
	measures, err := decodeStrings(r.Measures)
	if err != nil {
		return workflow.Request{}, fmt.Errorf("request %s measures: %w", r.ID, err)
	}
	person, err := decodePerson(r.PersonSought)
	if err != nil {
		return workflow.Request{}, fmt.Errorf("request %s person sought: %w", r.ID, err)
	}
	warrant, err := decodeWarrant(r.Warrant)
	if err != nil {
		return workflow.Request{}, fmt.Errorf("request %s warrant: %w", r.ID, err)
	}
	persons, err := decodePersons(r.Persons)
	if err != nil {
		return workflow.Request{}, fmt.Errorf("request %s persons: %w", r.ID, err)
	}
	deadlines, err := decodeDeadlines(r.Deadlines)
	if err != nil {
		return workflow.Request{}, fmt.Errorf("request %s deadlines: %w", r.ID, err)
	}
	return workflow.Request{
		Instrument:          r.Instrument,
		Purpose:             r.Purpose,
		RequestedReference:  r.RequestedReference,
		Persons:             persons,
		Deadlines:           deadlines,
		CreatedBy:           r.CreatedBy,
		ID:                  r.ID,
		Reference:           r.Reference,
		Kind:                workflow.Kind(r.Kind),
		State:               workflow.State(r.State),
		Version:             r.Version,
		RequestingAuthority: r.RequestingAuthority,
		RequestedAuthority:  r.RequestedAuthority,
		Title:               r.Title,
		Summary:             r.Summary,
		LegalBasis:          r.LegalBasis,
		Offences:            offences,
		Measures:            measures,
		Urgency:             workflow.Urgency(r.Urgency),
		UrgencyReason:       r.UrgencyReason,
		DueDate:             r.DueDate,
		PersonSought:        person,
		Warrant:             warrant,
		CreatedAt:           fromMicros(r.CreatedUS),
		UpdatedAt:           fromMicros(r.UpdatedUS),
	}, nil
}

func requestFromDomain(q workflow.Request) (requestRow, error) {
	offences, err := encodeStrings(q.Offences)
	if err != nil {
		return requestRow{}, err
	}
	measures, err := encodeStrings(q.Measures)
	if err != nil {
		return requestRow{}, err
	}
	person, err := encodePerson(q.PersonSought)
	if err != nil {
		return requestRow{}, err
	}
	warrant, err := encodeWarrant(q.Warrant)
	if err != nil {
		return requestRow{}, err
	}
	persons, err := encodePersons(q.Persons)
	if err != nil {
		return requestRow{}, err
	}
	deadlines, err := encodeDeadlines(q.Deadlines)
	if err != nil {
		return requestRow{}, err
	}
	var nextDue *int64
	if at, ok := q.NextDue(); ok {
		us := toMicros(at)
		nextDue = &us
	}
	return requestRow{
		Instrument:          q.Instrument,
		Purpose:             q.Purpose,
		RequestedReference:  q.RequestedReference,
		Persons:             persons,
		Deadlines:           deadlines,
		NextDueUS:           nextDue,
		CreatedBy:           q.CreatedBy,
		ID:                  q.ID,
		Reference:           q.Reference,
		Kind:                string(q.Kind),
		State:               string(q.State),
		Version:             q.Version,
		RequestingAuthority: q.RequestingAuthority,
		RequestedAuthority:  q.RequestedAuthority,
		Title:               q.Title,
		Summary:             q.Summary,
		LegalBasis:          q.LegalBasis,
		Offences:            offences,
		Measures:            measures,
		Urgency:             string(q.Urgency),
		UrgencyReason:       q.UrgencyReason,
		DueDate:             q.DueDate,
		PersonSought:        person,
		Warrant:             warrant,
		CreatedUS:           toMicros(q.CreatedAt),
		UpdatedUS:           toMicros(q.UpdatedAt),
	}, nil
}

// historyRow is the stored form of workflow.HistoryEntry. ID is
// auto-incremented, so it orders a request's timeline even when two
// transitions share a microsecond.
type historyRow struct {
	ID        int64  `gorm:"column:id;primaryKey;autoIncrement;index:ix_history_request_id,priority:2"`
	RequestID string `gorm:"column:request_id;size:64;not null;index:ix_history_request_id,priority:1"`
	Event     string `gorm:"column:event;size:32;not null"`
	FromState string `gorm:"column:from_state;size:16;not null"`
	ToState   string `gorm:"column:to_state;size:16;not null"`
	Actor     string `gorm:"column:actor;not null"`
	Authority string `gorm:"column:authority;size:8;not null"`
	AtUS      int64  `gorm:"column:at_us;not null"`
	Comment   string `gorm:"column:comment;not null"`
	Grounds   string `gorm:"column:grounds;not null"`              // JSON array of codes
	Documents string `gorm:"column:documents;not null;default:''"` // JSON array of document ids (deliver; migration 0008)

	Request *requestRow `gorm:"foreignKey:RequestID;references:ID;constraint:OnUpdate:RESTRICT,OnDelete:RESTRICT"`
}

func (historyRow) TableName() string { return "request_history" }

func (h historyRow) toDomain() (workflow.HistoryEntry, error) {
	grounds, err := decodeStrings(h.Grounds)
	if err != nil {
		return workflow.HistoryEntry{}, fmt.Errorf("history %d grounds: %w", h.ID, err)
	}
	documents, err := decodeStrings(h.Documents)
	if err != nil {
		return workflow.HistoryEntry{}, fmt.Errorf("history %d documents: %w", h.ID, err)
	}
	if len(documents) == 0 {
		documents = nil // only a delivery hands documents over
	}
	return workflow.HistoryEntry{
		RequestID: h.RequestID,
		Event:     workflow.Event(h.Event),
		From:      workflow.State(h.FromState),
		To:        workflow.State(h.ToState),
		Actor:     h.Actor,
		Authority: h.Authority,
		At:        fromMicros(h.AtUS),
		Comment:   h.Comment,
		Grounds:   grounds,
		Documents: documents,
	}, nil
}

func historyFromDomain(h workflow.HistoryEntry) (historyRow, error) {
	grounds, err := encodeStrings(h.Grounds)
	if err != nil {
		return historyRow{}, err
	}
	documents, err := encodeStrings(h.Documents)
	if err != nil {
		return historyRow{}, err
	}
	return historyRow{
		RequestID: h.RequestID,
		Event:     string(h.Event),
		FromState: string(h.From),
		ToState:   string(h.To),
		Actor:     h.Actor,
		Authority: h.Authority,
		AtUS:      toMicros(h.At),
		Comment:   h.Comment,
		Grounds:   grounds,
		Documents: documents,
	}, nil
}

// auditRow is one chained audit entry. Seq is assigned by the batch
// (chainAudit) from the head row, never by the database, because the chain needs it before
// the row is written. The indexes serve the filters of the audit page, each
// in list order (the one on action also the replay of accounts). The table has no foreign keys on purpose: the log must keep
// what happened even if what it refers to is gone.
type auditRow struct {
	Seq       int64  `gorm:"column:seq;primaryKey;autoIncrement:false;index:ix_audit_actor_seq,priority:2;index:ix_audit_authority_seq,priority:2;index:ix_audit_request_seq,priority:2;index:ix_audit_action_seq,priority:2"`
	AtUS      int64  `gorm:"column:at_us;not null"`
	Actor     string `gorm:"column:actor;not null;index:ix_audit_actor_seq,priority:1"`
	Authority string `gorm:"column:authority;not null;index:ix_audit_authority_seq,priority:1"`
	Action    string `gorm:"column:action;not null;index:ix_audit_action_seq,priority:1"`
	RequestID string `gorm:"column:request_id;not null;index:ix_audit_request_seq,priority:1"`
	Outcome   string `gorm:"column:outcome;not null"`
	Details   string `gorm:"column:details;not null"` // canonical JSON, exactly as hashed
	PrevHash  string `gorm:"column:prev_hash;not null"`
	Hash      string `gorm:"column:hash;not null"`
}

func (auditRow) TableName() string { return "audit_entries" }

func (a auditRow) toDomain() workflow.AuditEntry {
	return workflow.AuditEntry{
		Seq: a.Seq, At: fromMicros(a.AtUS), Actor: a.Actor, Authority: a.Authority,
		Action: a.Action, RequestID: a.RequestID, Outcome: a.Outcome, Details: a.Details,
		PrevHash: a.PrevHash, Hash: a.Hash,
	}
}

// auditHeadID is the key of the one row of audit_head.
const auditHeadID = 1

// auditHeadRow is the head of the chain: the sequence number and hash of the
// last entry, and their seal (audit.HeadSeal) under the audit key. Appends
// lock it (SELECT ... FOR UPDATE), which serialises them on PostgreSQL, and
// check its seal before they extend the chain, so that nobody writes under
// another key; verification compares it with the last entry, which catches
// a deleted tail, and checks the seal, which catches a head moved back to
// match. Seal is "" only on a database from before heads were sealed, until
// Open seals it (see sealLegacyHead).
type auditHeadRow struct {
	ID   int    `gorm:"column:id;primaryKey;autoIncrement:false"`
	Seq  int64  `gorm:"column:seq;not null"`
	Hash string `gorm:"column:hash;not null"`
	Seal string `gorm:"column:seal;not null;default:''"`
}

func (auditHeadRow) TableName() string { return "audit_head" }

// userRow is the stored form of workflow.User. Usernames are stored in lower
// case, so that the unique index makes them unique regardless of case.
// Authority is NULL for users without one, so the foreign key allows them.
type userRow struct {
	ID           string  `gorm:"column:id;size:64;primaryKey"`
	Username     string  `gorm:"column:username;not null;uniqueIndex:ux_users_username"`
	DisplayName  string  `gorm:"column:display_name;not null"`
	Role         string  `gorm:"column:role;size:16;not null"`
	Authority    *string `gorm:"column:authority;size:8"`
	PasswordHash string  `gorm:"column:password_hash;not null"`
	// Added later: the default lets AutoMigrate add it to existing rows.
	PasswordTemporary bool  `gorm:"column:password_temporary;not null;default:false"`
	Disabled          bool  `gorm:"column:disabled;not null"`
	CreatedUS         int64 `gorm:"column:created_at_us;not null"`
	// Seal is an HMAC of the other columns under a key derived from the
	// audit key (Store.userSeal): an account changed behind the server's
	// back (a role, an authority, a password hash of someone else's
	// choosing) no longer opens a session (see Store.checkedUser).
	Seal string `gorm:"column:seal;not null;default:''"`

	AuthorityParent *authorityRow `gorm:"foreignKey:Authority;references:Code;constraint:OnUpdate:RESTRICT,OnDelete:RESTRICT"`
}

func (userRow) TableName() string { return "users" }

func (u userRow) toDomain() workflow.User {
	out := workflow.User{
		ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, Role: workflow.Role(u.Role),
		PasswordHash: u.PasswordHash, PasswordTemporary: u.PasswordTemporary, Disabled: u.Disabled,
		CreatedAt: fromMicros(u.CreatedUS),
	}
	if u.Authority != nil {
		out.Authority = *u.Authority
	}
	return out
}

func userFromDomain(u workflow.User) userRow {
	row := userRow{
		ID: u.ID, Username: normalizeUsername(u.Username), DisplayName: u.DisplayName,
		Role: string(u.Role), PasswordHash: u.PasswordHash, PasswordTemporary: u.PasswordTemporary,
		Disabled: u.Disabled, CreatedUS: toMicros(u.CreatedAt),
	}
	if u.Authority != "" {
		a := u.Authority
		row.Authority = &a
	}
	return row
}

// authorityRow is a central authority.
type authorityRow struct {
	Code               string `gorm:"column:code;size:8;primaryKey"`
	Name               string `gorm:"column:name;not null"`
	CompletenessPolicy string `gorm:"column:completeness_policy;not null;default:'advisory'"`
}

func (authorityRow) TableName() string { return "authorities" }

func (a authorityRow) toDomain() workflow.Authority {
	p := workflow.CompletenessPolicy(a.CompletenessPolicy)
	if !p.Valid() {
		p = workflow.CompletenessAdvisory
	}
	return workflow.Authority{Code: a.Code, Name: a.Name, CompletenessPolicy: p}
}

// settingRow is a named value the server keeps in its database, such as a
// generated token-signing secret.
type settingRow struct {
	Name  string `gorm:"column:name;size:128;primaryKey"`
	Value string `gorm:"column:value;not null"`
}

func (settingRow) TableName() string { return "settings" }

// referenceCounterRow holds the last serial number given to a reference of
// one authority, kind and year (IT-MLA-2026-000042 is serial 42).
type referenceCounterRow struct {
	Authority  string `gorm:"column:authority;size:8;primaryKey"`
	Kind       string `gorm:"column:kind;size:16;primaryKey"`
	Year       int    `gorm:"column:year;primaryKey;autoIncrement:false"`
	LastSerial int64  `gorm:"column:last_serial;not null"`
}

func (referenceCounterRow) TableName() string { return "reference_counters" }

// allRows lists the row types in the order their tables are created: a
// table before those whose foreign keys point at it.
func allRows() []any {
	return []any{
		&authorityRow{}, &requestRow{}, &historyRow{}, &auditRow{}, &auditHeadRow{},
		&userRow{}, &settingRow{}, &referenceCounterRow{},
	}
}

// encodeStrings stores a list as a JSON array; nil is stored as [].
func encodeStrings(list []string) (string, error) {
	if len(list) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(list)
	if err != nil {
		return "", fmt.Errorf("encode list: %w", err)
	}
	return string(b), nil
}

// decodeStrings reads a JSON array of strings. It returns an empty, non-nil
// slice for an empty list, so that the API prints [] rather than null
// whichever way the list was written.
func decodeStrings(s string) ([]string, error) {
	out := []string{}
	if s == "" {
		return out, nil
	}
	if list, ok := plainStrings(s); ok {
		return list, nil
	}
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, err
	}
	if out == nil {
		out = []string{}
	}
	return out, nil
}

// personDoc is the stored JSON form of workflow.Person. Its own type with
// explicit names, so that renaming a domain field never changes what is on
// disk.
type personDoc struct {
	Name        string   `json:"name"`
	Aliases     []string `json:"aliases,omitempty"`
	DateOfBirth string   `json:"date_of_birth,omitempty"`
	Nationality string   `json:"nationality,omitempty"`
	Description string   `json:"description,omitempty"`
	Location    string   `json:"location,omitempty"`
}

// warrantDoc is the stored JSON form of workflow.Warrant.
type warrantDoc struct {
	Type      string `json:"type"`
	Reference string `json:"reference,omitempty"`
	IssuedBy  string `json:"issued_by,omitempty"`
	IssuedOn  string `json:"issued_on,omitempty"`
}

func encodePerson(p *workflow.Person) (string, error) {
	if p == nil {
		return "", nil
	}
	return encodeDoc(personDoc(*p))
}

func decodePerson(s string) (*workflow.Person, error) {
	d, err := decodeDoc[personDoc](s)
	if d == nil || err != nil {
		return nil, err
	}
	p := workflow.Person(*d)
	if p.Aliases == nil {
		p.Aliases = []string{}
	}
	return &p, nil
}

func encodeWarrant(w *workflow.Warrant) (string, error) {
	if w == nil {
		return "", nil
	}
	return encodeDoc(warrantDoc(*w))
}

func decodeWarrant(s string) (*workflow.Warrant, error) {
	d, err := decodeDoc[warrantDoc](s)
	if d == nil || err != nil {
		return nil, err
	}
	w := workflow.Warrant(*d)
	return &w, nil
}

// personConcernedDoc is the stored JSON form of workflow.PersonConcerned.
type personConcernedDoc struct {
	ID          string   `json:"id"`
	Role        string   `json:"role"`
	Name        string   `json:"name"`
	Aliases     []string `json:"aliases,omitempty"`
	DateOfBirth string   `json:"date_of_birth,omitempty"`
	Nationality string   `json:"nationality,omitempty"`
	Location    string   `json:"location,omitempty"`
	Protected   bool     `json:"protected,omitempty"`
}

func encodePersons(list []workflow.PersonConcerned) (string, error) {
	if len(list) == 0 {
		return "", nil
	}
	docs := make([]personConcernedDoc, len(list))
	for i, p := range list {
		docs[i] = personConcernedDoc{p.ID, string(p.Role), p.Name, p.Aliases, p.DateOfBirth, p.Nationality, p.Location, p.Protected}
	}
	return encodeDoc(docs)
}

func decodePersons(s string) ([]workflow.PersonConcerned, error) {
	docs, err := decodeDoc[[]personConcernedDoc](s)
	if docs == nil || err != nil {
		return nil, err
	}
	out := make([]workflow.PersonConcerned, len(*docs))
	for i, d := range *docs {
		aliases := d.Aliases
		if aliases == nil {
			aliases = []string{}
		}
		out[i] = workflow.PersonConcerned{ID: d.ID, Role: workflow.PersonRole(d.Role), Name: d.Name, Aliases: aliases,
			DateOfBirth: d.DateOfBirth, Nationality: d.Nationality, Location: d.Location, Protected: d.Protected}
	}
	return out, nil
}

// deadlineDoc is the stored JSON form of workflow.DeadlineTrack, its times
// in microseconds as every stored time (toMicros); 0 is none.
type deadlineDoc struct {
	Kind       string         `json:"kind"`
	Basis      string         `json:"basis"`
	Side       string         `json:"side"`
	StartsUS   int64          `json:"starts_at_us"`
	DueUS      int64          `json:"due_at_us"`
	StoppedUS  int64          `json:"stopped_since_us,omitempty"`
	MetUS      int64          `json:"met_at_us,omitempty"`
	EndedUS    int64          `json:"ended_at_us,omitempty"`
	Extensions []extensionDoc `json:"extensions,omitempty"`
}

type extensionDoc struct {
	Days   int    `json:"days"`
	Reason string `json:"reason"`
	Actor  string `json:"actor"`
	AtUS   int64  `json:"at_us"`
}

func optMicros(t *time.Time) int64 {
	if t == nil {
		return 0
	}
	return toMicros(*t)
}

func optTime(us int64) *time.Time {
	if us == 0 {
		return nil
	}
	t := fromMicros(us)
	return &t
}

func encodeDeadlines(list []workflow.DeadlineTrack) (string, error) {
	if len(list) == 0 {
		return "", nil
	}
	return string(appendDeadlinesJSON(make([]byte, 0, 256*len(list)), deadlineDocs(list))), nil
}

func decodeDeadlines(s string) ([]workflow.DeadlineTrack, error) {
	if s == "" {
		return nil, nil
	}
	docs, ok := readDeadlinesJSON(s)
	if !ok {
		d, err := decodeDoc[[]deadlineDoc](s)
		if err != nil {
			return nil, err
		}
		docs = *d
	}
	if len(docs) == 0 {
		return nil, nil
	}
	out := make([]workflow.DeadlineTrack, len(docs))
	for i, d := range docs {
		t := workflow.DeadlineTrack{Kind: d.Kind, Basis: d.Basis, Side: workflow.Side(d.Side), StartsAt: fromMicros(d.StartsUS),
			DueAt: fromMicros(d.DueUS), StoppedSince: optTime(d.StoppedUS), MetAt: optTime(d.MetUS), EndedAt: optTime(d.EndedUS)}
		for _, x := range d.Extensions {
			t.Extensions = append(t.Extensions, workflow.Extension{Days: x.Days, Reason: x.Reason, Actor: x.Actor, At: fromMicros(x.AtUS)})
		}
		out[i] = t
	}
	return out, nil
}

func encodeDoc(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode document: %w", err)
	}
	return string(b), nil
}

// decodeDoc reads an optional JSON object; "" is absence.
func decodeDoc[T any](s string) (*T, error) {
	if s == "" {
		return nil, nil
	}
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// plainStrings reads the common case of what encodeStrings writes, a
// compact array of strings without escapes, such as ["fraud","theft"],
// without encoding/json, which was a tenth of the CPU time of a list page
// (every row holds two such lists). Anything else (an escape, a space) is
// left to encoding/json: ok is false.
func plainStrings(s string) (list []string, ok bool) {
	if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' || strings.IndexByte(s, '\\') >= 0 {
		return nil, false
	}
	body := s[1 : len(s)-1]
	if body == "" {
		return []string{}, true
	}
	n := strings.Count(body, `","`) + 1
	list = make([]string, 0, n)
	for body != "" {
		if body[0] != '"' {
			return nil, false
		}
		end := strings.IndexByte(body[1:], '"')
		if end < 0 {
			return nil, false
		}
		v := body[1 : 1+end]
		for i := 0; i < len(v); i++ {
			if v[i] < 0x20 {
				return nil, false
			}
		}
		if !utf8.ValidString(v) {
			return nil, false
		}
		list = append(list, v)
		body = body[2+end:]
		if body == "" {
			break
		}
		if body[0] != ',' || len(body) == 1 {
			return nil, false
		}
		body = body[1:]
	}
	return list, true
}
