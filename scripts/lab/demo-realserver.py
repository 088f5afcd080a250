# demo-realserver.py PORT NAME
# A real server that answers every TCP connection with its own name and a newline.
import socketserver
import sys

name = sys.argv[2].encode() + b"\n"


class Answer(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.sendall(name)


socketserver.ThreadingTCPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer.daemon_threads = True
socketserver.ThreadingTCPServer(("0.0.0.0", int(sys.argv[1])), Answer).serve_forever()
