// Package demo seeds the demo world of the product contract (section 2):
// three users for each of the four central authorities, an administrator and
// a trainer, all with the password "demo-pass". That password is shorter
// than the password policy allows for chosen passwords, so the seed creates
// the accounts with auth.Authenticator.AddDemoUser, which skips the policy
// and records that in the audit log. The authorities themselves are created
// by the store.
package demo
