package workflow

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// ActionLetter is the audit action of composing a request's letter of
// request (CONTRACT 6): a download of the request's content, recorded as
// a document's download is.
const ActionLetter = "request.letter"

// Letter composes the letter of request of one request the actor may see,
// and records it before it is returned. compose receives the request as
// the disclosing read (Read) shows it to the actor: protected persons
// disclosed only to those the Policy lets see them, concealed for everybody
// else, so that a letter never names someone its reader may not see. The
// letter's audit entry (request.letter, with the SHA-256 of the bytes
// served) and, when protected persons were disclosed, their person.view
// entry are written in one transaction: recorded whole, or nothing served.
// A request the actor may not see is not found, as a missing one is.
func (s *Service) Letter(ctx context.Context, a Actor, id string, compose func(Request) ([]byte, error)) ([]byte, Request, error) {
	r, err := s.Get(ctx, a, id)
	if err != nil {
		return nil, Request{}, err
	}
	disclosed := r.HasProtected() && s.policy.MaySeeProtected(a, r)
	if !disclosed {
		r = r.Concealed()
	}
	out, err := compose(r)
	if err != nil {
		return nil, Request{}, fmt.Errorf("compose the letter of request %s: %w", r.ID, err)
	}
	sum := sha256.Sum256(out)
	now := s.clock()
	changes := []Change{Recorded(a, now, ActionLetter, OutcomeOK,
		map[string]any{"reference": r.Reference, "sha256": hex.EncodeToString(sum[:])})}
	if disclosed {
		changes = append(changes, Recorded(a, now, ActionViewPersons, OutcomeOK,
			map[string]any{"reference": r.Reference, "persons": r.ProtectedIDs()}))
	}
	ctx = context.WithoutCancel(ctx) // recorded whole, or nothing served
	err = s.store.WithTx(ctx, func(tx Tx) error {
		for _, c := range changes {
			c.RequestID = r.ID
			if err := tx.Apply(ctx, c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, Request{}, fmt.Errorf("record the letter of request: %w", err)
	}
	return out, r, nil
}
