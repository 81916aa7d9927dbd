package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/utils/exec"
)

func writePod(t *testing.T, state, dirName, container string, spec ExecSpec, log string) string {
	t.Helper()
	dir := filepath.Join(state, "pods", dirName)
	for _, sub := range []string{"exec", "logs"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	data, _ := json.Marshal(spec)
	if err := os.WriteFile(filepath.Join(dir, "exec", container+".json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "logs", container+".log"), []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func serve(t *testing.T, state string, limit time.Duration) *httptest.Server {
	t.Helper()
	return serveWithClock(t, state, limit, NewLogClock(state))
}

func serveWithClock(t *testing.T, state string, limit time.Duration, clock *LogClock) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(NewHandler(state, limit, clock))
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// run execs cmd through the same SPDY client the API server (and the conformance suite) uses.
func run(t *testing.T, srv *httptest.Server, path string, cmd ...string) (string, string, error) {
	t.Helper()
	u, _ := url.Parse(srv.URL + path)
	q := url.Values{"output": {"1"}, "error": {"1"}, "command": cmd}
	u.RawQuery = q.Encode()
	cfg := &rest.Config{Host: srv.URL, TLSClientConfig: rest.TLSClientConfig{Insecure: true}}
	ex, err := remotecommand.NewSPDYExecutor(cfg, "POST", u)
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &out, Stderr: &errOut})
	return out.String(), errOut.String(), err
}

func TestExecReturnsStdoutStderrAndExitCodeInTheContainersEnvironment(t *testing.T) {
	state := t.TempDir()
	writePod(t, state, "ns_web_uid1", "app", ExecSpec{
		Env: map[string]string{"PATH": os.Getenv("PATH"), "HOSTNAME": "web"},
		Cwd: state,
	}, "")
	srv := serve(t, state, time.Minute)
	out, errOut, err := run(t, srv, "/exec/ns/web/app", "sh", "-c", `echo "out $HOSTNAME"; echo err >&2; exit 3`)
	if out != "out web\n" || errOut != "err\n" {
		t.Fatalf("stdout %q stderr %q", out, errOut)
	}
	var exit utilexec.ExitError
	if !errors.As(err, &exit) || exit.ExitStatus() != 3 {
		t.Fatalf("want exit code 3, got %v", err)
	}
	if out, _, err = run(t, srv, "/exec/ns/web/app", "true"); err != nil || out != "" {
		t.Fatalf("a command exiting 0: %q %v", out, err)
	}
}

func TestExecMapsTheImagesOwnCommandToItsHostProgram(t *testing.T) {
	state := t.TempDir()
	writePod(t, state, "ns_echo_uid1", "echo", ExecSpec{
		Env:      map[string]string{"PATH": os.Getenv("PATH")},
		Commands: map[string][]string{"client": {"echo", "mapped"}},
	}, "")
	out, _, err := run(t, serve(t, state, time.Minute), "/exec/ns/echo/echo", "client", "http://echo/")
	if err != nil || out != "mapped http://echo/\n" {
		t.Fatalf("%q %v", out, err)
	}
}

func TestExecIsStoppedAtItsCap(t *testing.T) {
	state := t.TempDir()
	writePod(t, state, "ns_web_uid1", "app", ExecSpec{Env: map[string]string{"PATH": os.Getenv("PATH")}}, "")
	started := time.Now()
	_, errOut, err := run(t, serve(t, state, 300*time.Millisecond), "/exec/ns/web/app", "sh", "-c", "sleep 30")
	var exit utilexec.ExitError
	if !errors.As(err, &exit) || exit.ExitStatus() != 124 || !strings.Contains(errOut, "stopped after") {
		t.Fatalf("want exit 124 with a message, got %v %q", err, errOut)
	}
	if took := time.Since(started); took > 10*time.Second {
		t.Fatalf("the capped exec took %s", took)
	}
}

func TestExecOfAnUnknownContainerIsNotFound(t *testing.T) {
	_, _, err := run(t, serve(t, t.TempDir(), time.Minute), "/exec/ns/gone/app", "true")
	if err == nil {
		t.Fatal("exec into a missing container succeeded")
	}
}

func TestContainerLogsOfTheNewestPodOfThatNameWithTailLines(t *testing.T) {
	state := t.TempDir()
	old := writePod(t, state, "ns_web_uid-old", "app", ExecSpec{}, "old\n")
	past := time.Now().Add(-time.Hour)
	_ = os.Chtimes(old, past, past)
	writePod(t, state, "ns_web_uid-new", "app", ExecSpec{}, "one\ntwo\nthree\n")
	writePod(t, state, "ns_web_extra_uid-x", "app", ExecSpec{}, "another pod\n")
	srv := serve(t, state, time.Minute)
	client := srv.Client()
	get := func(path string) (int, string) {
		resp, err := client.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := get("/containerLogs/ns/web/app"); code != http.StatusOK || body != "one\ntwo\nthree\n" {
		t.Fatalf("%d %q", code, body)
	}
	if _, body := get("/containerLogs/ns/web/app?tailLines=2"); body != "two\nthree\n" {
		t.Fatalf("tailLines=2: %q", body)
	}
	if code, _ := get("/containerLogs/ns/web/nope"); code != http.StatusNotFound {
		t.Fatalf("missing container: %d", code)
	}
}

func TestContainerLogsSinceAMomentStartAtTheLineBeingWrittenThen(t *testing.T) {
	state := t.TempDir()
	dir := writePod(t, state, "ns_echo_uid-1", "echo", ExecSpec{}, "before\n")
	path := filepath.Join(dir, "logs", "echo.log")
	appendLog := func(text string) {
		file, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer file.Close()
		if _, err := file.WriteString(text); err != nil {
			t.Fatal(err)
		}
	}
	clock := NewLogClock(state)
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	clock.Observe(t0)
	appendLog("round one\nround one, half a li")
	clock.Observe(t0.Add(10 * time.Second))
	appendLog("ne\nround two\n")
	clock.Observe(t0.Add(20 * time.Second))
	srv := serveWithClock(t, state, time.Minute, clock)
	get := func(query string) string {
		resp, err := srv.Client().Get(srv.URL + "/containerLogs/ns/echo/echo?" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return string(body)
	}
	at := func(d time.Duration) string {
		return "sinceTime=" + url.QueryEscape(t0.Add(d).Format(time.RFC3339))
	}
	cases := map[string]string{
		at(-time.Hour):                     "before\nround one\nround one, half a line\nround two\n",
		at(5 * time.Second):                "round one\nround one, half a line\nround two\n",
		at(15 * time.Second):               "round one, half a line\nround two\n", // the line being written then
		at(25 * time.Second):               "",
		at(5*time.Second) + "&tailLines=1": "round two\n",
		"":                                 "before\nround one\nround one, half a line\nround two\n",
	}
	for query, want := range cases {
		if got := get(query); got != want {
			t.Errorf("%s: got %q, want %q", query, got, want)
		}
	}
	// sinceSeconds counts back from now: the log did not grow in the last five seconds.
	clock.Observe(time.Now().Add(-10 * time.Second))
	if got := get("sinceSeconds=5"); got != "" {
		t.Errorf("sinceSeconds=5: got %q, want nothing", got)
	}
}

func TestLogClockKeepsOldMomentsFoundEarlierNeverLaterPastItsBound(t *testing.T) {
	state := t.TempDir()
	dir := writePod(t, state, "ns_echo_uid-1", "echo", ExecSpec{}, "")
	path := filepath.Join(dir, "logs", "echo.log")
	clock := NewLogClock(state)
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	file, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	for i := 0; i < 3*maxMarks; i++ {
		if _, err := file.WriteString("x\n"); err != nil {
			t.Fatal(err)
		}
		clock.Observe(t0.Add(time.Duration(i) * time.Second))
	}
	if n := len(clock.marks[path]); n > maxMarks {
		t.Fatalf("%d marks kept, bound %d", n, maxMarks)
	}
	for _, i := range []int{0, 1, 777, maxMarks, 3*maxMarks - 1} {
		exact := int64(2 * (i + 1)) // the size observed at second i
		got := clock.Offset(path, t0.Add(time.Duration(i)*time.Second))
		// Never later; earlier by a few marks where old marks were thinned, exact where recent.
		recent := i >= 3*maxMarks-maxMarks/2
		if got > exact || exact-got > 64 || (recent && got != exact) {
			t.Errorf("second %d: offset %d, exactly %d", i, got, exact)
		}
	}
}
