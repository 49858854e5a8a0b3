#!/usr/bin/env python3
"""Prints the hex Ed25519 seed of a Loupe secret key file.

An independent reading of docs/certificate-format.md ("Secret key files"):
Argon2id of the passphrase (the first line of PASSPHRASE_FILE), then
XChaCha20-Poly1305 with associated data "loupe-secret-key-v1" || public key.
The verify page's browser test uses it to sign with a retired key.

Usage: open_key_file.py KEY_FILE PASSPHRASE_FILE
"""
import base64
import json
import sys

import nacl.bindings
import nacl.pwhash
import nacl.signing


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        key = json.load(f)
    with open(sys.argv[2], "rb") as f:
        passphrase = f.readline().rstrip(b"\r\n")
    kdf = key["kdf"]
    assert key["format"] == "loupe-secret-key-v1" and kdf["alg"] == "argon2id13"
    file_key = nacl.pwhash.argon2id.kdf(
        32, passphrase, base64.b64decode(kdf["salt"]),
        opslimit=kdf["opslimit"], memlimit=kdf["memlimit"])
    public_key = bytes.fromhex(key["public_key"])
    seed = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
        base64.b64decode(key["ciphertext"]),
        b"loupe-secret-key-v1" + public_key,
        base64.b64decode(key["nonce"]), file_key)
    signing = nacl.signing.SigningKey(seed)
    assert bytes(signing.verify_key) == public_key, "the seed is not the key's"
    print(seed.hex())


if __name__ == "__main__":
    main()
