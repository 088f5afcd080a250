"""A real server's stream service for the end-to-end tests (tests/common/e2e.rs).

Greets each connection with the server's name; then answers every line L with
"NAME CRC L", where CRC is the CRC-32 of every byte received on this connection so far.
The client checks the echo (server to client) and the CRC (client to server): a stream
that lost, duplicated or reordered a byte in either direction fails its check.
Usage: stream_server.py PORT NAME
"""
import socketserver
import sys
import zlib

NAME = sys.argv[2].encode()


class Stream(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(NAME + b"\n")
        crc = 0
        for line in self.rfile:
            crc = zlib.crc32(line, crc)
            self.wfile.write(b"%s %08x %s" % (NAME, crc, line))


socketserver.ThreadingTCPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer.daemon_threads = True
socketserver.ThreadingTCPServer(("0.0.0.0", int(sys.argv[1])), Stream).serve_forever()
