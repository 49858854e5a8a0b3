#!/usr/bin/python3
"""An independent DSSE v1 verifier, written from the specification (not from
Loupe's code): checks that Loupe's envelopes are standard DSSE.

Usage: verify_dsse.py ENVELOPE.json PUBLIC_KEY_HEX
Prints the verified payload type and exits 0, or prints why and exits 1.
Uses Debian's python3-nacl (libsodium) for Ed25519 only.
"""
import base64
import json
import sys

import nacl.exceptions
import nacl.signing


def pae(payload_type: bytes, payload: bytes) -> bytes:
    # "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
    return b"DSSEv1 %d %s %d %s" % (len(payload_type), payload_type,
                                    len(payload), payload)


def b64decode(text: str) -> bytes:
    # DSSE verifiers accept standard and URL-safe base64.
    text = text.replace("-", "+").replace("_", "/")
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def main() -> int:
    envelope = json.load(open(sys.argv[1], "rb"))
    key = nacl.signing.VerifyKey(bytes.fromhex(sys.argv[2]))
    payload = b64decode(envelope["payload"])
    message = pae(envelope["payloadType"].encode(), payload)
    for signature in envelope["signatures"]:
        try:
            key.verify(message, b64decode(signature["sig"]))
        except nacl.exceptions.BadSignatureError:
            continue
        print("verified", envelope["payloadType"])
        return 0
    print("no signature verifies")
    return 1


if __name__ == "__main__":
    sys.exit(main())
