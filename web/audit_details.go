package web

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mla-flow/mla-flow/internal/auth"
	"github.com/mla-flow/mla-flow/internal/exercise"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// The audit page shows an entry's details as label and value pairs. The
// details are a JSON object that each command writes in its own shape
// (workflow.CreatedDetails, FiredDetails, internal/auth's records), so they
// are read generically: the keys this file knows get a label, a place in
// the order and words for their codes; any other key is shown after them,
// its name made into words, so that a new detail is never lost from view.

// actionLabels name the audited actions that are no event of the workflow
// (those are request.EVENT and take the event's label). Like the buttons,
// they say what was done or tried; the outcome column says how it went.
var actionLabels = map[string]string{
	workflow.ActionCreate: "Draft request",
	workflow.ActionUpdate: "Edit draft",
	"request.event":       "Unknown action", // an event the table does not know was tried
	auth.ActionLogin:      "Log in",
	auth.ActionRefresh:    "Renew session",
	auth.ActionLogout:     "Log out",
	auth.ActionPrune:      "Prune old sessions",
	auth.ActionKeyRotate:  "Rotate signing key",
	auth.ActionUserCreate: "Create account",
	auth.ActionUserUpdate: "Change account",
	// CONTRACT 7.
	exercise.ActionCreate: "Create exercise",
	exercise.ActionClock:  "Exercise clock",
	exercise.ActionInject: "Exercise inject",
	exercise.ActionEnd:    "End exercise",
	exercise.ActionDelete: "Delete exercise",
	// CONTRACT 5.
	workflow.ActionExtendDeadline:  "Extend deadline",
	workflow.ActionViewPersons:     "View protected persons",
	workflow.ActionUpdateAuthority: "Change authority settings",
	workflow.ActionLetter:          "Download letter of request", // CONTRACT 6
}

// actionLabel names an audited action for people.
func actionLabel(action string) string {
	if l, ok := actionLabels[action]; ok {
		return l
	}
	if ev, ok := strings.CutPrefix(action, "request."); ok {
		if l, ok := eventLabels[workflow.Event(ev)]; ok {
			return l
		}
	}
	return humanize(action)
}

// detailKeys are the details the page knows, in the order it shows them,
// with their labels.
var detailKeys = []struct{ key, label string }{
	{"reference", "Reference"},
	{"kind", "Kind"},
	{"requested_authority", "Requested authority"},
	{"event", "Action"},
	{"state", "State at the time"},
	{"from", "From"},
	{"to", "To"},
	{"grounds", "Grounds"},
	{"documents", "Documents handed over"},
	{"requested_reference", "Requested authority's reference"},
	{"consent", "Consent to surrender"},
	{"deadline", "Deadline"},
	{"days", "Days added"},
	{"persons", "Persons shown"},
	{"completeness_policy", "Completeness policy"},
	{"fields", "Changed fields"},
	{"version", "Version"},
	{"error", "Refused because"},
	{"reason", "Reason"},
	{"username", "Account"},
	{"role", "Role"},
	{"authority", "Authority"},
	{"disabled", "Disabled"},
	{"changed", "Changed"},
	{"password_temporary", "Temporary password"},
	{"password_changed", "Password changed"},
	{"password_policy", "Password rules"},
	{"client_ip", "Client address"},
	{"all", "All sessions"},
	{"session_revoked", "Session ended"},
	{"sessions_revoked", "Sessions ended"},
	{"sessions", "Sessions"},
	{"refresh_tokens", "Refresh tokens"},
	{"ended_before", "Ended before"},
	{"kid", "Key"},
	{"content_hmac", "Content digest"},
	{"comment_hmac", "Comment digest"},
	{"content_sha256", "Content digest (SHA-256)"},
	{"comment_sha256", "Comment digest (SHA-256)"},
	{"reason_hmac", "Reason digest"},
	{"session_id", "Session"},
	{"expires_at", "Expires"},
	{"key_id", "API key id"},
	{"seal", "Row seal"},
	{"exercise_id", "Exercise"},
	{"scenario", "Scenario"},
	{"seed", "Seed"},
	{"trainees", "Trainee accounts"},
	{"clock_action", "Clock"},
	{"speed", "Speed"},
	{"by", "Advanced by"},
	{"exercise_time", "Exercise time"},
	{"inject", "Inject"},
	{"code", "Code"},
	{"name", "Name"},
}

// secondaryDetails are internal ids that an investigation may need to
// match entries with each other, but that tell a reader nothing: shown
// last, and quietly.
var secondaryDetails = []string{"session_id", "key_id"}

// hiddenDetails are internal ids that another detail of the same entry
// says in words: a user entry names the account by its username.
var hiddenDetails = []string{"user_id"}

// countedDetails list ids (the sessions a log-out ended, the protected
// persons a page showed): their number is what a reader needs, and other
// entries record the same key as a number.
var countedDetails = []string{"sessions_revoked", "persons"}

// digestDetails bind case text by a digest: long hex, shown as code.
var digestDetails = []string{"content_hmac", "comment_hmac", "content_sha256", "comment_sha256", "reason_hmac"}

// errorWords say why an attempt was refused, by the error code recorded.
var errorWords = map[string]string{
	string(workflow.ErrForbidden):         "not permitted for this user",
	string(workflow.ErrInvalidTransition): "not possible in the request's state",
	string(workflow.ErrVersionConflict):   "the request had changed meanwhile",
	string(workflow.ErrValidation):        "incomplete or invalid input",
	string(workflow.ErrNotFound):          "not found",
	string(workflow.ErrBadRequest):        "malformed input",
	string(workflow.ErrRateLimited):       "too many attempts",
	string(workflow.ErrConflict):          "conflicts with existing data",
}

// detailWords turn the codes some details hold into words.
var detailWords = map[string]func(string) string{
	"kind":    func(s string) string { return labelOr(kindLabels, workflow.Kind(s)) },
	"event":   func(s string) string { return labelOr(eventLabels, workflow.Event(s)) },
	"state":   func(s string) string { return labelOr(stateLabels, workflow.State(s)) },
	"from":    func(s string) string { return labelOr(stateLabels, workflow.State(s)) },
	"to":      func(s string) string { return labelOr(stateLabels, workflow.State(s)) },
	"grounds": groundLabel,
	"role":    func(s string) string { return labelOr(roleLabels, workflow.Role(s)) },
	"fields":  fieldName,
	"changed": fieldName,
	"error": func(s string) string {
		if w, ok := errorWords[s]; ok {
			return w
		}
		return humanize(s)
	},
	"reason": humanize,
}

// fieldName names a field of a form, as its label does.
func fieldName(name string) string {
	if l, ok := fieldLabels[name]; ok {
		return l
	}
	return humanize(name)
}

// detailItem is one audit detail as the page shows it. Key, the detail's
// name in the stored entry, is no text of the page: an attribute of the
// pair, so that a test can tell which details a page shows.
type detailItem struct {
	Key       string
	Label     string
	Value     string
	Href      string // a page about the value, when the viewer may open it
	Digest    bool
	Secondary bool
}

// auditDetails turns an entry's details, as its reader may read them, into
// label and value pairs. userPage, when not nil, is the address of an
// account's page by its id, for a viewer who manages accounts.
func auditDetails(e workflow.AuditEntry, userPage func(id string) string) []detailItem {
	fields, ok := decodeDetails(e.Details)
	if !ok {
		return []detailItem{{Key: workflow.RedactedAll, Label: "Details", Value: e.Details}}
	}
	if ev, ok := fields["event"].(string); ok && e.Action == workflow.EventAction(workflow.Event(ev)) {
		delete(fields, "event") // the action column says it
	}
	var out []detailItem
	add := func(key, label string) {
		v, ok := fields[key]
		if !ok {
			return
		}
		delete(fields, key)
		if slices.Contains(hiddenDetails, key) {
			return
		}
		item := detailItem{
			Key: key, Label: label, Value: detailValue(key, v),
			Digest: slices.Contains(digestDetails, key), Secondary: slices.Contains(secondaryDetails, key),
		}
		if id, ok := fields["user_id"].(string); ok && key == "username" && userPage != nil {
			item.Href = userPage(id)
		}
		out = append(out, item)
	}
	for _, k := range detailKeys {
		add(k.key, k.label)
	}
	rest := make([]string, 0, len(fields))
	for k := range fields {
		if !slices.Contains(hiddenDetails, k) {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	for _, k := range rest {
		add(k, humanize(k))
	}
	// The secondary ones last, in the same order.
	slices.SortStableFunc(out, func(a, b detailItem) int { return boolRank(a.Secondary) - boolRank(b.Secondary) })
	return out
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// decodeDetails reads details as a JSON object, numbers as written.
func decodeDetails(details string) (map[string]any, bool) {
	if details == "" {
		return map[string]any{}, true
	}
	dec := json.NewDecoder(strings.NewReader(details))
	dec.UseNumber()
	var fields map[string]any
	if err := dec.Decode(&fields); err != nil || fields == nil {
		return nil, false
	}
	return fields, true
}

// detailValue is a detail's value in words: codes by their labels, true
// and false as yes and no, a time as the pages write times, a list joined.
func detailValue(key string, v any) string {
	switch x := v.(type) {
	case string:
		if x == "" {
			return "none"
		}
		if words, ok := detailWords[key]; ok {
			return words(x)
		}
		if t, err := time.Parse(time.RFC3339, x); err == nil {
			return t.UTC().Format("2006-01-02 15:04 UTC")
		}
		return x
	case bool:
		if x {
			return "yes"
		}
		return "no"
	case json.Number:
		return x.String()
	case []any:
		if slices.Contains(countedDetails, key) {
			return strconv.Itoa(len(x))
		}
		if len(x) == 0 {
			return "none"
		}
		parts := make([]string, len(x))
		for i, item := range x {
			parts[i] = detailValue(key, item)
		}
		return strings.Join(parts, ", ")
	case nil:
		return "none"
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return strings.TrimSpace(b.String())
}

// withheldLabels names the details withheld from the viewer as the page
// would have labelled them.
func withheldLabels(keys []string) []string {
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		switch {
		case k == workflow.RedactedAll:
			out = append(out, "all details")
		default:
			out = append(out, detailLabel(k))
		}
	}
	return out
}

// detailLabel is the label of a detail key.
func detailLabel(key string) string {
	for _, k := range detailKeys {
		if k.key == key {
			return k.label
		}
	}
	return humanize(key)
}

// detailString is the string a detail holds, "" when none.
func detailString(details, key string) string {
	fields, _ := decodeDetails(details)
	s, _ := fields[key].(string)
	return s
}
