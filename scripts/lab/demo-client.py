# demo-client.py VIP PORT SRC BASEPORT N [STOPFILE]
# One TCP connection per fixed source port BASEPORT..BASEPORT+N-1 from SRC, one after the
# other; prints "SPORT NAME" (the real server's answer, or "error:<reason>"). Closes with
# SO_LINGER 0 (RST, no TIME_WAIT) so the same ports can be used again by the next run.
# With STOPFILE: cycles over the ports again and again until STOPFILE exists.
import itertools
import os
import socket
import struct
import sys
import time

vip, port, src, base, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
stop = sys.argv[6] if len(sys.argv) > 6 else None
ports = itertools.cycle(range(base, base + n)) if stop else range(base, base + n)
for sport in ports:
    if stop and os.path.exists(stop):
        break
    s = socket.socket()
    s.settimeout(3)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    try:
        s.bind((src, sport))
        s.connect((vip, port))
        name = s.recv(64).decode(errors="replace").strip() or "error:empty"
    except OSError as e:
        name = "error:" + (type(e).__name__ if not e.strerror else e.strerror.replace(" ", "_"))
    finally:
        s.close()
    print(sport, name, flush=True)
    if stop:
        time.sleep(0.002)  # pacing: a few hundred connections a second are plenty
