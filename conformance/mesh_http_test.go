// The suite's MESH-HTTP profile (HTTPRoutes whose parentRef is a Service), run against meshgate's
// sidecars. Its mesh namespaces must be labelled for meshgate's sidecar injection before their
// Pods are created: the suite's own manifests are read through meshInjected, which adds the label
// to their Namespaces as they are applied (NamespaceLabels would label every test namespace,
// the Gateway profile's backends too). Nothing of the suite is copied.
package conformance_test

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/gateway-api/conformance"
	"sigs.k8s.io/gateway-api/conformance/utils/config"
	"sigs.k8s.io/gateway-api/conformance/utils/kubernetes"
	"sigs.k8s.io/gateway-api/conformance/utils/suite"
	"sigs.k8s.io/yaml"
)

const (
	meshFeaturesFile = "mesh-supported-features.txt"
	meshManifests    = "mesh/manifests.yaml"
	injectLabel      = "meshgate.io/inject"
	// The operator writes a meshed Namespace's proxy count here whenever it changes.
	proxiesAnnotation = "meshgate.io/proxies"
	// Deployments of the mesh manifests Ready: injected Pods start two processes each.
	meshReadyTimeout = 5 * time.Minute
)

var meshNamespaces = []string{"gateway-conformance-mesh", "gateway-conformance-mesh-consumer"}

// skippedMeshTests are not run, each for a reason outside meshgate.
var skippedMeshTests = []string{
	// v1.5.1 applies the 303 manifest in its 307 test (tests/mesh/httproute-307-redirect.go), so
	// the 307 it expects can never come back.
	"MeshHTTPRoute307Redirect",
}

// meshInjected is the suite's manifests with the mesh Namespaces labelled for injection.
type meshInjected struct{ base fs.FS }

func (m meshInjected) Open(name string) (fs.File, error) { return m.base.Open(name) }

func (m meshInjected) ReadFile(name string) ([]byte, error) {
	data, err := fs.ReadFile(m.base, name)
	if err != nil || name != meshManifests {
		return data, err
	}
	return labelNamespaces(data)
}

// labelNamespaces adds the injection label to every Namespace document of a multi-document YAML.
func labelNamespaces(data []byte) ([]byte, error) {
	var out [][]byte
	for _, doc := range bytes.Split(data, []byte("\n---")) {
		var obj map[string]any
		if err := yaml.Unmarshal(doc, &obj); err != nil {
			return nil, err
		}
		if obj == nil {
			continue
		}
		if obj["kind"] == "Namespace" {
			meta, _ := obj["metadata"].(map[string]any)
			labels, _ := meta["labels"].(map[string]any)
			if labels == nil {
				labels = map[string]any{}
			}
			labels[injectLabel] = "enabled"
			meta["labels"] = labels
		}
		text, err := yaml.Marshal(obj)
		if err != nil {
			return nil, err
		}
		out = append(out, text)
	}
	return bytes.Join(out, []byte("\n---\n")), nil
}

func TestMeshHTTPConformance(t *testing.T) {
	opts := conformance.DefaultOptions(t)
	opts.GatewayClassName = "meshgate"
	opts.ConformanceProfiles = sets.New(suite.MeshHTTPConformanceProfileName)
	opts.SupportedFeatures = claimedFeatures(t, envOr("MESHGATE_CONFORMANCE_MESH_FEATURES", meshFeaturesFile))
	opts.SkipTests = skippedMeshTests
	opts.ManifestFS = []fs.FS{meshInjected{&conformance.Manifests}}
	opts.Implementation = implementation()
	applyMeshManifestsAndWait(t, opts.Client, opts.ManifestFS)
	conformance.RunConformanceWithOptions(t, opts)
}

// applyMeshManifestsAndWait applies the mesh manifests (as the suite will, through the same
// Applier) and waits until every Deployment in them has all its replicas Ready. The suite's own
// setup checks only the Pods that already exist, so a test can start before the ReplicaSet has
// created any and fail with "no pods found".
func applyMeshManifestsAndWait(t *testing.T, c client.Client, manifests []fs.FS) {
	t.Helper()
	timeouts := config.DefaultTimeoutConfig()
	applier := kubernetes.Applier{ManifestFS: manifests}
	applier.MustApplyWithCleanup(t, c, timeouts, meshManifests, false)
	err := wait.PollUntilContextTimeout(context.Background(), time.Second, meshReadyTimeout, true,
		func(ctx context.Context) (bool, error) {
			for _, ns := range meshNamespaces {
				deployments := &appsv1.DeploymentList{}
				if err := c.List(ctx, deployments, client.InNamespace(ns)); err != nil {
					return false, nil
				}
				if len(deployments.Items) == 0 {
					return false, nil
				}
				for _, d := range deployments.Items {
					want := int32(1)
					if d.Spec.Replicas != nil {
						want = *d.Spec.Replicas
					}
					if d.Status.ReadyReplicas < want || d.Status.UpdatedReplicas < want {
						return false, nil
					}
				}
			}
			return true, nil
		})
	if err != nil {
		t.Fatalf("the mesh manifests' Deployments did not become Ready in %s: %v", meshReadyTimeout, err)
	}
	waitProxiesCounted(t, c)
}

// waitProxiesCounted waits until each mesh Namespace's proxy count says every Pod's sidecar runs
// the current config. Until then the operator rewrites that annotation as proxies come up, and
// the suite's setup, which updates the same Namespaces it finds already applied, fails on the
// conflict ("the object has been modified"). Bounded; past it the suite runs anyway.
func waitProxiesCounted(t *testing.T, c client.Client) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), time.Second, time.Minute, true,
		func(ctx context.Context) (bool, error) {
			for _, name := range meshNamespaces {
				ns := &corev1.Namespace{}
				if err := c.Get(ctx, client.ObjectKey{Name: name}, ns); err != nil {
					return false, nil
				}
				pods := &corev1.PodList{}
				if err := c.List(ctx, pods, client.InNamespace(name)); err != nil {
					return false, nil
				}
				var current, total int
				text := ns.Annotations[proxiesAnnotation]
				if _, err := fmt.Sscanf(text, "%d/%d", &current, &total); err != nil {
					return false, nil
				}
				if current != total || total < len(pods.Items) {
					return false, nil
				}
			}
			return true, nil
		})
	if err != nil {
		t.Logf("mesh Namespaces' %s did not settle in a minute; running the suite anyway", proxiesAnnotation)
	}
}
