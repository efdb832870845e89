package letter

import (
	"bytes"
	"fmt"
	"time"

	"codeberg.org/go-pdf/fpdf"
)

// The page's measures, in millimetres, and the font's sizes, in points.
const (
	margin     = 25.0
	lineHeight = 5.5
	bodySize   = 10.5
	family     = "dejavu"
)

// Render prints l as an A4 PDF dated date (its creation date, so that the
// same letter on the same day is the same bytes). It never panics: an
// error of the PDF library, or a panic of it, is returned as an error.
func Render(l Letter, date time.Time) (out []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, fmt.Errorf("render the letter of request: %v", p)
		}
	}()
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetCatalogSort(true) // the same letter, the same bytes
	pdf.SetCreationDate(date.UTC())
	pdf.SetModificationDate(date.UTC())
	pdf.SetMargins(margin, margin, margin)
	pdf.SetAutoPageBreak(true, margin)
	pdf.AddUTF8FontFromBytes(family, "", regularTTF)
	pdf.AddUTF8FontFromBytes(family, "B", boldTTF)
	pdf.SetTitle(printable("Letter of request "+l.Reference+": "+l.Title, false), true)
	pdf.SetSubject(ascii(l.Reference), false)
	pdf.SetCreator("mla-flow", false)
	pdf.AliasNbPages("{nb}")
	footer := printable(l.Reference, false)
	pdf.SetFooterFunc(func() {
		pdf.SetY(-margin + 8)
		pdf.SetFont(family, "", 8)
		pdf.SetTextColor(80, 80, 80)
		pdf.CellFormat(0, 4, fmt.Sprintf("%s - page %d of {nb}", footer, pdf.PageNo()), "", 0, "C", false, 0, "")
		pdf.SetTextColor(0, 0, 0)
	})
	pdf.AddPage()
	for _, b := range l.Blocks {
		block(pdf, b)
	}
	if err := pdf.Error(); err != nil {
		return nil, fmt.Errorf("render the letter of request: %w", err)
	}
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, fmt.Errorf("render the letter of request: %w", err)
	}
	return buf.Bytes(), nil
}

// block prints one block at the current position.
func block(pdf *fpdf.Fpdf, b Block) {
	text := printable(b.Text, b.Style == Para)
	switch b.Style {
	case Letterhead:
		pdf.SetFont(family, "B", 15)
		pdf.MultiCell(0, 7, text, "", "L", false)
	case Subject:
		pdf.SetFont(family, "B", 12)
		pdf.MultiCell(0, 6, text, "", "L", false)
	case Notice:
		pdf.SetFont(family, "B", 12)
		pdf.MultiCell(0, 7, text, "1", "C", false)
		pdf.Ln(2)
	case Heading:
		pdf.Ln(3)
		pdf.SetFont(family, "B", 11)
		pdf.MultiCell(0, 6, text, "", "L", false)
	case Para:
		pdf.SetFont(family, "", bodySize)
		pdf.MultiCell(0, lineHeight, text, "", "L", false)
		pdf.Ln(1)
	case Item:
		pdf.SetFont(family, "", bodySize)
		pdf.CellFormat(6, lineHeight, "•", "", 0, "L", false, 0, "")
		pdf.MultiCell(0, lineHeight, text, "", "L", false)
	case Field:
		pdf.SetFont(family, "B", bodySize)
		pdf.CellFormat(38, lineHeight, printable(b.Label, false), "", 0, "L", false, 0, "")
		pdf.SetFont(family, "", bodySize)
		pdf.MultiCell(0, lineHeight, text, "", "L", false)
	case Gap:
		pdf.Ln(lineHeight)
	default:
		pdf.SetFont(family, "", bodySize)
		pdf.MultiCell(0, lineHeight, text, "", "L", false)
	}
}

// ascii keeps the printable ASCII of s: the PDF's subject, written as
// plain bytes, which a reference (IT-MLA-2026-000042) always is.
func ascii(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x20 && s[i] < 0x7F {
			b = append(b, s[i])
		}
	}
	return string(b)
}
