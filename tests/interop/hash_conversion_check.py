#!/usr/bin/python3
"""The canonical geometry hash survives a conversion between encodings made
by independent tools (docs/geometry.md, version 3): a ring written as ASCII
STL with 6 significant digits (as CAD tools and OpenSCAD write), converted
to binary STL by admesh (`admesh -b`, with and without its repairs), and
admesh's file read and written again by Open3D (Debian python3-open3d) as
binary STL, binary PLY (doubles) and OBJ (6 digits again), hashes the same
in every file with `loupe geometry inspect`. (Open3D 0.16 reads the ASCII
STL itself one float step off for some decimals, e.g. 11.4863 as
11.486299514770508 where the nearest float is 11.486300468444824: a
different surface by up to 1 um, not a conversion, so it starts from the
binary file.) Version 2, kept to check summaries recorded before version 3,
must differ between the ASCII file and admesh's conversion: that is the
failure version 3 fixes, and a sign that the ring has corners on
half-micrometre ties at all.

Usage: hash_conversion_check.py LOUPE_BIN
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import open3d as o3d

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..",
                                "tools", "bench"))
import geometry_mesh  # noqa: E402


def write_ascii_stl(path, verts, tris):
    with open(path, "w") as f:
        f.write("solid ring\n")
        for tri in tris:
            f.write(" facet normal 0 0 0\n  outer loop\n")
            for i in tri:
                f.write("   vertex %.6g %.6g %.6g\n" % tuple(verts[i]))
            f.write("  endloop\n endfacet\n")
        f.write("endsolid ring\n")


def inspect(loupe, path, version=None):
    args = [loupe, "--json", "geometry", "inspect", path]
    if version is not None:
        args += ["--hash-version", str(version)]
    out = subprocess.run(args, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit("loupe geometry inspect %s failed: %s" % (path, out.stderr))
    return json.loads(out.stdout)


def main():
    loupe = sys.argv[1]
    work = tempfile.mkdtemp(prefix="loupe_hashconv_")
    verts, tris = geometry_mesh.band(256, 8)
    verts = geometry_mesh.moved(verts, (0.3, 1, 0.2), 0.7, (3.2, -1.7, 5.5))
    ascii_stl = os.path.join(work, "ring_ascii.stl")
    write_ascii_stl(ascii_stl, verts, tris)
    # Ties: coordinates whose 6-digit decimal lies on half a micrometre.
    written = np.array([[float("%.6g" % x) for x in v] for v in verts])
    um = written / 1e-3
    ties = int(np.sum(np.abs(um - np.round(um)) > 0.4999))
    files = {"ascii": ascii_stl}
    for name, extra in (("admesh", ["-c"]), ("admesh_repaired", [])):
        files[name] = os.path.join(work, name + ".stl")
        subprocess.run(["admesh"] + extra + ["-b", files[name], ascii_stl],
                       check=True, capture_output=True)
    mesh = o3d.io.read_triangle_mesh(files["admesh"])
    mesh.compute_triangle_normals()
    for ext in ("stl", "ply", "obj"):
        files["open3d_" + ext] = os.path.join(work, "open3d." + ext)
        assert o3d.io.write_triangle_mesh(files["open3d_" + ext], mesh)
    hashes = {}
    for name, path in files.items():
        j = inspect(loupe, path)
        assert j["geometry_hash_version"] == 3, j
        assert j["triangles"] == len(tris), (name, j["triangles"])
        hashes[name] = j["geometry_hash"]
        print("%-16s %-28s v3 %s" % (name, j["format"], j["geometry_hash"]))
    v2 = {name: inspect(loupe, files[name], 2)["geometry_hash"]
          for name in ("ascii", "admesh")}
    print("%d of %d coordinates on half-micrometre ties" %
          (ties, verts.size))
    print("v2: ascii %s, admesh %s" % (v2["ascii"], v2["admesh"]))
    failures = [n for n, h in hashes.items() if h != hashes["ascii"]]
    if failures:
        sys.exit("FAIL: v3 hash differs from the ASCII STL's for " +
                 ", ".join(failures))
    if ties == 0 or v2["ascii"] == v2["admesh"]:
        sys.exit("FAIL: no tie separates the encodings under v2; the test "
                 "would not see the failure v3 fixes")
    print("ok: every conversion hashes alike under v3")


if __name__ == "__main__":
    main()
