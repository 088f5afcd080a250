#!/bin/bash
# keepalived 2.2.7's verdict on every file of the keepalived-real corpus, for
# expectations.txt: `keepalived -t -f FILE -D` inside a throwaway namespace that has the
# interfaces the files name (veth pairs: this kernel has no dummy or vlan module).
# Prints `FILE rc=N`; keepalived's output per file goes to $OUT/ka-FILE.log.
# Usage (root): tests/keepalived_real/keepalived-verdicts.sh [CORPUS_DIR]
set -u
DIR=$(realpath "${1:-$(dirname "$0")/../../../shared/data/keepalived-real}")
OUT=${OUT:-$(mktemp -d)}
NS=dirka$$
ip netns add $NS || exit 1
trap 'ip netns del $NS' EXIT
ip -n $NS link set lo up
for i in eth0 eth1 eth2 eth3 eth4 eth5 ens192 enp0s5 enp0s3 enp0s8 enp5s0 ens160 ens3 ens4 ens5 \
         ens33 ens7f0 ens7f1 eno1 em1 em2 bond0 dpdk0 macvtap0 macvlan0 utun; do
  ip -n $NS link add $i type veth peer name p$i && ip -n $NS link set $i up && ip -n $NS link set p$i up
done
# VLAN-looking names, also as veth.
ip -n $NS link add eth0.1 type veth peer name pe01 && ip -n $NS link set eth0.1 up
ip -n $NS link add ens7f1.57 type veth peer name pe757 && ip -n $NS link set ens7f1.57 up
ip -n $NS link add dpdk0.102 type veth peer name pd102 && ip -n $NS link set dpdk0.102 up
ip -n $NS link add dpdk0.102.kni type veth peer name pkni && ip -n $NS link set dpdk0.102.kni up
for i in 0 1 2 3 4; do ip -n $NS addr add 10.$i.0.1/24 dev eth$i; done
for f in "$DIR"/*.conf; do
  b=$(basename "$f")
  (cd "$OUT" && timeout 20 ip netns exec $NS keepalived -t -f "$f" -D -l) > "$OUT/ka-$b.log" 2>&1
  echo "$b rc=$?"
done
echo "logs in $OUT" >&2
