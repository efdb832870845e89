package main

import (
	"fmt"
	"io"
	"os"
	"time"
)

// fsyncResult is what the fsync probe measured.
type fsyncResult struct {
	Dir     string       `json:"dir"`
	Rounds  int          `json:"rounds"`
	Bytes   int          `json:"bytes_per_write"`
	Latency latencyStats `json:"latency_ms"`
	// SerialCommitsPerS is 1 / mean latency: how many transactions a
	// database that fsyncs once per commit can commit one after another.
	SerialCommitsPerS float64 `json:"serial_commits_per_s"`
}

// fsyncProbe appends 4 KiB to a new file in dir and fsyncs it, rounds
// times, the way a WAL commit does, and reports the latency of each round.
// The file is removed afterwards.
func fsyncProbe(dir string, rounds int) (fsyncResult, error) {
	f, err := os.CreateTemp(dir, "fsync-probe-*.tmp")
	if err != nil {
		return fsyncResult{}, fmt.Errorf("fsync probe: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	const size = 4096
	buf := make([]byte, size)
	for i := range buf {
		buf[i] = byte(i)
	}
	lat := make([]time.Duration, 0, rounds)
	var total time.Duration
	for range rounds {
		start := time.Now()
		if _, err := f.Write(buf); err != nil {
			return fsyncResult{}, fmt.Errorf("fsync probe: %w", err)
		}
		if err := f.Sync(); err != nil {
			return fsyncResult{}, fmt.Errorf("fsync probe: %w", err)
		}
		d := time.Since(start)
		total += d
		lat = append(lat, d)
	}
	res := fsyncResult{Dir: dir, Rounds: rounds, Bytes: size, Latency: summarize(lat)}
	if total > 0 {
		res.SerialCommitsPerS = float64(rounds) / total.Seconds()
	}
	return res, nil
}

func (r fsyncResult) print(w io.Writer) {
	fmt.Fprintf(w, "fsync probe in %s: %d rounds of write(%d B)+fsync\n", r.Dir, r.Rounds, r.Bytes)
	fmt.Fprintf(w, "latency ms: mean %.3f  p50 %.3f  p90 %.3f  p99 %.3f  max %.3f\n",
		r.Latency.Mean, r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.Max)
	fmt.Fprintf(w, "serial commits/s bound: %.0f\n", r.SerialCommitsPerS)
}
