package auth

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// Limits of a new password. bcrypt reads at most 72 bytes: a longer
// password would be silently cut, so it is refused instead of accepted with
// a false sense of strength.
const (
	MinPasswordChars = 8
	MaxPasswordBytes = 72
)

// CheckPasswordRule checks a new password against the minimal rule: at
// least MinPasswordChars characters and at most MaxPasswordBytes bytes. The
// answer is a validation error on the field "password".
func CheckPasswordRule(pw string) error {
	switch {
	case utf8.RuneCountInString(pw) < MinPasswordChars:
		return workflow.Invalid("password", fmt.Sprintf("must be at least %d characters", MinPasswordChars))
	case len(pw) > MaxPasswordBytes:
		return workflow.Invalid("password", fmt.Sprintf("must be at most %d bytes", MaxPasswordBytes))
	}
	return nil
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
