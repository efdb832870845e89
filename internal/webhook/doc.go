// Package webhook tells other agencies' systems what changed, as CONTRACT 8
// asks: subscriptions of an authority (Service), and the job that turns the
// outbox's messages into deliveries and sends them (Worker), signed as the
// Standard Webhooks specification says, at least once and in order per
// request, retried with capped exponential backoff, parked as dead after
// the last attempt.
//
// Nothing is sent from inside a transaction: the changes write outbox
// messages (internal/workflow), and the Worker, a job of the leased runner
// (internal/jobs), reads them after a durable cursor. A message holds no
// person and no case text, and goes only to the subscriptions of the
// authorities of its Audience, so that a subscriber learns only what its
// authority may see.
//
// Destinations are checked twice: at creation (CheckDestination: http or
// https, no loopback, private, link-local or unspecified address unless
// the operator allows private ones) and at every connection (the sender's
// dialer refuses such addresses, so that a name that resolves elsewhere
// later, DNS rebinding, reaches nothing inside). Redirects are not
// followed, every attempt has timeouts, and answers are read up to a limit.
//
// The package imports internal/workflow only; internal/store implements
// its Store.
package webhook
