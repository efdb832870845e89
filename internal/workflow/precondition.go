package workflow

import "slices"

// IfMatch is the precondition an If-Match header puts on a command
// (CONTRACT 8; RFC 9110 13.1.1): the request must still be at one of
// Versions, the versions its entity tags name. A header whose tags name
// another request, or are weak, gives an empty list, which nothing
// matches. "*" puts no precondition beyond the request's existence, which
// every command needs anyway, and is a nil *IfMatch.
type IfMatch struct {
	Versions []int
}

// check refuses r, as ErrPreconditionFailed, when it is at a version m
// does not name. It runs inside the command's transaction, on the row it
// read for update, so a concurrent change cannot slip between the check
// and the write.
func (m *IfMatch) check(r Request) error {
	if m == nil || slices.Contains(m.Versions, r.Version) {
		return nil
	}
	return Errorf(ErrPreconditionFailed, "the request is at version %d, which If-Match does not name; read it again", r.Version)
}
