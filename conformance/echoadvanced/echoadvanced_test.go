package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/gateway-api/conformance/utils/echo"
)

// The suite reads `client` output only through its own parser: these tests feed it ours.

func echoServer(t *testing.T, extra http.HandlerFunc) *httptest.Server {
	t.Helper()
	echoes := Handler(Identity{Hostname: "echo-v1-abc", Version: "v1"}, "8080")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if extra != nil && r.URL.Path == "/redirect" {
			extra(w, r)
			return
		}
		echoes.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestOneAnswerParsesToItsStatusHostnameAndRequestHeaders(t *testing.T) {
	srv := echoServer(t, nil)
	var out, errOut bytes.Buffer
	r := Request{URL: srv.URL + "/path?q=1", Method: "POST", Headers: [][2]string{{"X-Custom", "yes"}, {"Host", "echo"}}}

	failed := Run(NewClient(5*time.Second), r, &out, &errOut)

	resp := echo.ParseResponse(out.String())
	if failed != 0 || resp.Code != "200" || resp.Hostname != "echo-v1-abc" || resp.Version != "v1" {
		t.Fatalf("failed %d, parsed %s\n%s", failed, resp, out.String())
	}
	if resp.Method != "POST" || resp.URL != "/path?q=1" || resp.Host != "echo" {
		t.Fatalf("parsed %s", resp)
	}
	if got := resp.RequestHeaders.Get("X-Custom"); got != "yes" {
		t.Fatalf("X-Custom %q in %v", got, resp.RequestHeaders)
	}
	if got := resp.RequestHeaders.Get("Host"); got != "echo" {
		t.Fatalf("Host %q in %v", got, resp.RequestHeaders)
	}
}

func TestARedirectIsReportedWithItsLocationNotFollowed(t *testing.T) {
	srv := echoServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://example.com/elsewhere", http.StatusFound)
	})
	var out bytes.Buffer

	failed := Run(NewClient(5*time.Second), Request{URL: srv.URL + "/redirect"}, &out, &bytes.Buffer{})

	resp := echo.ParseResponse(out.String())
	if failed != 0 || resp.Code != "302" || resp.ResponseHeaders.Get("Location") != "http://example.com/elsewhere" {
		t.Fatalf("parsed %s", resp)
	}
}

func TestCountAnswersAreBlankLineSeparatedBatches(t *testing.T) {
	srv := echoServer(t, nil)
	var out bytes.Buffer

	failed := Run(NewClient(5*time.Second), Request{URL: srv.URL + "/", Count: 5}, &out, &bytes.Buffer{})

	// As the suite's RequestBatch splits them (parseMultipleResponses is not exported).
	var parsed []echo.Response
	for _, section := range strings.Split(out.String(), "\n\n") {
		if r := echo.ParseResponse(strings.TrimSpace(section)); r.Hostname != "" || r.Code != "" {
			parsed = append(parsed, r)
		}
	}
	if failed != 0 || len(parsed) != 5 {
		t.Fatalf("%d answers parsed from\n%s", len(parsed), out.String())
	}
	for _, r := range parsed {
		if r.Code != "200" || r.Hostname != "echo-v1-abc" {
			t.Fatalf("parsed %s", r)
		}
	}
}

func TestAnUnansweredRequestCountsAsFailed(t *testing.T) {
	srv := echoServer(t, nil)
	url := srv.URL
	srv.Close()
	var errOut bytes.Buffer

	failed := Run(NewClient(2*time.Second), Request{URL: url + "/", Count: 2}, &bytes.Buffer{}, &errOut)

	if failed != 2 || !strings.Contains(errOut.String(), "[1] error:") {
		t.Fatalf("failed %d, stderr %q", failed, errOut.String())
	}
}

func TestThroughAProxyAHostHeaderOtherThanTheURLsKeepsTheURLAsTheAuthority(t *testing.T) {
	// A raw listener: Go's own server would already have replaced Host by the authority.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	seen := make(chan []string, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		reader := bufio.NewReader(conn)
		var head []string
		for {
			line, err := reader.ReadString('\n')
			if err != nil || line == "\r\n" {
				break
			}
			head = append(head, strings.TrimRight(line, "\r\n"))
		}
		seen <- head
		body := "Hostname=echo-v1-abc\n"
		fmt.Fprintf(conn, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	}()
	client := NewClient(5 * time.Second)
	client.Transport.(*http.Transport).Proxy = http.ProxyURL(&url.URL{Scheme: "http", Host: ln.Addr().String()})
	var out bytes.Buffer

	failed := Run(client, Request{URL: "http://echo-v1/x", Headers: [][2]string{{"Host", "echo-v2"}}}, &out, &bytes.Buffer{})

	head := <-seen
	if failed != 0 || len(head) < 2 || head[0] != "GET http://echo-v1/x HTTP/1.1" || head[1] != "Host: echo-v2" {
		t.Fatalf("the proxy saw %q (failed %d)", head, failed)
	}
	if resp := echo.ParseResponse(out.String()); resp.Code != "200" || resp.Hostname != "echo-v1-abc" {
		t.Fatalf("parsed %s", resp)
	}
}
