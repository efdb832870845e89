package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/mla-flow/mla-flow/internal/idem"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// Idempotency-Key on every POST (CONTRACT 8). A caller's key (keys are
// scoped by caller: idem.Key) is claimed in the database before the
// handler runs, so that of two first attempts, on one server or two, one
// runs and the other waits for its answer. The attempt carries its claim
// in its context, and the store marks the key inside every write
// transaction of the attempt (the change's own): after a crash between
// the change's commit and the stored answer, a repeat finds the mark and
// never makes the change again (it answers idempotency_answer_lost). The
// answer (status, the headers of replayedHeaders, body) is stored after
// the handler and replayed to every repeat with the same key and the same
// request, with Idempotent-Replayed: true; another request under the key
// is refused (422). Keys live idem.Lifetime; the prune job forgets them.

// The headers of the protocol.
const (
	headerIdempotencyKey = "Idempotency-Key"
	headerReplayed       = "Idempotent-Replayed"
)

// maxIdempotencyKey is the longest key accepted, in characters (the key
// is printable ASCII, so in bytes too).
const maxIdempotencyKey = 255

// replayedHeaders are the headers of an answer that a replay sends again:
// those that belong to the answer itself. The others (request id,
// security headers) are the repeat's own.
var replayedHeaders = []string{echo.HeaderContentType, "ETag", echo.HeaderLocation, echo.HeaderContentDisposition}

// idempotencyWait is how long a repeat waits for the first attempt with
// its key to answer before it answers idempotency_in_progress (409): long
// enough for any ordinary command, short enough that a client is not held
// by a stalled one. Waiting, rather than refusing at once, lets a client
// that retries on a timeout get the answer in the retry.
var idempotencyWait = 10 * time.Second // a variable for the test of the wait's end

// idempotent runs the protocol on the POSTs behind it, for the caller
// requireUser signed in; other methods, and POSTs without the header, pass
// through. now is the service's clock, which dates keys and leases.
func idempotent(keys idem.Store, now func() time.Time, logger *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			values, sent := req.Header[headerIdempotencyKey]
			if req.Method != http.MethodPost || !sent {
				return next(c)
			}
			key, err := checkIdempotencyKey(values)
			if err != nil {
				return err
			}
			u := userFrom(c)
			if u.ID == "" {
				// Keys are scoped by caller, and every caller requireUser
				// signs in has an id (a user's, an API key's): an empty one
				// is a wiring fault (the middleware without the guard before
				// it). Running the handler without the protocol would let a
				// retry make its change twice, so answer 500 instead, logged
				// by errorHandler; the public routes (log-in, refresh) do not
				// run this middleware at all.
				return fmt.Errorf("idempotency: POST %s carries an Idempotency-Key but no signed-in caller to scope it by: "+
					"the idempotency middleware must run after requireUser", c.Path())
			}
			k := idem.Key{Owner: u.ID, Key: key}
			fp := newFingerprint(req)
			token := newRequestID()
			ctx := req.Context()
			give := time.Now().Add(idempotencyWait)
			for {
				t := now()
				rec, won, err := keys.Claim(ctx, k, token, t, t.Add(idem.Lease))
				if err != nil {
					return err
				}
				if won {
					return runClaimed(c, next, keys, idem.Claim{Key: k, Token: token}, fp, logger)
				}
				rec, err = awaitAnswer(ctx, keys, rec, now, give)
				if err != nil {
					return err
				}
				if !rec.Pending() {
					return replay(c, rec, fp)
				}
				// Gone, expired or abandoned while waiting: claim again.
			}
		}
	}
}

// checkIdempotencyKey returns the one key of the header's values: 1 to
// 255 printable ASCII characters.
func checkIdempotencyKey(values []string) (string, error) {
	if len(values) != 1 {
		return "", workflow.Invalid(headerIdempotencyKey, "give one key")
	}
	key := values[0]
	if key == "" {
		return "", workflow.Invalid(headerIdempotencyKey, "must not be empty")
	}
	if len(key) > maxIdempotencyKey {
		return "", workflow.Invalid(headerIdempotencyKey, "must be at most 255 characters")
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 || key[i] > 0x7e {
			return "", workflow.Invalid(headerIdempotencyKey, "must be printable ASCII characters")
		}
	}
	return key, nil
}

// awaitAnswer polls the record of a key another attempt holds until that
// attempt has answered (the record then holds the answer), the record
// became claimable (returned pending, to claim it again), or give passes.
// A holder whose lease lapsed after its change committed will never
// answer: that is idempotency_answer_lost.
func awaitAnswer(ctx context.Context, keys idem.Store, rec idem.Record, now func() time.Time, give time.Time) (idem.Record, error) {
	pause := 5 * time.Millisecond
	for {
		if !rec.Pending() {
			return rec, nil
		}
		t := now()
		if rec.CreatedAt.Before(t.Add(-idem.Lifetime)) {
			return rec, nil // expired: claim it anew
		}
		if rec.LeaseUntil.Before(t) {
			if rec.EffectSeq != 0 {
				return rec, errAnswerLost(rec)
			}
			return rec, nil // abandoned without effect: take it over
		}
		if time.Now().After(give) {
			return rec, errInProgress
		}
		select {
		case <-ctx.Done():
			return rec, ctx.Err()
		case <-time.After(pause):
		}
		pause = min(2*pause, 100*time.Millisecond)
		stored, found, err := keys.Lookup(ctx, rec.Key)
		if err != nil {
			return rec, err
		}
		if !found {
			return idem.Record{Key: rec.Key}, nil // released: claim it
		}
		rec = stored
	}
}

// errInProgress answers a repeat that waited idempotencyWait in vain.
var errInProgress = &workflow.Error{Code: workflow.ErrIdempotencyInProgress,
	Message: "the first request with this Idempotency-Key is still being processed; retry later for its answer"}

func errAnswerLost(rec idem.Record) error {
	msg := "the first request with this Idempotency-Key made its change, but the server stopped before storing its answer; " +
		"the change is not made again: read the resource to see it"
	if rec.EffectSeq > 0 {
		return workflow.Errorf(workflow.ErrIdempotencyAnswerLost, "%s (audit entry %d)", msg, rec.EffectSeq)
	}
	return workflow.Errorf(workflow.ErrIdempotencyAnswerLost, "%s", msg)
}

// runClaimed runs the handler as the attempt holding c, records its answer
// as sent, and stores it. An answer that must not be replayed (a fault of
// the server, 5xx, or a body not read to its end) releases the key, for a
// retry to run again, unless the attempt committed a change: then it is
// stored all the same, and a retry gets the same answer rather than a
// second change.
func runClaimed(c echo.Context, next echo.HandlerFunc, keys idem.Store, claim idem.Claim, fp *fingerprint, logger *slog.Logger) error {
	req := c.Request()
	c.SetRequest(req.WithContext(idem.WithClaim(req.Context(), keys, claim)))
	res := c.Response()
	rec := &answerRecorder{ResponseWriter: res.Writer}
	res.Writer = rec
	defer func() {
		if p := recover(); p != nil {
			// A panic is a fault of the server (recoverPanics answers
			// it): the key is released unless a change committed, as
			// for any 5xx; a committed one keeps the key pending until
			// its lease lapses, and a repeat then learns of it.
			res.Writer = rec.ResponseWriter
			_, _ = keys.Release(context.WithoutCancel(req.Context()), claim)
			panic(p)
		}
	}()
	err := next(c)
	if err != nil {
		c.Error(err) // answered here, so that the answer is recorded
	}
	res.Writer = rec.ResponseWriter
	c.SetRequest(req)

	ctx := context.WithoutCancel(req.Context()) // without the claim: these are the key's own writes
	sum, drained := fp.finish()
	if res.Status >= 500 || !drained {
		released, rerr := keys.Release(ctx, claim)
		if rerr != nil {
			logger.WarnContext(ctx, "idempotency key not released", "request_id", requestIDOf(c), "error", rerr.Error())
		}
		if released || rerr != nil {
			return nil
		}
	}
	headers := map[string]string{}
	for _, name := range replayedHeaders {
		if v := res.Header().Get(name); v != "" {
			headers[name] = v
		}
	}
	status, body := res.Status, rec.body.Bytes()
	if withheld, _ := c.Get(secretAnswerKey).(bool); withheld {
		status, body = withheldAnswer(headers)
	}
	if err := keys.Complete(ctx, claim, sum, status, headers, body); err != nil {
		logger.WarnContext(ctx, "idempotent answer not stored", "request_id", requestIDOf(c), "error", err.Error())
	}
	return nil
}

// replay answers rec's stored answer to a repeat whose request has the
// same fingerprint, and refuses another request under the same key.
func replay(c echo.Context, rec idem.Record, fp *fingerprint) error {
	sum, drained := fp.finish()
	if !drained {
		return fp.err
	}
	if sum != rec.Fingerprint {
		return workflow.Invalid(headerIdempotencyKey,
			"was used for another request (method, path, If-Match or body) in the last 24 hours; use a new key for a new request")
	}
	res := c.Response()
	for name, v := range rec.Headers {
		res.Header().Set(name, v)
	}
	res.Header().Set(headerReplayed, "true")
	res.WriteHeader(rec.Status)
	if len(rec.Body) == 0 {
		return nil
	}
	_, err := res.Write(rec.Body)
	return err
}

// fingerprint hashes what makes two requests under one key the same
// request: the method, path and query, the If-Match precondition, and the
// body, hashed as the handler reads it (an upload is streamed, never held)
// and drained to its end by finish.
type fingerprint struct {
	h    hash.Hash
	body io.Reader
	err  error
}

func newFingerprint(req *http.Request) *fingerprint {
	fp := &fingerprint{h: sha256.New()}
	for _, part := range []string{req.Method, req.URL.Path, req.URL.RawQuery, req.Header.Get("If-Match")} {
		fp.h.Write([]byte(part))
		fp.h.Write([]byte{0})
	}
	if req.Body != nil && req.Body != http.NoBody {
		fp.body = req.Body
		req.Body = &hashingBody{ReadCloser: req.Body, h: fp.h}
	}
	return fp
}

// finish reads what the handler left of the body into the hash and
// returns the hash; drained is false when the body could not be read to
// its end (too large, the client gone), and err says why.
func (fp *fingerprint) finish() (string, bool) {
	if fp.body != nil {
		if _, err := io.Copy(fp.h, fp.body); err != nil {
			fp.err = err
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				fp.err = errTooLarge
			}
			return "", false
		}
		fp.body = nil
	}
	if fp.err != nil {
		return "", false
	}
	return hex.EncodeToString(fp.h.Sum(nil)), true
}

// hashingBody passes the body to the handler and its bytes to the hash.
type hashingBody struct {
	io.ReadCloser
	h hash.Hash
}

func (b *hashingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.h.Write(p[:n])
	return n, err
}

// answerRecorder keeps a copy of the answer's body as it is sent.
type answerRecorder struct {
	http.ResponseWriter
	body bytes.Buffer
}

func (r *answerRecorder) Write(p []byte) (int, error) {
	r.body.Write(p)
	return r.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (r *answerRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// secretAnswerKey is where keepSecret marks an answer in the Echo context.
const secretAnswerKey = "mla-flow.httpapi.secret-answer"

// keepSecret tells the idempotency middleware that the answer being sent
// holds a secret shown once (an API key, a webhook's secret): it is not
// stored, and a repeat under the same key answers withheldAnswer instead
// of showing the secret twice or making a second one. Every handler
// whose answer holds a secret calls it before answering.
func keepSecret(c echo.Context) { c.Set(secretAnswerKey, true) }

// withheldAnswer is what a repeat gets of an answer keepSecret withheld:
// 409 idempotency_answer_lost, the resource's Location kept (it is in
// headers, which are the answer's replayed headers, without those of its
// body).
func withheldAnswer(headers map[string]string) (int, []byte) {
	delete(headers, echo.HeaderContentDisposition)
	headers[echo.HeaderContentType] = echo.MIMEApplicationJSON
	body, _ := json.Marshal(errorJSON{Error: errorBody{Code: workflow.ErrIdempotencyAnswerLost,
		Message: "the first request with this Idempotency-Key succeeded, but its answer held a secret that is shown once and not kept; " +
			"the change is not made again (Location names what it made, when it made one)"}})
	return http.StatusConflict, body
}
