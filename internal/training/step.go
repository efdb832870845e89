package training

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mla-flow/mla-flow/internal/scenario"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// move is one thing a simulated authority (or the scenario's schedule) is
// to do at a time.
type move struct {
	at      time.Time
	name    string // unique and stable: the request's reference and the move
	request string // the id of the request it changes, "" for a new one
	do      func(ctx context.Context) error
}

// maxRounds bounds the passes of one Step. Each pass makes the moves due,
// at most one per request (the next one on the same request is planned
// again from what the first changed, rather than fired at a version
// already gone), and reads the world again, since a move can make another
// due at once.
const maxRounds = 100

// Step makes every simulated authority move and scheduled inject that is
// due at w.Now(), and answers when the next one falls due (zero: none is
// pending; a trainee's move can make one due, so call Step again after
// them too). A move is fired with the version it read and an inject is
// created under an id derived from it, so a second call for the same
// instant, or a second server, finds it made or conflicts, and changes
// nothing.
func Step(ctx context.Context, w World) (time.Time, error) {
	now := w.Now()
	tried := map[string]bool{}
	var failed []error
	for round := 0; round < maxRounds; round++ {
		v, err := read(ctx, w)
		if err != nil {
			return time.Time{}, err
		}
		moves, err := plan(ctx, w, v)
		if err != nil {
			return time.Time{}, err
		}
		var next time.Time
		made := false
		touched := map[string]bool{}
		for _, m := range moves {
			if m.at.After(now) {
				if next.IsZero() || m.at.Before(next) {
					next = m.at
				}
				continue
			}
			if tried[m.name] || m.request != "" && touched[m.request] {
				continue
			}
			tried[m.name] = true
			touched[m.request] = m.request != ""
			made = true
			if err := m.do(ctx); err != nil && !settled(err) {
				failed = append(failed, fmt.Errorf("%s: %w", m.name, err))
			}
		}
		if !made {
			return next, errors.Join(failed...)
		}
	}
	return now, errors.Join(append(failed, fmt.Errorf("moves still due after %d passes", maxRounds))...)
}

// plan lists what is to be done, due or not, in a stable order.
func plan(ctx context.Context, w World, v *view) ([]move, error) {
	var moves []move
	if !v.started.IsZero() {
		for _, in := range w.Scenario.Injects {
			if in.At == nil {
				continue
			}
			due := v.started.Add(in.At.D())
			applied, ready, err := injectState(ctx, w, v, in, due)
			if err != nil {
				return nil, err
			}
			if applied || !ready {
				continue
			}
			target := ""
			if r, ok := resolve(v, in.Request); ok {
				target = r.ID
			}
			moves = append(moves, move{at: due, name: "inject/" + in.ID, request: target, do: func(ctx context.Context) error {
				return applyInject(ctx, w, v, in, due)
			}})
		}
	}
	for _, r := range v.requests {
		for _, code := range []string{r.RequestedAuthority, r.RequestingAuthority} {
			if !w.Scenario.Simulated(code) {
				continue
			}
			b := behaviour(w.Scenario, code, v.keyOf[r.ID])
			if b == nil {
				continue
			}
			ms, err := botMoves(ctx, w, r, code, b)
			if err != nil {
				return nil, err
			}
			for _, m := range ms {
				m.request = r.ID
				moves = append(moves, m)
			}
		}
	}
	sort.SliceStable(moves, func(i, j int) bool {
		if !moves[i].at.Equal(moves[j].at) {
			return moves[i].at.Before(moves[j].at)
		}
		return moves[i].name < moves[j].name
	})
	return moves, nil
}

// botMoves is what the simulated authority code does next on r by its
// script b.
func botMoves(ctx context.Context, w World, r workflow.Request, code string, b *scenario.Behaviour) ([]move, error) {
	if r.State == workflow.StateDrafted || r.State.Final() && b.AnswerMessages == nil {
		return nil, nil
	}
	reader := readerActor(code)
	history, err := w.Service.History(ctx, reader, r.ID)
	if err != nil {
		return nil, fmt.Errorf("history of %s: %w", r.Reference, err)
	}
	var anchor time.Time // when r entered its present state
	if len(history) > 0 {
		anchor = history[len(history)-1].At
	}
	count := func(ev workflow.Event) int {
		n := 0
		for _, h := range history {
			if h.Event == ev {
				n++
			}
		}
		return n
	}
	bot := BotActor(code)
	fire := func(in workflow.EventInput) func(context.Context) error {
		version := r.Version
		in.Version = &version
		return func(ctx context.Context) error {
			_, err := w.Service.Fire(ctx, bot, r.ID, in)
			return err
		}
	}
	name := func(parts ...string) string { return r.Reference + "/" + code + "/" + strings.Join(parts, "/") }
	var moves []move
	requested := code == r.RequestedAuthority
	switch {
	case requested && r.State == workflow.StateSent && b.Acknowledge != nil:
		at := anchor.Add(w.draw(b.Acknowledge.After, r.Reference, "acknowledge", 0))
		moves = append(moves, move{at: at, name: name("acknowledge"), do: fire(workflow.EventInput{
			Event: workflow.EventAcknowledge, Reference: requestedReference(w, code, r),
		})})
	case requested && r.State == workflow.StateAcknowledged:
		infos := count(workflow.EventRequestInfo)
		completeness := r.CompletenessAt(w.Now())
		switch {
		case b.RequestInfo != nil && infos < max(b.RequestInfo.Max, 1) && (!completeness.Complete || b.RequestInfo.Always && infos == 0):
			at := anchor.Add(w.draw(b.RequestInfo.After, r.Reference, "request_info", infos))
			moves = append(moves, move{at: at, name: name("request_info", strconv.Itoa(infos)), do: fire(workflow.EventInput{
				Event: workflow.EventRequestInfo, Comment: infoComment(b.RequestInfo.Text, completeness),
			})})
		case b.Refuse != nil:
			ms, err := refuseMoves(ctx, w, r, code, b.Refuse, anchor, fire, name)
			if err != nil {
				return nil, err
			}
			moves = append(moves, ms...)
		case b.Execute != nil:
			at := anchor.Add(w.draw(b.Execute.After, r.Reference, "execute", 0))
			report := b.Execute.Text
			if report == "" {
				report = "Executed; the results are transmitted through the central authorities."
			}
			execute := fire(workflow.EventInput{Event: workflow.EventExecute, Comment: report})
			moves = append(moves, move{at: at, name: name("execute"), do: func(ctx context.Context) error {
				if err := execute(ctx); err != nil {
					return err
				}
				// Only the call whose execute went through files the
				// report, so that it is filed once.
				return fileReport(ctx, w, bot, r, report)
			}})
		}
	case !requested && r.State == workflow.StateInfoRequested && b.ProvideInfo != nil:
		n := count(workflow.EventRequestInfo) - 1
		at := anchor.Add(w.draw(b.ProvideInfo.After, r.Reference, "provide_info", n))
		text := b.ProvideInfo.Text
		if text == "" {
			text = "The information asked for is attached."
		}
		moves = append(moves, move{at: at, name: name("provide_info", strconv.Itoa(n)), do: fire(workflow.EventInput{
			Event: workflow.EventProvideInfo, Comment: text,
		})})
	}
	if b.AnswerMessages != nil {
		m, err := answerMove(ctx, w, r, code, b.AnswerMessages, name)
		if err != nil {
			return nil, err
		}
		if m != nil {
			moves = append(moves, *m)
		}
	}
	return moves, nil
}

// refuseMoves consults the requesting side first when the script says so
// (UNTOC 16(16), 18(26): consult before refusing), then refuses.
func refuseMoves(ctx context.Context, w World, r workflow.Request, code string, rf *scenario.RefuseMove, anchor time.Time,
	fire func(workflow.EventInput) func(context.Context) error, name func(...string) string) ([]move, error) {
	refuseAfter := anchor
	if rf.Consult != "" {
		thread, err := w.Service.Messages(ctx, readerActor(code), r.ID)
		if err != nil {
			return nil, err
		}
		parts := []string{"consult", r.ID}
		var consulted *workflow.Message
		for i, m := range thread {
			if workflow.IDSuffix(m.ID) == w.suffix(parts...) {
				consulted = &thread[i]
			}
		}
		if consulted == nil {
			at := anchor.Add(w.draw(rf.After, r.Reference, "consult", 0))
			return []move{{at: at, name: name("consult"), do: func(ctx context.Context) error {
				_, err := w.Service.PostMessageWithID(ctx, BotActor(code), r.ID, w.derivedID(at, parts...), workflow.MessageKindConsultation, rf.Consult)
				if err != nil && posted(ctx, w, code, r.ID, w.suffix(parts...)) {
					return nil
				}
				return err
			}}}, nil
		}
		refuseAfter = consulted.At
	}
	at := refuseAfter.Add(w.draw(rf.After, r.Reference, "refuse", 0))
	comment := rf.Text
	if comment == "" {
		comment = "The request is refused on the grounds given."
	}
	return []move{{at: at, name: name("refuse"), do: fire(workflow.EventInput{
		Event: workflow.EventRefuse, Comment: comment, Grounds: rf.Grounds,
	})}}, nil
}

// answerMove answers the counterpart's last message when nothing of the
// bot's authority came after it, with one reply named after it.
func answerMove(ctx context.Context, w World, r workflow.Request, code string, mv *scenario.Move, name func(...string) string) (*move, error) {
	thread, err := w.Service.Messages(ctx, readerActor(code), r.ID)
	if err != nil {
		return nil, fmt.Errorf("thread of %s: %w", r.Reference, err)
	}
	var last *workflow.Message
	n := 0 // the position of last in the thread: its ids are chance, its place is not
	for i, m := range thread {
		switch {
		case m.Internal:
		case m.Authority == code:
			last = nil
		default:
			last, n = &thread[i], i
		}
	}
	if last == nil {
		return nil, nil
	}
	parts := []string{"reply", last.ID}
	at := last.At.Add(w.draw(mv.After, r.Reference, "answer", n))
	body := mv.Text
	if body == "" {
		body = "Thank you for your message; we are looking into it and will revert."
	}
	if last.Kind == workflow.MessageKindStatusEnquiry {
		body = fmt.Sprintf("%s\n\nStatus of %s: %s.", body, r.Reference, strings.ReplaceAll(string(r.State), "_", " "))
	}
	return &move{at: at, name: name("reply", last.ID), do: func(ctx context.Context) error {
		_, err := w.Service.PostMessageWithID(ctx, BotActor(code), r.ID, w.derivedID(at, parts...), workflow.MessageKindMessage, body)
		if err != nil {
			if posted(ctx, w, code, r.ID, w.suffix(parts...)) {
				return nil
			}
			return err
		}
		// Reading the thread as the bot leaves the read receipt the
		// trainees would see from a counterpart who answered them.
		_, err = w.Service.Messages(ctx, BotActor(code), r.ID)
		return err
	}}, nil
}

// infoComment asks for what the completeness check finds missing (UNTOC
// 18(16): more information where the request is deficient).
func infoComment(text string, c workflow.Completeness) string {
	var b strings.Builder
	if text == "" {
		text = "Before the request can be executed, please supply the following:"
	}
	b.WriteString(text)
	if c.Complete {
		return b.String()
	}
	for _, m := range c.Missing {
		fmt.Fprintf(&b, "\n- %s: %s", m.Field, m.Reason)
	}
	return b.String()
}

// requestedReference is the bot's own reference of r, as a registry would
// number it.
func requestedReference(w World, code string, r workflow.Request) string {
	n := w.draw(scenario.Delay{Min: 0, Max: scenario.Offset(8999 * time.Minute)}, r.Reference, "reference", 0) / time.Minute
	return fmt.Sprintf("%s-CA-%d-%04d", code, r.CreatedAt.Year(), 1000+int(n))
}

// fileReport files the execution report as a document of the case file
// (CONTRACT 6: type execution_report), when the world keeps documents; a
// world without a document store has the report in the event's comment
// only.
func fileReport(ctx context.Context, w World, bot workflow.Actor, r workflow.Request, report string) error {
	text := fmt.Sprintf("EXECUTION REPORT\n\nYour reference: %s\nOur reference: %s\n\n%s\n\n%s\n",
		r.Reference, r.RequestedReference, report, bot.Authority+" central authority")
	c, err := w.Service.ReceiveContent(ctx, strings.NewReader(text))
	if err != nil {
		return nil
	}
	_, err = w.Service.AddDocument(ctx, bot, r.ID, workflow.DocumentInput{
		Type: workflow.DocExecutionReport, Language: "en", Title: "Execution report",
		Filename: "execution-report.txt",
	}, c)
	return err
}
