package audit

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"strconv"
	"time"
)

// Entry is one audit record as it is stored and chained.
type Entry struct {
	Seq       int64     // 1, 2, 3, ... without gaps
	At        time.Time // kept to the microsecond, see TimeFormat
	Actor     string
	Authority string
	Action    string
	RequestID string
	Outcome   string
	Details   string // canonical JSON text, see CanonicalDetails
	PrevHash  string // Hash of the previous entry, GenesisHash for the first
	Hash      string // lower-case hex of the HMAC, see Seal
}

// GenesisHash is the PrevHash of the first entry of a chain: the empty
// string. It is framed like any other prev hash (see Seal), so an empty value
// is as unambiguous as a 64-digit one.
const GenesisHash = ""

// TimeFormat is how Canonical encodes an entry's time: UTC with exactly six
// fractional digits. A fixed precision makes the encoding independent of how
// a database rounds or prints timestamps; stores keep At to the microsecond
// (Truncate(time.Microsecond)) so that what they read back encodes the same.
const TimeFormat = "2006-01-02T15:04:05.000000Z"

// canonicalVersion opens every canonical encoding, so that a future change of
// the encoding cannot produce the same bytes as this one.
const canonicalVersion = "mla-flow/audit/v1"

// Canonical returns the bytes of e that Seal authenticates: a version tag,
// then Seq (decimal), At (TimeFormat), Actor, Authority, Action, RequestID,
// Outcome and Details, in that order. Every field is framed as
// "<byte length>:<bytes>," (a netstring), so no choice of field values can
// move a boundary and make two different entries encode alike. PrevHash and
// Hash are not part of it: Seal binds the previous hash separately, and Hash
// is the result.
func Canonical(e Entry) []byte {
	return appendCanonical(nil, e)
}

// appendCanonical appends the canonical encoding of e to b.
func appendCanonical(b []byte, e Entry) []byte {
	b = appendFrame(b, canonicalVersion)
	var scratch [64]byte // keeps the number and the time off the heap
	b = appendFrame(b, strconv.AppendInt(scratch[:0], e.Seq, 10))
	b = appendFrame(b, appendTime(scratch[:0], e.At))
	b = appendFrame(b, e.Actor)
	b = appendFrame(b, e.Authority)
	b = appendFrame(b, e.Action)
	b = appendFrame(b, e.RequestID)
	b = appendFrame(b, e.Outcome)
	return appendFrame(b, e.Details)
}

// appendTime appends t in TimeFormat. It writes the digits itself: the
// general time.Time.AppendFormat, which parses its layout on every call,
// was a third of the cost of verifying an entry. Years outside 0-9999 take
// the general path, which prints them the same way TimeFormat says.
func appendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(b, TimeFormat)
	}
	hour, min, sec := t.Clock()
	us := t.Nanosecond() / 1000
	b = appendDigits(b, year, 4)
	b = append(b, '-')
	b = appendDigits(b, int(month), 2)
	b = append(b, '-')
	b = appendDigits(b, day, 2)
	b = append(b, 'T')
	b = appendDigits(b, hour, 2)
	b = append(b, ':')
	b = appendDigits(b, min, 2)
	b = append(b, ':')
	b = appendDigits(b, sec, 2)
	b = append(b, '.')
	b = appendDigits(b, us, 6)
	return append(b, 'Z')
}

// appendDigits appends the n lowest decimal digits of v (v >= 0), padded
// with zeros.
func appendDigits(b []byte, v, n int) []byte {
	var d [8]byte
	for i := n - 1; i >= 0; i-- {
		d[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, d[:n]...)
}

// appendFrame appends s to b as a netstring.
func appendFrame[T string | []byte](b []byte, s T) []byte {
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	b = append(b, s...)
	return append(b, ',')
}

// Seal returns the hash of e chained to prevHash:
// hex(HMAC-SHA256(key, frame(prevHash) ‖ Canonical(e))), where frame is the
// same netstring framing Canonical uses and prevHash is taken as the text it
// is (lower-case hex, or GenesisHash). e.PrevHash and e.Hash are ignored.
func Seal(key []byte, prevHash string, e Entry) string {
	return string(newSealer(key).seal(prevHash, e))
}

// Sealer computes Seal for one key again and again without allocating
// anything but the result: an appender keeps one instead of setting up the
// HMAC for every entry. A Sealer is not safe for concurrent use.
type Sealer struct{ s *sealer }

// NewSealer returns a Sealer for key.
func NewSealer(key []byte) *Sealer { return &Sealer{s: newSealer(key)} }

// Seal is Seal with the Sealer's key.
func (s *Sealer) Seal(prevHash string, e Entry) string {
	return string(s.s.seal(prevHash, e))
}

// sealer computes Seal with a reusable HMAC state and buffers, so that a
// Verifier checks long chains without allocating per entry.
type sealer struct {
	mac hash.Hash
	buf []byte
	sum []byte
	hex []byte
}

func newSealer(key []byte) *sealer {
	return &sealer{mac: hmac.New(sha256.New, key), hex: make([]byte, 2*sha256.Size)}
}

// seal returns the hex hash of e chained to prevHash, in a buffer that the
// next call overwrites.
func (s *sealer) seal(prevHash string, e Entry) []byte {
	s.mac.Reset()
	s.buf = appendFrame(s.buf[:0], prevHash)
	s.buf = appendCanonical(s.buf, e)
	s.mac.Write(s.buf)
	s.sum = s.mac.Sum(s.sum[:0])
	hex.Encode(s.hex, s.sum)
	return s.hex
}

// CanonicalDetails encodes an entry's details as deterministic JSON: object
// keys sorted at every depth (encoding/json sorts map keys), no HTML escaping
// (so "<" stays "<" and the text reads as written), no trailing newline. A
// nil or empty map is "{}". The result is stored as it is and hashed as it
// is, so verification never has to re-encode it.
//
// Values that marshal themselves (json.Marshaler, json.RawMessage) could
// emit object keys in any order, so the first encoding is decoded once more
// into plain maps (numbers kept as written) and encoded again: whatever the
// input types, equal content gives equal bytes.
func CanonicalDetails(details map[string]any) (string, error) {
	if len(details) == 0 {
		return "{}", nil
	}
	if s, ok := canonicalFlat(details); ok {
		return s, nil
	}
	return canonicalGeneral(details)
}

// canonicalGeneral is CanonicalDetails for any details: encode, decode into
// plain values, encode again.
func canonicalGeneral(details map[string]any) (string, error) {
	first, err := encodeJSON(details)
	if err != nil {
		return "", err
	}
	dec := json.NewDecoder(bytes.NewReader(first))
	dec.UseNumber()
	var plain any
	if err := dec.Decode(&plain); err != nil {
		return "", fmt.Errorf("decode audit details: %w", err)
	}
	out, err := encodeJSON(plain)
	if err != nil {
		return "", err
	}
	return string(out), nil
}

// encodeJSON encodes v without HTML escaping and without the newline that
// json.Encoder appends.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode audit details: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
