package store_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

func TestUsers(t *testing.T) {
	t.Parallel()
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			s := db.Store
			rec := func(action string) workflow.Change {
				return workflow.Change{Actor: "admin", Action: action, Outcome: workflow.OutcomeOK}
			}
			if n, err := s.CountUsers(ctx); err != nil || n != 0 {
				t.Fatalf("CountUsers on a new database = %d, %v", n, err)
			}
			officer := workflow.User{
				ID: "u1", Username: "IT.Officer", DisplayName: "Officer Rossi", Role: workflow.RoleOfficer,
				Authority: "IT", PasswordHash: "$argon2id$x", CreatedAt: baseTime,
			}
			if err := s.CreateUser(ctx, officer, rec("user.create")); err != nil {
				t.Fatal(err)
			}
			admin := workflow.User{Username: "admin", Role: workflow.RoleAdmin, PasswordHash: "h"}
			if err := s.CreateUser(ctx, admin, rec("user.create")); err != nil {
				t.Fatal(err)
			}

			want := officer
			want.Username = "it.officer"
			want.CreatedAt = baseTime.Truncate(time.Microsecond)
			for _, name := range []string{"it.officer", "IT.OFFICER", "It.Officer"} {
				got, err := s.UserByUsername(ctx, name)
				if err != nil {
					t.Fatalf("UserByUsername(%q): %v", name, err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("UserByUsername(%q):\n got %+v\nwant %+v", name, got, want)
				}
			}
			got, err := s.UserByID(ctx, "u1")
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("UserByID = %+v, %v; want %+v", got, err, want)
			}
			gotAdmin, err := s.UserByUsername(ctx, "admin")
			if err != nil || gotAdmin.ID == "" || gotAdmin.Authority != "" || gotAdmin.CreatedAt.IsZero() {
				t.Fatalf("admin = %+v, %v; want a generated id, no authority, a creation time", gotAdmin, err)
			}

			_, err = s.UserByUsername(ctx, "ghost")
			wantCode(t, err, workflow.ErrNotFound)
			_, err = s.UserByID(ctx, "ghost")
			wantCode(t, err, workflow.ErrNotFound)

			dup := workflow.User{Username: "it.OFFICER", Role: workflow.RoleOfficer, Authority: "IT", PasswordHash: "h"}
			err = s.CreateUser(ctx, dup, rec("user.create"))
			wantCode(t, err, workflow.ErrConflict)
			noSuch := workflow.User{Username: "xx.officer", Role: workflow.RoleOfficer, Authority: "XX", PasswordHash: "h"}
			err = s.CreateUser(ctx, noSuch, rec("user.create"))
			wantCode(t, err, workflow.ErrValidation)
			if fields := err.(*workflow.Error).Fields; fields["authority"] == "" {
				t.Fatalf("validation error %v does not name the authority field", err)
			}
			wantCode(t, s.CreateUser(ctx, workflow.User{}, rec("user.create")), workflow.ErrValidation)

			// Disable and promote.
			changed := want
			changed.Disabled = true
			changed.Role = workflow.RoleSupervisor
			changed.DisplayName = "Supervisor Rossi"
			changed.PasswordHash = "$argon2id$y"
			changed.PasswordTemporary = true
			if err := s.UpdateUser(ctx, changed, rec("user.update")); err != nil {
				t.Fatal(err)
			}
			got, err = s.UserByID(ctx, "u1")
			if err != nil || !reflect.DeepEqual(got, changed) {
				t.Fatalf("after update = %+v, %v; want %+v", got, err, changed)
			}
			// Moving to no authority stores NULL, which the foreign key allows.
			changed.Authority = ""
			if err := s.UpdateUser(ctx, changed, rec("user.update")); err != nil {
				t.Fatal(err)
			}
			renamed := changed
			renamed.Username = "ADMIN"
			wantCode(t, s.UpdateUser(ctx, renamed, rec("user.update")), workflow.ErrConflict)
			ghost := changed
			ghost.ID = "ghost"
			ghost.Username = "ghost"
			wantCode(t, s.UpdateUser(ctx, ghost, rec("user.update")), workflow.ErrNotFound)

			users, err := s.ListUsers(ctx)
			if err != nil || len(users) != 2 || users[0].Username != "admin" || users[1].Username != "it.officer" {
				t.Fatalf("ListUsers = %+v, %v", users, err)
			}
			if n, err := s.CountUsers(ctx); err != nil || n != 2 {
				t.Fatalf("CountUsers = %d, %v; want 2", n, err)
			}
			// Two creations and two updates were recorded; the refusals
			// rolled back with their transactions.
			mustVerifyChain(t, s, 4)
		})
	}
}

func TestAddAuthority(t *testing.T) {
	t.Parallel()
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			rec := workflow.Change{Actor: "admin", Action: "authority.create", Outcome: workflow.OutcomeOK}
			if err := db.Store.AddAuthority(ctx, workflow.Authority{Code: "FR", Name: "France, Ministry of Justice"}, rec); err != nil {
				t.Fatal(err)
			}
			wantCode(t, db.Store.AddAuthority(ctx, workflow.Authority{Code: "FR", Name: "again"}, rec), workflow.ErrConflict)
			for _, a := range []workflow.Authority{{Code: "", Name: "x"}, {Code: "fr", Name: "x"}, {Code: "F", Name: "x"},
				{Code: "ABCDEFGHI", Name: "x"}, {Code: "DE", Name: " "}} {
				wantCode(t, db.Store.AddAuthority(ctx, a, rec), workflow.ErrValidation)
			}
			got, err := db.Store.Authority(ctx, "FR")
			if err != nil || got.Name != "France, Ministry of Justice" {
				t.Fatalf("Authority(FR) = %+v, %v", got, err)
			}
			all, err := db.Store.Authorities(ctx)
			if err != nil || len(all) != 5 || all[1].Code != "FR" {
				t.Fatalf("Authorities = %+v, %v", all, err)
			}
			_, err = db.Store.Authority(ctx, "XX")
			wantCode(t, err, workflow.ErrNotFound)
			mustVerify(t, db.Store, 1)
		})
	}
}

func TestEnsureSetting(t *testing.T) {
	t.Parallel()
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			got, err := db.Store.EnsureSetting(ctx, "jwt_secret", "first")
			if err != nil || got != "first" {
				t.Fatalf("first EnsureSetting = %q, %v", got, err)
			}
			got, err = db.Store.EnsureSetting(ctx, "jwt_secret", "second")
			if err != nil || got != "first" {
				t.Fatalf("second EnsureSetting = %q, %v; want the stored %q", got, err, "first")
			}
			got, err = db.Store.EnsureSetting(ctx, "other", "x")
			if err != nil || got != "x" {
				t.Fatalf("another key = %q, %v", got, err)
			}
		})
	}
}
