package workflow

import (
	"strings"

	"github.com/gabriel-vasile/mimetype"
)

// allowedMediaTypes are the media types the case file takes (CONTRACT 6):
// PDF, the office and OpenDocument formats, raster images, plain text
// (CSV included) and XML. Not HTML, SVG or XHTML, which a browser would run scripts in, nor
// archives or programs: a case file holds documents, and the other side
// opens them.
var allowedMediaTypes = map[string]bool{
	"application/pdf": true,
	// Microsoft Office, old (OLE) and new (Office Open XML).
	"application/msword": true, "application/vnd.ms-excel": true, "application/vnd.ms-powerpoint": true,
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document":   true,
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":         true,
	"application/vnd.openxmlformats-officedocument.presentationml.presentation": true,
	"application/rtf": true, "text/rtf": true,
	// OpenDocument.
	"application/vnd.oasis.opendocument.text":         true,
	"application/vnd.oasis.opendocument.spreadsheet":  true,
	"application/vnd.oasis.opendocument.presentation": true,
	"application/vnd.oasis.opendocument.graphics":     true,
	// Images.
	"image/png": true, "image/jpeg": true, "image/gif": true, "image/tiff": true, "image/webp": true,
	"image/bmp": true, "image/heic": true, "image/heif": true, "image/jp2": true,
	// Text and XML.
	"text/plain": true, "text/xml": true, "application/xml": true,
	// Plain text that looks like a table (bank statements often are).
	"text/csv": true, "text/tab-separated-values": true,
}

// DetectMediaType tells the media type of a document from its first bytes
// (what the client declares is not trusted), and whether the case file
// takes it. Office and OpenDocument files are zip containers told apart by
// their first entries, which the first few kilobytes hold; text is told by
// its bytes being text (UTF-8 or UTF-16 with its mark).
func DetectMediaType(head []byte) (string, bool) {
	m := mimetype.Detect(head)
	base, _, _ := strings.Cut(m.String(), ";")
	return m.String(), allowedMediaTypes[strings.TrimSpace(base)]
}
