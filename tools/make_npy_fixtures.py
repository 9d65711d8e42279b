#!/usr/bin/env python3
"""Writes the small NumPy reference files that packages/core/src/io/npy_test.ts reads.

Run from the repository root:  python3 tools/make_npy_fixtures.py
The outputs are committed; the tests never need Python. Each array's values follow a formula that the
test recomputes independently, so a change here must be mirrored in npy_test.ts.
"""
import os

import numpy as np
from numpy.lib import format as npy_format

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "packages", "core", "testdata", "io")


def save(name, arr):
    np.save(os.path.join(OUT, name), arr, allow_pickle=False)


def save_version(name, arr, version):
    with open(os.path.join(OUT, name), "wb") as f:
        npy_format.write_array(f, arr, version=version, allow_pickle=False)


def main():
    os.makedirs(OUT, exist_ok=True)
    # value[i] = i * 0.5 - 1 in row-major order
    save("f32_2x3x4.npy", (np.arange(24, dtype=np.float32) * 0.5 - 1).reshape(2, 3, 4))
    # value[i] = i / 3 - 1
    save("f64_2x3.npy", (np.arange(6, dtype=np.float64) / 3 - 1).reshape(2, 3))
    # value[i] = i * 25
    save("u8_2x5.npy", (np.arange(10) * 25).astype(np.uint8).reshape(2, 5))
    save("i32_4.npy", np.array([-(2**31), -1, 0, 2**31 - 1], dtype=np.int32))
    save("i64_5.npy", np.array([-(2**62), -3, 0, 7, 2**40 + 1], dtype=np.int64))
    # value[i] = i * 0.25, written with explicit format versions 2.0 and 3.0
    save_version("f32_3x2_v2.npy", (np.arange(6, dtype=np.float32) * 0.25).reshape(3, 2), (2, 0))
    save_version("f32_3x2_v3.npy", (np.arange(6, dtype=np.float32) * 0.25).reshape(3, 2), (3, 0))
    save("f64_scalar.npy", np.array(3.25, dtype=np.float64))
    save("f32_0x3.npy", np.zeros((0, 3), dtype=np.float32))
    # Not readable by cnnlens (tested as errors):
    save("f32_2x3_fortran.npy", np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)))
    save("f4_big_endian.npy", np.arange(3, dtype=">f4"))


if __name__ == "__main__":
    main()
