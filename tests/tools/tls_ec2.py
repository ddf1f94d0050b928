"""A TLS endpoint for the security tests (tests/integration/security.sh): it
answers every POST with a canned EC2 body, so that a client's certificate
checks and its handling of hostile answers can be tested.

usage: tls_ec2.py --cert PEM --key PEM --port-file FILE --mode MODE
                  [--lifetime SECONDS]

Listens on 127.0.0.1, an ephemeral port written to --port-file. MODE:
  good      a well-formed DescribeRouteTables answer (one table, one route)
  garbage   200 with a body that is not XML
  huge      200 with a 64 MiB body (the client must cap what it reads)
  deep      200 with XML nested 100,000 levels deep
Exits after --lifetime seconds (default 120) whatever happens."""
import argparse
import ssl
import threading
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ap = argparse.ArgumentParser()
ap.add_argument("--cert", required=True)
ap.add_argument("--key", required=True)
ap.add_argument("--port-file", required=True)
ap.add_argument("--mode", required=True, choices=["good", "garbage", "huge", "deep"])
ap.add_argument("--lifetime", type=float, default=120.0)
args = ap.parse_args()

GOOD = b"""<?xml version="1.0" encoding="UTF-8"?>
<DescribeRouteTablesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
 <requestId>00000000-0000-0000-0000-000000000001</requestId>
 <routeTableSet><item>
  <routeTableId>rtb-00000000000000001</routeTableId><vpcId>vpc-0123456789abcdef0</vpcId>
  <routeSet><item><destinationCidrBlock>10.255.0.10/32</destinationCidrBlock>
   <networkInterfaceId>eni-0ccccccccccccccc3</networkInterfaceId>
   <state>active</state><origin>CreateRoute</origin></item></routeSet>
 </item></routeTableSet>
</DescribeRouteTablesResponse>
"""


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(min(n, 1 << 20))
        if args.mode == "good":
            body = GOOD
        elif args.mode == "garbage":
            body = b"\x00\xffthis is not XML <<<>>>"
        elif args.mode == "deep":
            body = b"<a>" * 100000 + b"</a>" * 100000
        else:
            body = None
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        if body is None:
            size = 64 << 20
            self.send_header("Content-Length", str(size))
            self.end_headers()
            chunk = b"<x>" * 4096
            try:
                sent = 0
                while sent < size:
                    self.wfile.write(chunk)
                    sent += len(chunk)
            except OSError:
                pass
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(args.cert, args.key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
tmp = args.port_file + ".tmp"
with open(tmp, "w") as f:
    f.write("%d\n" % srv.server_address[1])
os.rename(tmp, args.port_file)
threading.Timer(args.lifetime, lambda: os._exit(0)).start()
srv.serve_forever()
