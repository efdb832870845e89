// Package blob stores the bytes of the case file's documents outside the
// database: Store is the small interface the workflow needs (the same
// methods as workflow.Blobs), Dir its implementation on a directory. An
// S3-compatible implementation would be another Store; the server picks
// one by configuration. It imports no other internal package.
package blob
