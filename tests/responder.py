"""Answer every TCP connection with this node's name (tests/topo.sh).

usage: responder.py NAME ADDR PORT. topo.sh binds 0.0.0.0, so the responder
runs whether or not the node holds the overlay IP at the moment: the node
answers overlay traffic exactly while the address is on its lo (keepalived,
the daemon's vip_device, or topo_up put it there)."""
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
    except OSError:
        pass  # the client gave up first: nothing to tell it
    finally:
        c.close()
