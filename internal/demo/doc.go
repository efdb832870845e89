// Package demo seeds the demo world of the product contract (section 2):
// three users for each of the four central authorities, an administrator and
// a trainer, all with the password "demo-pass". The authorities themselves
// are created by the store.
package demo
