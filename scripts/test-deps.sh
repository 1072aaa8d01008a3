#!/usr/bin/env bash
# Installs the Debian packages the test suites use when they are missing: a real Prometheus
# scrapes the node (telemetry suite); a real OCI registry (distribution 2.8) takes pushes and
# pulls (bundle suite); openssl makes the certificate the registry's Bearer-token test trusts;
# the OCR tests render text in DejaVu Sans; the fleet suites run a nats-server cluster (2.9 and
# later: JetStream key-value with bucket max-age). Runs before `npm test` (the pretest script).
set -euo pipefail
missing=()
for tool in prometheus docker-registry openssl nats-server; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
((${#missing[@]})) || exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "The tests need these Debian packages: ${missing[*]}. Install them (apt-get install ${missing[*]}) and run npm test again." >&2
  exit 1
fi
echo "Installing what the tests need: ${missing[*]}"
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
