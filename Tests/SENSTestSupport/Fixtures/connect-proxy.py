#!/usr/bin/env python3
"""A minimal HTTP CONNECT proxy for the gateway's egress-proxy tests.

    connect-proxy.py MODE [USER:PASSWORD]

Listens on 127.0.0.1 (a free port, printed as the first line of standard output), then prints one line per
CONNECT it is asked for: `CONNECT host:port auth=<the Proxy-Authorization's user:password, or ->`. MODE `tunnel`
opens the tunnel when the authorization matches USER:PASSWORD (or none is required), else answers 407; MODE
`refuse` answers 403 to every CONNECT.
"""
import base64
import os
import signal
import socket
import sys
import threading

# A test runner may start this with SIGTERM blocked (inherited from its own threads): unblock it, and exit on it.
signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM])
signal.signal(signal.SIGTERM, lambda *_: os._exit(0))

mode = sys.argv[1]
expected = sys.argv[2] if len(sys.argv) > 2 else None


def pipe(source, target):
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            target.sendall(data)
    except OSError:
        pass
    finally:
        for s in (source, target):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve(client):
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = client.recv(4096)
        if not chunk:
            client.close()
            return
        head += chunk
    lines = head.split(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
    method, target = lines[0].split(" ")[:2]
    auth = "-"
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "proxy-authorization" and value.strip().lower().startswith("basic "):
            auth = base64.b64decode(value.strip()[6:]).decode("utf-8", "replace")
    print(f"{method} {target} auth={auth}", flush=True)
    if method != "CONNECT" or mode == "refuse":
        client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
        client.close()
        return
    if expected is not None and auth != expected:
        client.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"t\"\r\nContent-Length: 0\r\n\r\n")
        client.close()
        return
    host, port = target.rsplit(":", 1)
    upstream = socket.create_connection((host, int(port)))
    client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
    threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
    threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()


listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(64)
print(listener.getsockname()[1], flush=True)
while True:
    connection, _ = listener.accept()
    threading.Thread(target=serve, args=(connection,), daemon=True).start()
