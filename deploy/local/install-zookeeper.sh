#!/usr/bin/env bash
# Installs Debian's ZooKeeper (3.8, on the Java 17 these machines have) for the local
# ClickHouse cluster (deploy/local/cluster.sh) if it is not there yet. The system
# service is not used: cluster.sh runs the server with its own data directory.
set -euo pipefail
if [ -f /usr/share/java/zookeeper.jar ] && command -v java >/dev/null 2>&1; then
  exit 0
fi
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
apt_install zookeeper
