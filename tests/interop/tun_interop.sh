#!/usr/bin/env bash
# Interop with the Linux stack over a TUN interface, in a network namespace made here and
# deleted on exit: the kernel's ping, nc and curl against vlod, and vlo-ping / vlo-nc against
# the kernel. Prints ok/FAIL per check; exits 1 on any failure, 77 (skipped) without
# /dev/net/tun or the rights for a namespace.
#   tun_interop.sh VLOD VLO_STAT VLO_PING VLO_NC
set -u
vlod=$1 stat=$2 vping=$3 vnc=$4
skip() { echo "skipped: $*"; exit 77; }
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
[ "$(id -u)" -eq 0 ] || skip "not root: cannot make a network namespace"
for t in ip ping nc curl python3 sha256sum; do command -v $t >/dev/null || skip "$t is not installed"; done

ns=vlo-it-$$
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  sleep 0.3
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  ip netns del "$ns" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
ip netns add "$ns" || skip "ip netns add failed"
in_ns() { ip netns exec "$ns" "$@"; }
in_ns ip link set lo up

failed=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else fail "$what"; fi; }
counter() {  # counter JSON_PATH: one counter from vlo-stat --json, 0 if absent
  "$stat" --control "$tmp/ctl" --json | python3 -c '
import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    v = v.get(k, 0) if isinstance(v, dict) else 0
print(v)' "$1"
}

ip netns exec "$ns" "$vlod" --tun vlo0 --addr 198.18.0.2/24 --control "$tmp/ctl" --serve echo/tcp --serve http \
  >"$tmp/vlod.log" 2>&1 &
pids+=($!)
vlod_pid=$!
for _ in $(seq 50); do [ -S "$tmp/ctl" ] && break; sleep 0.1; done
[ -S "$tmp/ctl" ] || { fail "vlod did not start: $(cat "$tmp/vlod.log")"; exit 1; }

# The kernel's programs against vlo.
out=$(in_ns ping -c 5 -i 0.2 -W 2 198.18.0.2)
check "kernel ping -c 5: 5 replies, TTL 64" \
  eval 'grep -q " 5 received" <<<"$out" && [ "$(grep -c "ttl=64" <<<"$out")" -eq 5 ]'
out=$(in_ns ping -c 3 -i 0.2 -W 2 -s 4000 198.18.0.2)
check "kernel ping -s 4000: answered, fragmented both ways" \
  eval 'grep -q " 3 received" <<<"$out" && grep -q "4008 bytes from" <<<"$out"'

head -c 16777216 /dev/urandom >"$tmp/in"
in_ns timeout 60 nc -N 198.18.0.2 7 <"$tmp/in" >"$tmp/out"
check "kernel nc: 16 MiB through vlo's echo, byte-identical" \
  eval '[ "$(sha256sum <"$tmp/in")" = "$(sha256sum <"$tmp/out")" ]'

in_ns timeout 10 curl -sf http://198.18.0.2/ >"$tmp/page"
check "curl: the status page" grep -q "softnet_stat" "$tmp/page"

start=$(date +%s%N)
out=$(in_ns timeout 5 nc -zv 198.18.0.2 4444 2>&1)
ms=$((($(date +%s%N) - start) / 1000000))
check "a closed port: Connection refused at once (${ms} ms)" \
  eval 'grep -q "Connection refused" <<<"$out" && [ $ms -lt 1000 ]'

# vlo's programs against the kernel, each on a TUN of its own.
head -c 16777216 /dev/urandom >"$tmp/in2"
ip netns exec "$ns" timeout 60 nc -l -N 5000 >"$tmp/got" 2>/dev/null &  # any address: vlo1 comes with vlo-nc
sleep 0.3
nc_pid=$!
pids+=($nc_pid)
ip netns exec "$ns" timeout 60 "$vnc" --tun vlo1 --addr 198.18.1.2/24 -N 198.18.1.1 5000 <"$tmp/in2" >/dev/null 2>"$tmp/vnc.err" &
vnc_pid=$!
pids+=($vnc_pid)
wait $vnc_pid; vnc_rc=$?
wait $nc_pid
check "vlo-nc --tun: 16 MiB to a kernel nc -l, byte-identical (vlo-nc exit $vnc_rc)" \
  eval '[ "$(sha256sum <"$tmp/in2")" = "$(sha256sum <"$tmp/got")" ]'
out=$(in_ns timeout 20 "$vping" --tun vlo2 --addr 198.18.2.2/24 -c 3 -i 0.2 198.18.2.1 2>&1)
check "vlo-ping --tun: the kernel answers 3 of 3" grep -q " 3 received" <<<"$out"

# A burst of malformed packets written to the TUN: vlod stays up, answers, counts each drop.
before_csum=$(counter snmp.IpExt.InCsumErrors) before_hdr=$(counter snmp.Ip.InHdrErrors)
before_trunc=$(counter snmp.IpExt.InTruncatedPkts) before_icmp=$(counter snmp.Icmp.InCsumErrors)
before_tcp=$(counter snmp.Tcp.InCsumErrors) before_martian=$(counter drops.IP_INVALID_SOURCE)
before_reasm=$(counter snmp.Ip.ReasmFails)
in_ns python3 - <<'PY'
import socket, struct
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
def ip(payload, src="198.18.0.1", proto=1, frag=0, bad_csum=False, tot=None, ident=0x4242):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, tot or 20 + len(payload), ident, frag, 64, proto, 0,
                    socket.inet_aton(src), socket.inet_aton("198.18.0.2"))
    c = csum(h) ^ (0x5555 if bad_csum else 0)
    return h[:10] + struct.pack("!H", c) + h[12:] + payload
echo = struct.pack("!BBHHH", 8, 0, 0, 1, 1) + b"x" * 56
good_echo = echo[:2] + struct.pack("!H", csum(echo)) + echo[4:]
tcp = struct.pack("!HHIIBBHHH", 40000, 7, 1, 0, 0x50, 0x02, 65535, 0xbeef, 0)
s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM)
dst = ("vlo0", 0x0800)
for _ in range(10):
    s.sendto(ip(good_echo, bad_csum=True), dst)              # bad IP header checksum
    s.sendto(ip(good_echo)[:12], dst)                         # truncated header
    s.sendto(ip(good_echo, tot=2000), dst)                    # claims more than it carries
    s.sendto(ip(echo), dst)                                   # ICMP checksum 0: wrong
    s.sendto(ip(tcp, proto=6), dst)                           # TCP checksum wrong
    s.sendto(ip(good_echo, src="127.0.0.1"), dst)             # a 127/8 source from a wire
for i in range(5):                                            # overlapping fragments
    s.sendto(ip(good_echo[:32], frag=0x2000, ident=0x1000 + i), dst)
    s.sendto(ip(good_echo[8:40], frag=0x2000 | 1, ident=0x1000 + i), dst)
PY
sleep 0.5
check "vlod alive after the burst" kill -0 $vlod_pid
out=$(in_ns ping -c 2 -i 0.2 -W 2 198.18.0.2)
check "and still answering ping" grep -q " 2 received" <<<"$out"
d() { echo $(($(counter "$1") - $2)); }
check "bad IP checksums: 10 InCsumErrors ($(d snmp.IpExt.InCsumErrors $before_csum))" \
  eval '[ $(d snmp.IpExt.InCsumErrors $before_csum) -eq 10 ]'
check "truncated headers and bad checksums: 20 InHdrErrors ($(d snmp.Ip.InHdrErrors $before_hdr))" \
  eval '[ $(d snmp.Ip.InHdrErrors $before_hdr) -eq 20 ]'
check "short datagrams: 10 InTruncatedPkts ($(d snmp.IpExt.InTruncatedPkts $before_trunc))" \
  eval '[ $(d snmp.IpExt.InTruncatedPkts $before_trunc) -eq 10 ]'
check "bad ICMP checksums: 10 Icmp InCsumErrors ($(d snmp.Icmp.InCsumErrors $before_icmp))" \
  eval '[ $(d snmp.Icmp.InCsumErrors $before_icmp) -eq 10 ]'
check "bad TCP checksums: 10 Tcp InCsumErrors ($(d snmp.Tcp.InCsumErrors $before_tcp))" \
  eval '[ $(d snmp.Tcp.InCsumErrors $before_tcp) -eq 10 ]'
check "127/8 sources: 10 martian drops ($(d drops.IP_INVALID_SOURCE $before_martian))" \
  eval '[ $(d drops.IP_INVALID_SOURCE $before_martian) -eq 10 ]'
check "overlapping fragments: 5 ReasmFails ($(d snmp.Ip.ReasmFails $before_reasm))" \
  eval '[ $(d snmp.Ip.ReasmFails $before_reasm) -ge 5 ]'

# Live, on the running vlod: rules, netem and a capture changed and taken while it runs
# (vlo-iptables, vlo-tc, vlo-dump; the trailing arguments, when given).
ipt=${5:-} vtc=${6:-} vdump=${7:-}
if [ -n "$ipt" ] && [ -n "$vtc" ] && [ -n "$vdump" ]; then
  kping() { in_ns ping -c "$1" -i 0.2 -W 1 198.18.0.2 2>&1; }
  "$ipt" --control "$tmp/ctl" -A INPUT -p icmp -j DROP
  check "vlo-iptables -A INPUT -p icmp -j DROP: no replies" eval 'kping 3 | grep -q " 0 received"'
  check "vlo-iptables -L -n -v -x counts the dropped pings" \
    eval '"$ipt" --control "$tmp/ctl" -L -n -v -x | grep -qE "^\s*[1-9][0-9]*\s+[0-9]+\s+DROP\s+(icmp|1)\s"'
  "$ipt" --control "$tmp/ctl" -D INPUT -p icmp -j DROP
  check "vlo-iptables -D restores replies" eval 'kping 2 | grep -q " 2 received"'
  "$ipt" --control "$tmp/ctl" -A INPUT --bogus 2>"$tmp/ipt.err"; rc=$?
  check "vlo-iptables: a bad option is iptables' error and exit 2 ($rc)" \
    eval '[ $rc = 2 ] && grep -q "unknown option \"--bogus\"" "$tmp/ipt.err"'
  "$vtc" --control "$tmp/ctl" qdisc add dev vlo0 root netem delay 50ms
  avg=$(kping 3 | sed -nE 's|^rtt [^=]+= [0-9.]+/([0-9.]+)/.*|\1|p')
  check "vlo-tc netem delay 50ms: avg rtt ${avg:-none} ms" awk -v a="${avg:-0}" 'BEGIN { exit !(a >= 45) }'
  check "vlo-tc -s qdisc show: the netem and its counts" \
    eval '"$vtc" --control "$tmp/ctl" -s qdisc show dev vlo0 | grep -q "qdisc netem 8001: dev vlo0 root .*delay 50ms"'
  "$vtc" --control "$tmp/ctl" qdisc del dev vlo0 root netem
  avg=$(kping 3 | sed -nE 's|^rtt [^=]+= [0-9.]+/([0-9.]+)/.*|\1|p')
  check "vlo-tc qdisc del: no delay again (avg ${avg:-none} ms)" awk -v a="${avg:-100}" 'BEGIN { exit !(a < 20) }'
  ( sleep 0.5; kping 3 >/dev/null ) &
  bg=$!
  timeout 15 "$vdump" --control "$tmp/ctl" -i vlo0 -c 4 -w "$tmp/d.pcap" 2>"$tmp/dump.err"
  wait $bg
  n=$(python3 - "$tmp/d.pcap" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
assert struct.unpack("<I", d[:4])[0] in (0xa1b2c3d4, 0xa1b23c4d) and struct.unpack("<I", d[20:24])[0] == 101
n, at = 0, 24
while at + 16 <= len(d):
    caplen = struct.unpack("<I", d[at + 8:at + 12])[0]
    pkt = d[at + 16:at + 16 + caplen]
    n += pkt[0] >> 4 == 4 and pkt[9] == 1
    at += 16 + caplen
print(n if at == len(d) else -1)
PY
)
  check "vlo-dump -c 4 -w: 4 ICMP packets in the pcap ($n)" eval '[ "$n" = 4 ] && grep -q "^4 packets captured" "$tmp/dump.err"'
  check "vlod alive after the live changes" kill -0 $vlod_pid
else
  echo "skipped: the live section (vlo-iptables, vlo-tc, vlo-dump not given)"
fi

# Shutdown: SIGTERM ends vlod with status 0 and takes its interface away.
kill -TERM $vlod_pid
for _ in $(seq 50); do kill -0 $vlod_pid 2>/dev/null || break; sleep 0.1; done
if kill -0 $vlod_pid 2>/dev/null; then rc="still running 5 s after SIGTERM"; else wait $vlod_pid; rc=$?; fi
check "vlod exits 0 on SIGTERM ($rc)" [ "$rc" = 0 ]
check "vlo0 removed" eval '! in_ns ip link show vlo0 >/dev/null 2>&1'
[ $failed -eq 0 ] || { echo "vlod's log:"; cat "$tmp/vlod.log"; echo "$failed failed"; exit 1; }
echo "all passed"
