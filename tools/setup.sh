#!/usr/bin/env bash
# Installs every Debian 12 package vlo needs to build, test, benchmark and run its demos.
# Idempotent; run as root on a fresh machine.
set -euo pipefail

packages=(
  g++ cmake make pkg-config       # the toolchain
  libboost-dev                    # Boost.Asio
  libtins-dev                     # pcap and an independent wire-format oracle in tests
  catch2                          # tests (Catch2 v2)
  libbenchmark-dev                # bench/
  nlohmann-json3-dev              # JSON output
  python3-matplotlib              # vlo-lab --plots (tools/lab/plot.py)
  iputils-ping                    # the kernel-side ping the tests compare vlo-ping with
  iproute2                        # network namespaces for the TUN tests
  libmnl-dev                      # rtnetlink: configuring a TUN interface's kernel side
  netcat-openbsd curl             # kernel-side clients in the TUN interop tests
  python3                         # the interop tests' malformed-packet burst (AF_PACKET)
  tshark                          # an independent reader of vlo's pcap files (tests, observe.sh)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "setup: need root to install: ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup: installed ${missing[*]}"
