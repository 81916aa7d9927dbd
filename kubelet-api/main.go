// kubelet-api answers the part of a kubelet's HTTPS API that the API server proxies to: `exec`
// (SPDY and WebSocket, through k8s.io/kubelet's own remotecommand server) and `containerLogs`,
// for the e2e node agent (tests/e2e/harness), which starts it and owns every container process.
// It serves self-signed TLS and asks for no client certificate: the API server is its only
// client and dials it inside the test's private network namespace.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"flag"
	"fmt"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// How often the container logs' sizes are looked at: how much before a `sinceTime` a log
// may start (the API server sends it in whole seconds anyway).
const logClockPeriod = 100 * time.Millisecond

func main() {
	listen := flag.String("listen", "127.0.0.1:10250", "address:port to serve HTTPS on")
	stateDir := flag.String("state-dir", "", "the node agent's state directory")
	execLimit := flag.Duration("exec-timeout", 2*time.Minute, "longest an exec'd command may run")
	flag.Parse()
	if *stateDir == "" {
		log.Fatal("--state-dir is required")
	}
	host, _, err := net.SplitHostPort(*listen)
	if err != nil {
		log.Fatalf("--listen: %v", err)
	}
	cert, err := selfSigned(host)
	if err != nil {
		log.Fatalf("certificate: %v", err)
	}
	clock := NewLogClock(*stateDir)
	go clock.Run(context.Background(), logClockPeriod)
	server := &http.Server{
		Addr:              *listen,
		Handler:           NewHandler(*stateDir, *execLimit, clock),
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}},
		ReadHeaderTimeout: 10 * time.Second,
		// SPDY upgrades need HTTP/1.1: no h2 on this server.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("listen: %v", err)
	}
	fmt.Printf("serving %s\n", ln.Addr())
	go func() {
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
		<-stop
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = server.Shutdown(ctx)
	}()
	if err := server.ServeTLS(ln, "", ""); err != nil && err != http.ErrServerClosed {
		log.Fatal(err)
	}
}

func selfSigned(host string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	template := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "meshgate-local-node"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"meshgate-local-node"},
	}
	if ip := net.ParseIP(host); ip != nil {
		template.IPAddresses = []net.IP{ip}
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
