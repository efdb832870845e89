package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime/debug"
	"time"

	"github.com/mla-flow/mla-flow/internal/store"
)

// startDebug serves Go's profiler and the store's write statistics on addr
// (a loopback address; config refuses others), on a listener of its own so
// that nothing of it is reachable through the public one:
//
//	/debug/pprof/        the profiles of net/http/pprof
//	/debug/store         the group-commit writer's counters, as JSON
//
// It returns a function that stops the listener.
func startDebug(addr string, st *store.Store, logger *slog.Logger, stdout io.Writer) (func(), error) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/store", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(st.WriteStats())
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("debug listener: %w", err)
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); !ok || !tcp.IP.IsLoopback() {
		ln.Close()
		return nil, fmt.Errorf("debug listener: %s is not a loopback address", ln.Addr())
	}
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	go srv.Serve(ln)
	fmt.Fprintf(stdout, "debug listener (pprof) on http://%s/debug/pprof/\n", ln.Addr())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// GC settings of the server, unless GOGC or GOMEMLIMIT are set. The
// server's live heap is small (tens of MB) and it allocates fast under load,
// so Go's default (collect each time the heap doubles) ran the collector
// dozens of times a second, for about 8 % of the CPU. Collecting when it has
// grown fivefold, with a soft ceiling that makes the collector work harder
// before the heap gets anywhere near the memory the server may use, keeps
// resident memory well under 150 MB.
const (
	serverGCPercent   = 400
	serverMemoryLimit = 100 << 20
)

func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(serverGCPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(serverMemoryLimit)
	}
}
