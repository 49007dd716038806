"""A fault-injecting HTTP proxy in front of a real registry: what a real registry cannot do on
demand (429 with Retry-After, bursts of 503, truncated bodies, lying digests, stalls)."""
import hashlib
import http.client
import http.server
import threading
import time

from registry import free_port


class FaultProxy:
    """Forwards to `upstream` (host:port). `plan[repo]` is a list of faults applied, in order,
    to successive manifest requests of that repository: "503", "429", "truncate", "stall",
    "lie" (wrong Docker-Content-Digest), "sha512" (the body's true sha512 as
    Docker-Content-Digest), or "pass". When the list runs out, "pass"; a plan
    ending in "*" repeats its last fault forever. With `bearer`, `plan["token"]` ("429", "503")
    applies to successive token requests."""

    def __init__(self, upstream: str, plan: dict, stall_seconds: float = 3.0, bearer: bool = False,
                 latency: float = 0.0):
        self.upstream = upstream
        self.latency = latency
        self.requests = 0
        self.bearer = bearer
        self.token_requests = []
        self.plan = {k: list(v) for k, v in plan.items()}
        self.counts = {}
        self.lock = threading.Lock()
        self.stall = stall_seconds
        self.local = threading.local()
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                proxy.handle(self, "GET")

            def do_HEAD(self):
                proxy.handle(self, "HEAD")

        class Server(http.server.ThreadingHTTPServer):
            request_queue_size = 256

        self.server = Server(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def next_fault(self, path: str) -> str:
        if "/manifests/" not in path:
            return "pass"
        repo = path.split("/v2/", 1)[1].split("/manifests/", 1)[0]
        with self.lock:
            self.counts[repo] = self.counts.get(repo, 0) + 1
            faults = self.plan.get(repo, [])
            if not faults:
                return "pass"
            if faults[0] == "*":
                return faults[1] if len(faults) > 1 else "pass"
            f = faults.pop(0)
            if faults == ["*"]:
                faults.insert(0, f)
                faults.reverse()  # ["*", f]: repeat f forever
            return f

    def token_flow(self, req) -> bool:
        """The registry token flow (distribution's token auth): 401 with a Bearer challenge,
        a token endpoint, then only `Authorization: Bearer <token>` passes. True when handled."""
        if req.path.startswith("/token"):
            with self.lock:
                self.token_requests.append(req.path)
                faults = self.plan.get("token", [])
                fault = faults.pop(0) if faults else "pass"
            if fault in ("503", "429"):
                self.send_fault(req, fault)
                return True
            body = b'{"token":"t0k3n","access_token":"t0k3n","expires_in":300}'
            req.send_response(200)
            req.send_header("Content-Type", "application/json")
            req.send_header("Content-Length", str(len(body)))
            req.end_headers()
            req.wfile.write(body)
            return True
        if req.headers.get("Authorization") == "Bearer t0k3n":
            return False
        scope = ""
        if "/manifests/" in req.path:
            repo = req.path.split("/v2/", 1)[1].split("/manifests/", 1)[0]
            scope = f',scope="repository:{repo}:pull"'
        body = b'{"errors":[{"code":"UNAUTHORIZED","message":"token required"}]}'
        req.send_response(401)
        req.send_header("WWW-Authenticate", f'Bearer realm="http://{self.host}/token",service="imagebom-test"{scope}')
        req.send_header("Content-Type", "application/json")
        req.send_header("Content-Length", str(len(body)))
        req.end_headers()
        req.wfile.write(body)
        return True

    def send_fault(self, req, fault):
        code = "TOOMANYREQUESTS" if fault == "429" else "UNAVAILABLE"
        body = b'{"errors":[{"code":"%s","message":"injected"}]}' % code.encode()
        req.send_response(int(fault))
        if fault == "429":
            req.send_header("Retry-After", "1")
        req.send_header("Content-Type", "application/json")
        req.send_header("Content-Length", str(len(body)))
        req.end_headers()
        req.wfile.write(body)

    def handle(self, req, method):
        with self.lock:
            self.requests += 1
        if self.latency:
            time.sleep(self.latency)
        if self.bearer and self.token_flow(req):
            return
        fault = self.next_fault(req.path)
        if fault in ("503", "429"):
            self.send_fault(req, fault)
            return
        if fault == "stall":
            time.sleep(self.stall)
        # One keep-alive upstream connection per handler thread.
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = http.client.HTTPConnection(self.upstream, timeout=30)
        drop = ("host", "connection", "authorization") if self.bearer else ("host", "connection")
        # Repeated headers (skopeo sends one Accept line per media type) are joined, not dropped.
        headers = {k: ", ".join(req.headers.get_all(k)) for k in set(req.headers.keys())
                   if k.lower() not in drop}
        conn.request(method, req.path, headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        req.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() in ("connection", "transfer-encoding", "content-length"):
                continue
            if k.lower() == "docker-content-digest" and fault == "lie":
                v = "sha256:" + "0" * 64
            if k.lower() == "docker-content-digest" and fault == "sha512":
                v = "sha512:" + hashlib.sha512(body).hexdigest()
            if k.lower() == "www-authenticate":
                v = v.replace(self.upstream, self.host)
            req.send_header(k, v)
        req.send_header("Content-Length", str(len(body)))
        if fault == "truncate":
            req.send_header("Connection", "close")
        req.end_headers()
        if method == "GET":
            req.wfile.write(body[: len(body) // 2] if fault == "truncate" else body)
        if fault == "truncate":
            req.close_connection = True

    def stop(self):
        self.server.shutdown()


def _serve(handler_fn, tls=None):
    """A threaded HTTP(S) server on loopback calling `handler_fn(req, method)`; returns it
    with `.port`. `tls` is an `ssl.SSLContext` for HTTPS."""
    port = free_port()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            handler_fn(self, "GET")

        def do_HEAD(self):
            handler_fn(self, "HEAD")

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    server.port = port
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def send(req, status, body=b"", headers=(), trickle=0.0):
    """Answers `req`; with `trickle`, the body goes one byte every `trickle` seconds."""
    req.send_response(status)
    for k, v in headers:
        req.send_header(k, v)
    req.send_header("Content-Length", str(len(body)))
    req.end_headers()
    if req.command == "HEAD":
        return
    try:
        if trickle:
            for b in body:
                req.wfile.write(bytes([b]))
                req.wfile.flush()
                time.sleep(trickle)
        else:
            req.wfile.write(body)
    except (BrokenPipeError, ConnectionResetError):
        pass


def chart_archive(name: str, version: str, image: str) -> bytes:
    """A chart archive as `helm package` lays it out, with one Pod running `image`."""
    import io
    import tarfile
    files = {
        f"{name}/Chart.yaml": f"apiVersion: v2\nname: {name}\nversion: {version}\n",
        f"{name}/templates/pod.yaml":
            f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers:\n  - {{name: c, image: '{image}'}}\n",
    }
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for path, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


class ChartRepo:
    """An HTTP chart repository with chart `app` 1.0.0. With `auth` (user, password) every
    request needs those Basic credentials; `seen` records each request's path and
    Authorization header. With `trickle`, index.yaml goes one byte every `trickle` seconds."""

    def __init__(self, image: str, auth=None, trickle=0.0):
        import base64
        import hashlib
        self.archive = chart_archive("app", "1.0.0", image)
        digest = hashlib.sha256(self.archive).hexdigest()
        self.index = (f"apiVersion: v1\nentries:\n  app:\n  - name: app\n    version: 1.0.0\n"
                      f"    digest: {digest}\n    urls: [charts/app-1.0.0.tgz]\n").encode()
        self.want = None if auth is None else "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        self.trickle = trickle
        self.seen = []
        self.server = _serve(self.handle)
        self.host = f"127.0.0.1:{self.server.port}"
        self.url = f"http://{self.host}"

    def handle(self, req, method):
        authz = req.headers.get("Authorization")
        self.seen.append((req.path, authz))
        if self.want is not None and authz != self.want:
            send(req, 401, b"unauthorized", [("WWW-Authenticate", 'Basic realm="charts"')])
        elif req.path == "/index.yaml":
            send(req, 200, self.index, trickle=self.trickle)
        elif req.path == "/charts/app-1.0.0.tgz":
            send(req, 200, self.archive)
        else:
            send(req, 404, b"not found")

    def stop(self):
        self.server.shutdown()


class Trickle:
    """A registry that needs no token and sends every manifest one byte a second."""

    def __init__(self, body: bytes = b'{"schemaVersion":2}' * 4):
        self.body = body
        self.server = _serve(self.handle)
        self.host = f"127.0.0.1:{self.server.port}"

    def handle(self, req, method):
        if req.path == "/v2/":
            send(req, 200, b"{}")
        else:
            send(req, 200, self.body, [("Content-Type", "application/vnd.oci.image.manifest.v1+json")],
                 trickle=1.0)

    def stop(self):
        self.server.shutdown()


def tls_pair(dir) -> tuple:
    """A CA and a certificate for 127.0.0.1 it signs (openssl): (ca.pem, cert.pem, key.pem)."""
    import subprocess
    dir.mkdir(parents=True, exist_ok=True)
    ca, ca_key, cert, key = (dir / n for n in ("ca.pem", "ca.key", "cert.pem", "key.pem"))
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=imagebom test CA", "-keyout", ca_key, "-out", ca], check=True,
                   capture_output=True)
    csr = dir / "cert.csr"
    subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
                    "-keyout", key, "-out", csr], check=True, capture_output=True)
    ext = dir / "ext.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
                    "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", cert],
                   check=True, capture_output=True)
    return ca, cert, key


class RealmRegistry:
    """An HTTPS registry whose token realm is a plain-HTTP endpoint on another port: the
    realm server records the Authorization header of every token request and answers with a
    token the registry accepts."""

    MANIFEST = b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:' + b"0" * 64 + b'","size":2},"layers":[]}'

    def __init__(self, dir):
        import ssl
        self.ca, cert, key = tls_pair(dir)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.token_auth = []
        self.realm_server = _serve(self.token)
        self.realm_host = f"127.0.0.1:{self.realm_server.port}"
        self.server = _serve(self.registry, tls=ctx)
        self.host = f"127.0.0.1:{self.server.port}"

    def token(self, req, method):
        self.token_auth.append(req.headers.get("Authorization"))
        send(req, 200, b'{"token":"t0k3n"}', [("Content-Type", "application/json")])

    def registry(self, req, method):
        if req.headers.get("Authorization") != "Bearer t0k3n":
            challenge = f'Bearer realm="http://{self.realm_host}/token",service="realm-test"'
            send(req, 401, b'{"errors":[{"code":"UNAUTHORIZED"}]}', [("WWW-Authenticate", challenge)])
        elif "/manifests/" in req.path:
            import hashlib
            send(req, 200, self.MANIFEST, [("Content-Type", "application/vnd.oci.image.manifest.v1+json"),
                                           ("Docker-Content-Digest", "sha256:" + hashlib.sha256(self.MANIFEST).hexdigest())])
        else:
            send(req, 200, b"{}")

    def stop(self):
        self.server.shutdown()
        self.realm_server.shutdown()
