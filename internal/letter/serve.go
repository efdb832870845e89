package letter

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// For composes and renders the letter of request id for the actor, through
// workflow.Service.Letter: the request as the actor may see it, the
// download audited before the bytes are returned.
func For(ctx context.Context, wf *workflow.Service, a workflow.Actor, id string) ([]byte, workflow.Request, error) {
	return forWith(ctx, wf, a, id, Render)
}

// forWith is For with the renderer given, for tests to read what is
// printed.
func forWith(ctx context.Context, wf *workflow.Service, a workflow.Actor, id string,
	render func(Letter, time.Time) ([]byte, error)) ([]byte, workflow.Request, error) {
	authorities, err := wf.Authorities(ctx)
	if err != nil {
		return nil, workflow.Request{}, err
	}
	byCode := map[string]workflow.Authority{}
	for _, au := range authorities {
		byCode[au.Code] = au
	}
	now := wf.Now()
	return wf.Letter(ctx, a, id, func(r workflow.Request) ([]byte, error) {
		in := Input{
			Request: r, Requesting: byCode[r.RequestingAuthority], Requested: byCode[r.RequestedAuthority], Date: now,
		}
		if r.Instrument != "" {
			in.Instrument = wf.InstrumentLabel(r.Instrument)
		}
		return render(Compose(in), now)
	})
}

// MediaType is the letter's media type.
const MediaType = "application/pdf"

// Serve writes a letter's bytes as an attachment named after the
// request's reference, never sniffed.
func Serve(w http.ResponseWriter, r workflow.Request, pdf []byte) error {
	h := w.Header()
	h.Set("Content-Type", MediaType)
	// FileName holds only characters that need no escaping in a quoted
	// string.
	h.Set("Content-Disposition", `attachment; filename="`+FileName(r)+`"`)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(pdf)))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(pdf)
	return err
}

// FileName is the letter's file name: the reference, ".pdf", of letters,
// digits, "-", "_" and "." only.
func FileName(r workflow.Request) string {
	name := strings.Map(func(c rune) rune {
		if c < 0x80 && (unicode.IsLetter(c) || unicode.IsDigit(c) || c == '-' || c == '_' || c == '.') {
			return c
		}
		return -1
	}, r.Reference)
	if name == "" {
		name = "letter-of-request"
	}
	return name + ".pdf"
}
