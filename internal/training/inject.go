package training

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/mla-flow/mla-flow/internal/scenario"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// ApplyInject applies an inject now: one of the scenario's (typically a
// manual one) or an ad hoc one the trainer composes. An inject of the
// scenario is applied once; a second call changes nothing. An ad hoc
// inject without an id gets one of its own, so each is applied.
//
// An ad hoc inject may name the request it goes to by its reference or id
// as well as by a scenario key (a request the trainees drafted has none),
// and a new request of an ad hoc inject needs no key.
func ApplyInject(ctx context.Context, w World, in scenario.Inject) error {
	now := w.Now()
	if in.ID == "" {
		in.ID = "adhoc-" + strconv.FormatInt(now.UnixNano(), 36)
	}
	if in.NewRequest != nil && in.NewRequest.Key == "" {
		spec := *in.NewRequest
		spec.Key = in.ID
		in.NewRequest = &spec
	}
	v, err := read(ctx, w)
	if err != nil {
		return err
	}
	s := w.Scenario
	if r, ok := resolve(v, in.Request); ok && v.keyOf[r.ID] == "" {
		// A request of the world the scenario does not name: check the
		// inject against a scenario that names it.
		s = withRequest(w.Scenario, in.Request, r)
	}
	if errs := scenario.CheckInject(s, in); len(errs) > 0 {
		fields := map[string]string{}
		for _, e := range errs {
			fields[e.Field] = e.Reason
		}
		return workflow.InvalidFields(fields)
	}
	applied, ready, err := injectState(ctx, w, v, in, time.Time{})
	switch {
	case err != nil:
		return err
	case applied:
		return nil
	case !ready:
		return workflow.Invalid("request", fmt.Sprintf("request %q is not on the table yet", in.Request))
	}
	err = applyInject(ctx, w, v, in, now)
	if settled(err) {
		return nil
	}
	return err
}

// injectState tells whether the inject was applied at or after due (zero:
// ever), and whether it can be (the request it goes to is on the table).
func injectState(ctx context.Context, w World, v *view, in scenario.Inject, due time.Time) (applied, ready bool, err error) {
	switch in.Kind {
	case scenario.InjectRequest:
		_, applied = v.byKey[in.NewRequest.Key]
		return applied, true, nil
	case scenario.InjectMessage:
		r, ok := resolve(v, in.Request)
		if !ok || !sees(r, in.From) {
			return false, false, nil
		}
		thread, err := w.Service.Messages(ctx, readerActor(in.From), r.ID)
		if err != nil {
			return false, false, err
		}
		return hasMessage(thread, w.suffix("inject", in.ID)), true, nil
	case scenario.InjectEvent:
		r, ok := resolve(v, in.Request)
		if !ok || !sees(r, in.From) {
			return false, false, nil
		}
		// An event inject is applied when the bot's attempt at it is in the
		// audit log, made or refused (the request may have moved on: a
		// postponement of a request already executed cannot happen, and is
		// not tried again).
		entries, _, err := w.Service.Audit(ctx, readerActor(in.From), workflow.AuditFilter{
			RequestID: r.ID, Actor: BotActor(in.From).Username,
			Action: workflow.EventAction(workflow.Event(in.Event.Event)), Limit: workflow.MaxLimit,
		})
		if err != nil {
			return false, false, err
		}
		for _, e := range entries {
			if !e.At.Before(due) {
				return true, true, nil
			}
		}
		return false, true, nil
	}
	return false, false, fmt.Errorf("inject %s: unknown kind %q", in.ID, in.Kind)
}

// applyInject does the inject, naming what it creates after at.
func applyInject(ctx context.Context, w World, v *view, in scenario.Inject, at time.Time) error {
	switch in.Kind {
	case scenario.InjectRequest:
		_, err := place(ctx, w, v, *in.NewRequest, at)
		return err
	case scenario.InjectMessage:
		r, _ := resolve(v, in.Request)
		parts := []string{"inject", in.ID}
		_, err := w.Service.PostMessageWithID(ctx, BotActor(in.From), r.ID, w.derivedID(at, parts...),
			workflow.MessageKind(in.Message.Kind), in.Message.Body)
		if err != nil && posted(ctx, w, in.From, r.ID, w.suffix(parts...)) {
			return nil
		}
		return err
	case scenario.InjectEvent:
		r, _ := resolve(v, in.Request)
		fresh, err := w.Service.Get(ctx, readerActor(in.From), r.ID)
		if err != nil {
			return err
		}
		_, err = w.Service.Fire(ctx, BotActor(in.From), r.ID, workflow.EventInput{
			Event: workflow.Event(in.Event.Event), Comment: in.Event.Comment, Grounds: in.Event.Grounds,
			Version: &fresh.Version,
		})
		return err
	}
	return fmt.Errorf("inject %s: unknown kind %q", in.ID, in.Kind)
}

// sees reports whether the authority sees r yet: the requested side only
// once it has left drafted (CONTRACT 3). An inject from the requested side
// waits until then.
func sees(r workflow.Request, authority string) bool {
	return authority == r.RequestingAuthority || r.State != workflow.StateDrafted
}

// resolve finds the request an inject goes to: by scenario key, else (an
// ad hoc inject) by reference or id.
func resolve(v *view, name string) (workflow.Request, bool) {
	if r, ok := v.byKey[name]; ok {
		return r, true
	}
	if name == "" {
		return workflow.Request{}, false
	}
	for _, r := range v.requests {
		if r.Reference == name || r.ID == name {
			return r, true
		}
	}
	return workflow.Request{}, false
}

// withRequest is s with the world's request r named name, so that an ad
// hoc inject to it is checked as one to a scenario request.
func withRequest(s *scenario.Scenario, name string, r workflow.Request) *scenario.Scenario {
	c := *s
	c.Requests = append(append([]scenario.RequestSpec(nil), s.Requests...), scenario.RequestSpec{
		Key: name, From: r.RequestingAuthority, To: r.RequestedAuthority, Kind: string(r.Kind),
		Instrument: r.Instrument, Title: r.Title,
	})
	return &c
}
