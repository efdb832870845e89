package auth

import (
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// Limits of a new password. Twelve characters is the length below which
// guessing offline gets cheap even against bcrypt, and what national
// guidance for accounts without a second factor asks for (BSI, ANSSI;
// NIST SP 800-63B asks at least 8 and advises allowing long pass phrases).
// bcrypt reads at most 72 bytes: a longer password would be silently cut,
// so it is refused instead of accepted with a false sense of strength.
const (
	MinPasswordChars = 12
	MaxPasswordBytes = 72
)

// minDistinctChars is the fewest different characters a new password must
// use: "aaaaaaaaaaaa" or "abababababab" is long but trivial to guess
// (NIST SP 800-63B 5.1.1.2 names repetitive characters).
const minDistinctChars = 5

// CheckPasswordRule checks a new password for the account username against
// the password policy: at least MinPasswordChars characters and at most
// MaxPasswordBytes bytes, not containing the user name, of at least a few
// different characters, and neither one of the most common passwords nor
// an obvious sequence (see commonPassword). The answer is a validation
// error on the field "password" that says which rule failed.
//
// Passwords a user chooses (API, web, command line) go through it; the demo
// world's contractual password does not (Authenticator.AddDemoUser).
func CheckPasswordRule(pw, username string) error {
	lower := strings.ToLower(pw)
	name := strings.ToLower(strings.TrimSpace(username))
	switch {
	case utf8.RuneCountInString(pw) < MinPasswordChars:
		return workflow.Invalid("password", fmt.Sprintf("must be at least %d characters", MinPasswordChars))
	case len(pw) > MaxPasswordBytes:
		return workflow.Invalid("password", fmt.Sprintf("must be at most %d bytes", MaxPasswordBytes))
	case name != "" && strings.Contains(lower, name):
		return workflow.Invalid("password", "must not contain the user name")
	case distinctRunes(pw) < minDistinctChars:
		return workflow.Invalid("password", fmt.Sprintf("must use at least %d different characters", minDistinctChars))
	case commonPassword(lower):
		return workflow.Invalid("password", "is too common or too predictable; choose a less obvious one, such as a few unrelated words")
	}
	return nil
}

// distinctRunes counts the different characters of s.
func distinctRunes(s string) int {
	seen := map[rune]bool{}
	for _, r := range s {
		seen[r] = true
	}
	return len(seen)
}

//go:embed common_passwords.txt
var commonPasswordsFile string

// commonPasswords is the set of common_passwords.txt, lower case.
var commonPasswords = func() map[string]bool {
	out := map[string]bool{}
	for _, line := range strings.Split(commonPasswordsFile, "\n") {
		line = strings.ToLower(strings.TrimSpace(line))
		if line != "" && !strings.HasPrefix(line, "#") {
			out[line] = true
		}
	}
	return out
}()

// sequences are keyboard rows and runs that people take passwords from;
// any stretch of one of them (forwards or backwards) is refused.
var sequences = []string{
	"012345678901234567890123456789",
	"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
	"qwertyuiopasdfghjklzxcvbnmqwertyuiop",
	"1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
	"azertyuiopqsdfghjklmwxcvbn",
	"qwertzuiopasdfghjklyxcvbnm",
}

// commonPassword reports whether a lower-cased password is, at heart, a
// common one: a listed password itself, a listed one with digits,
// punctuation or spaces around it ("Summer2024!"), a listed one repeated
// ("monkeymonkey"), or a stretch of a keyboard row or of the alphabet or
// the digits ("1234567890123").
func commonPassword(lower string) bool {
	core := strings.TrimFunc(lower, func(r rune) bool { return !unicode.IsLetter(r) })
	for _, c := range []string{lower, core} {
		if c == "" {
			continue
		}
		if commonPasswords[c] || repeatsCommon(c) {
			return true
		}
	}
	for _, seq := range sequences {
		if strings.Contains(seq, lower) || strings.Contains(reverse(seq), lower) {
			return true
		}
	}
	return false
}

// repeatsCommon reports whether s is a common password written 2 to 4
// times over.
func repeatsCommon(s string) bool {
	for n := 2; n <= 4; n++ {
		if len(s)%n != 0 {
			continue
		}
		part := s[:len(s)/n]
		if strings.Repeat(part, n) == s && commonPasswords[part] {
			return true
		}
	}
	return false
}

func reverse(s string) string {
	r := []rune(s)
	slices.Reverse(r)
	return string(r)
}

// Hasher hashes and checks passwords with bcrypt at a fixed cost.
type Hasher struct {
	cost int
}

// NewHasher returns a hasher of the given bcrypt cost; 0 means
// bcrypt.DefaultCost. Tests use bcrypt.MinCost to stay fast. A cost outside
// bcrypt's range is a configuration mistake to be caught at start, so it
// panics rather than weaken or stall every log-in.
func NewHasher(cost int) Hasher {
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	if cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
		panic(fmt.Sprintf("auth.NewHasher: bcrypt cost %d is outside %d..%d", cost, bcrypt.MinCost, bcrypt.MaxCost))
	}
	return Hasher{cost: cost}
}

// Cost returns the bcrypt cost of new hashes.
func (h Hasher) Cost() int {
	if h.cost == 0 {
		return bcrypt.DefaultCost
	}
	return h.cost
}

// Hash returns the bcrypt hash of pw. It does not apply the password rule
// (CheckPasswordRule does), only bcrypt's own 72-byte limit.
func (h Hasher) Hash(pw string) (string, error) {
	b, err := bcrypt.GenerateFromPassword([]byte(pw), h.Cost())
	if err != nil {
		if errors.Is(err, bcrypt.ErrPasswordTooLong) {
			return "", workflow.Invalid("password", fmt.Sprintf("must be at most %d bytes", MaxPasswordBytes))
		}
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(b), nil
}

// Check reports whether pw matches hash. A malformed hash never matches.
// bcrypt compares in constant time and its cost dominates, so checking
// against a dummy hash takes as long as against a real one.
func (h Hasher) Check(hash, pw string) bool {
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw)) == nil
}
