#!/usr/bin/env bash
# Install the Debian packages flowlab's services and tests use, skipping what is there:
#   prometheus   promtool, for `promtool check rules` / `promtool test rules` on ops/prometheus
#   redis-server the job queue behind `flowlab sweep --queue` / `flowlab worker`
#   librsvg2-bin rsvg-convert, to render report charts to PNG in tests
#   python3-pandas pandas for the test that reads flowlab's Parquet the way a researcher would
# Needs root (or sudo) for apt-get. Idempotent.
set -euo pipefail

need=()
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v rsvg-convert >/dev/null 2>&1 || need+=(librsvg2-bin)
/usr/bin/python3 -c 'import pandas' >/dev/null 2>&1 || need+=(python3-pandas)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup-services: installing ${need[*]} from Debian packages"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# The Debian package starts services of its own; flowlab's tests start their own on free ports.
for s in prometheus redis-server; do  # stop the units the packages start
  if command -v systemctl >/dev/null 2>&1; then systemctl stop "$s" >/dev/null 2>&1 || true; fi
done
echo "setup-services: ok (promtool $(promtool --version 2>&1 | head -1 | awk '{print $3}'), redis-server $(redis-server --version | awk '{print $3}' | cut -d= -f2))"
