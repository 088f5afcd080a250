#!/usr/bin/env bash
# interop.sh — the OSPF speaker (examples/speaker.rs) against BIRD 2 and FRR 8 in network
# namespaces (os-sw os-r1 os-d1 os-d2; root only). Two speakers announce the same VIP on a
# broadcast segment where BIRD or FRR is the router (DR, priority 10); prints timings.
#   sudo ospf/examples/interop.sh [bird|frr] [hello dead]     (build the example first:
#   cargo build -p ospf --example speaker)
# Only processes started here are killed (by pid); namespaces are deleted on exit.
set -u
ROUTER=${1:-bird}; H=${2:-1}; D=${3:-4}
SPK=${SPK:-${CARGO_TARGET_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/target}/debug/examples/speaker}
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 0; }
W=$(mktemp -d /tmp/os-interop.XXXXXX); chmod 755 $W
VIP=10.98.100.1
setup() {
  for n in os-sw os-r1 os-d1 os-d2; do ip netns add $n; ip -n $n link set lo up; done
  ip -n os-sw link add br0 type bridge; ip -n os-sw link set br0 up
  for h in r1 d1 d2; do
    ip link add eth0 netns os-$h type veth peer name p-$h netns os-sw
    ip -n os-sw link set p-$h master br0 up; ip -n os-$h link set eth0 up
  done
  ip -n os-r1 addr add 10.98.0.1/24 dev eth0
  ip -n os-d1 addr add 10.98.0.21/24 dev eth0
  ip -n os-d2 addr add 10.98.0.22/24 dev eth0
}
teardown() {
  for n in os-sw os-r1 os-d1 os-d2; do for p in $(ip netns pids $n 2>/dev/null); do kill -9 $p; done; done
  sleep 0.3; for n in os-sw os-r1 os-d1 os-d2; do ip netns del $n 2>/dev/null; done
}
bird_conf() { # hello dead [md5key]
  local A=""; [ -n "${3:-}" ] && A="authentication cryptographic; password \"$3\" { id 1; };"
  mkdir -p $W/r1; cat > $W/r1/bird.conf <<EOC
router id 10.98.0.1;
log "$W/r1/bird.log" all;
protocol device { scan time 10; }
protocol kernel k4 { ipv4 { import none; export all; }; merge paths yes; }
protocol ospf v2 o4 {
  ecmp yes;
  ipv4 { import all; export none; };
  area 0 { interface "eth0" { type ${4:-broadcast}; hello $1; dead $2; priority 10; $A }; };
}
EOC
}
start_bird() { ip netns exec os-r1 bird -c $W/r1/bird.conf -s $W/r1/bird.ctl -P $W/r1/bird.pid; }
birdc() { ip netns exec os-r1 birdc -s $W/r1/bird.ctl "$@"; }
frr_conf() { # hello dead [md5key] [p2p]
  mkdir -p $W/fr; echo "hostname os-r1" > $W/fr/zebra.conf
  local A="" N=""; [ -n "${3:-}" ] && A=" ip ospf authentication message-digest
 ip ospf message-digest-key 1 md5 $3"
  [ "${4:-}" = ptp ] && N=" ip ospf network point-to-point"
  cat > $W/fr/ospfd.conf <<EOC
hostname os-r1
interface eth0
 ip ospf hello-interval $1
 ip ospf dead-interval $2
 ip ospf priority 10
$A
$N
router ospf
 ospf router-id 10.98.0.1
 network 10.98.0.0/24 area 0
EOC
  chown -R frr:frr $W/fr
}
start_frr() {
  ip netns exec os-r1 /usr/lib/frr/zebra -d -f $W/fr/zebra.conf -i $W/fr/zebra.pid -z $W/fr/zserv.api --vty_socket $W/fr -P 0 --log file:$W/fr/zebra.log
  ip netns exec os-r1 /usr/lib/frr/ospfd -d -f $W/fr/ospfd.conf -i $W/fr/ospfd.pid -z $W/fr/zserv.api --vty_socket $W/fr -P 0 --log file:$W/fr/ospfd.log
}
vty() { vtysh --vty_socket $W/fr -c "$*"; }
# start_spk d1 21 args...  (stdin from a fifo so we can send commands)
start_spk() {
  local h=$1 id=$2; shift 2
  rm -f $W/$h.in; mkfifo $W/$h.in
  ip netns exec os-$h $SPK --iface eth0 --router-id 10.98.0.$id "$@" < $W/$h.in > $W/$h.ev 2> $W/$h.log &
  echo $! > $W/$h.pid
  sleep 1000000 > $W/$h.in & echo $! > $W/$h.holder
}
cmd() { echo "$2" > $W/$1.in; }
nh() { local out; out=$(ip -n os-r1 route show $VIP/32 2>/dev/null); if [ -z "$out" ]; then echo 0; elif grep -q nexthop <<<"$out"; then grep -c nexthop <<<"$out"; else echo 1; fi; }
now_ns() { date +%s%N; }
wait_nh() { # want timeout_s -> prints ms
  local t0=$(now_ns); while :; do [ "$(nh)" = "$1" ] && { echo $(( ($(now_ns)-t0)/1000000 )); return 0; }
  [ $(( ($(now_ns)-t0)/1000000000 )) -ge $2 ] && { echo timeout; return 1; }; sleep 0.01; done; }
wait_stable() { # want hold timeout
  local t0=$(now_ns) run="" t; while :; do t=$(now_ns)
  if [ "$(nh)" = "$1" ]; then [ -z "$run" ] && run=$t; [ $(( (t-run)/1000000000 )) -ge $2 ] && { echo $(( (run-t0)/1000000 )); return 0; }; else run=""; fi
  [ $(( (t-t0)/1000000000 )) -ge $3 ] && { echo timeout; return 1; }; sleep 0.05; done; }
trap 'teardown; rm -rf $W' EXIT
ms() { echo $(( ($(now_ns) - $1) / 1000000 )); }
teardown 2>/dev/null; setup
if [ $ROUTER = bird ]; then bird_conf $H $D; start_bird; full() { birdc show ospf neighbors | grep -c Full; }
else frr_conf $H $D; start_frr; full() { vty show ip ospf neighbor | grep -c Full; }; fi
T0=$(now_ns)
start_spk d1 21 --hello $H --dead $D --prefix $VIP/32
start_spk d2 22 --hello $H --dead $D --prefix $VIP/32
while [ "$(full)" != 2 ]; do sleep 0.05; [ $(ms $T0) -gt $((D * 4000 + 60000)) ] && break; done
echo "RESULT $ROUTER hello=$H/dead=$D start->router sees 2 Full: $(ms $T0) ms"
r=$(wait_stable 2 3 $((D * 2 + 60))); echo "RESULT $ROUTER hello=$H/dead=$D start->2-nexthop route: $(( r )) ms (then stable 3 s)"
sleep 6
for i in 1 2 3; do
  wait_stable 2 2 60 >/dev/null; t0=$(now_ns); cmd d1 "withdraw $VIP/32"
  echo "RESULT $ROUTER hello=$H/dead=$D withdraw->router drops nexthop: $(wait_nh 1 30) ms"
  sleep 6; cmd d1 "announce $VIP/32"; echo "RESULT $ROUTER hello=$H/dead=$D announce->2 nexthops: $(wait_stable 2 2 60) ms"; sleep 6
done
p=$(cat $W/d2.pid); t0=$(now_ns); kill -TERM $p
echo "RESULT $ROUTER hello=$H/dead=$D SIGTERM->router drops nexthop: $(wait_nh 1 30) ms"
while kill -0 $p 2>/dev/null; do sleep 0.01; done; echo "RESULT $ROUTER hello=$H/dead=$D SIGTERM->process exit: $(ms $t0) ms"
t0=$(now_ns); start_spk d2 22 --hello $H --dead $D --prefix $VIP/32
echo "RESULT $ROUTER hello=$H/dead=$D restart->2 nexthops: $(wait_stable 2 3 $((D * 3 + 60))) ms"
sleep 3; p=$(cat $W/d2.pid); kill -9 $p; sleep 0.2; t0=$(now_ns); start_spk d2 22 --hello $H --dead $D --prefix $VIP/32
seq=""; for i in $(seq 1 30); do seq="$seq$(nh)"; sleep 0.1; done
echo "RESULT $ROUTER hello=$H/dead=$D kill -9 + restart, nexthops every 100 ms: $seq; stable 2 after $(( $(wait_stable 2 3 $((D * 3 + 60))) + 3000 )) ms"
