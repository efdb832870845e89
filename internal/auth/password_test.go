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
	if again, err := h.Hash("correct horse"); err != nil || again == hash {
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
		name     string
		pw, user string
		ok       bool
		reason   string // part of the reason given
	}{
		{"empty", "", "", false, "at least 12"},
		{"eleven", "kettle drum", "", false, "at least 12"},
		{"twelve", "kettle drums", "", true, ""},
		{"demo password", "demo-pass", "", false, "at least 12"},
		{"twelve runes, more bytes", "éàüøßçñåæœîô", "", true, ""},
		{"eleven runes of two bytes", "éàüøßçñåæœî", "", false, "at least 12"},
		{"72 bytes", strings.Repeat("abcdefgh", 9), "", true, ""},
		{"73 bytes", strings.Repeat("abcdefgh", 9) + "x", "", false, "at most 72"},
		{"37 runes of two bytes", strings.Repeat("é", 37), "", false, "at most 72"},
		{"the user name", "giulia.rossi", "giulia.rossi", false, "user name"},
		{"containing the user name", "my name is GIULIA.ROSSI", "giulia.rossi", false, "user name"},
		{"another user's name", "my name is giulia.rossi", "it.officer", true, ""},
		{"one character", strings.Repeat("a", 20), "", false, "different characters"},
		{"two characters", strings.Repeat("ab", 10), "", false, "different characters"},
		{"common", "qwertyuiop12", "", false, "common"},
		{"common, any case", "PASSWORD1234", "", false, "common"},
		{"common with digits and signs", "Sunshine2024!!", "", false, "common"},
		{"common in spaces", "  superman  !!", "", false, "common"},
		{"common repeated", "monkeymonkey", "", false, "common"},
		{"digits in a row", "123456789012", "", false, "common"},
		{"digits backwards", "987654321098", "", false, "common"},
		{"alphabet", "abcdefghijklm", "", false, "common"},
		{"keyboard row", "asdfghjklzxcv", "", false, "common"},
		{"service words", "extradition2026", "", false, "common"},
		{"pass phrase", "correct horse battery staple", "it.officer", true, ""},
		{"random", "f3a9c2e17b4d", "", true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckPasswordRule(tc.pw, tc.user)
			if tc.ok != (err == nil) {
				t.Fatalf("got %v, want ok=%v", err, tc.ok)
			}
			var e *workflow.Error
			if err != nil && (!asError(err, &e) || !strings.Contains(e.Fields["password"], tc.reason)) {
				t.Fatalf("got %v, want a validation error on password saying %q", err, tc.reason)
			}
		})
	}
}

func TestCommonPasswords_embedded(t *testing.T) {
	if n := len(commonPasswords); n < 1000 {
		t.Fatalf("%d common passwords loaded, want the top 1,000 and more", n)
	}
	for _, pw := range []string{"123456", "password", "qwerty", "demo-pass", "trustno1"} {
		if !commonPasswords[pw] {
			t.Errorf("%q is not in the list", pw)
		}
	}
	for pw := range commonPasswords {
		if strings.HasPrefix(pw, "#") || pw != strings.ToLower(strings.TrimSpace(pw)) {
			t.Errorf("entry %q is not normalised", pw)
		}
	}
}
