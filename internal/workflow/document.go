package workflow

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// The case file (CONTRACT 6): the documents of a request and their
// translations. Their metadata is a row of the store; their bytes live in a
// Blobs, outside the database, bound to the row by the SHA-256 taken while
// they were streamed in and checked again before every download.

// DocumentType is what a document is to the case.
type DocumentType string

// The document types of CONTRACT 6.
const (
	DocLetterOfRequest DocumentType = "letter_of_request"
	DocAnnex           DocumentType = "annex"
	DocTranslation     DocumentType = "translation"
	DocWarrant         DocumentType = "warrant"
	DocJudgment        DocumentType = "judgment"
	DocEvidence        DocumentType = "evidence"
	DocExecutionReport DocumentType = "execution_report"
	DocOther           DocumentType = "other"
)

// DocumentTypes lists the document types in the contract's order.
var DocumentTypes = []DocumentType{
	DocLetterOfRequest, DocAnnex, DocTranslation, DocWarrant, DocJudgment, DocEvidence, DocExecutionReport, DocOther,
}

// TranslationStatus is how far a document's translation has come: "" for
// a document nobody asked to translate.
type TranslationStatus string

// The translation statuses of CONTRACT 6.
const (
	TranslationNone       TranslationStatus = ""
	TranslationNeeded     TranslationStatus = "needed"
	TranslationInProgress TranslationStatus = "in_progress"
	TranslationDone       TranslationStatus = "done"
)

// TranslationStatuses lists the statuses a client may set.
var TranslationStatuses = []TranslationStatus{TranslationNeeded, TranslationInProgress, TranslationDone}

// The audit actions of the case file.
const (
	ActionUploadDocument   = "document.upload"
	ActionDownloadDocument = "document.download"
	ActionUpdateDocument   = "document.update"
)

// DefaultMaxDocument is the default size limit of one document, 25 MiB
// (CONTRACT 6).
const DefaultMaxDocument = 25 << 20

// Limits of a document's metadata.
const (
	MaxDocumentTitle = MaxTitle
	MaxFilename      = 255
	MaxLanguage      = 16
)

// CaseDocument is one file of a request's case file.
type CaseDocument struct {
	ID                string
	RequestID         string
	Type              DocumentType
	Language          string // a BCP 47 tag such as "en", "it", "pt-BR"
	Title             string
	Filename          string
	MediaType         string // detected from the bytes
	Size              int64
	SHA256            string // hex, of the bytes as uploaded
	BlobKey           string // where the bytes are in the Blobs
	TranslationOf     string // the id of the document this one translates; "" for none
	TranslationStatus TranslationStatus
	UploadedBy        string
	Authority         string
	At                time.Time
}

// DocumentStatusChange is a translation status set on a document, from the
// status the command read (the store refuses the change if it is no longer
// so).
type DocumentStatusChange struct {
	DocumentID string
	From, To   TranslationStatus
}

// Blobs is where the bytes of documents live, outside the database.
// internal/blob implements it on a directory.
type Blobs interface {
	// Put stores what r yields under key, streaming, and returns how many
	// bytes it stored. When it fails (r's error included), nothing is
	// kept under key.
	Put(ctx context.Context, key string, r io.Reader) (int64, error)
	// Open returns the bytes stored under key.
	Open(ctx context.Context, key string) (io.ReadSeekCloser, error)
	// Delete removes what is stored under key; nothing stored is no error.
	Delete(ctx context.Context, key string) error
}

// WithDocuments gives the service the store of documents' bytes and the
// size limit of one document (DefaultMaxDocument when 0 or less). Without
// it, the case file's commands fail as an internal error.
func WithDocuments(blobs Blobs, maxSize int64) Option {
	return func(s *Service) {
		if maxSize <= 0 {
			maxSize = DefaultMaxDocument
		}
		s.blobs, s.maxDocument = blobs, maxSize
	}
}

// MaxDocument is the size limit of one document.
func (s *Service) MaxDocument() int64 {
	if s.maxDocument <= 0 {
		return DefaultMaxDocument
	}
	return s.maxDocument
}

var (
	errDocumentNotFound = Errorf(ErrNotFound, "document not found")
	errNoBlobs          = errors.New("no document store is configured")
)

// ErrUnsupportedMediaType refuses a document whose bytes are of a type the
// case file does not take (415).
const ErrUnsupportedMediaType Code = "unsupported_media_type"

// Content is a document's bytes as received: stored in the Blobs under
// Key, with their size, SHA-256 and detected media type. ReceiveContent
// makes one; AddDocument files it, DiscardContent removes it.
type Content struct {
	Key       string
	Size      int64
	SHA256    string
	MediaType string
}

// CheckUpload tells whether a may add documents to the request id now: nil,
// or the error AddDocument would answer first (404, 403). The API asks it
// before reading an upload's body, so that nobody streams a file to a
// request they may not file it on.
func (s *Service) CheckUpload(ctx context.Context, a Actor, id string) error {
	r, err := s.Get(ctx, a, id)
	if err != nil {
		return err
	}
	if !s.policy.MayAddDocument(a, r) {
		return errMayNotAdd
	}
	return nil
}

var errMayNotAdd = Errorf(ErrForbidden, "only the officers and supervisors of the request's two authorities add documents")

// headSize is how much of a document the media type is detected from.
const headSize = 3072

// ReceiveContent streams a document's bytes into the Blobs under a new key,
// hashing them on the way and never holding more than a small buffer: at
// most MaxDocument bytes (ErrTooLarge beyond, and nothing kept), of an
// allowed media type (ErrUnsupportedMediaType otherwise, before anything is
// written). Nothing is recorded yet: AddDocument files the content, in the
// transaction of its audit entry, and whoever does not call it calls
// DiscardContent.
func (s *Service) ReceiveContent(ctx context.Context, r io.Reader) (Content, error) {
	if s.blobs == nil {
		return Content{}, errNoBlobs
	}
	head := make([]byte, headSize)
	n, err := io.ReadFull(r, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return Content{}, err
	}
	head = head[:n]
	if n == 0 {
		return Content{}, Invalid("file", "is empty")
	}
	mt, ok := DetectMediaType(head)
	if !ok {
		return Content{}, &Error{Code: ErrUnsupportedMediaType,
			Message: "the case file takes PDF, office and OpenDocument documents, images, plain text and XML; this file is " + mt}
	}
	h := sha256.New()
	limited := &limitReader{r: io.MultiReader(bytes.NewReader(head), r), left: s.MaxDocument()}
	key := NewIDAt(s.clock())
	size, err := s.blobs.Put(ctx, key, io.TeeReader(limited, h))
	if err != nil {
		if limited.over {
			return Content{}, Errorf(ErrTooLarge, "a document may have at most %d bytes", s.MaxDocument())
		}
		return Content{}, fmt.Errorf("store the document: %w", err)
	}
	return Content{Key: key, Size: size, SHA256: hex.EncodeToString(h.Sum(nil)), MediaType: mt}, nil
}

// DiscardContent removes received content that is not filed.
func (s *Service) DiscardContent(ctx context.Context, c Content) {
	if s.blobs != nil && c.Key != "" {
		_ = s.blobs.Delete(context.WithoutCancel(ctx), c.Key)
	}
}

// limitReader reads at most left bytes and fails beyond, remembering that
// it did.
type limitReader struct {
	r    io.Reader
	left int64
	over bool
}

var errOverLimit = errors.New("over the size limit")

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left < 0 {
		l.over = true
		return 0, errOverLimit
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1] // one byte more tells a file of exactly the limit from a longer one
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		l.over = true
		return 0, errOverLimit
	}
	return n, err
}

// DocumentInput is the metadata of an upload.
type DocumentInput struct {
	Type          DocumentType
	Language      string
	Title         string
	Filename      string
	TranslationOf string
	// TranslationStatus, when given, is the document's status at upload;
	// a translation is otherwise done, any other document has none.
	TranslationStatus TranslationStatus
	// Version, when given, must be the request's current version.
	Version *int
}

// AddDocument files received content as a document of the request id, for
// the officers and supervisors of its two sides. The checks run in Fire's
// order: visibility (404), the actor (403), the version (409), the
// metadata (422). The audit entry document.upload carries the SHA-256.
// When it fails, the content is discarded.
func (s *Service) AddDocument(ctx context.Context, a Actor, id string, in DocumentInput, c Content) (CaseDocument, error) {
	var out CaseDocument
	in.Title, in.Language = strings.TrimSpace(in.Title), strings.TrimSpace(in.Language)
	err := s.onVisible(ctx, a, id, ActionUploadDocument, func(tx Tx, r Request) error {
		if !s.policy.MayAddDocument(a, r) {
			return errMayNotAdd
		}
		if in.Version != nil && *in.Version != r.Version {
			return Errorf(ErrVersionConflict, "the request is at version %d, not %d", r.Version, *in.Version)
		}
		if err := s.validateDocument(ctx, r, in); err != nil {
			return err
		}
		d := CaseDocument{
			ID: NewIDAt(s.now()), RequestID: r.ID, Type: in.Type, Language: in.Language, Title: in.Title,
			Filename: cleanFilename(in.Filename), MediaType: c.MediaType, Size: c.Size, SHA256: c.SHA256,
			BlobKey: c.Key, TranslationOf: in.TranslationOf, UploadedBy: a.Username, Authority: a.Authority,
			At: s.clock(),
		}
		switch {
		case in.TranslationStatus != TranslationNone:
			d.TranslationStatus = in.TranslationStatus
		case d.TranslationOf != "":
			d.TranslationStatus = TranslationDone
		}
		if err := tx.Apply(ctx, Uploaded(a, r, d)); err != nil {
			return err
		}
		out = d
		return nil
	}, func(Request) map[string]any { return map[string]any{"type": truncate(string(in.Type), 40)} })
	if err != nil {
		s.DiscardContent(ctx, c)
		return CaseDocument{}, err
	}
	return out, nil
}

// validateDocument checks an upload's metadata; a translation must render
// a document of the same request.
func (s *Service) validateDocument(ctx context.Context, r Request, in DocumentInput) error {
	errs := fieldErrors{}
	if !slices.Contains(DocumentTypes, in.Type) {
		errs.add("type", "must be one of: "+joinTypes())
	}
	switch {
	case in.Title == "":
		errs.add("title", "is required")
	default:
		checkText(errs, "title", in.Title, MaxDocumentTitle)
	}
	if !validLanguage(in.Language) {
		errs.add("language", "must be a language tag such as en, it, es, th or pt-BR")
	}
	checkText(errs, "filename", in.Filename, MaxFilename)
	if in.TranslationStatus != TranslationNone && !slices.Contains(TranslationStatuses, in.TranslationStatus) {
		errs.add("translation_status", "must be one of: needed, in_progress, done")
	}
	if in.TranslationOf != "" {
		switch orig, err := s.document(ctx, in.TranslationOf); {
		case ErrorCode(err) == ErrNotFound || (err == nil && orig.RequestID != r.ID):
			errs.add("translation_of", "no such document on this request")
		case err != nil:
			return err
		case orig.Language == in.Language:
			errs.add("translation_of", "a translation is in another language than its original")
		}
	}
	return errs.err()
}

// document reads one document, not found for an id no document can have.
func (s *Service) document(ctx context.Context, id string) (CaseDocument, error) {
	if TextProblem(id) != "" || len(id) > 64 {
		return CaseDocument{}, errDocumentNotFound
	}
	d, err := s.store.Document(ctx, id)
	if ErrorCode(err) == ErrNotFound {
		return CaseDocument{}, errDocumentNotFound
	}
	return d, err
}

func joinTypes() string {
	parts := make([]string, len(DocumentTypes))
	for i, t := range DocumentTypes {
		parts[i] = string(t)
	}
	return strings.Join(parts, ", ")
}

// validLanguage accepts a BCP 47 tag of the common shape: a primary
// language of 2 or 3 letters, then subtags of 2 to 8 letters or digits.
func validLanguage(s string) bool {
	if s == "" || len(s) > MaxLanguage {
		return false
	}
	for i, part := range strings.Split(s, "-") {
		if i == 0 && (len(part) < 2 || len(part) > 3) || len(part) < 1 || len(part) > 8 {
			return false
		}
		for _, c := range part {
			letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
			if !letter && (i == 0 || c < '0' || c > '9') {
				return false
			}
		}
	}
	return true
}

// cleanFilename keeps the last element of a client's file name, without
// control characters, cut to MaxFilename characters: a name to offer when
// saving, never a path.
func cleanFilename(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '"' {
			return -1
		}
		return r
	}, name)
	if utf8.RuneCountInString(name) > MaxFilename {
		name = string([]rune(name)[:MaxFilename])
	}
	if strings.TrimSpace(name) == "" {
		return "document"
	}
	return name
}

// Uploaded is the change of a document d added by a to r: the document,
// the audit entry document.upload with its SHA-256, and its outbox message.
func Uploaded(a Actor, r Request, d CaseDocument) Change {
	details := map[string]any{
		"document_id": d.ID, "type": d.Type, "language": d.Language, "media_type": d.MediaType,
		"size": d.Size, "sha256": d.SHA256,
	}
	if d.TranslationOf != "" {
		details["translation_of"] = d.TranslationOf
	}
	return Change{
		At: d.At, Actor: a.Username, Authority: a.Authority, Action: ActionUploadDocument,
		RequestID: d.RequestID, Outcome: OutcomeOK, Details: details, Document: &d,
		Outbox: caseFileMessage(ActionUploadDocument, r, d.At, Audience(r)),
	}
}

// Documents lists the documents of a request the actor may see, oldest
// first.
func (s *Service) Documents(ctx context.Context, a Actor, id string) ([]CaseDocument, error) {
	r, err := s.Get(ctx, a, id)
	if err != nil {
		return nil, err
	}
	return s.store.Documents(ctx, r.ID)
}

// Document returns one document the actor may see: one of a request it may
// see (CONTRACT 6: visibility is the request's).
func (s *Service) Document(ctx context.Context, a Actor, id string) (CaseDocument, error) {
	d, _, err := s.visibleDocument(ctx, a, id)
	return d, err
}

// visibleDocument loads a document and its request, and hides both, as
// not found, from an actor who may not see the request.
func (s *Service) visibleDocument(ctx context.Context, a Actor, id string) (CaseDocument, Request, error) {
	d, err := s.document(ctx, id)
	if err != nil {
		return CaseDocument{}, Request{}, err
	}
	r, err := s.Get(ctx, a, d.RequestID)
	if ErrorCode(err) == ErrNotFound {
		return CaseDocument{}, Request{}, errDocumentNotFound
	}
	if err != nil {
		return CaseDocument{}, Request{}, err
	}
	return d, r, nil
}

// ErrTampered is wrapped by the error of a download whose stored bytes no
// longer match their SHA-256: they are never served.
var ErrTampered = errors.New("TAMPERING: the stored bytes of a document do not match the SHA-256 recorded at upload")

// OpenDocument returns a document the actor may see with its bytes, after
// checking them against the SHA-256 recorded at upload (ErrTampered, an
// internal error, when they differ: such bytes are never served), and
// records the download (document.download) before it returns them. The
// caller closes the reader; it reads from the start.
func (s *Service) OpenDocument(ctx context.Context, a Actor, id string) (CaseDocument, io.ReadSeekCloser, error) {
	if s.blobs == nil {
		return CaseDocument{}, nil, errNoBlobs
	}
	d, _, err := s.visibleDocument(ctx, a, id)
	if err != nil {
		return CaseDocument{}, nil, err
	}
	f, err := s.blobs.Open(ctx, d.BlobKey)
	if err != nil {
		return CaseDocument{}, nil, fmt.Errorf("open document %s: %w", d.ID, err)
	}
	if err := VerifyContent(f, d); err != nil {
		f.Close()
		return CaseDocument{}, nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return CaseDocument{}, nil, fmt.Errorf("rewind document %s: %w", d.ID, err)
	}
	c := Recorded(a, s.clock(), ActionDownloadDocument, OutcomeOK, map[string]any{"document_id": d.ID, "sha256": d.SHA256})
	c.RequestID = d.RequestID
	ctx = context.WithoutCancel(ctx) // recorded whole, or nothing served
	if err := s.store.WithTx(ctx, func(tx Tx) error { return tx.Apply(ctx, c) }); err != nil {
		f.Close()
		return CaseDocument{}, nil, fmt.Errorf("record the download: %w", err)
	}
	return d, f, nil
}

// VerifyContent reads r to its end and tells whether it holds d's bytes:
// nil, or an error wrapping ErrTampered.
func VerifyContent(r io.Reader, d CaseDocument) error {
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return fmt.Errorf("read document %s: %w", d.ID, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != d.SHA256 || n != d.Size {
		return fmt.Errorf("document %s of request %s (blob %s): %w: %d bytes hashing %s, recorded %d bytes %s",
			d.ID, d.RequestID, d.BlobKey, ErrTampered, n, got, d.Size, d.SHA256)
	}
	return nil
}

// SetTranslationStatus sets how far a document's translation has come,
// for those who may add documents to its request. The checks: the
// document's visibility (404), the actor (403), the status (422).
func (s *Service) SetTranslationStatus(ctx context.Context, a Actor, id string, st TranslationStatus) (CaseDocument, error) {
	d, _, err := s.visibleDocument(ctx, a, id)
	if err != nil {
		return CaseDocument{}, err
	}
	var out CaseDocument
	err = s.store.WithTx(ctx, func(tx Tx) error {
		r, err := s.visible(ctx, tx.Request, a, d.RequestID)
		if err != nil {
			return errDocumentNotFound
		}
		if !s.policy.MayAddDocument(a, r) {
			return Errorf(ErrForbidden, "only the officers and supervisors of the request's two authorities track translations")
		}
		if !slices.Contains(TranslationStatuses, st) {
			return Invalid("translation_status", "must be one of: needed, in_progress, done")
		}
		out = d
		out.TranslationStatus = st
		c := Recorded(a, s.clock(), ActionUpdateDocument, OutcomeOK,
			map[string]any{"document_id": d.ID, "translation_status": string(st)})
		c.RequestID = d.RequestID
		c.DocumentStatus = &DocumentStatusChange{DocumentID: d.ID, From: d.TranslationStatus, To: st}
		c.Outbox = caseFileMessage(ActionUpdateDocument, r, c.At, Audience(r))
		return tx.Apply(ctx, c)
	})
	if err != nil {
		s.recordDenied(ctx, a, ActionUpdateDocument, d.RequestID, err, map[string]any{"document_id": d.ID})
		return CaseDocument{}, err
	}
	return out, nil
}

// LanguagesDone lists, in order, the languages a request's documents are
// available in: those of its originals (no translation_of), and those of
// the translations marked done.
func LanguagesDone(docs []CaseDocument) []string {
	var out []string
	for _, d := range docs {
		if (d.TranslationOf == "" || d.TranslationStatus == TranslationDone) && !slices.Contains(out, d.Language) {
			out = append(out, d.Language)
		}
	}
	slices.Sort(out)
	return out
}
