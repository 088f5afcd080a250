# demo-sniff.py VIP IFACE OUT READY
# Runs in the router's namespace: for every TCP SYN to VIP that the router forwards out of
# IFACE, appends "SPORT DSTMAC" to OUT (the destination MAC says which director ECMP chose).
# Touches READY once the packet socket is bound. Observation only: it never sends.
import os
import socket
import struct
import sys

vip, iface, out_path, ready = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
vip_bytes = socket.inet_aton(vip)
sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(0x0003))  # ETH_P_ALL: only "all" taps see outgoing frames
sock.bind((iface, 0))
out = open(out_path, "a", buffering=1)
open(ready + ".tmp", "w").close()
os.rename(ready + ".tmp", ready)
while True:
    frame, addr = sock.recvfrom(256)
    if addr[2] != socket.PACKET_OUTGOING or len(frame) < 34:
        continue
    ihl = (frame[14] & 0x0F) * 4
    if frame[23] != 6 or frame[30:34] != vip_bytes or len(frame) < 14 + ihl + 14:
        continue
    tcp = frame[14 + ihl:]
    flags = tcp[13]
    if flags & 0x02 and not flags & 0x10:
        sport = struct.unpack("!H", tcp[0:2])[0]
        out.write(f"{sport} {frame[0:6].hex(':')}\n")
