package workflow_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/mla-flow/mla-flow/internal/auth"
	"github.com/mla-flow/mla-flow/internal/store"
	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// TestService_badText calls the service, as the command line and the
// seeders do, with text that no field may hold (a NUL character, bytes that
// are not UTF-8) in every kind of input, on every database: each call is
// refused with the contract's code before the store sees the text, never
// with a database error, and the request does not change.
func TestService_badText(t *testing.T) {
	testdb.Each(t, func(t *testing.T, b testdb.Backend) {
		ctx := context.Background()
		st, err := store.Open(ctx, store.Options{DSN: b.DSN(t), AuditKey: bytes.Repeat([]byte{9}, 32)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		svc := workflow.NewService(st, auth.NewPolicy())
		officer := workflow.Actor{UserID: "1", Username: "it.officer", Role: workflow.RoleOfficer, Authority: "IT"}
		supervisor := workflow.Actor{UserID: "3", Username: "it.supervisor", Role: workflow.RoleSupervisor, Authority: "IT"}
		auditor := workflow.Actor{UserID: "2", Username: "it.auditor", Role: workflow.RoleAuditor, Authority: "IT"}
		r, err := svc.Create(ctx, officer, workflow.Draft{Kind: workflow.KindMLA, RequestedAuthority: "ES", Title: "Bank records"})
		if err != nil {
			t.Fatal(err)
		}
		nul, notUTF8 := "a\x00b", "a\xffb"
		tests := []struct {
			name string
			call func() error
			want workflow.Code
		}{
			{"draft title", func() error {
				_, err := svc.Create(ctx, officer, workflow.Draft{Kind: workflow.KindMLA, RequestedAuthority: "ES", Title: nul})
				return err
			}, workflow.ErrValidation},
			{"draft authority", func() error {
				_, err := svc.Create(ctx, officer, workflow.Draft{Kind: workflow.KindMLA, RequestedAuthority: nul, Title: "x"})
				return err
			}, workflow.ErrValidation},
			{"edit summary", func() error {
				_, err := svc.Update(ctx, officer, r.ID, workflow.Changes{Summary: &notUTF8}, nil)
				return err
			}, workflow.ErrValidation},
			{"event comment", func() error {
				_, err := svc.Fire(ctx, supervisor, r.ID, workflow.EventInput{Event: workflow.EventSend, Comment: nul})
				return err
			}, workflow.ErrValidation},
			{"id", func() error { _, err := svc.Get(ctx, officer, r.ID+"\x00"); return err }, workflow.ErrNotFound},
			{"id of an event", func() error {
				_, err := svc.Fire(ctx, officer, notUTF8, workflow.EventInput{Event: workflow.EventSend})
				return err
			}, workflow.ErrNotFound},
			{"id of a history", func() error { _, err := svc.History(ctx, officer, nul); return err }, workflow.ErrNotFound},
			{"list search", func() error {
				_, _, err := svc.List(ctx, officer, workflow.ListQuery{Text: nul})
				return err
			}, workflow.ErrBadRequest},
			{"audit filter", func() error {
				_, _, err := svc.Audit(ctx, auditor, workflow.AuditFilter{Actor: notUTF8})
				return err
			}, workflow.ErrBadRequest},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				if err := tc.call(); workflow.ErrorCode(err) != tc.want {
					t.Fatalf("got %v, want %s", err, tc.want)
				}
			})
		}
		got, err := st.Request(ctx, r.ID)
		if err != nil || got.Version != r.Version || got.Title != r.Title {
			t.Fatalf("request %+v (%v), want it unchanged", got, err)
		}
	})
}
