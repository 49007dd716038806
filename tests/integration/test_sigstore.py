"""The Sigstore oracle, live: the real sigstore-python (offline) re-derives every verdict that
../shared/sigstore/cases.json records, so the Rust suite (crates/imagebom-verify/tests/
sigstore_cases.rs), which must give the same verdicts, is compared with the tool itself and not
with a stale file."""
import json

from conftest import shared

# The oracle is required (tests/requirements.txt pins it): a missing one fails, never skips.
from sigstore import dsse  # noqa: E402
from sigstore._cli import _verify_common  # noqa: E402  (the CLI's own DSSE/artifact dispatch)
from sigstore._utils import sha256_digest  # noqa: E402
from sigstore.hashes import Hashed  # noqa: E402
from sigstore.models import Bundle, TrustedRoot  # noqa: E402
from sigstore.verify import Verifier  # noqa: E402
from sigstore.verify.policy import Identity  # noqa: E402
from sigstore_models.common.v1 import HashAlgorithm  # noqa: E402

ALGORITHMS = {"sha256": HashAlgorithm.SHA2_256, "sha384": HashAlgorithm.SHA2_384,
              "sha512": HashAlgorithm.SHA2_512}


def cases():
    doc = json.loads((shared("sigstore", "cases.json")).read_text())
    return doc["cases"]


def verdict(base, case) -> str:
    """sigstore-python's verdict for one case: 'ok' or 'fail' (any error is a failure)."""
    try:
        root = TrustedRoot.from_file(str(base / case["trusted_root"]))
        bundle = Bundle.from_json((base / case["bundle"]).read_bytes())
        policy = Identity(identity=case["identity"] or "", issuer=case["issuer"])
        verifier = Verifier(trusted_root=root)
        digest = case.get("artifact_digest")
        if digest:
            hashed = Hashed(algorithm=ALGORITHMS[digest["algorithm"]],
                            digest=bytes.fromhex(digest["value"]))
        else:
            hashed = sha256_digest((base / case["artifact"]).read_bytes())
        if digest and digest["algorithm"] != "sha256":
            # The CLI only matches sha256 subjects: verify the envelope, match the subject here.
            kind, payload = verifier.verify_dsse(bundle, policy)
            assert kind == dsse.Envelope._TYPE
            subjects = json.loads(payload)["subject"]
            assert any(s["digest"].get(digest["algorithm"]) == digest["value"] for s in subjects)
        else:
            _verify_common(verifier, hashed, bundle, policy)
        return "ok"
    except Exception:  # noqa: BLE001 - every error is a rejection, as in the CLI
        return "fail"


def test_sigstore_python_gives_the_recorded_verdicts():
    base = shared("sigstore")
    all_cases = cases()
    assert len(all_cases) == 91
    wrong = [f"{c['case']}: recorded {c['oracle']['verdict']}, sigstore-python now {v}"
             for c in all_cases if (v := verdict(base, c)) != c["oracle"]["verdict"]]
    assert not wrong, "\n".join(wrong)
    assert sum(c["expect"] == "ok" for c in all_cases) == 22
