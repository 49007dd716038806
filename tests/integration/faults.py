"""A fault-injecting HTTP proxy in front of a real registry: what a real registry cannot do on
demand (429 with Retry-After, bursts of 503, truncated bodies, lying digests, stalls)."""
import http.client
import http.server
import threading
import time

from registry import free_port


class FaultProxy:
    """Forwards to `upstream` (host:port). `plan[repo]` is a list of faults applied, in order,
    to successive manifest requests of that repository: "503", "429", "truncate", "stall",
    "lie" (wrong Docker-Content-Digest), or "pass". When the list runs out, "pass"; a plan
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
