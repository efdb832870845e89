package store

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// TestDeadlinesCodec: the hand-written codec writes a document encoding/json
// reads as the same tracks, writes plain values exactly as encoding/json
// does, reads back what it wrote, and still reads what encoding/json wrote
// (values written before it, or holding text it leaves to encoding/json).
func TestDeadlinesCodec(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	texts := []string{"acknowledgement", "EIO Art. 16(1), within one week", "", `a "quoted" \ reason`,
		"délai <prolongé> & motivé", "line\nbreak", "証拠"}
	at := func() time.Time {
		return time.UnixMicro(rnd.Int64N(4e15) - 1e15).UTC()
	}
	opt := func() *time.Time {
		if rnd.IntN(2) == 0 {
			return nil
		}
		v := at()
		return &v
	}
	for i := range 2000 {
		var list []workflow.DeadlineTrack
		for range 1 + rnd.IntN(3) {
			tr := workflow.DeadlineTrack{
				Kind: texts[rnd.IntN(len(texts))], Basis: texts[rnd.IntN(len(texts))], Side: workflow.SideRequested,
				StartsAt: at(), DueAt: at(), StoppedSince: opt(), MetAt: opt(), EndedAt: opt(),
			}
			for range rnd.IntN(3) {
				tr.Extensions = append(tr.Extensions, workflow.Extension{Days: rnd.IntN(90), Reason: texts[rnd.IntN(len(texts))], Actor: "es.supervisor", At: at()})
			}
			list = append(list, tr)
		}
		enc, err := encodeDeadlines(list)
		if err != nil {
			t.Fatal(err)
		}
		std, err := json.Marshal(deadlineDocs(list))
		if err != nil {
			t.Fatal(err)
		}
		var viaStd []deadlineDoc
		if err := json.Unmarshal([]byte(enc), &viaStd); err != nil || !reflect.DeepEqual(viaStd, deadlineDocs(list)) {
			t.Fatalf("case %d: encoding/json reads %s as\n%+v (%v)", i, enc, viaStd, err)
		}
		plain := true
		for _, tr := range list {
			plain = plain && plainJSON(tr.Kind) && plainJSON(tr.Basis)
			for _, x := range tr.Extensions {
				plain = plain && plainJSON(x.Reason)
			}
		}
		if plain && enc != string(std) {
			t.Fatalf("case %d: wrote\n%s\nencoding/json writes\n%s", i, enc, std)
		}
		if _, fast := readDeadlinesJSON(enc); plain != fast {
			t.Fatalf("case %d: read by hand %v, plain %v: %s", i, fast, plain, enc)
		}
		for _, stored := range []string{enc, string(std)} {
			back, err := decodeDeadlines(stored)
			if err != nil || !reflect.DeepEqual(back, list) {
				t.Fatalf("case %d: %s reads back as\n%+v\nnot\n%+v (%v)", i, stored, back, list, err)
			}
		}
	}
	for _, bad := range []string{"[", `[{"kind":"a"}`, `[{"kind":1}]`, "{}", `[{"kind":"a","basis":"b","side":"c","starts_at_us":1,"due_at_us":x}]`} {
		if _, err := decodeDeadlines(bad); err == nil {
			t.Errorf("decodeDeadlines(%q) read it", bad)
		}
	}
}
