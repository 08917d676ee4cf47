"""A host that trickles its answer, in its own process, for the tracing benchmarks.

Started by ``tracing_isolation.py``: prints its URL, then answers every HTTP request with a
200 status line and one body byte every 50 ms, for ever (until stdin closes). Run directly
(as ``make bench`` does with every ``bench/*.py``) it only prints this note.
"""

from __future__ import annotations

import socket
import sys
import threading


def _trickle(conn: socket.socket, stop: threading.Event) -> None:
    with conn:
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")
            while not stop.wait(0.05):
                conn.sendall(b"x")
        except OSError:
            return


def main() -> None:
    listener = socket.create_server(("127.0.0.1", 0), backlog=512)
    stop = threading.Event()
    print(f"http://127.0.0.1:{listener.getsockname()[1]}", flush=True)

    def accept() -> None:
        while True:
            conn, _ = listener.accept()
            threading.Thread(target=_trickle, args=(conn, stop), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    sys.stdin.read()  # until the parent closes it
    stop.set()


if __name__ == "__main__":
    if "--serve" in sys.argv:
        main()
    else:
        print(__doc__)
