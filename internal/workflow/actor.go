package workflow

import "time"

// Authority is a central authority: the office of a state that sends and
// receives requests (UNTOC Art. 18(13)). Code is ISO 3166-1 alpha-2.
type Authority struct {
	Code string
	Name string
	// CompletenessPolicy is whether the authority may send an incomplete
	// request (advisory) or not (enforced).
	CompletenessPolicy CompletenessPolicy
}

// Actor is who acts: the user behind a verified token or session.
type Actor struct {
	UserID    string
	Username  string
	Role      Role
	Authority string // code; empty for admin and trainer
}

// User is an account. PasswordHash never leaves the server.
type User struct {
	ID           string
	Username     string
	DisplayName  string
	Role         Role
	Authority    string // code, empty for roles without an authority
	PasswordHash string
	// PasswordTemporary says that someone other than the user (the
	// administrator, resetting it) set the password: the next log-in must
	// replace it, so that whoever set it cannot go on using it unnoticed.
	PasswordTemporary bool
	Disabled          bool
	CreatedAt         time.Time
}

// Actor returns the acting identity of the user.
func (u User) Actor() Actor {
	return Actor{UserID: u.ID, Username: u.Username, Role: u.Role, Authority: u.Authority}
}
