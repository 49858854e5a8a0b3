#!/usr/bin/python3
"""An independent verifier of C2SP signed notes (Ed25519) holding C2SP
checkpoints, written from the specifications (not from Loupe's code).

Usage: verify_note.py NOTE_FILE VERIFIER_KEY
VERIFIER_KEY is "<name>+<hex key id>+<base64(0x01 || public key)>".
Exit 0 and print the checkpoint if a signature by that key verifies.
"""
import base64
import hashlib
import sys

import nacl.exceptions
import nacl.signing


def main():
    text = open(sys.argv[1], "rb").read().decode("utf-8")
    # The base64 key may itself contain "+": split at the first two only.
    name, key_id_hex, key_b64 = sys.argv[2].split("+", 2)
    key = base64.b64decode(key_b64)
    assert key[0] == 1, "not an Ed25519 key"
    key_id = hashlib.sha256(name.encode() + b"\n" + key).digest()[:4]
    assert key_id.hex() == key_id_hex, "key id does not match the key"
    body, sep, sigs = text.partition("\n\n")
    assert sep, "no blank line"
    body += "\n"
    lines = body.split("\n")[:-1]
    assert len(lines) >= 3 and lines[1].isdigit(), "not a checkpoint"
    assert len(base64.b64decode(lines[2], validate=True)) == 32
    verifier = nacl.signing.VerifyKey(key[1:])
    for line in sigs.split("\n"):
        if not line.startswith("\u2014 "):
            continue
        signer, blob = line[2:].rsplit(" ", 1)
        blob = base64.b64decode(blob)
        if signer != name or blob[:4] != key_id:
            continue
        try:
            verifier.verify(body.encode(), blob[4:])
        except nacl.exceptions.BadSignatureError:
            continue
        print("verified checkpoint of", lines[0], "size", lines[1])
        return 0
    print("no valid signature by", name)
    return 1


if __name__ == "__main__":
    sys.exit(main())
