package workflow

import (
	"bytes"
	"encoding/json"
	"slices"
)

// This file says what the details of audit entries hold: the details each
// command writes, and the class of every key that any code writes, which
// decides who may read it (Policy.MayReadDetail). The stored details are
// sealed into the chain and never change; ReadableDetails filters them for
// one reader at the time they are read.

// DetailClass is what an audit detail tells about.
type DetailClass int

// The classes of audit details.
const (
	// DetailUnclassified is a key that detailClasses does not name. Nobody
	// reads it (fail closed), and TestDetailKeys_classified fails for the
	// code that writes it.
	DetailUnclassified DetailClass = iota
	// DetailMeta tells who did what, when and with which outcome: what the
	// log is about, which the administrator reads.
	DetailMeta
	// DetailCase is case content: refusal grounds, anything that describes
	// the case.
	DetailCase
	// DetailDigest binds case text by a digest. Keyed digests (…_hmac)
	// cannot be recomputed without the key; the plain SHA-256 of entries
	// written before them (…_sha256) confirms a guessed text, so both are
	// read as case content is.
	DetailDigest
)

// detailClasses classifies every key any code writes into audit details,
// internal/auth's included: one list, which every view of the log is
// filtered by.
var detailClasses = map[string]DetailClass{
	// request.create, request.update and request.EVENT (this package, and
	// internal/seed, which writes what the service would have).
	"reference": DetailMeta, "kind": DetailMeta, "requested_authority": DetailMeta,
	"fields": DetailMeta, "version": DetailMeta,
	"event": DetailMeta, "from": DetailMeta, "to": DetailMeta,
	"grounds": DetailCase,
	// deliver: the ids of the documents handed over (which documents, as
	// document_id says, never what they hold).
	"documents":    DetailMeta,
	"content_hmac": DetailDigest, "comment_hmac": DetailDigest,
	"content_sha256": DetailDigest, "comment_sha256": DetailDigest, // entries written before keyed digests
	// acknowledge's reference and consent; deadline.extend; person.view
	// (the ids of the persons it disclosed, never who they are);
	// authority.update.
	"requested_reference": DetailMeta, "consent": DetailCase,
	"deadline": DetailMeta, "days": DetailMeta, "reason_hmac": DetailDigest,
	"persons": DetailMeta, "completeness_policy": DetailMeta,
	// document.upload, document.download, document.update: which document,
	// what it is, and its bytes' SHA-256, which binds them as a digest binds
	// text (and confirms a guessed file, so it is read as case content is).
	"document_id": DetailMeta, "type": DetailMeta, "language": DetailMeta, "media_type": DetailMeta,
	"size": DetailMeta, "translation_of": DetailMeta, "translation_status": DetailMeta,
	"sha256": DetailDigest,
	// message.post and message.read: the message's id, kind (already
	// listed), whether it is internal, its body by digest; how many
	// messages a reading marked read.
	"message_id": DetailMeta, "internal": DetailMeta, "body_hmac": DetailDigest, "messages_read": DetailMeta,
	// Refused attempts: the state the request was in, the error answered.
	"state": DetailMeta, "error": DetailMeta,
	// auth.login, auth.refresh, auth.logout, auth.prune, auth.key_rotate.
	"client_ip": DetailMeta, "reason": DetailMeta, "session_id": DetailMeta, "session_revoked": DetailMeta,
	"all": DetailMeta, "sessions_revoked": DetailMeta, "sessions": DetailMeta, "refresh_tokens": DetailMeta,
	"ended_before": DetailMeta, "kid": DetailMeta,
	// user.create, user.update.
	"user_id": DetailMeta, "username": DetailMeta, "role": DetailMeta, "authority": DetailMeta,
	"disabled": DetailMeta, "changed": DetailMeta, "password_policy": DetailMeta,
	// A password set by the administrator is temporary (user.create,
	// user.update); its owner replaces it at log-in (auth.login).
	"password_temporary": DetailMeta, "password_changed": DetailMeta,
	// api_key.create, api_key.revoke, api_key.use (CONTRACT 8): which key,
	// its name, when it expires (role, authority and reason are above).
	"key_id": DetailMeta, "name": DetailMeta, "expires_at": DetailMeta, "seal": DetailMeta,
	// webhook.create, webhook.delete, webhook.retry: which subscription,
	// the host it delivers to (never the URL's path or query, which may
	// carry the receiver's own token), the actions it wants, which delivery.
	"webhook_id": DetailMeta, "url_host": DetailMeta, "events": DetailMeta, "delivery_id": DetailMeta,
	// exercise.create, exercise.clock, exercise.inject, exercise.end,
	// exercise.delete (internal/exercise, in the live chain): which
	// exercise and what was done to it, never what happens in its world;
	// authority.create (a scenario's authority, in the world's chain).
	"exercise_id": DetailMeta, "scenario": DetailMeta, "seed": DetailMeta, "trainees": DetailMeta,
	"clock_action": DetailMeta, "speed": DetailMeta, "by": DetailMeta, "exercise_time": DetailMeta,
	"inject": DetailMeta, "code": DetailMeta,
}

// ClassOf returns the class of an audit detail key; DetailUnclassified for
// a key not in the list.
func ClassOf(key string) DetailClass { return detailClasses[key] }

// RedactedAll is the one name in the list of withheld keys when the stored
// details are not a JSON object: they cannot be classified, so nothing of
// them is shown.
const RedactedAll = "*"

// ReadableDetails returns the details of an entry, as stored (canonical
// JSON), without the keys whose class may refuses, and the names of the
// keys it withheld, sorted (empty, not nil, when none). Details that read
// fully are returned byte for byte.
func ReadableDetails(details string, may func(DetailClass) bool) (string, []string) {
	if details == "" {
		return "{}", []string{}
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(details), &fields); err != nil || fields == nil {
		return "{}", []string{RedactedAll}
	}
	withheld := []string{}
	for k := range fields {
		if !may(ClassOf(k)) {
			withheld = append(withheld, k)
			delete(fields, k)
		}
	}
	if len(withheld) == 0 {
		return details, withheld
	}
	slices.Sort(withheld)
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // as the store encodes them: "<" stays "<"
	if err := enc.Encode(fields); err != nil {
		return "{}", []string{RedactedAll}
	}
	return string(bytes.TrimSuffix(b.Bytes(), []byte("\n"))), withheld
}

// Digester binds case text into audit details without holding it, by a
// digest keyed with a key that readers of the log do not hold (a plain hash
// would let them confirm a guessed text). internal/store implements it
// with a key derived from the audit key.
type Digester interface {
	Digest(text string) string
}

// CreatedDetails are the details of request.create: what identifies the
// new request, and its content bound by digest.
func CreatedDetails(d Digester, r Request) map[string]any {
	return map[string]any{
		"reference": r.Reference, "kind": r.Kind, "requested_authority": r.RequestedAuthority,
		"content_hmac": contentDigest(d, r),
	}
}

// UpdatedDetails are the details of request.update: the names of the
// changed fields, the new version, and the new content bound by digest.
func UpdatedDetails(d Digester, fields []string, r Request) map[string]any {
	return map[string]any{"fields": fields, "version": r.Version, "content_hmac": contentDigest(d, r)}
}

// FiredDetails are the details of request.EVENT for the transition h,
// which left the request at version: the move, the grounds of a refusal,
// the documents of a delivery, and the comment bound by digest.
func FiredDetails(d Digester, h HistoryEntry, version int) map[string]any {
	details := map[string]any{"event": h.Event, "from": h.From, "to": h.To, "version": version}
	if h.Comment != "" {
		details["comment_hmac"] = d.Digest(h.Comment)
	}
	if len(h.Grounds) > 0 {
		details["grounds"] = h.Grounds
	}
	if len(h.Documents) > 0 {
		details["documents"] = h.Documents
	}
	return details
}

// contentDigest binds what a client wrote in a request.
func contentDigest(d Digester, r Request) string {
	return d.Digest(contentText(r))
}

// contentText is the text a content digest binds: what a client wrote in a
// request, in a fixed order, with empty lists as [].
func contentText(r Request) string {
	return encodeContent(r, orEmpty(r.Offences), orEmpty(r.Measures), orEmpty(aliasesOf(r)))
}

// legacyContentTexts are the other texts a content digest may have bound
// for r. Before contentText, an empty list was encoded as the client had
// given it, [] or (left out) null, and a stored request reads back with []:
// these are those encodings, so that entries written then still verify
// (AuditedRequest.Disagreement).
func legacyContentTexts(r Request) []string {
	// Each empty list either way.
	variants := func(list []string) [][]string {
		if len(list) > 0 {
			return [][]string{list}
		}
		return [][]string{{}, nil}
	}
	var out []string
	for _, o := range variants(r.Offences) {
		for _, m := range variants(r.Measures) {
			for _, a := range variants(aliasesOf(r)) {
				if text := encodeContent(r, o, m, a); text != contentText(r) {
					out = append(out, text)
				}
			}
		}
	}
	return out
}

// encodeContent encodes r's content with the lists given.
func encodeContent(r Request, offences, measures, aliases []string) string {
	var person *Person
	if r.PersonSought != nil {
		p := *r.PersonSought
		p.Aliases = aliases
		person = &p
	}
	content := []any{r.Kind, r.RequestedAuthority, r.Title, r.Summary, r.LegalBasis,
		offences, measures, r.Urgency, r.UrgencyReason, r.DueDate, person, r.Warrant}
	if r.Instrument != "" || r.Purpose != "" || len(r.Persons) > 0 {
		// Appended only when set, so that the content of a request written
		// before these fields encodes as it did and its digest verifies.
		persons := make([]personContent, len(r.Persons))
		for i, p := range r.Persons {
			persons[i] = personContent{p.ID, p.Role, p.Name, orEmpty(p.Aliases), p.DateOfBirth, p.Nationality, p.Location, p.Protected}
		}
		content = append(content, r.Instrument, r.Purpose, persons)
	}
	b, _ := json.Marshal(content)
	return string(b)
}

// personContent is a person concerned as a content digest binds it.
type personContent struct {
	ID          string     `json:"id"`
	Role        PersonRole `json:"role"`
	Name        string     `json:"name"`
	Aliases     []string   `json:"aliases"`
	DateOfBirth string     `json:"date_of_birth"`
	Nationality string     `json:"nationality"`
	Location    string     `json:"location"`
	Protected   bool       `json:"protected"`
}

func aliasesOf(r Request) []string {
	if r.PersonSought == nil {
		return nil
	}
	return r.PersonSought.Aliases
}

// orEmpty is list, or an empty list for nil.
func orEmpty(list []string) []string {
	if list == nil {
		return []string{}
	}
	return list
}
