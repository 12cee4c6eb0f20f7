#!/usr/bin/env bash
# The main demo: ping through vlo's model of the Linux loopback path.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/build.sh build >/dev/null
ping=build/apps/vlo-ping
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

say vlo-ping -c 3 -i 0.2 127.0.0.2 "   # Linux: all of 127/8 is local"
$ping -c 3 -i 0.2 127.0.0.2
say vlo-ping --policy bsd -c 2 -i 0.2 -W 1 127.0.0.2 "   # BSD/macOS: only addresses on lo0 answer"
$ping --policy bsd -c 2 -i 0.2 -W 1 127.0.0.2 || true
say vlo-ping --policy bsd --alias 127.0.0.2 -c 2 -i 0.2 127.0.0.2
$ping --policy bsd --alias 127.0.0.2 -c 2 -i 0.2 127.0.0.2
say vlo-ping --stat -q -c 100 -i 0 127.0.0.1 "   # softnet_stat and where NET_RX ran"
$ping --stat -q -c 100 -i 0 127.0.0.1
say vlo-ping --worker ksoftirqd --stat -q -c 100 -i 0 127.0.0.1 "   # the textbook design, for comparison"
$ping --worker ksoftirqd --stat -q -c 100 -i 0 127.0.0.1
say vlo-ping --trace -c 1 127.0.0.1 "   # the path of one request and its reply, stage by stage"
$ping --trace -c 1 127.0.0.1
nc=build/apps/vlo-nc
say vlo-nc -zv --iptables "'-A INPUT -d 127.0.0.2 -p tcp -j REJECT'" --serve echo@127.0.0.2:80 127.0.0.2 80 \
  "   # the classic trick: connections to 127.0.0.2 refused"
$nc -zv --iptables '-A INPUT -d 127.0.0.2 -p tcp -j REJECT' --serve echo@127.0.0.2:80 127.0.0.2 80 || true
