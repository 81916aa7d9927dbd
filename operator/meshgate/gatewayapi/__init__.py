"""The standard Kubernetes Gateway API (`gateway.networking.k8s.io` v1, standard channel) as an
ingest adapter: GatewayClasses of controller `meshgate.io/gateway-controller`, their Gateways,
the HTTPRoutes and GRPCRoutes attached to them and the ReferenceGrants that allow
cross-namespace references become meshgate's own Gateway and Route models in the compiler's
snapshot, and every status the Gateway API defines is decided here. Pure: nothing in this
package performs I/O or imports kopf or the Kubernetes client.
"""

from .adapt import Adapted, adapt
from .objects import CONTROLLER_NAME, GROUP, GatewayApiObjects

__all__ = ["CONTROLLER_NAME", "GROUP", "Adapted", "GatewayApiObjects", "adapt"]
