#!/usr/bin/python3
"""An HTTP/1.1 client that keeps sending a large body after the server has
answered (as browsers do: they read the answer only once the body is sent).

Usage: early_answer_client.py HOST PORT PATH TOKEN BODY_BYTES SECONDS [CA]

Sends POST PATH with "Authorization: Bearer TOKEN" and BODY_BYTES of body,
spread over about SECONDS, over TLS when CA (a PEM file) is given; then
prints what the server answered (its status line first) and exits 0, or
prints the error and exits 1 when nothing could be read.
"""
import socket
import ssl
import sys
import time


def main(argv):
    if len(argv) not in (7, 8):
        print(__doc__, file=sys.stderr)
        return 2
    host, port, path, token = argv[1], int(argv[2]), argv[3], argv[4]
    size, seconds = int(argv[5]), float(argv[6])
    sock = socket.create_connection((host, port), timeout=30)
    if len(argv) == 8:
        context = ssl.create_default_context(cafile=argv[7])
        context.check_hostname = False
        sock = context.wrap_socket(sock, server_hostname=host)
    head = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: Bearer {token}\r\nConnection: close\r\n"
            f"Content-Length: {size}\r\n\r\n").encode()
    sock.sendall(head)
    piece = 64 << 10
    pieces = max(1, size // piece)
    try:
        for i in range(pieces):
            sock.sendall(b"x" * (piece if i < pieces - 1 else
                                 size - piece * (pieces - 1)))
            time.sleep(seconds / pieces)
    except OSError as e:
        print(f"(sending stopped: {e})", file=sys.stderr)
    answer = b""
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    except OSError as e:
        if not answer:
            print(f"nothing read: {e}")
            return 1
    print(answer.decode(errors="replace"))
    return 0 if answer else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
