#!/usr/bin/env python3
"""Hostile OSPF and VRRP sender for tests/hostile_flood.rs (standard library only).

Run inside the attacker's namespace:
    flood.py IFACE OWN_ADDR TARGET_ADDR ROUTER_ADDR KEY_ID KEY VRID VRRP_PASS COUNT

First listens for a few seconds to record the router's authentic OSPF packets (for
replays), then sends COUNT packets of each kind below and prints one line per kind:
`sent KIND N`. Every kind must be dropped by the target, never accepted.
"""
import hashlib
import os
import random
import socket
import struct
import sys
import time

ALL_SPF = "224.0.0.5"
VRRP_GROUP = "224.0.0.18"


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ip_packet(src, dst, proto, ttl, payload):
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0xC0, 20 + len(payload), random.getrandbits(16),
                         0, ttl, proto, 0, socket.inet_aton(src), socket.inet_aton(dst))
    header = header[:10] + struct.pack("!H", csum(header)) + header[12:]
    return header + payload


def ospf(ptype, router_id, area, body, auth=None, seq=0):
    """An OSPFv2 packet; auth = None (type 0) or (key_id, key) for keyed MD5."""
    length = 24 + len(body)
    rid = socket.inet_aton(router_id)
    area_b = socket.inet_aton(area)
    if auth is None:
        head = struct.pack("!BBH4s4sHH8s", 2, ptype, length, rid, area_b, 0, 0, b"\0" * 8)
        pkt = head + body
        c = csum(pkt[:16] + pkt[24:])
        return pkt[:12] + struct.pack("!H", c) + pkt[14:]
    key_id, key = auth
    auth_field = struct.pack("!HBBI", 0, key_id, 16, seq)
    head = struct.pack("!BBH4s4sHH", 2, ptype, length, rid, area_b, 0, 2) + auth_field
    pkt = head + body
    digest = hashlib.md5(pkt + key.encode().ljust(16, b"\0")[:16]).digest()
    return pkt + digest


def hello_body(dr, neighbors=()):
    body = struct.pack("!4sHBBI4s4s", socket.inet_aton("255.255.255.0"), 1, 0x02, 1, 4,
                       socket.inet_aton(dr), socket.inet_aton("0.0.0.0"))
    for n in neighbors:
        body += socket.inet_aton(n)
    return body


def vrrp_v2(vrid, prio, addrs, password, adv_int=1, bad_checksum=False):
    body = struct.pack("!BBBBBBH", 0x21, vrid, prio, len(addrs), 1, adv_int, 0)
    for a in addrs:
        body += socket.inet_aton(a)
    body += password.encode().ljust(8, b"\0")[:8]
    c = csum(body)
    if bad_checksum:
        c ^= 0x5A5A
    return body[:6] + struct.pack("!H", c) + body[8:]


def record(own, router, seconds):
    """Authentic OSPF packets from `router` seen on the segment (IP payloads)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 89)
    # The interface by its address: the namespace has no default route to pick one.
    mreq = socket.inet_aton(ALL_SPF) + socket.inet_aton(own)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    s.settimeout(0.2)
    seen = []
    end = time.time() + seconds
    while time.time() < end:
        try:
            data, (src, _) = s.recvfrom(65535)
        except socket.timeout:
            continue
        if src == router:
            ihl = (data[0] & 0x0F) * 4
            seen.append(data[ihl:])
    s.close()
    return seen


def main():
    iface, own, target, router, key_id, key, vrid, vpass, count = sys.argv[1:10]
    key_id, vrid, count = int(key_id), int(vrid), int(count)
    random.seed(12)
    replays = record(own, router, 3.0)
    if not replays:
        print("error: no OSPF packet from %s recorded" % router)
        sys.exit(2)
    # Let the router send newer packets, so every recorded one is strictly older.
    time.sleep(2.0)
    tx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    tx.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, iface.encode())
    good_auth = (key_id, key)
    seq = int(time.time())

    def send(src, dst, proto, ttl, payload):
        tx.sendto(ip_packet(src, dst, proto, ttl, payload), (dst, 0))

    kinds = []

    def ospf_malformed(i):
        n = random.randrange(0, 80)
        data = bytes([2, random.randrange(0, 8)]) + os.urandom(n)
        send(own, ALL_SPF, 89, 1, data)

    def ospf_truncated(i):
        p = ospf(1, own, "0.0.0.0", hello_body(router), good_auth, seq + i)
        send(own, ALL_SPF, 89, 1, p[: random.randrange(1, len(p))])

    def ospf_replayed(i):
        send(router, ALL_SPF, 89, 1, replays[i % len(replays)])

    def ospf_wrong_area(i):
        p = ospf(1, own, "0.0.0.1", hello_body(router), good_auth, seq + i)
        send(own, ALL_SPF, 89, 1, p)

    def ospf_wrong_key(i):
        p = ospf(1, router, "0.0.0.0", hello_body(router, [target]), (key_id, "wrong-key"), seq + 10**6 + i)
        send(router, ALL_SPF, 89, 1, p)

    def ospf_unauthenticated(i):
        p = ospf(1, own, "0.0.0.0", hello_body(router), None)
        send(own, ALL_SPF, 89, 1, p)

    vip = "10.99.0.100"

    def vrrp_malformed(i):
        send(own, VRRP_GROUP, 112, 255, bytes([0x21, vrid]) + os.urandom(random.randrange(0, 30)))

    def vrrp_truncated(i):
        p = vrrp_v2(vrid, 254, [vip], vpass)
        send(own, VRRP_GROUP, 112, 255, p[: random.randrange(2, len(p))])

    def vrrp_ttl(i):
        send(own, VRRP_GROUP, 112, 64, vrrp_v2(vrid, 254, [vip], vpass))

    def vrrp_password(i):
        send(own, VRRP_GROUP, 112, 255, vrrp_v2(vrid, 254, [vip], "guess%d" % (i % 10)))

    def vrrp_interval(i):
        send(own, VRRP_GROUP, 112, 255, vrrp_v2(vrid, 254, [vip], vpass, adv_int=3))

    def vrrp_addresses(i):
        send(own, VRRP_GROUP, 112, 255, vrrp_v2(vrid, 254, ["10.99.0.101"], vpass))

    def vrrp_checksum(i):
        send(own, VRRP_GROUP, 112, 255, vrrp_v2(vrid, 254, [vip], vpass, bad_checksum=True))

    def vrrp_vrid(i):
        send(own, VRRP_GROUP, 112, 255, vrrp_v2((vrid + 1 + i % 200) % 256 or 1, 254, [vip], vpass))

    kinds = [
        ("ospf_malformed", ospf_malformed),
        ("ospf_truncated", ospf_truncated),
        ("ospf_replayed", ospf_replayed),
        ("ospf_wrong_area", ospf_wrong_area),
        ("ospf_wrong_key", ospf_wrong_key),
        ("ospf_unauthenticated", ospf_unauthenticated),
        ("vrrp_malformed", vrrp_malformed),
        ("vrrp_truncated", vrrp_truncated),
        ("vrrp_ttl", vrrp_ttl),
        ("vrrp_password", vrrp_password),
        ("vrrp_interval", vrrp_interval),
        ("vrrp_addresses", vrrp_addresses),
        ("vrrp_checksum", vrrp_checksum),
        ("vrrp_vrid", vrrp_vrid),
    ]
    for name, fn in kinds:
        for i in range(count):
            fn(i)
            if i % 50 == 49:
                # ~2,500 packets/s: stay under the receiver's socket buffer (a debug build
                # logging every drop at debug level, on a loaded machine).
                time.sleep(0.02)
        print("sent %s %d" % (name, count), flush=True)


if __name__ == "__main__":
    main()
