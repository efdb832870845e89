package workflow

import (
	"context"
	"fmt"
	"time"
)

// The commands and reads of a request's legal substance: its instrument's
// deadlines and their extensions, the completeness an authority may enforce,
// and the disclosure of protected persons.

// The audit actions of this file.
const (
	ActionExtendDeadline  = "deadline.extend"
	ActionUpdateAuthority = "authority.update"
	ActionViewPersons     = "person.view"
)

// Instruments lists the instruments requests may rest on.
func (s *Service) Instruments() []Instrument { return s.instruments.Items() }

// Instrument returns one instrument of the service's catalog.
func (s *Service) Instrument(code string) (Instrument, bool) { return s.instruments.Instrument(code) }

// RefusalGrounds lists the grounds r may be refused on, in the code
// list's order: those of its kind that its instrument admits. Fire checks
// a refusal by the same rule; the pages offer these.
func (s *Service) RefusalGrounds(r Request) []Ground {
	var out []Ground
	for _, g := range GroundsFor(r.Kind) {
		if s.instruments.admits(r, g.Code) {
			out = append(out, g)
		}
	}
	return out
}

// InstrumentLabel names the instrument of code (the code itself when the
// catalog has none such).
func (s *Service) InstrumentLabel(code string) string {
	if in, ok := s.instruments.Instrument(code); ok {
		return in.Label
	}
	return code
}

// Now is the time on the service's clock: the time a request's deadlines
// and completeness are read at.
func (s *Service) Now() time.Time { return s.clock() }

// checkSendable refuses to send an incomplete request when the requesting
// authority enforces completeness: one field per missing item.
func (s *Service) checkSendable(ctx context.Context, tx Tx, r Request, now time.Time) error {
	c := r.CompletenessAt(now)
	if c.Complete {
		return nil
	}
	own, err := tx.Authority(ctx, r.RequestingAuthority)
	if err != nil {
		return fmt.Errorf("load authority: %w", err)
	}
	if own.CompletenessPolicy != CompletenessEnforced {
		return nil
	}
	errs := fieldErrors{}
	for _, m := range c.Missing {
		errs.add(m.Field, m.Reason)
	}
	e := errs.err().(*Error)
	e.Message = fmt.Sprintf("%s sends only complete requests; %d item(s) missing", r.RequestingAuthority, len(c.Missing))
	return e
}

// ExtendInput is an extension of a deadline.
type ExtendInput struct {
	Days    int
	Reason  string
	Version *int // when given, must be the request's current version
}

// ExtendDeadline extends the deadline of kind of a request, for a
// supervisor of the side the deadline binds, by at most what its rule
// allows in all. The checks run in Fire's order: visibility (404), the
// deadline (404), the actor (403), the version (409), the payload (422).
func (s *Service) ExtendDeadline(ctx context.Context, a Actor, id, kind string, in ExtendInput) (Request, error) {
	var out Request
	err := s.onVisible(ctx, a, id, ActionExtendDeadline, func(tx Tx, r Request) error {
		track, found := trackIn(r.Deadlines, kind)
		rule, known := s.instruments.rule(r, kind)
		if found < 0 || !known {
			return Errorf(ErrNotFound, "the request has no deadline %s", truncate(kind, 40))
		}
		if !s.policy.MayExtendDeadline(a, r, track.Side) {
			return Errorf(ErrForbidden, "only a supervisor of the %s side extends the deadline %s", track.Side, kind)
		}
		if in.Version != nil && *in.Version != r.Version {
			return Errorf(ErrVersionConflict, "the request is at version %d, not %d", r.Version, *in.Version)
		}
		now := s.clock()
		tracks, err := extendDeadline(r, rule, kind, Extension{Days: in.Days, Reason: in.Reason, Actor: a.Username, At: now})
		if err != nil {
			return err
		}
		next := r
		next.Deadlines, next.Version, next.UpdatedAt = tracks, r.Version+1, now
		if err := tx.Apply(ctx, Extended(s.store, a, r, next, kind, in)); err != nil {
			return err
		}
		out = next
		return nil
	}, func(Request) map[string]any { return map[string]any{"deadline": truncate(kind, 64)} })
	return out, err
}

// ExtensionLeft is how many days a may still extend r's deadline of kind
// by now: what its rule leaves, or 0 when it no longer runs or a may not
// extend it (ExtendDeadline's rules, for the pages to offer the form).
func (s *Service) ExtensionLeft(a Actor, r Request, kind string) int {
	t, i := trackIn(r.Deadlines, kind)
	rule, known := s.instruments.rule(r, kind)
	if i < 0 || !known || !t.running() || !s.policy.MayExtendDeadline(a, r, t.Side) {
		return 0
	}
	return max(rule.ExtendableDays-t.extendedDays(), 0)
}

// Extended is the change of old's deadline of kind extended by a, leaving
// next: the request, and the audit entry deadline.extend with the reason
// bound by digest.
func Extended(d Digester, a Actor, old, next Request, kind string, in ExtendInput) Change {
	return Change{
		At: next.UpdatedAt, Actor: a.Username, Authority: a.Authority, Action: ActionExtendDeadline,
		RequestID: next.ID, Outcome: OutcomeOK,
		Details: map[string]any{"deadline": kind, "days": in.Days, "version": next.Version, "reason_hmac": d.Digest(in.Reason)},
		Request: &next, OldVersion: old.Version, Outbox: requestMessage(ActionExtendDeadline, next, old.State, ""),
	}
}

// SetCompletenessPolicy sets whether an authority sends incomplete
// requests, for who may configure authorities (the administrator).
func (s *Service) SetCompletenessPolicy(ctx context.Context, a Actor, code string, p CompletenessPolicy) (Authority, error) {
	if !s.policy.MayConfigureAuthorities(a) {
		err := Errorf(ErrForbidden, "only the administrator configures authorities")
		s.recordDenied(ctx, a, ActionUpdateAuthority, "", err, map[string]any{"authority": truncate(code, 16)})
		return Authority{}, err
	}
	if !p.Valid() {
		return Authority{}, Invalid("completeness_policy", "must be one of: advisory, enforced")
	}
	var out Authority
	err := s.store.WithTx(ctx, func(tx Tx) error {
		if TextProblem(code) != "" {
			return Errorf(ErrNotFound, "no such authority")
		}
		old, err := tx.Authority(ctx, code)
		if err != nil {
			return err
		}
		out = old
		out.CompletenessPolicy = p
		c := Recorded(a, s.clock(), ActionUpdateAuthority, OutcomeOK,
			map[string]any{"authority": code, "completeness_policy": string(p)})
		c.Authority = code
		c.AuthoritySettings = &out
		return tx.Apply(ctx, c)
	})
	return out, err
}

// Read returns one request the actor may see, as the answer that shows one
// request shows it: with its protected persons disclosed to those the
// Policy lets see them, and that disclosure audited (person.view) before
// it is answered; concealed for everybody else. Every other answer
// (lists, histories, the results of commands) conceals them (Concealed).
func (s *Service) Read(ctx context.Context, a Actor, id string) (Request, error) {
	r, err := s.Get(ctx, a, id)
	if err != nil || !r.HasProtected() {
		return r, err
	}
	if !s.policy.MaySeeProtected(a, r) {
		return r.Concealed(), nil
	}
	c := Recorded(a, s.clock(), ActionViewPersons, OutcomeOK,
		map[string]any{"reference": r.Reference, "persons": r.ProtectedIDs()})
	c.RequestID = r.ID
	ctx = context.WithoutCancel(ctx) // recorded whole, or nothing shown
	if err := s.store.WithTx(ctx, func(tx Tx) error { return tx.Apply(ctx, c) }); err != nil {
		return Request{}, fmt.Errorf("record the disclosure: %w", err)
	}
	return r, nil
}
