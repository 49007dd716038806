"""Real registries for the tests: Debian's docker-registry on loopback, filled with skopeo from
OCI layouts built here (no network, no mocks)."""
import base64
import gzip
import hashlib
import io
import json
import os
import pathlib
import socket
import subprocess
import tarfile
import time
import urllib.error
import urllib.request

REGISTRY_BIN = "/usr/bin/docker-registry"
SKOPEO = "/usr/bin/skopeo"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Registry:
    """A running docker-registry; `htpasswd` (user, password) turns on basic auth."""

    def __init__(self, root: pathlib.Path, htpasswd=None, in_memory=False, env=None):
        assert os.access(REGISTRY_BIN, os.X_OK), "docker-registry is not installed (apt-get install docker-registry)"
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.auth = htpasswd
        root.mkdir(parents=True, exist_ok=True)
        config = {
            "version": 0.1,
            # Production-style settings: no access log, blob descriptors cached in memory
            # (the benchmark shares two cores between this registry and the client).
            "log": {"level": "error", "accesslog": {"disabled": True}},
            "storage": {"filesystem": {"rootdirectory": str(root / "data")}, "delete": {"enabled": True},
                        "cache": {"blobdescriptor": "inmemory"}},
            "http": {"addr": self.host},
        }
        if in_memory:
            # distribution's in-memory storage driver: the same registry code, no disk I/O
            # per request (the resolve benchmark measures the client, not the disk).
            config["storage"] = {"inmemory": {}, "delete": {"enabled": True}}
        if htpasswd:
            import bcrypt

            user, password = htpasswd
            hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
            (root / "htpasswd").write_text(f"{user}:{hashed}\n")
            config["auth"] = {"htpasswd": {"realm": "imagebom-test", "path": str(root / "htpasswd")}}
        (root / "config.yml").write_text(json.dumps(config))  # JSON is YAML
        self.proc = subprocess.Popen([REGISTRY_BIN, "serve", str(root / "config.yml")],
                                     env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL, stderr=open(root / "registry.log", "wb"))
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"http://{self.host}/v2/", timeout=1)
                return
            except urllib.error.HTTPError:
                return  # 401 from an auth registry: it is up
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"registry did not start: {(root / 'registry.log').read_text()}")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)

    def creds_args(self, flag):
        return [flag, f"{self.auth[0]}:{self.auth[1]}"] if self.auth else []

    def push(self, layout, tag, repo, fmt=None):
        args = [SKOPEO, "copy", "--all", "--quiet", "--dest-tls-verify=false",
                *self.creds_args("--dest-creds")]
        if fmt:
            args += ["--format", fmt]
        subprocess.run(args + [f"oci:{layout}:{tag}", f"docker://{self.host}/{repo}:{tag}"],
                       check=True, capture_output=True)

    def raw(self, ref):
        """What skopeo says the manifest is: the oracle for digests and platforms."""
        p = subprocess.run([SKOPEO, "inspect", "--raw", "--tls-verify=false",
                            *self.creds_args("--creds"), f"docker://{self.host}/{ref}"],
                           check=True, capture_output=True)
        return p.stdout


class Layout:
    """An OCI image layout written by hand (the image-spec's format, nothing else)."""

    def __init__(self, root: pathlib.Path):
        self.root = root
        (root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        (root / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
        self.refs = []

    def blob(self, data: bytes, media_type: str) -> dict:
        d = hashlib.sha256(data).hexdigest()
        (self.root / "blobs" / "sha256" / d).write_bytes(data)
        return {"mediaType": media_type, "digest": f"sha256:{d}", "size": len(data)}

    def image(self, arch: str, variant=None, text=b"hello") -> dict:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as t:
            info = tarfile.TarInfo("hello.txt")
            info.size = len(text) + len(arch)
            info.mtime = 0
            t.addfile(info, io.BytesIO(text + arch.encode()))
        raw = buf.getvalue()
        layer = self.blob(gzip.compress(raw, mtime=0), "application/vnd.oci.image.layer.v1.tar+gzip")
        config = {"architecture": arch, "os": "linux",
                  "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(raw).hexdigest()]},
                  "config": {}}
        if variant:
            config["variant"] = variant
        cfg = self.blob(json.dumps(config).encode(), "application/vnd.oci.image.config.v1+json")
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": cfg, "layers": [layer]}
        desc = self.blob(json.dumps(manifest).encode(), manifest["mediaType"])
        desc["platform"] = {"os": "linux", "architecture": arch, **({"variant": variant} if variant else {})}
        return desc

    def artifact(self) -> dict:
        empty = self.blob(b"{}", "application/vnd.oci.empty.v1+json")
        payload = self.blob(b'{"sbom":true}', "application/vnd.example.sbom+json")
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "artifactType": "application/vnd.example.sbom+json", "config": empty, "layers": [payload]}
        return self.blob(json.dumps(manifest).encode(), manifest["mediaType"])

    def index(self, manifests) -> dict:
        idx = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests}
        return self.blob(json.dumps(idx).encode(), idx["mediaType"])

    def tag(self, desc: dict, tag: str):
        d = {k: v for k, v in desc.items() if k != "platform"}
        d["annotations"] = {"org.opencontainers.image.ref.name": tag}
        self.refs.append(d)
        (self.root / "index.json").write_text(json.dumps(
            {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": self.refs}))


def docker_config(dir: pathlib.Path, host: str, user: str, password: str) -> pathlib.Path:
    dir.mkdir(parents=True, exist_ok=True)
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    (dir / "config.json").write_text(json.dumps({"auths": {host: {"auth": auth}}}))
    return dir
