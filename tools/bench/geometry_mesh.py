"""Shared by the geometry benchmark and the Open3D cross-check: the
project's asymmetric test band (as geometry/test_meshes.cc builds it) with
numpy, and writers for binary STL and PLY."""
import math

import numpy as np


def band(segments, rows, inner=8.675, outer=10.175, width=4.0, wobble=0.4):
    """Vertices (n, 3) and triangles (m, 3) of an outward-oriented band with
    a wobbly outer wall and a raised spot on one side of the top face."""
    a = 2 * math.pi * np.arange(segments) / segments
    r_out = outer + wobble * np.cos(a) + wobble / 2 * np.sin(3 * a)
    z = width * np.arange(rows + 1) / rows
    column = rows + 1
    verts = np.zeros((segments, 2, column, 3))
    for side, radius in enumerate((r_out, np.full(segments, inner))):
        verts[:, side, :, 0] = (radius * np.cos(a))[:, None]
        verts[:, side, :, 1] = (radius * np.sin(a))[:, None]
        verts[:, side, :, 2] = z[None, :]
    verts = verts.reshape(-1, 3)
    top = np.isclose(verts[:, 2], width) & (verts[:, 0] > 0) & \
        (np.abs(verts[:, 1]) < 2)
    verts[top, 2] += 0.3
    tris = []
    per = 2 * column
    for i in range(segments):
        o, on = per * i, per * ((i + 1) % segments)
        inn, innn = o + column, on + column
        k = np.arange(rows)
        quads = [
            (o + k, on + k, on + k + 1, o + k + 1),
            (inn + k, inn + k + 1, innn + k + 1, innn + k),
        ]
        for q in quads:
            tris.append(np.stack([q[0], q[1], q[2]], 1))
            tris.append(np.stack([q[0], q[2], q[3]], 1))
        for q in ((o + rows, on + rows, innn + rows, inn + rows),
                  (o, inn, innn, on)):
            tris.append(np.array([[q[0], q[1], q[2]], [q[0], q[2], q[3]]]))
    return verts, np.concatenate(tris).astype(np.int64)


def moved(verts, axis, angle, offset):
    k = np.asarray(axis, float)
    k /= np.linalg.norm(k)
    c, s = math.cos(angle), math.sin(angle)
    return (verts * c + np.cross(k, verts) * s +
            np.outer(verts @ k, k) * (1 - c) + np.asarray(offset))


def write_stl(path, verts, tris):
    corners = verts[tris].astype(np.float32)  # (m, 3, 3)
    record = np.zeros(len(tris), dtype=[("n", "<f4", 3), ("v", "<f4", (3, 3)),
                                        ("a", "<u2")])
    record["v"] = corners
    with open(path, "wb") as f:
        f.write(b" " * 80)
        f.write(np.uint32(len(tris)).tobytes())
        f.write(record.tobytes())


def write_ply(path, verts, tris):
    header = ("ply\nformat binary_little_endian 1.0\nelement vertex %d\n"
              "property float x\nproperty float y\nproperty float z\n"
              "element face %d\nproperty list uchar int vertex_indices\n"
              "end_header\n" % (len(verts), len(tris)))
    faces = np.zeros(len(tris), dtype=[("n", "u1"), ("i", "<i4", 3)])
    faces["n"] = 3
    faces["i"] = tris
    with open(path, "wb") as f:
        f.write(header.encode())
        f.write(verts.astype("<f4").tobytes())
        f.write(faces.tobytes())
