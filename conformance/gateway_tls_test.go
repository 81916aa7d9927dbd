// The Gateway API conformance suite, GATEWAY-TLS profile, run against meshgate's GatewayClass
// in the same cluster as the other profiles. It takes, of the claimed features, what the
// GATEWAY-TLS profile's tests use: its core and extended features (TLSRoute passthrough; the
// Terminate and Mixed modes are not claimed). HTTPRoute is left out, so the HTTP tests do not
// run again.
package conformance_test

import (
	"testing"

	"k8s.io/apimachinery/pkg/util/sets"
	"sigs.k8s.io/gateway-api/conformance"
	"sigs.k8s.io/gateway-api/conformance/utils/suite"
	"sigs.k8s.io/gateway-api/pkg/features"
)

var tlsRouteFeatures = features.SetsToNamesSet(
	features.TLSRouteCoreFeatures, features.TLSRouteExtendedFeatures,
)

// tlsProfileFeatures: what the GATEWAY-TLS profile's tests may use.
var tlsProfileFeatures = features.SetsToNamesSet(
	features.GatewayCoreFeatures, features.GatewayExtendedFeatures,
	features.ReferenceGrantCoreFeatures,
	features.TLSRouteCoreFeatures, features.TLSRouteExtendedFeatures,
)

func TestGatewayTLSConformance(t *testing.T) {
	opts := conformance.DefaultOptions(t)
	opts.GatewayClassName = "meshgate"
	opts.ConformanceProfiles = sets.New(suite.GatewayTLSConformanceProfileName)
	claimed := claimedFeatures(t, envOr("MESHGATE_CONFORMANCE_FEATURES", featuresFile))
	opts.SupportedFeatures = claimed.Intersection(tlsProfileFeatures)
	opts.Implementation = implementation()
	conformance.RunConformanceWithOptions(t, opts)
}
