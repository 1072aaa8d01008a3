#!/usr/bin/env bash
# Installs the Debian packages the test suites use when they are missing: a real Prometheus
# scrapes the node (telemetry suite); a real OCI registry (distribution 2.8) takes pushes and
# pulls (bundle suite); openssl makes the certificate the registry's Bearer-token test trusts;
# the OCR tests render text in DejaVu Sans; the deploy suite renders the Kubernetes manifests
# with kubectl (kustomize), verifies the systemd unit with systemd-analyze and joins a NATS leaf
# node to a hub with nats-server; the dashboard suite drives Debian's chromium through
# playwright-core (no browser is downloaded); the fleet suites run a nats-server cluster (2.9
# and later: JetStream key-value with bucket max-age). Runs before `npm test` (the pretest script).
set -euo pipefail
missing=()
for tool in prometheus docker-registry openssl nats-server chromium; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
command -v systemd-analyze >/dev/null || missing+=(systemd)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
# kubectl is not in Debian's own archive (its kubernetes-client, 1.20, has too old a kustomize):
# it comes from an apt source that offers the `kubectl` package, where one is configured. Where
# none is, the deploy suite says that kubectl is missing.
if ! command -v kubectl >/dev/null && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y kubectl >/dev/null 2>&1 || echo "kubectl is not offered by the configured apt sources: the deploy suite's kustomize tests will fail" >&2
fi
((${#missing[@]})) || exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "The tests need these Debian packages: ${missing[*]}. Install them (apt-get install ${missing[*]}) and run npm test again." >&2
  exit 1
fi
echo "Installing what the tests need: ${missing[*]}"
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
