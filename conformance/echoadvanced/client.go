package main

// The `client` command: sends requests (through HTTP_PROXY when set, as the mesh's clients do)
// and prints each answer in the format the Gateway API suite parses (utils/echo/parse.go):
// `[i] StatusCode=`, `[i] ResponseHeader=Key:value`, the body as `[i body] ...`, answers of
// `--count` requests separated by a blank line. Redirects are reported, never followed. Exit
// status 0 only when every request was answered.

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"
)

// Request is one client invocation.
type Request struct {
	URL     string
	Method  string
	Headers [][2]string
	Count   int
	Timeout time.Duration
}

// NewClient is the HTTP client of the `client` command: proxy from the environment, redirects
// not followed, certificates not verified (the echo server's are self-signed).
func NewClient(timeout time.Duration) *http.Client {
	transport := &http.Transport{
		Proxy:             http.ProxyFromEnvironment,
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // a test client
		DisableKeepAlives: true,
	}
	return &http.Client{
		Transport:     transport,
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Run sends the requests and writes their answers to out; the number that got no answer.
func Run(client *http.Client, r Request, out, errOut io.Writer) int {
	failed := 0
	count := max(r.Count, 1)
	for i := 0; i < count; i++ {
		if i > 0 {
			fmt.Fprintln(out)
		}
		if err := once(client, r, i, out); err != nil {
			fmt.Fprintf(errOut, "[%d] error: %v\n", i, err)
			failed++
		}
	}
	return failed
}

func once(client *http.Client, r Request, i int, out io.Writer) error {
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequest(method, r.URL, nil)
	if err != nil {
		return err
	}
	for _, h := range r.Headers {
		if strings.EqualFold(h[0], "Host") {
			req.Host = h[1]
			continue
		}
		req.Header.Add(h[0], h[1])
	}
	resp, err := send(client, req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "[%d] Url=%s\n", i, r.URL)
	fmt.Fprintf(&b, "[%d] StatusCode=%d\n", i, resp.StatusCode)
	names := make([]string, 0, len(resp.Header))
	for name := range resp.Header {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		for _, value := range resp.Header[name] {
			fmt.Fprintf(&b, "[%d] ResponseHeader=%s:%s\n", i, name, value)
		}
	}
	for _, line := range strings.Split(string(body), "\n") {
		if line != "" {
			fmt.Fprintf(&b, "[%d body] %s\n", i, line)
		}
	}
	_, err = io.WriteString(out, b.String())
	return err
}

// send is client.Do, except for a plain-HTTP request through a proxy whose Host header differs
// from its URL's host. Go writes such a request with the Host header as its absolute URI's
// authority too, so the proxy could no longer tell where it was sent; Istio's client, whose
// connection a sidecar captures, sends it to the URL's address with that Host. This writes the
// absolute URI from the URL and the Host header as given (RFC 9112 3.2.2: the proxy routes by
// the authority).
func send(client *http.Client, req *http.Request) (*http.Response, error) {
	transport, _ := client.Transport.(*http.Transport)
	if req.Host == "" || req.Host == req.URL.Host || req.URL.Scheme != "http" || transport == nil || transport.Proxy == nil {
		return client.Do(req)
	}
	proxy, err := transport.Proxy(req)
	if err != nil || proxy == nil {
		return client.Do(req)
	}
	conn, err := net.DialTimeout("tcp", proxy.Host, client.Timeout)
	if err != nil {
		return nil, err
	}
	if client.Timeout > 0 {
		_ = conn.SetDeadline(time.Now().Add(client.Timeout))
	}
	var head strings.Builder
	fmt.Fprintf(&head, "%s %s HTTP/1.1\r\nHost: %s\r\n", req.Method, req.URL.String(), req.Host)
	_ = req.Header.Write(&head)
	head.WriteString("Connection: close\r\n\r\n")
	if _, err := io.WriteString(conn, head.String()); err != nil {
		conn.Close()
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		conn.Close()
		return nil, err
	}
	resp.Body = closing{resp.Body, conn}
	return resp, nil
}

// closing closes the connection with the body.
type closing struct {
	io.ReadCloser
	conn net.Conn
}

func (c closing) Close() error {
	err := c.ReadCloser.Close()
	c.conn.Close()
	return err
}
