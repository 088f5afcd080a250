#!/bin/bash
# Captures real BFD control packets from BIRD 2 and FRR 8 (bfdd) in throwaway network
# namespaces, for the golden tests in bfd/tests/codec.rs. Run as root:
#   bash bfd/scripts/capture.sh OUTDIR
# Writes OUTDIR/<name>.hex (one packet a line: source address, TAB, UDP payload in hex) for:
#   bird-frr          BIRD <-> FRR bfdd, no authentication (Down/Init/Up, Poll/Final)
#   bird-<auth>       BIRD <-> BIRD with each RFC 5880 §6.7 authentication type
set -u
OUT=${1:?outdir}
mkdir -p "$OUT"
P=bfdcap-$$
A=$P-a; B=$P-b
TMP=$(mktemp -d); chmod 755 $TMP
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  sleep 0.3
  for ns in $A $B; do
    for p in $(ip netns pids $ns 2>/dev/null); do kill -9 $p 2>/dev/null; done
    ip netns del $ns 2>/dev/null
  done
  rm -rf "$TMP"
}
trap cleanup EXIT
ip netns add $A; ip netns add $B
ip link add ${P:0:6}a type veth peer name ${P:0:6}b
ip link set ${P:0:6}a netns $A name eth0
ip link set ${P:0:6}b netns $B name eth0
ip -n $A addr add 10.77.0.1/24 dev eth0; ip -n $A link set eth0 up; ip -n $A link set lo up
ip -n $B addr add 10.77.0.2/24 dev eth0; ip -n $B link set eth0 up; ip -n $B link set lo up

bird_conf() { # self peer auth
  local auth=""
  if [ "$3" != none ]; then auth="authentication $3; password \"bfd-secret\" { id 7; };"; fi
  cat <<B
router id $1;
protocol device {}
protocol bfd {
  interface "eth0" { min rx interval 100 ms; min tx interval 100 ms; idle tx interval 1000 ms; multiplier 3; $auth };
  neighbor $2;
}
B
}
start_bird() { # ns name self peer auth
  bird_conf $3 $4 "$5" > $TMP/$2.conf
  ip netns exec $1 bird -c $TMP/$2.conf -s $TMP/$2.ctl -P $TMP/$2.pid
  sleep 0.2; PIDS+=($(cat $TMP/$2.pid))
}
stop_all() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; PIDS=(); sleep 0.5
}
capture() { # name seconds
  ip netns exec $A tshark -q -i eth0 -f 'udp port 3784' -w "$OUT/$1.pcapng" -a duration:$2 2>/dev/null
  tshark -r "$OUT/$1.pcapng" -T fields -e ip.src -e udp.payload 2>/dev/null | tr -d ':' > "$OUT/$1.hex"
  rm -f "$OUT/$1.pcapng"
  echo "INFO: $1: $(wc -l < "$OUT/$1.hex") packets"
}

for auth in simple "keyed md5" "meticulous keyed md5" "keyed sha1" "meticulous keyed sha1"; do
  name=bird-$(echo $auth | tr ' ' '-')
  ( sleep 0.5; start_bird $A $name-a 10.77.0.1 10.77.0.2 "$auth"; start_bird $B $name-b 10.77.0.2 10.77.0.1 "$auth"; ) &
  capture $name 4
  wait
  ip netns exec $A birdc -s $TMP/$name-a.ctl show bfd sessions | sed 's/^/INFO: /'
  stop_all
  pkill -F $TMP/$name-a.pid 2>/dev/null; pkill -F $TMP/$name-b.pid 2>/dev/null; sleep 0.3
done

# FRR bfdd in B (needs zebra for interfaces), BIRD in A, no authentication.
D=$TMP/frr; mkdir -p $D
cat > $D/zebra.conf <<Z
hostname b
Z
cat > $D/bfdd.conf <<Z
hostname b
bfd
 peer 10.77.0.1 interface eth0
  receive-interval 300
  transmit-interval 300
 !
!
Z
chown -R frr:frr $D
( sleep 0.5
  ip netns exec $B /usr/lib/frr/zebra -d -f $D/zebra.conf -i $D/zebra.pid -z $D/zserv.api --vty_socket $D -P 0
  sleep 0.5
  ip netns exec $B /usr/lib/frr/bfdd -d -f $D/bfdd.conf -i $D/bfdd.pid -z $D/zserv.api --vty_socket $D -P 0
  sleep 1
  start_bird $A bird-frr-a 10.77.0.1 10.77.0.2 none
  sleep 3
  # a timer change on BIRD's side starts a Poll sequence (RFC 5880 §6.8.3)
  sed -i 's/min tx interval 100 ms/min tx interval 200 ms/' $TMP/bird-frr-a.conf
  birdc -s $TMP/bird-frr-a.ctl configure >/dev/null
) &
capture bird-frr 7
wait
vtysh --vty_socket $D -c 'show bfd peers' | sed 's/^/INFO: /'
for f in $D/bfdd.pid $D/zebra.pid; do [ -f $f ] && kill $(cat $f) 2>/dev/null; done
