// The Gateway API conformance suite, GATEWAY-GRPC profile, run against meshgate's GatewayClass
// after the GATEWAY-HTTP profile, in the same cluster. The claimed features are the same file
// as the HTTP run's (it is what the GatewayClass status says); this run takes the part the
// GATEWAY-GRPC profile's tests use: its core and extended features, and GRPCRoute's own
// extended ones (GRPCRouteNamedRouteRule is claimed by no profile at v1.5.1, so its test runs
// here but the report lists it under no profile). HTTPRoute is left out, so the HTTP tests do
// not run twice.
package conformance_test

import (
	"testing"

	"k8s.io/apimachinery/pkg/util/sets"
	"sigs.k8s.io/gateway-api/conformance"
	"sigs.k8s.io/gateway-api/conformance/utils/suite"
	"sigs.k8s.io/gateway-api/pkg/features"
)

var grpcRouteFeatures = features.SetsToNamesSet(
	features.GRPCRouteCoreFeatures, features.GRPCRouteExtendedFeatures,
)

// grpcProfileFeatures: what the GATEWAY-GRPC profile's tests may use.
var grpcProfileFeatures = features.SetsToNamesSet(
	features.GatewayCoreFeatures, features.GatewayExtendedFeatures,
	features.ReferenceGrantCoreFeatures,
	features.GRPCRouteCoreFeatures, features.GRPCRouteExtendedFeatures,
)

func TestGatewayGRPCConformance(t *testing.T) {
	opts := conformance.DefaultOptions(t)
	opts.GatewayClassName = "meshgate"
	opts.ConformanceProfiles = sets.New(suite.GatewayGRPCConformanceProfileName)
	claimed := claimedFeatures(t, envOr("MESHGATE_CONFORMANCE_FEATURES", featuresFile))
	opts.SupportedFeatures = claimed.Intersection(grpcProfileFeatures)
	opts.Implementation = implementation()
	conformance.RunConformanceWithOptions(t, opts)
}
