// The Gateway API conformance suite (sigs.k8s.io/gateway-api/conformance), GATEWAY-HTTP
// profile, run against meshgate's GatewayClass. Nothing of the suite is copied here: this test
// only fills in the options. `make conformance` builds it and runs it against the local control
// plane (see tests/conformance/ in the repository root).
package conformance_test

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/sets"
	"sigs.k8s.io/gateway-api/conformance"
	confv1 "sigs.k8s.io/gateway-api/conformance/apis/v1"
	"sigs.k8s.io/gateway-api/conformance/utils/suite"
	"sigs.k8s.io/gateway-api/pkg/features"
)

// featuresFile holds the claimed features, one per line, '#' starts a comment.
const featuresFile = "supported-features.txt"

func claimedFeatures(t *testing.T, path string) suite.FeaturesSet {
	t.Helper()
	file, err := os.Open(path)
	if err != nil {
		t.Fatalf("reading the claimed features: %v", err)
	}
	defer file.Close()
	known := features.SetsToNamesSet(features.AllFeatures)
	claimed := sets.New[features.FeatureName]()
	lines := bufio.NewScanner(file)
	for lines.Scan() {
		name, _, _ := strings.Cut(lines.Text(), "#")
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		if !known.Has(features.FeatureName(name)) {
			t.Fatalf("%s: %q is no feature the suite knows", path, name)
		}
		claimed.Insert(features.FeatureName(name))
	}
	if err := lines.Err(); err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	return claimed
}

func TestGatewayHTTPConformance(t *testing.T) {
	opts := conformance.DefaultOptions(t)
	opts.GatewayClassName = "meshgate"
	opts.ConformanceProfiles = sets.New(suite.GatewayHTTPConformanceProfileName)
	// The suite runs every test whose features are claimed, whatever the profile: the GRPCRoute
	// tests belong to TestGatewayGRPCConformance, the TLSRoute ones to TestGatewayTLSConformance.
	claimed := claimedFeatures(t, envOr("MESHGATE_CONFORMANCE_FEATURES", featuresFile))
	opts.SupportedFeatures = claimed.Difference(grpcRouteFeatures).Difference(tlsRouteFeatures)
	opts.Implementation = implementation()
	conformance.RunConformanceWithOptions(t, opts)
}

func implementation() confv1.Implementation {
	return confv1.Implementation{
		Organization: "meshgate",
		Project:      "meshgate",
		URL:          "https://github.com/meshgate/meshgate",
		Version:      envOr("MESHGATE_VERSION", "dev"),
		Contact:      []string{"https://github.com/meshgate/meshgate/issues"},
	}
}

func envOr(name, fallback string) string {
	if value := os.Getenv(name); value != "" {
		return value
	}
	return fallback
}
