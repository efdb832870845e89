package auth

import (
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

func TestHasher(t *testing.T) {
	h := NewHasher(bcrypt.MinCost)
	hash, err := h.Hash("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(hash, "correct horse") {
		t.Fatal("the hash contains the password")
	}
	if cost, _ := bcrypt.Cost([]byte(hash)); cost != bcrypt.MinCost {
		t.Errorf("cost %d, want %d", cost, bcrypt.MinCost)
	}
	tests := []struct {
		name string
		hash string
		pw   string
		want bool
	}{
		{"right password", hash, "correct horse", true},
		{"wrong password", hash, "correct horsE", false},
		{"empty password", hash, "", false},
		{"malformed hash", "not-a-hash", "correct horse", false},
		{"empty hash", "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := h.Check(tc.hash, tc.pw); got != tc.want {
				t.Fatalf("Check = %v, want %v", got, tc.want)
			}
		})
	}
	if again, _ := h.Hash("correct horse"); again == hash {
		t.Error("two hashes of one password are equal; want a fresh salt each")
	}
	if _, err := h.Hash(strings.Repeat("x", 73)); workflow.ErrorCode(err) != workflow.ErrValidation {
		t.Errorf("73-byte password: %v, want validation_failed", err)
	}
}

func TestNewHasher(t *testing.T) {
	if h := NewHasher(0); h.Cost() != bcrypt.DefaultCost {
		t.Fatalf("NewHasher(0) = cost %d, want %d", h.Cost(), bcrypt.DefaultCost)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("cost above the maximum accepted")
		}
	}()
	NewHasher(bcrypt.MaxCost + 1)
}

func TestCheckPasswordRule(t *testing.T) {
	tests := []struct {
		name string
		pw   string
		ok   bool
	}{
		{"empty", "", false},
		{"seven", "1234567", false},
		{"eight", "12345678", true},
		{"demo password", "demo-pass", true},
		{"eight runes, more bytes", "éééééééé", true},
		{"seven runes of two bytes", "ééééééé", false},
		{"72 bytes", strings.Repeat("x", 72), true},
		{"73 bytes", strings.Repeat("x", 73), false},
		{"37 runes of two bytes", strings.Repeat("é", 37), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckPasswordRule(tc.pw)
			if tc.ok != (err == nil) {
				t.Fatalf("got %v, want ok=%v", err, tc.ok)
			}
			var e *workflow.Error
			if err != nil && (!asError(err, &e) || e.Fields["password"] == "") {
				t.Fatalf("got %v, want a validation error on password", err)
			}
		})
	}
}
