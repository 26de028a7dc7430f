#!/usr/bin/env bash
# A self-signed certificate for the compose entry point, for trials only:
# deploy/nginx/tls/tls.crt and tls.key, for localhost and 127.0.0.1 (or the names given).
#   deploy/nginx/self-signed.sh [NAME...]
set -euo pipefail
dir="$(cd "$(dirname "$0")" && pwd)/tls"
names=("${@:-localhost}")
san="$(printf 'DNS:%s,' "${names[@]}")IP:127.0.0.1"
openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=${names[0]}" -addext "subjectAltName=$san" \
  -keyout "$dir/tls.key" -out "$dir/tls.crt" 2>/dev/null
chmod 600 "$dir/tls.key"
echo "wrote $dir/tls.crt and $dir/tls.key ($san)"
