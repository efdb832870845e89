package testkit

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"
)

// PDFText returns the text a PDF written by go-pdf/fpdf in a Unicode font
// shows, one shown string a line, so that a test can look for what a PDF
// says (a reference, a name it must or must not print). fpdf writes each
// line as a literal string of UTF-16BE code units, shown by Tj, in page
// streams it may compress with Flate; that, and no more of PDF, is read.
func PDFText(pdf []byte) (string, error) {
	var out strings.Builder
	rest := pdf
	for {
		i := bytes.Index(rest, []byte("\nstream\n"))
		if i < 0 {
			break
		}
		rest = rest[i+len("\nstream\n"):]
		j := bytes.Index(rest, []byte("\nendstream"))
		if j < 0 {
			return "", fmt.Errorf("a stream without its end")
		}
		data := rest[:j]
		rest = rest[j:]
		if z, err := zlib.NewReader(bytes.NewReader(data)); err == nil {
			if inflated, err := io.ReadAll(z); err == nil {
				data = inflated
			}
		}
		if !bytes.Contains(data, []byte("Tj")) || !bytes.Contains(data, []byte("BT")) {
			continue // a font, an image: no text shown
		}
		for _, s := range shownStrings(data) {
			out.WriteString(s)
			out.WriteByte('\n')
		}
	}
	return out.String(), nil
}

// shownStrings reads the literal strings of a content stream that Tj
// shows, decoded from UTF-16BE.
func shownStrings(content []byte) []string {
	var out []string
	for i := 0; i < len(content); i++ {
		if content[i] != '(' {
			continue
		}
		raw, end := literal(content, i+1)
		i = end
		after := bytes.TrimLeft(content[min(end+1, len(content)):], " \n\r")
		if !bytes.HasPrefix(after, []byte("Tj")) {
			continue
		}
		units := make([]uint16, 0, len(raw)/2)
		for k := 0; k+1 < len(raw); k += 2 {
			units = append(units, uint16(raw[k])<<8|uint16(raw[k+1]))
		}
		out = append(out, string(utf16.Decode(units)))
	}
	return out
}

// literal reads a PDF literal string from content[start:] (after its
// opening parenthesis): its bytes unescaped, and the index of its closing
// parenthesis.
func literal(content []byte, start int) ([]byte, int) {
	var b []byte
	depth := 0
	for i := start; i < len(content); i++ {
		c := content[i]
		switch {
		case c == '\\' && i+1 < len(content):
			i++
			switch e := content[i]; e {
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case '\n':
			default:
				if e >= '0' && e <= '7' {
					v, n := 0, 0
					for ; n < 3 && i < len(content) && content[i] >= '0' && content[i] <= '7'; n++ {
						v = v*8 + int(content[i]-'0')
						i++
					}
					i--
					b = append(b, byte(v))
				} else {
					b = append(b, e)
				}
			}
		case c == '(':
			depth++
			b = append(b, c)
		case c == ')' && depth > 0:
			depth--
			b = append(b, c)
		case c == ')':
			return b, i
		default:
			b = append(b, c)
		}
	}
	return b, len(content)
}
