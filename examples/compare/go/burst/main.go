// Command burst is the Go reference of `compare bench`: a plain net/http server,
// standard library only, whose GET /burst?n=N&size=S sends the same events as every
// variant of the compare tool (`id: <n>`, `event: tick`, S bytes of data, for n =
// 1..N), each with one Write and one Flush, as a typical Go SSE handler does.
//
// The compare tool builds it with `go build` into its target directory and starts
// it as `burst --port P`, pinned to core 0 like every other server.
package main

import (
	"flag"
	"log"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
)

func main() {
	port := flag.Int("port", 0, "port on 127.0.0.1")
	flag.Parse()
	// The compare tool pins the server to one core: one P, as on a one-core machine
	// (the other servers run one runtime thread too).
	runtime.GOMAXPROCS(1)
	http.HandleFunc("/burst", burst)
	// net/http sets TCP_NODELAY on every accepted connection, as the other servers do.
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(*port))
	log.Fatal(http.ListenAndServe(addr, nil))
}

// burst writes the events of /burst?n=N&size=S (defaults 1000 and 64, at most 1 MiB
// of data per event, as the compare tool's servers parse it).
func burst(w http.ResponseWriter, r *http.Request) {
	query := r.URL.Query()
	n := param(query.Get("n"), 1000)
	size := param(query.Get("size"), 64)
	if size > 1<<20 {
		size = 1 << 20
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	payload := strings.Repeat("x", int(size))
	// One event's bytes, in a buffer reused for every event.
	event := make([]byte, 0, len(payload)+64)
	for id := uint64(1); id <= n; id++ {
		event = append(event[:0], "id: "...)
		event = strconv.AppendUint(event, id, 10)
		event = append(event, "\nevent: tick\ndata: "...)
		event = append(event, payload...)
		event = append(event, "\n\n"...)
		if _, err := w.Write(event); err != nil {
			return
		}
		flusher.Flush()
	}
}

// param is a query parameter as a number, or fallback when absent or not a number.
func param(value string, fallback uint64) uint64 {
	parsed, err := strconv.ParseUint(value, 10, 64)
	if err != nil {
		return fallback
	}
	return parsed
}
