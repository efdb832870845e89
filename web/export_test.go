package web

// The orders of the forms' error summaries, for the tests that hold them
// to the forms.
var (
	RequestFormFields = requestFormFields
	NewUserFields     = newUserFields
	UserFields        = userFields
)

// FieldID is fieldID, for the tests.
var FieldID = fieldID
