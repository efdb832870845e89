// Package seed generates a realistic body of casework for benchmarks and
// demonstrations: requests of both kinds between the demo world's central
// authorities, in every state, with the history and the audit records the
// workflow service would have written for them, in the order it would have
// written them. It decides nothing about storage: a Sink receives what it
// generates (internal/store's Loader is one).
//
// Everything is derived from the workflow's own table: each step of a
// request's life is a transition the table allows, fired by a demo user of
// the side and role the table names, carrying the payload it requires.
package seed

import (
	"container/heap"
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// Sink receives what Generate produces, in time order: a request before
// its history; audit records in the order of the chain.
type Sink interface {
	Request(workflow.Request) error
	History(workflow.HistoryEntry) error
	Audit(workflow.AuditRecord) error
	// Counter says that references of the authority, kind and year are
	// used up to serial last.
	Counter(authority string, kind workflow.Kind, year int, last int64)
}

// Options shape the generated body.
type Options struct {
	// Requests is how many requests to generate.
	Requests int
	// Authorities are the codes of the central authorities, at least two;
	// each user is "<code in lower case>.<role>", as in the demo world.
	Authorities []string
	// End is "now": the last event happens before it. Requests are created
	// evenly over Span before End.
	End  time.Time
	Span time.Duration
	// Seed makes the body reproducible.
	Seed uint64
	// Instruments are the legal instruments requests rest on: each request
	// names one that serves its kind, is refused only on grounds it
	// admits, and has the deadlines its rules and its history give it, as
	// the workflow service would have folded them. Without a catalog the
	// requests name no instrument and have only their requested_by
	// deadline.
	Instruments *workflow.Catalog
	// Digester keys the digests of case text in the audit details, as the
	// workflow service's store does; the store the body goes to is one.
	Digester workflow.Digester
	// UsedSerials, when set, says how many references of an authority,
	// kind and year the database has given already, so that a second run
	// on one database continues the numbers instead of repeating them.
	UsedSerials func(authority string, kind workflow.Kind, year int) (int64, error)
}

// Stats counts what was generated.
type Stats struct {
	Requests int64
	History  int64
	Audit    int64
	ByState  map[workflow.State]int64
}

// step is one planned event of a request's life.
type step struct {
	at      time.Time
	event   workflow.Event // "" for an edit of the draft
	actor   string
	auth    string
	comment string
	grounds []string
	denied  bool // a refused attempt: audited, no change
}

// life is a request and the events still to come, in time order.
type life struct {
	r     workflow.Request
	steps []step
	next  int
	state workflow.State
	ver   int
}

// lives orders pending requests by the time of their next event.
type lives []*life

func (h lives) Len() int           { return len(h) }
func (h lives) Less(i, j int) bool { return h[i].steps[h[i].next].at.Before(h[j].steps[h[j].next].at) }
func (h lives) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *lives) Push(x any)        { *h = append(*h, x.(*life)) }
func (h *lives) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// Generate produces o.Requests requests and everything that happened to
// them, and hands it to sink in time order.
func Generate(ctx context.Context, o Options, sink Sink) (Stats, error) {
	if len(o.Authorities) < 2 {
		return Stats{}, fmt.Errorf("seed: at least two authorities are needed")
	}
	if o.Digester == nil {
		return Stats{}, fmt.Errorf("seed: a digester is needed for the audit details")
	}
	if o.Span <= 0 {
		o.Span = 3 * 365 * 24 * time.Hour
	}
	if o.End.IsZero() {
		o.End = time.Now()
	}
	g := &generator{
		o: o, sink: sink, rnd: rand.New(rand.NewPCG(o.Seed, o.Seed^0x6d6c61)),
		serials: map[serialKey]int64{}, st: Stats{ByState: map[workflow.State]int64{}},
	}
	start := o.End.Add(-o.Span)
	step := o.Span / time.Duration(max(o.Requests, 1))
	pending := &lives{}
	for i := range o.Requests {
		if i%4096 == 0 && ctx.Err() != nil {
			return g.st, ctx.Err()
		}
		created := start.Add(time.Duration(i)*step + time.Duration(g.rnd.Int64N(int64(max(step, 1)))))
		// Everything that happened before this request was drafted.
		for pending.Len() > 0 && (*pending)[0].steps[(*pending)[0].next].at.Before(created) {
			if err := g.emitNext(pending); err != nil {
				return g.st, err
			}
		}
		l, err := g.draft(created)
		if err != nil {
			return g.st, err
		}
		if l.next < len(l.steps) {
			heap.Push(pending, l)
		}
	}
	for pending.Len() > 0 {
		if err := g.emitNext(pending); err != nil {
			return g.st, err
		}
	}
	for k, last := range g.serials {
		sink.Counter(k.authority, k.kind, k.year, last)
	}
	return g.st, nil
}

// serialKey names a sequence of reference numbers.
type serialKey struct {
	authority string
	kind      workflow.Kind
	year      int
}

type generator struct {
	o       Options
	sink    Sink
	rnd     *rand.Rand
	serials map[serialKey]int64
	st      Stats
}

func (g *generator) emitNext(pending *lives) error {
	l := (*pending)[0]
	if err := g.emit(l, l.steps[l.next]); err != nil {
		return err
	}
	l.next++
	if l.next < len(l.steps) {
		heap.Fix(pending, 0)
	} else {
		heap.Pop(pending)
	}
	return nil
}

func (g *generator) pick(list []string) string { return list[g.rnd.IntN(len(list))] }

func (g *generator) chance(p float64) bool { return g.rnd.Float64() < p }

// days returns a random duration of lo to hi days.
func (g *generator) days(lo, hi float64) time.Duration {
	return time.Duration((lo + g.rnd.Float64()*(hi-lo)) * float64(24*time.Hour))
}

func user(authority string, role workflow.Role) string {
	return strings.ToLower(authority) + "." + string(role)
}

// draft plans a request's whole life, writes the request as it stands at
// End with its creation, and returns the events still to be written.
func (g *generator) draft(created time.Time) (*life, error) {
	o := g.o
	from := g.pick(o.Authorities)
	to := from
	for to == from {
		to = g.pick(o.Authorities)
	}
	kind := workflow.KindMLA
	if g.chance(0.3) {
		kind = workflow.KindExtradition
	}
	created = created.UTC().Truncate(time.Microsecond)
	year := created.Year()
	key := serialKey{from, kind, year}
	if _, seen := g.serials[key]; !seen && g.o.UsedSerials != nil {
		used, err := g.o.UsedSerials(from, kind, year)
		if err != nil {
			return nil, fmt.Errorf("seed: references used so far: %w", err)
		}
		g.serials[key] = used
	}
	g.serials[key]++
	r := workflow.Request{
		ID:                  g.id(created),
		Reference:           workflow.FormatReference(from, kind, year, g.serials[key]),
		Kind:                kind,
		State:               workflow.StateDrafted,
		Version:             1,
		RequestingAuthority: from,
		RequestedAuthority:  to,
		Urgency:             workflow.UrgencyNormal,
		CreatedAt:           created,
		UpdatedAt:           created,
	}
	g.content(&r)

	// The plan: optional edits, then send, acknowledge, rounds of
	// questions, and an outcome; a request may stall anywhere.
	officer, supervisor := user(from, workflow.RoleOfficer), user(from, workflow.RoleSupervisor)
	theirOfficer, theirSupervisor := user(to, workflow.RoleOfficer), user(to, workflow.RoleSupervisor)
	var plan []step
	at := created
	add := func(after time.Duration, s step) {
		at = at.Add(after)
		s.at = at
		plan = append(plan, s)
	}
	if g.chance(0.2) {
		add(g.days(0.01, 2), step{actor: officer, auth: from})
	}
	stall := g.chance(0.08)
	if !(stall && g.chance(0.5)) {
		add(g.days(0.1, 5), step{event: workflow.EventSend, actor: supervisor, auth: from})
		if g.chance(0.01) {
			// Somebody tries to acknowledge their own request.
			add(g.days(0.01, 1), step{event: workflow.EventAcknowledge, actor: officer, auth: from, denied: true})
		}
		switch {
		case g.chance(0.04):
			add(g.days(1, 30), step{event: workflow.EventWithdraw, actor: supervisor, auth: from, comment: "The proceedings were discontinued."})
		case g.chance(0.03):
			add(g.days(1, 20), step{event: workflow.EventRefuse, actor: theirSupervisor, auth: to, grounds: g.grounds(r)})
		default:
			add(g.days(0.5, 10), step{event: workflow.EventAcknowledge, actor: theirOfficer, auth: to})
			if stall {
				break
			}
			for rounds := g.rnd.IntN(4); rounds > 0 && g.chance(0.6); rounds-- {
				add(g.days(2, 20), step{event: workflow.EventRequestInfo, actor: theirOfficer, auth: to,
					comment: "Please provide the dates of the transactions and the account numbers concerned."})
				if g.chance(0.05) {
					add(g.days(1, 60), step{event: workflow.EventRefuse, actor: theirSupervisor, auth: to, grounds: g.grounds(r)})
					break
				}
				add(g.days(2, 25), step{event: workflow.EventProvideInfo, actor: officer, auth: from,
					comment: "The requested particulars are attached to this reply."})
			}
			if n := len(plan); n > 0 && plan[n-1].event == workflow.EventRefuse {
				break
			}
			if g.chance(0.06) {
				// Execution put off for the requested side's own
				// proceedings (UNTOC Art. 18(25)), mostly resumed later.
				add(g.days(2, 30), step{event: workflow.EventPostpone, actor: theirSupervisor, auth: to,
					comment: "Execution would interfere with an ongoing domestic investigation."})
				if g.chance(0.3) {
					break
				}
				add(g.days(10, 90), step{event: workflow.EventResume, actor: theirOfficer, auth: to})
			}
			switch p := g.rnd.Float64(); {
			case p < 0.70:
				add(g.days(5, 120), step{event: workflow.EventExecute, actor: theirSupervisor, auth: to,
					comment: "Executed: the evidence obtained is transmitted with this report."})
			case p < 0.85:
				add(g.days(5, 90), step{event: workflow.EventRefuse, actor: theirSupervisor, auth: to, grounds: g.grounds(r)})
			case p < 0.93:
				add(g.days(5, 90), step{event: workflow.EventWithdraw, actor: supervisor, auth: from, comment: "No longer needed."})
			}
		}
	}

	// Cut what lies after End, and set the request as it stands then,
	// its deadlines folded from its history as the service folds them.
	l := &life{r: r, state: workflow.StateDrafted, ver: 1}
	for _, s := range plan {
		if !s.at.Before(g.o.End) {
			break
		}
		l.steps = append(l.steps, s)
		if s.denied {
			continue
		}
		l.r.Version++
		at := s.at.UTC().Truncate(time.Microsecond)
		if s.event != "" {
			t, _ := workflow.Lookup(s.event)
			from := l.r.State
			l.r.State = t.To
			l.r.Deadlines = g.o.Instruments.AdvanceDeadlines(l.r, workflow.HistoryEntry{
				RequestID: l.r.ID, Event: s.event, From: from, To: t.To, Actor: s.actor, Authority: s.auth, At: at,
			}, false)
		}
		l.r.UpdatedAt = at
	}
	if err := g.sink.Request(l.r); err != nil {
		return nil, err
	}
	g.st.Requests++
	g.st.ByState[l.r.State]++
	err := g.audit(workflow.Created(g.o.Digester, workflow.Actor{Username: officer, Authority: from}, r))
	return l, err
}

// emit writes one event of a request's life: its history row and its audit
// record (or only the record of a refused attempt), sometimes preceded by
// the actor's log-in.
func (g *generator) emit(l *life, s step) error {
	at := s.at.UTC().Truncate(time.Microsecond)
	by := workflow.Actor{Username: s.actor, Authority: s.auth}
	if g.chance(0.1) {
		err := g.audit(workflow.Recorded(by, at.Add(-time.Duration(g.rnd.IntN(600)+1)*time.Second), "auth.login",
			workflow.OutcomeOK, map[string]any{"client_ip": fmt.Sprintf("10.%d.%d.%d", g.rnd.IntN(256), g.rnd.IntN(256), 1+g.rnd.IntN(254))}))
		if err != nil {
			return err
		}
	}
	// The request as it was before this step and as it is after, as far
	// as its audit entry tells: the version, the state, the time.
	old := l.r
	old.Version, old.State = l.ver, l.state
	if s.event == "" {
		l.ver++
		edited := old
		edited.Version, edited.UpdatedAt = l.ver, at
		return g.audit(workflow.Edited(g.o.Digester, by, old, edited, []string{"summary"}))
	}
	t, ok := workflow.Lookup(s.event)
	if !ok {
		return fmt.Errorf("seed: unknown event %s", s.event)
	}
	if s.denied {
		return g.audit(workflow.Denied(by, at, workflow.EventAction(s.event), l.r.ID, workflow.ErrForbidden,
			workflow.DeniedEventDetails(s.event, l.state)))
	}
	l.state = t.To
	l.ver++
	next := old
	next.State, next.Version, next.UpdatedAt = t.To, l.ver, at
	h := workflow.HistoryEntry{
		RequestID: l.r.ID, Event: s.event, From: old.State, To: t.To, Actor: s.actor, Authority: s.auth,
		At: at, Comment: s.comment, Grounds: s.grounds,
	}
	if err := g.sink.History(h); err != nil {
		return err
	}
	g.st.History++
	return g.audit(workflow.Fired(g.o.Digester, by, old, next, h))
}

// audit hands the audit record of c to the sink, built as the service
// builds its own (workflow.Change.AuditRecord). The seeder writes the
// request's last state and its history itself, and no outbox message or
// timer: what it generates is the past, which nobody is to be told of now.
func (g *generator) audit(c workflow.Change) error {
	g.st.Audit++
	return g.sink.Audit(c.AuditRecord())
}

// id returns an identifier in the form of workflow.NewID, for the time the
// request was drafted: 26 characters of Crockford base32, the millisecond
// then 80 random bits. Like the service's, identifiers then sort roughly by
// creation, which also keeps the indexes on them growing at one end.
func (g *generator) id(at time.Time) string {
	const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
	hi := uint64(at.UnixMilli())<<16 | g.rnd.Uint64()&0xffff
	lo := g.rnd.Uint64()
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = alphabet[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

// grounds picks one or two refusal grounds that apply to r's kind and that
// its instrument admits.
func (g *generator) grounds(r workflow.Request) []string {
	var fit []string
	in, named := g.o.Instruments.Instrument(r.Instrument)
	for _, gr := range workflow.GroundsFor(r.Kind) {
		if !named || in.Admits(gr.Code) {
			fit = append(fit, gr.Code)
		}
	}
	first := g.pick(fit)
	if g.chance(0.7) {
		return []string{first}
	}
	second := g.pick(fit)
	if second == first {
		return []string{first}
	}
	return []string{first, second}
}

var (
	subjects = []string{"Rossi S.r.l.", "Blue Lagoon Holdings", "M. Okonkwo", "Golden Orchid Trading",
		"García y Asociados", "Siam Logistics Co.", "Northern Star Shipping", "A. Bianchi", "Delta Freight",
		"Lagos Mineral Export", "Cortés Inversiones", "Chao Phraya Imports"}
	mlaTitles = []string{"Bank records of %s", "Hearing of witnesses in the case against %s",
		"Freezing of the accounts of %s", "Search of the premises of %s", "Company records of %s",
		"Telephone records concerning %s", "Service of documents on %s"}
	extTitles = []string{"Surrender of %s for prosecution", "Surrender of %s to serve a sentence",
		"Provisional arrest and surrender of %s"}
	offences = []string{"fraud", "money laundering", "drug trafficking", "corruption", "tax evasion",
		"trafficking in persons", "participation in an organised criminal group", "cybercrime"}
	bases = []string{"UNTOC Art. 18", "UNCAC Art. 46", "Bilateral treaty on mutual legal assistance",
		"UNTOC Art. 16", "European Convention on Extradition", "Reciprocity"}
	measureCodes = func() []string {
		var out []string
		for _, m := range workflow.Measures {
			out = append(out, m.Code)
		}
		return out
	}()
)

// content fills the case text of r.
func (g *generator) content(r *workflow.Request) {
	subject := g.pick(subjects)
	r.Offences = []string{g.pick(offences)}
	if g.chance(0.4) {
		if o := g.pick(offences); o != r.Offences[0] {
			r.Offences = append(r.Offences, o)
		}
	}
	r.LegalBasis = g.pick(bases)
	var serving []string
	for _, in := range g.o.Instruments.Items() {
		if in.Serves(r.Kind) {
			serving = append(serving, in.Code)
		}
	}
	if len(serving) > 0 {
		r.Instrument = g.pick(serving)
	}
	if g.chance(0.15) {
		r.Urgency = workflow.UrgencyUrgent
		r.UrgencyReason = "The suspect is about to leave the country."
	}
	if g.chance(0.3) {
		r.DueDate = r.CreatedAt.Add(g.days(30, 180)).Format(time.DateOnly)
	}
	r.Summary = fmt.Sprintf("Investigation into %s concerning %s. The requesting authority asks for "+
		"assistance under %s; details of the facts, the persons involved and the evidence sought are "+
		"set out in the attached letter of request.", subject, strings.Join(r.Offences, " and "), r.LegalBasis)
	if r.Kind == workflow.KindExtradition {
		r.Title = fmt.Sprintf(g.pick(extTitles), subject)
		r.PersonSought = &workflow.Person{
			Name: subject, Aliases: []string{}, DateOfBirth: fmt.Sprintf("19%02d-%02d-%02d", 50+g.rnd.IntN(50), 1+g.rnd.IntN(12), 1+g.rnd.IntN(28)),
			Nationality: r.RequestingAuthority, Location: "Believed to reside in the capital of the requested state.",
		}
		r.Warrant = &workflow.Warrant{
			Type:      workflow.WarrantArrest,
			Reference: fmt.Sprintf("W-%d/%05d", r.CreatedAt.Year(), g.rnd.IntN(100000)),
			IssuedBy:  "Investigating judge", IssuedOn: r.CreatedAt.Add(-g.days(10, 200)).Format(time.DateOnly),
		}
		r.Measures = []string{}
	} else {
		r.Title = fmt.Sprintf(g.pick(mlaTitles), subject)
		r.Measures = []string{g.pick(measureCodes)}
	}
}
