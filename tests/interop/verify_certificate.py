#!/usr/bin/python3
"""An independent verifier of a Loupe certificate bundle, written from the
published formats (DSSE v1, in-toto Statement v1, docs/certificate-format.md),
not from Loupe's code.

Usage: verify_certificate.py BUNDLE.json PUBLIC_KEY_HEX FILE...
Exit 0 if the signature verifies, the statement is an in-toto v1 statement
whose loupe:subject-set digest matches its subjects, and every FILE's
SHA-256 is a subject; else prints why and exits 1.
"""
import base64
import hashlib
import json
import sys

import nacl.exceptions
import nacl.signing


def b64decode(text):
    text = text.replace("-", "+").replace("_", "/")
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def pae(payload_type, payload):
    return b"DSSEv1 %d %s %d %s" % (len(payload_type), payload_type,
                                    len(payload), payload)


def canonical(value):
    # The subset of RFC 8785 the set digest needs: sorted keys, no spaces,
    # strings as JSON with non-ASCII left as is.
    return json.dumps(value, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode()


def fail(reason):
    print(reason)
    return 1


def main():
    bundle = json.load(open(sys.argv[1], "rb"))
    envelope = bundle["certificate"]
    key = nacl.signing.VerifyKey(bytes.fromhex(sys.argv[2]))
    payload = b64decode(envelope["payload"])
    message = pae(envelope["payloadType"].encode(), payload)
    if not any(_verifies(key, message, s) for s in envelope["signatures"]):
        return fail("no signature verifies")
    if envelope["payloadType"] != "application/vnd.in-toto+json":
        return fail("not an in-toto payload")
    statement = json.loads(payload)
    if statement["_type"] != "https://in-toto.io/Statement/v1":
        return fail("not an in-toto Statement v1")
    files = [s for s in statement["subject"] if s["name"] != "loupe:subject-set"]
    sets = [s for s in statement["subject"] if s["name"] == "loupe:subject-set"]
    listed = sorted(({"digest": {"sha256": s["digest"]["sha256"]},
                      "name": s["name"]} for s in files),
                    key=lambda s: (s["name"], s["digest"]["sha256"]))
    if len(sets) != 1 or sets[0]["digest"]["sha256"] != \
            hashlib.sha256(canonical(listed)).hexdigest():
        return fail("subject-set digest does not match")
    digests = {s["digest"]["sha256"] for s in files}
    for path in sys.argv[3:]:
        if hashlib.sha256(open(path, "rb").read()).hexdigest() not in digests:
            return fail(path + " matches no subject")
    print("verified", statement["predicateType"])
    return 0


def _verifies(key, message, signature):
    try:
        key.verify(message, b64decode(signature["sig"]))
        return True
    except nacl.exceptions.BadSignatureError:
        return False


if __name__ == "__main__":
    sys.exit(main())
