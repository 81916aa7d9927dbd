package main

// The server side: answers every HTTP request with the request described in the echo
// server's body format (`Key=value` lines), which the client prints as `[i body] ...` lines.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"
)

// Identity is what the server says about itself in every answer.
type Identity struct {
	Hostname string
	Version  string
	Cluster  string
}

// Handler echoes the request; `port` is the container port it was received on.
func Handler(id Identity, port string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b strings.Builder
		line := func(key, value string) { fmt.Fprintf(&b, "%s=%s\n", key, value) }
		line("ServiceVersion", id.Version)
		line("ServicePort", port)
		line("Host", r.Host)
		line("URL", r.URL.RequestURI())
		line("Cluster", id.Cluster)
		line("Method", r.Method)
		line("Proto", r.Proto)
		ip, _, _ := net.SplitHostPort(r.RemoteAddr)
		line("IP", ip)
		alpn := ""
		if r.TLS != nil {
			alpn = r.TLS.NegotiatedProtocol
		}
		line("Alpn", alpn)
		names := make([]string, 0, len(r.Header))
		for name := range r.Header {
			names = append(names, name)
		}
		sort.Strings(names)
		line("RequestHeader", "Host:"+r.Host)
		for _, name := range names {
			for _, value := range r.Header[name] {
				line("RequestHeader", name+":"+value)
			}
		}
		line("Hostname", id.Hostname)
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte(b.String()))
	})
}

// serve listens on every port given; TLS ports get the given certificate, or a self-signed one
// when its files are absent (the image ships its own; this emulation does not).
func serve(address string, ports, tlsPorts []string, certFile, keyFile string, id Identity) error {
	isTLS := map[string]bool{}
	for _, p := range tlsPorts {
		isTLS[p] = true
	}
	errs := make(chan error, len(ports))
	for _, port := range ports {
		ln, err := net.Listen("tcp", net.JoinHostPort(address, port))
		if err != nil {
			return err
		}
		if isTLS[port] {
			cert, err := tls.LoadX509KeyPair(certFile, keyFile)
			if err != nil {
				if cert, err = selfSigned(id.Hostname); err != nil {
					return err
				}
			}
			ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}})
		}
		server := &http.Server{Handler: Handler(id, port), ReadHeaderTimeout: 10 * time.Second}
		fmt.Printf("echo-advanced (emulation): %s listening on %s (tls %v)\n", id.Hostname, ln.Addr(), isTLS[port])
		go func() { errs <- server.Serve(ln) }()
	}
	return <-errs
}

func selfSigned(name string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	template := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		DNSNames:     []string{name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

func hostname() string {
	if name := os.Getenv("HOSTNAME"); name != "" {
		return name
	}
	name, _ := os.Hostname()
	return name
}
