#!/usr/bin/env python3
"""Writes a watertight ring (a band of rectangular profile) as binary STL.

Usage: ring_stl.py OUT.stl [--inner-diameter MM] [--width MM]
                   [--thickness MM] [--segments N]

Units are millimetres. Standard library only, so any python3 runs it.
"""
import argparse
import math
import struct


def ring_triangles(inner_d, width, thickness, segments):
    r_in = inner_d / 2.0
    r_out = r_in + thickness
    z0, z1 = -width / 2.0, width / 2.0

    def p(r, i, z):
        a = 2.0 * math.pi * (i % segments) / segments
        return (r * math.cos(a), r * math.sin(a), z)

    for i in range(segments):
        j = i + 1
        quads = [
            (p(r_out, i, z0), p(r_out, j, z0), p(r_out, j, z1), p(r_out, i, z1)),
            (p(r_in, j, z0), p(r_in, i, z0), p(r_in, i, z1), p(r_in, j, z1)),
            (p(r_in, i, z1), p(r_out, i, z1), p(r_out, j, z1), p(r_in, j, z1)),
            (p(r_in, j, z0), p(r_out, j, z0), p(r_out, i, z0), p(r_in, i, z0)),
        ]
        for a, b, c, d in quads:
            yield (a, b, c)
            yield (a, c, d)


def normal(a, b, c):
    u = [b[k] - a[k] for k in range(3)]
    v = [c[k] - a[k] for k in range(3)]
    n = (u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2],
         u[0] * v[1] - u[1] * v[0])
    length = math.sqrt(sum(x * x for x in n)) or 1.0
    return tuple(x / length for x in n)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--inner-diameter", type=float, default=17.35)
    ap.add_argument("--width", type=float, default=4.0)
    ap.add_argument("--thickness", type=float, default=1.8)
    ap.add_argument("--segments", type=int, default=256)
    args = ap.parse_args()
    tris = list(ring_triangles(args.inner_diameter, args.width,
                               args.thickness, args.segments))
    with open(args.out, "wb") as f:
        header = b"Loupe ring %.2f mm" % args.inner_diameter
        f.write(header.ljust(80, b"\0"))
        f.write(struct.pack("<I", len(tris)))
        for a, b, c in tris:
            f.write(struct.pack("<12fH", *normal(a, b, c), *a, *b, *c, 0))


if __name__ == "__main__":
    main()
