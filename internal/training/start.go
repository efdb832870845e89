package training

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/mla-flow/mla-flow/internal/scenario"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// Start puts the scenario's starting requests on the table through
// w.Service, as the scenario's actors: a simulated authority's requests
// are drafted and sent by its bot, the trainees' authority's by the
// scenario's colleague (and left drafted when the scenario says so); then
// their messages are posted. Calling it again creates nothing twice: what
// it creates is named after the scenario, the seed and the request's key.
func Start(ctx context.Context, w World) error {
	v, err := read(ctx, w)
	if err != nil {
		return err
	}
	now := w.Now()
	for _, spec := range w.Scenario.Requests {
		if _, err := place(ctx, w, v, spec, now); err != nil {
			return err
		}
	}
	return nil
}

// place puts one request of the scenario on the table at the instant at
// (its id's timestamp), unless the world already holds it, and answers it.
func place(ctx context.Context, w World, v *view, spec scenario.RequestSpec, at time.Time) (workflow.Request, error) {
	actor := actorFor(w.Scenario, spec.From)
	r, exists := v.byKey[spec.Key]
	if !exists {
		id := w.derivedID(at, "request", spec.Key)
		created, err := w.Service.CreateWithID(ctx, actor, id, draft(spec, w.Now()))
		if err != nil {
			// Another call may have created it under the same id.
			again, getErr := w.Service.Get(ctx, actor, id)
			if getErr != nil {
				return workflow.Request{}, fmt.Errorf("put %q on the table: %w", spec.Key, err)
			}
			created = again
		}
		r = created
		v.byKey[spec.Key], v.keyOf[r.ID], v.byID[r.ID] = r, spec.Key, r
		v.requests = append(v.requests, r)
	}
	if spec.StartState() == scenario.StartSent && r.State == workflow.StateDrafted {
		sent, err := w.Service.Fire(ctx, actor, r.ID, workflow.EventInput{Event: workflow.EventSend, Version: &r.Version})
		switch {
		case err == nil:
			r = sent
		case settled(err):
			if r, err = w.Service.Get(ctx, actor, r.ID); err != nil {
				return workflow.Request{}, err
			}
		default:
			return workflow.Request{}, fmt.Errorf("send %q: %w", spec.Key, err)
		}
		v.byKey[spec.Key], v.byID[r.ID] = r, r
	}
	if len(spec.Messages) == 0 {
		return r, nil
	}
	thread, err := w.Service.Messages(ctx, readerActor(spec.From), r.ID)
	if err != nil {
		return workflow.Request{}, err
	}
	for i, m := range spec.Messages {
		parts := []string{"request", spec.Key, "message", strconv.Itoa(i)}
		if hasMessage(thread, w.suffix(parts...)) {
			continue
		}
		_, err := w.Service.PostMessageWithID(ctx, actor, r.ID, w.derivedID(at, parts...), workflow.MessageKind(m.Kind), m.Body)
		if err != nil && !posted(ctx, w, spec.From, r.ID, w.suffix(parts...)) {
			return workflow.Request{}, fmt.Errorf("post message %d of %q: %w", i, spec.Key, err)
		}
	}
	return r, nil
}

// hasMessage reports whether the thread holds a message whose id ends in
// suffix.
func hasMessage(thread []workflow.Message, suffix string) bool {
	for _, m := range thread {
		if workflow.IDSuffix(m.ID) == suffix {
			return true
		}
	}
	return false
}

// posted reports whether the thread of the request, as the authority reads
// it, now holds the message of that suffix (a post that failed because
// another call posted it first).
func posted(ctx context.Context, w World, authority, requestID, suffix string) bool {
	thread, err := w.Service.Messages(ctx, readerActor(authority), requestID)
	return err == nil && hasMessage(thread, suffix)
}
