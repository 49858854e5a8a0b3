#!/usr/bin/python3
"""An independent verifier of witness cosignatures on a checkpoint, written
from the C2SP texts (signed-note, tlog-checkpoint, tlog-cosignature), not
from Loupe's code.

Usage: cosignature_check.py NOTE_FILE NAME=HEXKEY [NAME=HEXKEY ...]
Each NAME=HEXKEY is a witness: its key name and 32-byte Ed25519 public key
(hex). Exit 0 and print "cosigned by NAME at TIME" for each if every listed
witness has a valid cosignature/v1 on the checkpoint; exit 1 otherwise.
"""
import base64
import hashlib
import struct
import sys

import nacl.exceptions
import nacl.signing

EM_DASH = "\u2014"


def split_note(text):
    # signed-note: the text ends at the last blank line; each signature line
    # is "— <name> <base64(key id || signature)>".
    assert text.endswith("\n"), "a note ends in a newline"
    cut = text.rfind("\n\n")
    assert cut >= 0, "no blank line"
    body = text[: cut + 1]
    lines = text[cut + 2 :].split("\n")[:-1]
    sigs = []
    for line in lines:
        assert line.startswith(EM_DASH + " "), "not a signature line: " + line
        name, b64 = line[2:].split(" ")
        sigs.append((name, base64.b64decode(b64, validate=True)))
    return body, sigs


def check_checkpoint(body):
    # tlog-checkpoint: origin, decimal size without leading zeros, base64
    # root hash of 32 bytes, each ending in a newline.
    lines = body.split("\n")[:-1]
    assert len(lines) >= 3, "not a checkpoint"
    assert lines[1] == str(int(lines[1])), "bad size line"
    assert len(base64.b64decode(lines[2], validate=True)) == 32, "bad root"
    return lines[0], int(lines[1])


def main():
    text = open(sys.argv[1], "rb").read().decode("utf-8")
    body, sigs = split_note(text)
    origin, size = check_checkpoint(body)
    ok = True
    for spec in sys.argv[2:]:
        name, hexkey = spec.rsplit("=", 1)
        key = bytes.fromhex(hexkey)
        assert len(key) == 32
        # tlog-cosignature: key ID = SHA-256(name || "\n" || 0x04 || key)[:4].
        key_id = hashlib.sha256(name.encode() + b"\n" + b"\x04" + key).digest()[:4]
        verifier = nacl.signing.VerifyKey(key)
        found = None
        for signer, blob in sigs:
            if signer != name or blob[:4] != key_id:
                continue  # Another key's signature: ignored.
            if len(blob) != 4 + 8 + 64:
                print("malformed cosignature by", name)
                return 1
            (timestamp,) = struct.unpack(">Q", blob[4:12])
            # The signed message: "cosignature/v1", "time <T>", the body.
            message = b"cosignature/v1\ntime %d\n" % timestamp + body.encode()
            try:
                verifier.verify(message, blob[12:])
            except nacl.exceptions.BadSignatureError:
                print("a cosignature by", name, "does not verify")
                return 1
            found = timestamp
        if found is None:
            print("no cosignature by", name)
            ok = False
        else:
            print("cosigned by", name, "at", found, "for", origin, "size", size)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
