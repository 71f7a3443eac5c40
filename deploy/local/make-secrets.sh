#!/usr/bin/env bash
# Makes what a non-loopback deployment needs (docs/SECURITY.md), for testing and first installs:
#   OUT/tls/ca.crt ca.key        a private CA (keep ca.key offline in production)
#   OUT/tls/tls.crt tls.key      the services' server certificate, subjectAltName = the SANs given
#   OUT/tls/client.crt client.key a client certificate (the gateway's, lvctl's) for mTLS
#   OUT/keys/keys                the key file (salted hashes only): lv-gateway (analyst), operator
#                                (registrar,ingest,assessor,analyst), admin (admin)
#   OUT/keys/*.credential        the keys themselves, mode 600, one per holder
# Usage: deploy/local/make-secrets.sh OUT [SAN ...]   e.g. IP:10.0.0.5 DNS:lv-registration.lv.svc
# (IP:127.0.0.1 and DNS:localhost are always included, for probes inside the container).
# Needs openssl and lvctl (LVCTL=path, default: on PATH, else .build/debug/lvctl).
set -euo pipefail
out=${1:?usage: make-secrets.sh OUT [SAN ...]}
shift
lvctl=${LVCTL:-$(command -v lvctl || echo "$(dirname "$0")/../../.build/debug/lvctl")}
sans="IP:127.0.0.1,DNS:localhost"
for s in "$@"; do sans="$sans,$s"; done
mkdir -p "$out/tls" "$out/keys"
chmod 700 "$out/keys"
cd "$out/tls"
ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.crt -days 825 -subj /CN=lv-private-ca 2>/dev/null
printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$sans" > tls.ext
printf 'extendedKeyUsage=clientAuth\n' > client.ext
openssl req "${ec[@]}" -keyout tls.key -out tls.csr -subj /CN=lv-services 2>/dev/null
openssl x509 -req -in tls.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out tls.crt -days 825 -extfile tls.ext 2>/dev/null
openssl req "${ec[@]}" -keyout client.key -out client.csr -subj /CN=lv-client 2>/dev/null
openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.crt -days 825 -extfile client.ext 2>/dev/null
rm -f tls.csr client.csr tls.ext client.ext ca.srl
chmod 600 ca.key tls.key client.key
cd - >/dev/null
: > "$out/keys/keys"
chmod 600 "$out/keys/keys"
for spec in lv-gateway:analyst operator:registrar,ingest,assessor,analyst admin:admin; do
    name=${spec%%:*}
    roles=${spec#*:}
    "$lvctl" admin create-key --role "$roles" --name "$name" --credential-out "$out/keys/$name.credential" \
        | sed -n 's/^key-file line: //p' >> "$out/keys/keys"
done
echo "made $out/tls and $out/keys (SANs: $sans)"
