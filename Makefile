# meshgate's front door. Every target sets up what it needs by itself and is safe to rerun.
SHELL := /bin/bash
# A failing command anywhere in a pipeline fails the recipe (install-test-bins.sh | tail).
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | sha1sum | cut -c1-12)
LOCAL := $(CURDIR)/.local
TESTBINS_STAMP := $(LOCAL)/testbins.path
# meshproxy's mypyc build (proxy-image/build_compiled.py): a copy of the package with its hot
# modules compiled, a directory for PYTHONPATH (keyed by a digest of the source, so never stale).
# `make demo` runs the proxy from it; `make test` runs the proxy's unit tests and the e2e files in
# COMPILED_E2E against it as well as against the source (docs/architecture.md: why compiled).
COMPILED_PATH := $(LOCAL)/meshproxy-compiled.path
COMPILED_E2E := $(addprefix tests/e2e/proxy/,test_the_proxy_process_runs_the_compiled_build_when_asked_for.py \
  test_routing_table_and_weighted_split.py test_hardening_over_sockets.py \
  test_hardening_limits_and_pipelining_over_sockets.py test_websocket_and_streaming.py \
  test_reload_and_drain.py test_grpc_and_http2_through_the_edge.py)
# Only the test trees that exist: git keeps no empty directory, and pytest refuses a missing one.
TEST_DIRS := $(wildcard tests/unit tests/integration tests/e2e tests/conformance)

export MESHGATE_LOCAL_DIR := $(LOCAL)

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	@echo "==> [venv] creating $(VENV) and installing meshgate with extras operator,dev (pinned by constraints.txt)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q -c constraints.txt pip
	@$(PY) -m pip install -q -c constraints.txt -e '.[operator,dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

.PHONY: venv
venv: $(STAMP) ## create .venv and install the project with its extras, pinned by constraints.txt

.PHONY: lock
lock: ## re-resolve the newest versions pyproject.toml allows (operator, dev and bench extras) into constraints.txt (review, then commit)
	@rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	@.lock-venv/bin/python -m pip install -q --upgrade pip
	@.lock-venv/bin/python -m pip install -q -e '.[operator,dev,bench]'
	@{ sed -n '1,3p' constraints.txt; echo "pip==$$(.lock-venv/bin/python -m pip --version | cut -d' ' -f2)"; \
	   .lock-venv/bin/python -m pip freeze --exclude-editable | grep -v '^meshgate'; } > constraints.txt.new
	@mv constraints.txt.new constraints.txt && rm -rf .lock-venv
	@git diff --stat constraints.txt || true

.PHONY: testbins
testbins: ## build/install the pinned kube-apiserver, controller-manager, etcd, helm, kind
	@mkdir -p $(LOCAL)
	@bash hack/install-test-bins.sh | tail -n 1 > $(TESTBINS_STAMP).tmp
	@mv $(TESTBINS_STAMP).tmp $(TESTBINS_STAMP)

.PHONY: sysdeps
sysdeps: ## install the Debian packages tests and benchmarks start (redis, nginx, haproxy, wrk)
	@bash hack/install-system-packages.sh

.PHONY: proxy-compiled
proxy-compiled: venv ## meshproxy's hot modules compiled by mypyc (pinned: mypy in constraints.txt), in .local
	@mkdir -p $(LOCAL)
	@$(PY) proxy-image/build_compiled.py --into $(LOCAL)/meshproxy-compiled > $(COMPILED_PATH).tmp
	@mv $(COMPILED_PATH).tmp $(COMPILED_PATH)

.PHONY: lint
lint: venv ## ruff, mypy --strict, import contracts, generated files in step
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	@$(MAKE) -s check-generated

.PHONY: fmt
fmt: venv ## format and autofix
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

.PHONY: crds
crds: venv ## regenerate crds/, the chart's copy and docs/api.md from the pydantic models
	@$(PY) -m meshgate.api.generate --crds crds --chart-crds charts/meshgate/files/crds --docs docs/api.md

GATEWAY_API_VERSION := v1.5.1
GATEWAY_API_CRDS := charts/meshgate/files/gateway-api-crds

.PHONY: gateway-api-crds
gateway-api-crds: ## copy the Gateway API's standard-channel CRDs ($(GATEWAY_API_VERSION)) from its Go module into the chart
	@dir="$$(go mod download -json sigs.k8s.io/gateway-api@$(GATEWAY_API_VERSION) | $(PYTHON) -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')"; \
	rm -rf $(GATEWAY_API_CRDS) && mkdir -p $(GATEWAY_API_CRDS); \
	for f in "$$dir"/config/crd/standard/gateway.networking.k8s.io_*.yaml; do \
	  case "$$f" in *_vap_*) continue;; esac; \
	  cp "$$f" $(GATEWAY_API_CRDS)/ && chmod 644 $(GATEWAY_API_CRDS)/"$$(basename "$$f")"; \
	done; \
	echo "==> [gateway-api-crds] $$(ls $(GATEWAY_API_CRDS) | wc -l) CRDs of sigs.k8s.io/gateway-api@$(GATEWAY_API_VERSION) in $(GATEWAY_API_CRDS)"

.PHONY: check-generated
check-generated: venv ## fail when committed CRDs or API docs differ from the models
	@$(PY) -m meshgate.api.generate --crds crds --chart-crds charts/meshgate/files/crds --docs docs/api.md --check

.PHONY: test
# One pytest session per tree: a tree's conftest helpers cannot shadow another's, and the
# integration and e2e trees each get their own control plane. Every tree runs even after a
# failure; exit code 5 (a tree with no tests yet) is not a failure. The e2e and conformance trees
# run in a private network namespace (hack/in-netns.sh): Pods and Services get local addresses
# there. tests/conformance is the Gateway API suite (`make conformance`); here its report goes to
# .local/, not over the committed one. `--durations` names the slowest tests, so the gate's time is
# seen where it goes.
test: venv testbins sysdeps lint harness-bins conformance-bins go-test proxy-compiled ## everything: lint, types, unit, integration, e2e and Gateway API conformance tests, and the proxy's tests again on its mypyc build
	@bins="$$(cat $(TESTBINS_STAMP))"; start=$$(date +%s); failed=""; \
	for dir in $(TEST_DIRS); do \
	  echo "==> [test] pytest $$dir"; rc=0; wrap=""; env=""; \
	  case $$dir in tests/e2e|tests/conformance) wrap="hack/in-netns.sh";; esac; \
	  case $$dir in tests/conformance) env="MESHGATE_CONFORMANCE_REPORT=$(CONFORMANCE_BINS)/report.yaml MESHGATE_CONFORMANCE_MESH_REPORT=$(CONFORMANCE_BINS)/mesh-report.yaml MESHGATE_CONFORMANCE_GRPC_REPORT=$(CONFORMANCE_BINS)/grpc-report.yaml MESHGATE_CONFORMANCE_TLS_REPORT=$(CONFORMANCE_BINS)/tls-report.yaml";; esac; \
	  env MESHGATE_TESTBINS="$$bins" $$env $$wrap $(VENV)/bin/pytest -q -ra --durations=15 -p no:cacheprovider $$dir || rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "==> [test] $$dir: no tests collected"; \
	  elif [ $$rc -ne 0 ]; then failed="$$failed $$dir"; fi; \
	done; \
	compiled="$$(cat $(COMPILED_PATH))"; \
	echo "==> [test] pytest tests/unit/proxy and $(words $(COMPILED_E2E)) e2e files on the mypyc build $$compiled"; \
	env PYTHONPATH="$$compiled" MESHPROXY_EXPECT_COMPILED=1 $(VENV)/bin/pytest -q -ra -p no:cacheprovider \
	  tests/unit/proxy || failed="$$failed tests/unit/proxy(compiled)"; \
	env MESHGATE_TESTBINS="$$bins" PYTHONPATH="$$compiled" MESHPROXY_EXPECT_COMPILED=1 hack/in-netns.sh \
	  $(VENV)/bin/pytest -q -ra --durations=5 -p no:cacheprovider $(COMPILED_E2E) || failed="$$failed e2e(compiled)"; \
	if [ -n "$$failed" ]; then echo "==> [test] FAILED in$$failed" >&2; exit 1; fi; \
	echo "==> [test] all tests passed in $$(( $$(date +%s) - start ))s"

CONFORMANCE_BINS := $(LOCAL)/conformance
HARNESS_BINS := $(LOCAL)/bin

.PHONY: harness-bins
harness-bins: ## build the e2e node agent's kubelet API, kubelet-api/ (Go): kubectl exec and logs
	@command -v go >/dev/null || { echo "make harness-bins: needs Go 1.25 or newer (https://go.dev/dl/)" >&2; exit 1; }
	@mkdir -p $(HARNESS_BINS)
	@cd kubelet-api && go build -buildvcs=false -o $(HARNESS_BINS)/kubelet-api .

.PHONY: go-test
go-test: ## the Go tests: kubelet-api/, and the echo-advanced emulation against the suite's parser
	@cd kubelet-api && go test -buildvcs=false -count=1 ./...
	@cd conformance && go test -buildvcs=false -count=1 ./echoadvanced/...

.PHONY: conformance-bins
conformance-bins: harness-bins ## build the Gateway API conformance suite, its echo-basic backend and our echo-advanced emulation (Go, v1.5.1)
	@command -v go >/dev/null || { echo "make conformance-bins: needs Go 1.25 or newer (https://go.dev/dl/)" >&2; exit 1; }
	@mkdir -p $(CONFORMANCE_BINS)
	@echo "==> [conformance] building echo-basic and the suite from sigs.k8s.io/gateway-api/conformance v1.5.1"
	@cd conformance && go build -buildvcs=false -o $(CONFORMANCE_BINS)/echo-basic sigs.k8s.io/gateway-api/conformance/echo-basic
	@cd conformance && go build -buildvcs=false -o $(CONFORMANCE_BINS)/echo-advanced ./echoadvanced
	@cd conformance && go test -buildvcs=false -c -o $(CONFORMANCE_BINS)/gateway-http.test .

.PHONY: conformance
# The run needs its own network namespace (Gateways are reached at their Service addresses, which
# the node agent makes local there). It may fail: its summary and wall time are printed anyway.
conformance: venv testbins sysdeps conformance-bins ## the Gateway API conformance suite (GATEWAY-GRPC, GATEWAY-HTTP, GATEWAY-TLS, then MESH-HTTP) against the local control plane
	@start=$$(date +%s); rc=0; rm -f $(CONFORMANCE_BINS)/summary.txt; \
	MESHGATE_TESTBINS="$$(cat $(TESTBINS_STAMP))" hack/in-netns.sh \
	  $(VENV)/bin/pytest -q -ra -p no:cacheprovider tests/conformance || rc=$$?; \
	echo "==> [conformance] summary"; cat $(CONFORMANCE_BINS)/summary.txt 2>/dev/null || echo "(no summary: the suite never ran)"; \
	echo "==> [conformance] wall time $$(( $$(date +%s) - start ))s, exit code $$rc"; exit $$rc

.PHONY: test-scale
test-scale: venv testbins sysdeps ## the scale e2e test: one Gateway with 10,000 Routes (minutes; most of it creating the Routes)
	@MESHGATE_TESTBINS="$$(cat $(TESTBINS_STAMP))" MESHGATE_SCALE_TESTS=1 hack/in-netns.sh \
	  $(VENV)/bin/pytest -q -s -ra -p no:cacheprovider \
	  tests/e2e/scenarios/test_gateway_with_10000_routes_serves_the_last_and_an_edit.py

FUZZ_SECONDS ?= 60
FUZZ_NICE ?= 0

.PHONY: fuzz
fuzz: venv ## fuzz the parsers of untrusted bytes with atheris: FUZZ_SECONDS per target (60), FUZZ_NICE
	@$(PY) -m fuzz.run --seconds $(FUZZ_SECONDS) --nice $(FUZZ_NICE) --dir $(LOCAL)/fuzz

.PHONY: test-hostile
test-hostile: venv sysdeps ## slowhttptest's three attacks with 10,000 connections each, and 2x overload (about 15 minutes)
	@MESHGATE_HOSTILE_ATTACKERS=10000 MESHGATE_HOSTILE_RAMP_SECONDS=150 hack/in-netns.sh \
	  $(VENV)/bin/pytest -q -s -ra -p no:cacheprovider tests/e2e/hostile

.PHONY: unit
unit: venv ## unit tests only (no control plane)
	$(VENV)/bin/pytest -q tests/unit

.PHONY: up
up: venv testbins ## start the local control plane in the background; prints export KUBECONFIG=...
	@MESHGATE_TESTBINS="$$(cat $(TESTBINS_STAMP))" $(VENV)/bin/meshgate cluster up --dir $(LOCAL)/cluster

.PHONY: down
down: venv ## stop the local control plane started by make up
	@$(VENV)/bin/meshgate cluster down --dir $(LOCAL)/cluster

.PHONY: demo
demo: venv testbins proxy-compiled ## the local control plane (or KUBECONFIG's cluster), CRDs, the quickstart; proxies run the mypyc build
	@MESHGATE_TESTBINS="$$(cat $(TESTBINS_STAMP))" PYTHONPATH="$$(cat $(COMPILED_PATH))" $(VENV)/bin/meshgate demo --dir $(LOCAL)

.PHONY: bench
bench: venv ## run the benchmarks in bench/ and write their reports
	@test -f bench/run.sh || { echo "make bench: bench/run.sh does not exist yet; no benchmark is written" >&2; exit 1; }
	@bash bench/run.sh

.PHONY: images
images: ## build the operator, proxy and echo app images (needs Docker)
	docker build -f operator.Dockerfile -t meshgate.local/operator:dev .
	docker build -f proxy-image/Dockerfile -t meshgate.local/meshproxy:dev .
	docker build -f examples/apps/echo/Dockerfile -t meshgate.local/echo:latest .

.PHONY: e2e-kind
e2e-kind: venv testbins ## the e2e scenarios on a kind cluster (needs Docker; never runs without it)
	@MESHGATE_TESTBINS="$$(cat $(TESTBINS_STAMP))" bash hack/kind/e2e.sh
