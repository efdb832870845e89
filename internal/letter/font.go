package letter

import (
	_ "embed"
	"encoding/binary"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// The fonts of the letter: DejaVu Sans with the Thai block of Noto Sans
// Thai merged in (scripts/letter-font.py), whose licences (font/LICENSE)
// let them be copied and embedded. fpdf's core fonts know only Latin-1,
// which would break "García"'s neighbours in Greek, Cyrillic, Turkish or
// Vietnamese, and fpdf takes one font per style with no fallback, so a
// Thai name needs its glyphs in the same font.
var (
	//go:embed font/LetterSans.ttf
	regularTTF []byte
	//go:embed font/LetterSans-Bold.ttf
	boldTTF []byte
)

// covered tells which characters of the Basic Multilingual Plane both
// fonts have a glyph for; fpdf's Unicode fonts do not reach beyond it.
var covered = sync.OnceValue(func() []bool {
	reg, bold := cmapCoverage(regularTTF), cmapCoverage(boldTTF)
	for i := range reg {
		reg[i] = reg[i] && bold[i]
	}
	return reg
})

// printable is how text is printed: valid UTF-8, composed (NFC, so that
// "García" typed with a combining accent finds its precomposed glyph),
// without control and format characters (a bidirectional override could
// make a name read otherwise than it is stored), tabs as spaces, and "?"
// for every character the font lacks. Line breaks stay when keepLines.
func printable(s string, keepLines bool) string {
	if s == "" {
		return ""
	}
	s = norm.NFC.String(strings.ToValidUTF8(s, "?"))
	cov := covered()
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == '\n' && keepLines:
			b.WriteRune(r)
		case r == '\n' || r == '\t':
			b.WriteRune(' ')
		case r == '\r' || unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
		case r == utf8.RuneError || r > 0xFFFF || !cov[r]:
			b.WriteRune('?')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// cmapCoverage reads which BMP characters a TrueType font maps to a glyph,
// from its Windows Unicode cmap subtable (format 4). A font it cannot read
// covers ASCII only, so that text still prints.
func cmapCoverage(ttf []byte) []bool {
	out := make([]bool, 0x10000)
	if !readFormat4(ttf, out) {
		for r := 0x20; r < 0x7F; r++ {
			out[r] = true
		}
	}
	return out
}

func readFormat4(ttf []byte, out []bool) bool {
	u16 := func(off int) (int, bool) {
		if off < 0 || off+2 > len(ttf) {
			return 0, false
		}
		return int(binary.BigEndian.Uint16(ttf[off:])), true
	}
	u32 := func(off int) (int, bool) {
		if off < 0 || off+4 > len(ttf) {
			return 0, false
		}
		return int(binary.BigEndian.Uint32(ttf[off:])), true
	}
	n, ok := u16(4)
	if !ok {
		return false
	}
	cmap := -1
	for i := 0; i < n; i++ {
		rec := 12 + 16*i
		if rec+16 > len(ttf) {
			return false
		}
		if string(ttf[rec:rec+4]) == "cmap" {
			cmap, _ = u32(rec + 8)
		}
	}
	if cmap < 0 {
		return false
	}
	subtables, ok := u16(cmap + 2)
	if !ok {
		return false
	}
	sub := -1
	for i := 0; i < subtables; i++ {
		platform, _ := u16(cmap + 4 + 8*i)
		encoding, _ := u16(cmap + 4 + 8*i + 2)
		off, ok := u32(cmap + 4 + 8*i + 4)
		if !ok {
			return false
		}
		if format, _ := u16(cmap + off); format == 4 && (platform == 3 && encoding == 1 || platform == 0) {
			sub = cmap + off
			if platform == 3 {
				break
			}
		}
	}
	if sub < 0 {
		return false
	}
	segX2, ok := u16(sub + 6)
	if !ok {
		return false
	}
	ends, starts := sub+14, sub+16+segX2
	deltas, ranges := starts+segX2, starts+2*segX2
	for seg := 0; seg < segX2/2; seg++ {
		end, ok1 := u16(ends + 2*seg)
		start, ok2 := u16(starts + 2*seg)
		delta, ok3 := u16(deltas + 2*seg)
		rangeOff, ok4 := u16(ranges + 2*seg)
		if !ok1 || !ok2 || !ok3 || !ok4 {
			return false
		}
		for c := start; c <= end && c <= 0xFFFF; c++ {
			glyph := 0
			if rangeOff == 0 {
				glyph = (c + delta) & 0xFFFF
			} else if g, ok := u16(ranges + 2*seg + rangeOff + 2*(c-start)); ok && g != 0 {
				glyph = (g + delta) & 0xFFFF
			}
			if glyph != 0 {
				out[c] = true
			}
		}
	}
	return true
}
