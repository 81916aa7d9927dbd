package main

// The URL paths a kubelet serves and the API server proxies pods/exec and pods/log to.

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	remotecommandconsts "k8s.io/apimachinery/pkg/util/remotecommand"
	remotecommandserver "k8s.io/kubelet/pkg/cri/streaming/remotecommand"
)

const (
	// How long the client may take to open its streams, and an idle stream may live.
	streamCreationTimeout = remotecommandconsts.DefaultStreamCreationTimeout
	streamIdleTimeout     = 5 * time.Minute
	followPoll            = 200 * time.Millisecond
)

// NewHandler serves /exec/{ns}/{pod}[/{uid}]/{container}, /containerLogs/{ns}/{pod}/{container}
// and /healthz; clock says from where in a log `sinceTime` and `sinceSeconds` start.
func NewHandler(stateDir string, execLimit time.Duration, clock *LogClock) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	mux.HandleFunc("/exec/", func(w http.ResponseWriter, r *http.Request) { serveExec(w, r, stateDir, execLimit) })
	mux.HandleFunc("/containerLogs/", func(w http.ResponseWriter, r *http.Request) { serveLogs(w, r, stateDir, clock) })
	return mux
}

// target splits `/exec/ns/pod/container` or `/exec/ns/pod/uid/container`.
func target(path, prefix string) (namespace, pod, container string, ok bool) {
	parts := strings.Split(strings.Trim(strings.TrimPrefix(path, prefix), "/"), "/")
	switch len(parts) {
	case 3:
		return parts[0], parts[1], parts[2], true
	case 4:
		return parts[0], parts[1], parts[3], true
	}
	return "", "", "", false
}

func serveExec(w http.ResponseWriter, r *http.Request, stateDir string, limit time.Duration) {
	namespace, pod, container, ok := target(r.URL.Path, "/exec/")
	if !ok {
		http.Error(w, "want /exec/{namespace}/{pod}/{container}", http.StatusNotFound)
		return
	}
	if _, err := LoadExecSpec(stateDir, namespace, pod, container); err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, ErrNotFound) {
			status = http.StatusNotFound
		}
		http.Error(w, err.Error(), status)
		return
	}
	opts, err := remotecommandserver.NewOptions(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	cmd := r.URL.Query()["command"]
	e := &executor{stateDir: stateDir, namespace: namespace, limit: limit}
	remotecommandserver.ServeExec(w, r, e, pod, "", container, cmd, opts,
		streamIdleTimeout, streamCreationTimeout, remotecommandconsts.SupportedStreamingProtocols)
}

func serveLogs(w http.ResponseWriter, r *http.Request, stateDir string, clock *LogClock) {
	namespace, pod, container, ok := target(r.URL.Path, "/containerLogs/")
	if !ok {
		http.Error(w, "want /containerLogs/{namespace}/{pod}/{container}", http.StatusNotFound)
		return
	}
	path, err := LogPath(stateDir, namespace, pod, container)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	q := r.URL.Query()
	data, err := os.ReadFile(path)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	offset := int64(len(data))
	if since, ok := sinceOf(q, time.Now()); ok {
		data = fromLineOf(data, clock.Offset(path, since))
	}
	if n, err := strconv.Atoi(q.Get("tailLines")); err == nil && n >= 0 {
		data = tailLines(data, n)
	}
	if n, err := strconv.ParseInt(q.Get("limitBytes"), 10, 64); err == nil && n >= 0 && int64(len(data)) > n {
		data = data[:n]
	}
	w.Header().Set("Content-Type", "text/plain")
	if _, err := w.Write(data); err != nil || q.Get("follow") != "true" {
		return
	}
	follow(w, r, path, offset)
}

// sinceOf is the moment `sinceTime` (RFC 3339) or `sinceSeconds` (before now) names, if any.
func sinceOf(q url.Values, now time.Time) (time.Time, bool) {
	if at, err := time.Parse(time.RFC3339, q.Get("sinceTime")); err == nil {
		return at, true
	}
	if n, err := strconv.ParseInt(q.Get("sinceSeconds"), 10, 64); err == nil && n > 0 {
		return now.Add(-time.Duration(n) * time.Second), true
	}
	return time.Time{}, false
}

// fromLineOf is data from the start of the line holding byte offset on.
func fromLineOf(data []byte, offset int64) []byte {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	return data[bytes.LastIndexByte(data[:offset], '\n')+1:]
}

// tailLines is the last n lines of data.
func tailLines(data []byte, n int) []byte {
	lines := 0
	for i := len(data) - 1; i >= 0; i-- {
		if data[i] == '\n' && i != len(data)-1 {
			lines++
			if lines == n {
				return data[i+1:]
			}
		}
	}
	if n == 0 {
		return nil
	}
	return data
}

// follow streams what is appended after offset until the client goes away.
func follow(w http.ResponseWriter, r *http.Request, path string, offset int64) {
	flusher, _ := w.(http.Flusher)
	ticker := time.NewTicker(followPoll)
	defer ticker.Stop()
	for {
		if flusher != nil {
			flusher.Flush()
		}
		select {
		case <-r.Context().Done():
			return
		case <-ticker.C:
		}
		file, err := os.Open(path)
		if err != nil {
			return
		}
		if _, err := file.Seek(offset, io.SeekStart); err == nil {
			var buf bytes.Buffer
			n, _ := io.Copy(&buf, bufio.NewReader(file))
			offset += n
			if _, err := w.Write(buf.Bytes()); err != nil {
				file.Close()
				return
			}
		}
		file.Close()
	}
}
