package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// latencyStats summarises latencies, in milliseconds.
type latencyStats struct {
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
}

// summarize sorts lat (in place) and returns its percentiles (nearest
// rank).
func summarize(lat []time.Duration) latencyStats {
	if len(lat) == 0 {
		return latencyStats{}
	}
	slices.Sort(lat)
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	pct := func(p float64) float64 {
		i := int(p*float64(len(lat))+0.999999) - 1
		return ms(lat[min(max(i, 0), len(lat)-1)])
	}
	return latencyStats{
		Mean: ms(sum / time.Duration(len(lat))),
		P50:  pct(0.50),
		P90:  pct(0.90),
		P99:  pct(0.99),
		Max:  ms(lat[len(lat)-1]),
	}
}

// procSampler watches a process through /proc: its CPU time (user plus
// system) and its resident memory, sampled every 50 ms.
type procSampler struct {
	pid     int
	ticks   float64 // clock ticks per second of /proc/PID/stat
	stop    chan struct{}
	done    chan struct{}
	mu      sync.Mutex
	maxRSS  int64 // bytes
	samples int
}

// serverStats is what the sampler saw during the measured window.
type serverStats struct {
	PID int `json:"pid"`
	// CPUSeconds is the server's CPU time (user + system) in the window.
	CPUSeconds float64 `json:"cpu_s"`
	// CPUMsPerOp is CPUSeconds per operation, in milliseconds.
	CPUMsPerOp float64 `json:"cpu_ms_per_op"`
	// RSSMaxMB is the highest resident memory sampled in the window.
	RSSMaxMB float64 `json:"rss_max_mb"`
	// HWMMB is the process's peak resident memory since it started
	// (VmHWM), read at the end.
	HWMMB float64 `json:"rss_peak_since_start_mb"`
}

func newProcSampler(pid int) (*procSampler, error) {
	if _, err := cpuTime(pid, 100); err != nil {
		return nil, fmt.Errorf("--server-pid %d: %w", pid, err)
	}
	return &procSampler{pid: pid, ticks: 100, stop: make(chan struct{}), done: make(chan struct{})}, nil
}

// start samples memory until finish is called, and returns the CPU time at
// the start.
func (p *procSampler) start() float64 {
	c, _ := cpuTime(p.pid, p.ticks)
	go func() {
		defer close(p.done)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if rss, err := procStatus(p.pid, "VmRSS:"); err == nil {
				p.mu.Lock()
				p.maxRSS = max(p.maxRSS, rss)
				p.samples++
				p.mu.Unlock()
			}
			select {
			case <-p.stop:
				return
			case <-t.C:
			}
		}
	}()
	return c
}

// finish stops sampling and returns what was seen since start.
func (p *procSampler) finish(startCPU float64, ops int64) serverStats {
	endCPU, _ := cpuTime(p.pid, p.ticks)
	close(p.stop)
	<-p.done
	hwm, _ := procStatus(p.pid, "VmHWM:")
	p.mu.Lock()
	defer p.mu.Unlock()
	s := serverStats{
		PID:        p.pid,
		CPUSeconds: endCPU - startCPU,
		RSSMaxMB:   float64(p.maxRSS) / (1 << 20),
		HWMMB:      float64(hwm) / (1 << 20),
	}
	if ops > 0 {
		s.CPUMsPerOp = s.CPUSeconds * 1000 / float64(ops)
	}
	return s
}

// cpuTime reads the user and system time of a process, in seconds.
func cpuTime(pid int, ticks float64) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces: fields are
	// counted after its closing parenthesis.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// After ")": state(3) ... utime is field 14, stime 15 (1-based, man 5 proc).
	if len(f) < 13 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	ut, err1 := strconv.ParseFloat(f[11], 64)
	st, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	return (ut + st) / ticks, nil
}

// procStatus reads one "kB" line of /proc/PID/status, in bytes.
func procStatus(pid int, key string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, key); ok {
			fields := strings.Fields(rest)
			if len(fields) == 0 {
				break
			}
			kb, err := strconv.ParseInt(fields[0], 10, 64)
			if err != nil {
				return 0, err
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", key, pid)
}
