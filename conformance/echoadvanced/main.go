// echo-advanced is meshgate's emulation of the Gateway API mesh suite's backend image
// (gcr.io/k8s-staging-gateway-api/echo-advanced, Istio's echo server): the server, and the
// `client` command the suite runs inside a mesh Pod with `kubectl exec`. It implements only what
// the MESH-HTTP profile uses: HTTP and HTTPS echo on the --port/--tls ports (--grpc and --tcp
// are accepted and not served), and the client's HTTP requests with -H, --method and --count.
// The output contract it follows is the suite's parser (utils/echo/parse.go), which the test
// beside this file feeds it to.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
)

type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ",") }
func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }

func main() {
	if len(os.Args) > 1 && os.Args[1] == "client" {
		os.Exit(clientMain(os.Args[2:]))
	}
	os.Exit(serverMain(os.Args[1:]))
}

func serverMain(args []string) int {
	flags := flag.NewFlagSet("echo-advanced", flag.ContinueOnError)
	var ports, tlsPorts, grpcPorts, tcpPorts repeated
	flags.Var(&ports, "port", "HTTP port (repeatable)")
	flags.Var(&tlsPorts, "tls", "a --port served with TLS (repeatable)")
	flags.Var(&grpcPorts, "grpc", "gRPC port: accepted, not served by the emulation")
	flags.Var(&tcpPorts, "tcp", "TCP port: accepted, not served by the emulation")
	cert := flags.String("crt", "", "TLS certificate file")
	key := flags.String("key", "", "TLS key file")
	version := flags.String("version", "", "ServiceVersion to report")
	cluster := flags.String("cluster", "", "Cluster to report")
	if err := flags.Parse(args); err != nil {
		return 2
	}
	if len(grpcPorts)+len(tcpPorts) > 0 {
		fmt.Printf("echo-advanced (emulation): --grpc %v and --tcp %v are not served\n", grpcPorts, tcpPorts)
	}
	// Every local Pod shares the node's network: bind the Pod's own address.
	address := os.Getenv("MESHGATE_POD_IP")
	id := Identity{Hostname: hostname(), Version: *version, Cluster: *cluster}
	if err := serve(address, ports, tlsPorts, *cert, *key, id); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func clientMain(args []string) int {
	flags := flag.NewFlagSet("client", flag.ContinueOnError)
	var headers repeated
	flags.Var(&headers, "H", "request header Key:value (repeatable)")
	method := flags.String("method", "GET", "request method")
	count := flags.Int("count", 1, "number of requests")
	timeout := flags.Duration("timeout", 10*time.Second, "timeout of each request")
	// The URL comes first in the suite's calls; flags may follow it.
	var url string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		url, args = args[0], args[1:]
	}
	if err := flags.Parse(args); err != nil {
		return 2
	}
	if url == "" && flags.NArg() > 0 {
		url = flags.Arg(0)
	}
	if url == "" {
		fmt.Fprintln(os.Stderr, "usage: client URL [--method=M] [-H Key:value]... [--count=N]")
		return 2
	}
	r := Request{URL: url, Method: *method, Count: *count, Timeout: *timeout}
	for _, h := range headers {
		name, value, ok := strings.Cut(h, ":")
		if !ok {
			fmt.Fprintf(os.Stderr, "-H %q: want Key:value\n", h)
			return 2
		}
		r.Headers = append(r.Headers, [2]string{name, value})
	}
	if failed := Run(NewClient(r.Timeout), r, os.Stdout, os.Stderr); failed > 0 {
		return 1
	}
	return 0
}
