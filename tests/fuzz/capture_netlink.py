#!/usr/bin/env python3
"""Capture real netlink replies as seeds for fuzz_tcp and fuzz_nft.

  tests/fuzz/capture_netlink.py         (as root; writes tests/fuzz/corpus/)

fuzz_tcp: a sock_diag dump of TCP sockets with INET_DIAG_INFO (a listener
and connections on loopback, IPv4 and IPv6, made here in a network
namespace of its own), with every
message's seq and port set to 0 (what the target's dump wants), and the
/proc/net/snmp and /proc/net/netstat texts. fuzz_nft: the NFT_MSG_GETOBJ
dump of a table "inet vpc_failover" with counters, made by nft(8) in a
network namespace of its own, deleted afterwards. Each seed is one
datagram, prefixed by the target's selector byte where it has one.
"""
import os
import socket
import struct
import subprocess
import sys

TOP = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(TOP, "corpus")
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLMSG_DONE = 3


def write(target, name, data):
    os.makedirs(os.path.join(CORPUS, target), exist_ok=True)
    with open(os.path.join(CORPUS, target, name), "wb") as f:
        f.write(data)


def zero_seq(dgram):
    """Set nlmsg_seq and nlmsg_pid of every message of dgram to 0."""
    out, off = bytearray(dgram), 0
    while off + 16 <= len(out):
        ln = struct.unpack_from("=I", out, off)[0]
        if ln < 16:
            break
        struct.pack_into("=II", out, off + 8, 0, 0)
        off += (ln + 3) & ~3
    return bytes(out)


def dump(sock, req):
    sock.send(req)
    dgrams = []
    for _ in range(1000):  # bounded
        d = sock.recv(65536)
        dgrams.append(d)
        if struct.unpack_from("=H", d, 4)[0] in (NLMSG_DONE, 2) or len(dgrams) > 50:
            break
        # the last message of the datagram says whether the dump is done
        off, last = 0, 0
        while off + 16 <= len(d):
            ln = struct.unpack_from("=I", d, off)[0]
            if ln < 16:
                break
            last = struct.unpack_from("=H", d, off + 4)[0]
            off += (ln + 3) & ~3
        if last in (NLMSG_DONE, 2):
            break
    return dgrams


def sock_diag():
    socks = []
    for fam, addr in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        ls = socket.socket(fam, socket.SOCK_STREAM)
        ls.bind((addr, 0))
        ls.listen(4)
        c = socket.socket(fam, socket.SOCK_STREAM)
        c.connect(ls.getsockname()[:2])
        a, _ = ls.accept()
        c.send(b"x" * 1000)
        a.recv(1000)
        socks += [ls, c, a]
    nl = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 4)  # NETLINK_SOCK_DIAG
    n = 0
    for fam in (socket.AF_INET, socket.AF_INET6):
        body = struct.pack("=BBBBI", fam, socket.IPPROTO_TCP, 1 << 1, 0, 0xFFFFFFFF)
        body += b"\0" * 48  # inet_diag_sockid: any
        req = struct.pack("=IHHII", 16 + len(body), 20, NLM_F_REQUEST | NLM_F_DUMP, 1, 0)
        for d in dump(nl, req + body):
            d = zero_seq(d)
            write("tcp", "dump-%d" % n, b"\x00" + d)
            write("tcp", "baseline-%d" % n, b"\x04" + d)
            write("tcp", "events-%d" % n, b"\x01" + d)
            n += 1
    for s in socks:
        s.close()
    with open("/proc/net/snmp", "rb") as f:
        write("tcp", "proc-snmp", b"\x02" + f.read())
    with open("/proc/net/netstat", "rb") as f:
        write("tcp", "proc-netstat", b"\x03" + f.read())


def nla(typ, data):
    ln = 4 + len(data)
    return struct.pack("=HH", ln, typ) + data + b"\0" * ((4 - ln % 4) % 4)


def nft_objs(ns):
    cmds = """add table inet vpc_failover
add counter inet vpc_failover az1_in { packets 10 bytes 1000 }
add counter inet vpc_failover az1_out { packets 20 bytes 2000 }
add counter inet vpc_failover az2_in
add counter inet vpc_failover az2_out { packets 18446744073709551615 bytes 1 }
add counter inet vpc_failover other
"""
    subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", "-"], input=cmds.encode(),
                   check=True)
    code = r"""
import socket, struct, sys
sys.path.insert(0, %r)
import capture_netlink as c
nl = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12)  # NETLINK_NETFILTER
for i, attrs in enumerate((c.nla(1, b"vpc_failover\0") + c.nla(3, struct.pack(">I", 1)), b"")):
    body = struct.pack("=BBH", 1, 0, 0) + attrs  # nfgenmsg: NFPROTO_INET
    req = struct.pack("=IHHII", 16 + len(body), (10 << 8) | 19, 1 | 0x300, 7, 0) + body
    for j, d in enumerate(c.dump(nl, req)):
        c.write("nft", "getobj-%%d-%%d" %% (i, j), d)
""" % TOP
    subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", code], check=True)


def main():
    if sys.argv[1:] == ["--sock-diag"]:
        sock_diag()
        return
    # Only this script's sockets and table: a namespace of its own.
    ns = "vpcf-fuzzcap-%d" % os.getpid()
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        subprocess.run(["ip", "netns", "exec", ns, sys.executable, __file__, "--sock-diag"],
                       check=True)
        nft_objs(ns)
    finally:
        subprocess.run(["ip", "netns", "del", ns])


if __name__ == "__main__":
    main()
