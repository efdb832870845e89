package workflow

import "encoding/json"

// This file builds the details of the audit entries of the request
// commands, for the service and for the seeder, which writes what the
// service would have.

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
// and the comment bound by digest.
func FiredDetails(d Digester, h HistoryEntry, version int) map[string]any {
	details := map[string]any{"event": h.Event, "from": h.From, "to": h.To, "version": version}
	if h.Comment != "" {
		details["comment_hmac"] = d.Digest(h.Comment)
	}
	if len(h.Grounds) > 0 {
		details["grounds"] = h.Grounds
	}
	return details
}

// contentDigest binds what a client wrote in a request.
func contentDigest(d Digester, r Request) string {
	b, _ := json.Marshal([]any{r.Kind, r.RequestedAuthority, r.Title, r.Summary, r.LegalBasis,
		r.Offences, r.Measures, r.Urgency, r.UrgencyReason, r.DueDate, r.PersonSought, r.Warrant})
	return d.Digest(string(b))
}
