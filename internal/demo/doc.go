// Package demo seeds the demo world of the product contract (section 2).
//
// Seed creates its users: three for each of the four central authorities,
// an administrator and a trainer, all with the password "demo-pass". That
// password is shorter than the password policy allows for chosen
// passwords, so the seed creates the accounts with
// auth.Authenticator.AddDemoUser, which skips the policy and records that
// in the audit log. The authorities themselves are created by the store.
//
// SeedCases then creates a dozen example cases of one trafficking-in-persons
// network between the four authorities (story.go), worked over the past
// months: each step is taken through the workflow service, by the demo user
// whose move it is, on a clock set to the step's moment, so that the cases
// carry their history, deadlines and audit trail as real casework would.
// It is a small, readable world to look at; generated casework in bulk, for
// benchmarks, is internal/seed's (server seed).
package demo
