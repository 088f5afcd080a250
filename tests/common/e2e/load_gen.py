"""Load generator for the end-to-end and chaos tests (tests/common/e2e.rs).

Holds one long-lived stream per STREAM source address: every TICK seconds it sends a line
and checks the answer of stream_server.py (the echo and a running CRC-32 of everything
sent), and reopens a stream that broke after a pause. A probe thread opens short
connections from the PROBE sources, round robin, one line each. On "fresh ID SRCS" it opens
one new connection from each source and reports which real server greeted it: where the
scheduler sends a new connection from that address now. Everything is bounded: a reply is
awaited at most REPLY_TIMEOUT seconds, and the program ends when stdin closes.

Prints one JSON object a line (flushed):
  {"ev": "ready"}                                       the streams are starting
  {"ev": "open", "src", "sport", "server"}             a stream is established
  {"ev": "open_fail", "src", "reason"}                  a stream could not be (re)opened
  {"ev": "broken", "src", "sport", "server", "seq", "reason"}
  {"ev": "probe_fail", "src", "reason"}                 a short connection failed
  {"ev": "status", "id", "streams": [...], "probes_ok", "probes_failed"}   on "status ID"
  {"ev": "fresh", "id", "servers": {src: name}, "errors": {src: reason}}  on "fresh ID SRCS"
Usage: load_gen.py VIP PORT STREAM_SRCS PROBE_SRCS TICK
"""
import errno
import json
import os
import socket
import sys
import threading
import time
import zlib

VIP, PORT = sys.argv[1], int(sys.argv[2])
STREAM_SRCS = [s for s in sys.argv[3].split(",") if s]
PROBE_SRCS = [s for s in sys.argv[4].split(",") if s]
TICK = float(sys.argv[5])
CONNECT_TIMEOUT = 3.0
# Longer than any outage the tests cause (a router restart reconverges in ~10-25 s):
# TCP retransmits across it, and only a real failure ends the stream.
REPLY_TIMEOUT = 60.0
REOPEN_PAUSE = 0.5

out_lock = threading.Lock()
state_lock = threading.Lock()
streams = {}  # src -> {"sport", "server", "seq", "open"}
probes = {"ok": 0, "failed": 0}
stop = threading.Event()


def emit(obj):
    with out_lock:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()


def reason_of(exc):
    if isinstance(exc, ConnectionResetError):
        return "reset"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timeout"
    if isinstance(exc, OSError) and exc.errno in errno.errorcode:
        return errno.errorcode[exc.errno]
    return type(exc).__name__


def connect(src, timeout):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.settimeout(timeout)
    s.bind((src, 0))
    s.connect((VIP, PORT))
    return s


def stream(src):
    while not stop.is_set():
        try:
            s = connect(src, CONNECT_TIMEOUT)
            f = s.makefile("rwb")
            server = f.readline().decode().strip()
        except Exception as e:  # noqa: BLE001 - every failure is reported, none is fatal
            emit({"ev": "open_fail", "src": src, "reason": reason_of(e)})
            stop.wait(1.0)
            continue
        if not server:
            s.close()
            emit({"ev": "open_fail", "src": src, "reason": "eof"})
            stop.wait(1.0)
            continue
        sport = s.getsockname()[1]
        s.settimeout(REPLY_TIMEOUT)
        with state_lock:
            streams[src] = {"sport": sport, "server": server, "seq": 0, "open": True}
        emit({"ev": "open", "src": src, "sport": sport, "server": server})
        crc, seq, reason = 0, 0, None
        while not stop.is_set() and reason is None:
            seq += 1
            line = b"%d %s\n" % (seq, os.urandom(12).hex().encode())
            crc = zlib.crc32(line, crc)
            want = b"%s %08x %s" % (server.encode(), crc, line)
            try:
                f.write(line)
                f.flush()
                got = f.readline()
            except Exception as e:  # noqa: BLE001
                reason = reason_of(e)
                break
            if not got:
                reason = "eof"
            elif got != want:
                reason = "mismatch"
            else:
                with state_lock:
                    streams[src]["seq"] = seq
                stop.wait(TICK)
        try:
            s.close()
        except OSError:
            pass
        if reason is not None:
            with state_lock:
                streams[src]["open"] = False
            emit({"ev": "broken", "src": src, "sport": sport, "server": server,
                  "seq": seq, "reason": reason})
            stop.wait(REOPEN_PAUSE)


def probe():
    i = 0
    while PROBE_SRCS and not stop.is_set():
        src = PROBE_SRCS[i % len(PROBE_SRCS)]
        i += 1
        try:
            s = connect(src, CONNECT_TIMEOUT)
            f = s.makefile("rwb")
            server = f.readline().strip()
            f.write(b"probe\n")
            f.flush()
            got = f.readline()
            s.close()
            if not server or not got:
                reason = "eof"
            elif got != b"%s %08x probe\n" % (server, zlib.crc32(b"probe\n")):
                reason = "mismatch"
            else:
                reason = None
        except Exception as e:  # noqa: BLE001
            reason = reason_of(e)
        with state_lock:
            probes["ok" if reason is None else "failed"] += 1
        if reason is not None:
            emit({"ev": "probe_fail", "src": src, "reason": reason})
        stop.wait(TICK / 2)


def fresh(src):
    """(server, None) for a new connection from src, or (None, reason)."""
    try:
        s = connect(src, CONNECT_TIMEOUT)
        server = s.makefile("rb").readline().decode().strip()
        s.close()
    except Exception as e:  # noqa: BLE001
        return None, reason_of(e)
    return (server, None) if server else (None, "eof")


threads = [threading.Thread(target=stream, args=(src,), daemon=True) for src in STREAM_SRCS]
threads.append(threading.Thread(target=probe, daemon=True))
for t in threads:
    t.start()
emit({"ev": "ready"})
for command in sys.stdin:
    words = command.split()
    if words[:1] == ["status"]:
        with state_lock:
            snapshot = [dict(v, src=k) for k, v in sorted(streams.items())]
            ok, failed = probes["ok"], probes["failed"]
        emit({"ev": "status", "id": words[1] if len(words) > 1 else "",
              "streams": snapshot, "probes_ok": ok, "probes_failed": failed})
    elif words[:1] == ["fresh"] and len(words) == 3:
        servers, errors = {}, {}
        for src in words[2].split(","):
            server, reason = fresh(src)
            if server is None:
                errors[src] = reason
            else:
                servers[src] = server
        emit({"ev": "fresh", "id": words[1], "servers": servers, "errors": errors})
stop.set()
