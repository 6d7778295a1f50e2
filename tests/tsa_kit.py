"""A real RFC 3161 time-stamp authority on loopback for the tests: a CA and a TSA certificate made here with the
openssl command, `openssl ts -reply` answering each request behind a tiny HTTP handler."""

from __future__ import annotations

import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

_CONFIG = """
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = placeholder
[ tsa_ext ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = critical, timeStamping
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
certs = $dir/ca.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


@dataclass
class Authority:
    """The running authority: its URL, its signing certificate and its CA (PEM files)."""

    url: str
    cert: Path
    ca: Path
    folder: Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_certificates(folder: Path, name: str = "Shifan Test TSA") -> None:
    """A CA, and a time-stamping certificate it signs (EC P-256 keys: fast to make)."""
    (folder / "openssl.cnf").write_text(_CONFIG.format(dir=folder))
    (folder / "serial").write_text("01\n")
    cnf = str(folder / "openssl.cnf")
    for key in ("ca.key", "tsa.key"):
        _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key, cwd=folder)
    _openssl("req", "-new", "-x509", "-config", cnf, "-key", "ca.key", "-subj", "/CN=Shifan Test CA", "-days", "2",
             "-out", "ca.pem", cwd=folder)  # fmt: skip
    _openssl("req", "-new", "-config", cnf, "-key", "tsa.key", "-subj", f"/CN={name}", "-out", "tsa.csr", cwd=folder)
    _openssl("x509", "-req", "-in", "tsa.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
             "-extfile", cnf, "-extensions", "tsa_ext", "-out", "tsa.pem", cwd=folder)  # fmt: skip


def _handler(folder: Path) -> type[BaseHTTPRequestHandler]:
    lock = threading.Lock()  # openssl ts -reply keeps its serial number in a file

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with lock, tempfile.TemporaryDirectory(dir=folder) as work:
                query, reply = Path(work) / "q.tsq", Path(work) / "r.tsr"
                query.write_bytes(body)
                done = subprocess.run(
                    ["openssl", "ts", "-reply", "-config", str(folder / "openssl.cnf"), "-queryfile", str(query),
                     "-out", str(reply)],
                    capture_output=True, timeout=30,
                )  # fmt: skip
                answer = reply.read_bytes() if done.returncode == 0 else b""
            self.send_response(200 if answer else 500)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *_args: object) -> None:
            pass

    return Handler


@contextmanager
def running_authority(folder: Path) -> Iterator[Authority]:
    """A time-stamp authority on 127.0.0.1 (a free port) for as long as the block runs."""
    folder.mkdir(parents=True, exist_ok=True)
    make_certificates(folder)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(folder))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Authority(
            f"http://127.0.0.1:{server.server_address[1]}/tsa", folder / "tsa.pem", folder / "ca.pem", folder
        )
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
