package training_test

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/mla-flow/mla-flow/internal/scenario"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// botsScenario exercises the moves the bundled scenarios do not all
// script: a bot that consults and then refuses, one that asks twice for
// information, and answers to a status enquiry.
const botsScenario = `id: bots
title: The bots' moves
summary: A simulated authority that consults and refuses, and one that asks twice.
authorities:
  - {code: IT, name: Italy, played: trainee, trainee_roles: [officer, supervisor]}
  - {code: TH, name: Thailand, played: simulated}
requests:
  - key: to-refuse
    from: IT
    to: TH
    kind: extradition
    instrument: bilateral
    title: Extradition of a Thai national
    summary: The person sought is a Thai national.
    offences: [trafficking in human beings]
    purpose: Prosecution in Turin
    legal_basis: Treaty
    person_sought: {name: Prasert Boonmee, nationality: Thai, location: Bangkok}
    warrant: {type: arrest_warrant, reference: GIP-TO-118/2025}
  - key: to-complete
    from: IT
    to: TH
    kind: mla
    instrument: untoc
    title: Records of a Bangkok travel agency
    summary: The agency issued the sponsorship letters.
    offences: [forgery of administrative documents]
    measures: [records]
behaviour:
  - authority: TH
    requests: [to-refuse]
    acknowledge: {after: 1h}
    refuse:
      after: 1d..2d
      grounds: [nationality]
      consult: Thailand does not extradite its nationals; it can prosecute him itself (aut dedere aut judicare).
      text: Refused; the case is submitted to the Thai prosecutors.
    answer_messages: {after: 2h, text: We are examining your request.}
  - authority: TH
    acknowledge: {after: 1h}
    request_info: {after: 2h..4h, max: 2}
    execute: {after: 1d, text: The agency's records are attached.}
scoring:
  rules:
    - {id: enquire, label: Asked where the extradition stands, request: to-refuse, message: status_enquiry, points: 5}
  penalties: {denied_attempt: 1, wrong_ground: 1, missed_deadline: 1, missing_info: 3}
`

func TestBots(t *testing.T) {
	t.Parallel()
	all, err := scenario.Load(fstest.MapFS{"bots.yaml": {Data: []byte(botsScenario)}})
	if err != nil {
		t.Fatal(err)
	}
	x := newExercise(t, all[0], 1)
	ctx := context.Background()
	provide := func(text string) func(x *exercise) error {
		return func(x *exercise) error {
			return x.fire("IT", "supervisor", "to-complete", workflow.EventInput{Event: workflow.EventProvideInfo, Comment: text})
		}
	}
	script := []action{
		{at: 2 * hour, name: "status enquiry", do: func(x *exercise) error {
			return x.post("IT", "officer", "to-refuse", workflow.MessageKindStatusEnquiry, "Where does our request stand?")
		}},
		{at: 8 * hour, name: "answer, without completing", do: provide("The purpose is prosecution.")},
		{at: 16 * hour, name: "answer again", do: provide("And the persons are as stated.")},
	}
	x.play(script, 5*day)
	for _, l := range x.history() {
		t.Log(l)
	}

	refused := x.byKey("IT", "to-refuse")
	if refused.State != workflow.StateRefused {
		t.Fatalf("to-refuse is %s, want refused by the bot", refused.State)
	}
	h, err := x.world.Service.History(ctx, x.actor("IT", "officer"), refused.ID)
	if err != nil {
		t.Fatal(err)
	}
	last := h[len(h)-1]
	if last.Actor != "sim.th" || strings.Join(last.Grounds, ",") != "nationality" {
		t.Errorf("refused by %s on %v, want sim.th on nationality", last.Actor, last.Grounds)
	}
	thread, err := x.world.Service.Messages(ctx, x.actor("IT", "officer"), refused.ID)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, m := range thread {
		kinds = append(kinds, string(m.Kind)+":"+m.Actor)
	}
	if got := strings.Join(kinds, " "); got != "status_enquiry:trainee.IT.officer message:sim.th consultation:sim.th" {
		t.Errorf("thread %s, want the enquiry, its answer, then the consultation", got)
	}
	if !strings.Contains(thread[1].Body, "Status of "+refused.Reference+": acknowledged") || thread[0].ReadAt == nil {
		t.Errorf("the answer %q (enquiry read %v), want the request's state and a read receipt", thread[1].Body, thread[0].ReadAt)
	}
	if last.At.Before(thread[2].At.Add(day)) {
		t.Errorf("refused at %s, want a day or more after consulting at %s", last.At, thread[2].At)
	}

	// The incomplete request: asked twice (max 2), then executed although
	// still incomplete, because the script stops asking.
	completed := x.byKey("IT", "to-complete")
	h, err = x.world.Service.History(ctx, x.actor("IT", "officer"), completed.ID)
	if err != nil {
		t.Fatal(err)
	}
	var events []string
	for _, e := range h {
		events = append(events, string(e.Event))
	}
	if got := strings.Join(events, " "); got != "send acknowledge request_info provide_info request_info provide_info execute" {
		t.Errorf("history %s", got)
	}
	if !strings.Contains(h[2].Comment, "- purpose:") {
		t.Errorf("the request for information %q, want what is missing", h[2].Comment)
	}
	rep := x.debrief()
	if n := len(findings(rep, "missing_info")); n != 2 || rep.Score != 0 {
		t.Errorf("%d missing-information findings, score %d; want 2 and 5-6 floored at 0", n, rep.Score)
	}
}
