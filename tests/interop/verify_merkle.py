#!/usr/bin/python3
"""An independent RFC 6962 / RFC 9162 Merkle tree checker, written from the
RFC (not from Loupe's code). Reads a JSON file of leaves, roots and proofs
produced by Loupe, recomputes every root from the leaves (MTH, RFC 9162
2.1.1) and verifies every inclusion proof (2.1.3.2) and consistency proof
(2.1.4.2). Exit 0 if all hold; else prints the first failure and exits 1.

Usage: verify_merkle.py PROOFS.json
"""
import hashlib
import json
import sys


def h(data):
    return hashlib.sha256(data).digest()


def mth(leaves):
    n = len(leaves)
    if n == 0:
        return h(b"")
    if n == 1:
        return h(b"\x00" + leaves[0])
    k = 1
    while k << 1 < n:
        k <<= 1
    return h(b"\x01" + mth(leaves[:k]) + mth(leaves[k:]))


def verify_inclusion(leaf_hash, index, size, path, root):
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf_hash
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = h(b"\x01" + p + r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = h(b"\x01" + r + p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first, second, first_hash, second_hash, path):
    if first == second:
        return not path and first_hash == second_hash
    if not path:
        return False
    if first & (first - 1) == 0:
        path = [first_hash] + path
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = h(b"\x01" + c + fr)
            sr = h(b"\x01" + c + sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = h(b"\x01" + sr + c)
        fn >>= 1
        sn >>= 1
    return fr == first_hash and sr == second_hash and sn == 0


def main():
    data = json.load(open(sys.argv[1]))
    entries = [bytes.fromhex(e) for e in data["entries"]]
    roots = {int(k): bytes.fromhex(v) for k, v in data["roots"].items()}
    for size, root in roots.items():
        if mth(entries[:size]) != root:
            print("root mismatch at size", size)
            return 1
    for p in data["inclusion"]:
        leaf = h(b"\x00" + entries[p["index"]])
        path = [bytes.fromhex(x) for x in p["proof"]]
        if not verify_inclusion(leaf, p["index"], p["size"], path,
                                roots[p["size"]]):
            print("inclusion proof fails:", p["index"], p["size"])
            return 1
    for p in data["consistency"]:
        path = [bytes.fromhex(x) for x in p["proof"]]
        if not verify_consistency(p["old"], p["new"], roots[p["old"]],
                                  roots[p["new"]], path):
            print("consistency proof fails:", p["old"], p["new"])
            return 1
    print("ok: %d roots, %d inclusion and %d consistency proofs" %
          (len(roots), len(data["inclusion"]), len(data["consistency"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
