"""Answer every TCP connection with this node's name (tests/topo.sh)."""
import socket
import sys

name, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, port))
s.listen(64)
while True:
    c, _ = s.accept()
    try:
        c.sendall((name + "\n").encode())
    finally:
        c.close()
