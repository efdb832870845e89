package store

import (
	"context"
	"database/sql"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// documentRow is the stored form of workflow.CaseDocument (migration 0006):
// the metadata; the bytes are in the blob store under blob_key.
type documentRow struct {
	ID                string         `gorm:"column:id;primaryKey"`
	RequestID         string         `gorm:"column:request_id"`
	Type              string         `gorm:"column:type"`
	Language          string         `gorm:"column:language"`
	Title             string         `gorm:"column:title"`
	Filename          string         `gorm:"column:filename"`
	MediaType         string         `gorm:"column:media_type"`
	Size              int64          `gorm:"column:size"`
	SHA256            string         `gorm:"column:sha256"`
	BlobKey           string         `gorm:"column:blob_key"`
	TranslationOf     sql.NullString `gorm:"column:translation_of"`
	TranslationStatus string         `gorm:"column:translation_status"`
	UploadedBy        string         `gorm:"column:uploaded_by"`
	Authority         string         `gorm:"column:authority"`
	AtUS              int64          `gorm:"column:at_us"`
}

func (documentRow) TableName() string { return "documents" }

func (r documentRow) toDomain() workflow.CaseDocument {
	return workflow.CaseDocument{
		ID: r.ID, RequestID: r.RequestID, Type: workflow.DocumentType(r.Type), Language: r.Language,
		Title: r.Title, Filename: r.Filename, MediaType: r.MediaType, Size: r.Size, SHA256: r.SHA256,
		BlobKey: r.BlobKey, TranslationOf: r.TranslationOf.String,
		TranslationStatus: workflow.TranslationStatus(r.TranslationStatus),
		UploadedBy:        r.UploadedBy, Authority: r.Authority, At: fromMicros(r.AtUS),
	}
}

func documentFromDomain(d workflow.CaseDocument) documentRow {
	return documentRow{
		ID: d.ID, RequestID: d.RequestID, Type: string(d.Type), Language: cleanText(d.Language),
		Title: cleanText(d.Title), Filename: cleanText(d.Filename), MediaType: d.MediaType, Size: d.Size,
		SHA256: d.SHA256, BlobKey: d.BlobKey,
		TranslationOf:     sql.NullString{String: d.TranslationOf, Valid: d.TranslationOf != ""},
		TranslationStatus: string(d.TranslationStatus),
		UploadedBy:        d.UploadedBy, Authority: d.Authority, AtUS: toMicros(d.At),
	}
}

var errDocumentNotFound = workflow.Errorf(workflow.ErrNotFound, "document not found")

// Documents lists the documents of a request, oldest first.
func (s *Store) Documents(ctx context.Context, requestID string) ([]workflow.CaseDocument, error) {
	var rows []documentRow
	if err := s.r.WithContext(ctx).Where("request_id = ?", requestID).Order("at_us, id").Find(&rows).Error; err != nil {
		return nil, s.fail(err, "list documents")
	}
	out := make([]workflow.CaseDocument, len(rows))
	for i, row := range rows {
		out[i] = row.toDomain()
	}
	return out, nil
}

// Document reads one document.
func (s *Store) Document(ctx context.Context, id string) (workflow.CaseDocument, error) {
	var row documentRow
	err := s.r.WithContext(ctx).Where("id = ?", id).Take(&row).Error
	if notFound(err) {
		return workflow.CaseDocument{}, errDocumentNotFound
	}
	if err != nil {
		return workflow.CaseDocument{}, s.fail(err, "load document")
	}
	return row.toDomain(), nil
}

// createDocument inserts a new document (Apply).
func (t *tx) createDocument(ctx context.Context, d workflow.CaseDocument) error {
	row := documentFromDomain(d)
	return t.db.WithContext(context.WithoutCancel(ctx)).Create(&row).Error
}

// errDocumentChanged is the conflict of a translation status set on a
// document whose status another command changed since it was read.
var errDocumentChanged = workflow.Errorf(workflow.ErrVersionConflict, "the document's translation status changed meanwhile; read it again")

// setDocumentStatus sets a translation status, if the stored one is still
// the one the command read (Apply).
func (t *tx) setDocumentStatus(ctx context.Context, c workflow.DocumentStatusChange) error {
	res := t.db.WithContext(context.WithoutCancel(ctx)).Exec(
		"UPDATE documents SET translation_status = ? WHERE id = ? AND translation_status = ?",
		string(c.To), c.DocumentID, string(c.From))
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected != 1 {
		return errDocumentChanged
	}
	return nil
}
