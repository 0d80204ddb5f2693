"""Writes the safetensors fixture for TensorIOTests, and reads back files that Motive wrote.

The fixture is produced by the reference writer (the `safetensors` package, Rust core), so the
Swift reader is checked against real files rather than against itself. Every value is small
enough to check by hand; TensorIOTests/SafeTensorsFixtureTests.swift repeats them.

Regenerate the fixture (from the package root; needs `pip install safetensors numpy`, tested
with safetensors 0.8.0 and numpy 2.4):

    python3 Tests/Fixtures/make_safetensors_fixture.py

Check that a file written by Motive's `SafeTensors.write(to:)` loads in Python (the tests leave
one at $TMPDIR/motive-roundtrip.safetensors, usually /tmp):

    python3 Tests/Fixtures/make_safetensors_fixture.py --read-back /tmp/motive-roundtrip.safetensors

CI never runs this script; the fixture is committed.
"""

import argparse
import os

import numpy as np
from safetensors import TensorSpec, safe_open, serialize_file

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "TensorIOTests", "Fixtures",
                       "reference.safetensors")


def bf16_bits(values):
    """bfloat16 bit patterns of float32 values that bf16 holds exactly (numpy has no bfloat16)."""
    bits = np.asarray(values, dtype=np.float32).view(np.uint32)
    assert np.all(bits & 0xFFFF == 0), "value not exact in bfloat16"
    return (bits >> 16).astype(np.uint16)


def spec(array, dtype=None):
    """A TensorSpec over `array`'s bytes, which must outlive the spec (it holds a raw pointer).
    `safetensors.numpy.save_file` builds exactly these, but takes the dtype from numpy; going one
    level down lets us label uint16 bits as bfloat16."""
    assert array.flags.c_contiguous
    return TensorSpec(dtype=dtype or array.dtype.name, shape=list(array.shape),
                      data_ptr=array.ctypes.data, data_len=array.nbytes)


def write_fixture(path):
    arrays = {
        # Conv3d-style weight [C_out, C_in, kH, kW] = 0, 1, …, 17.
        "conv.weight": np.arange(18, dtype=np.float32).reshape(2, 1, 3, 3),
        "scale": np.array(0.5, dtype=np.float32),                        # shape []
        "empty": np.zeros((0, 3), dtype=np.float32),                     # zero-size
        # 65504 is the largest half; 2**-24 the smallest subnormal.
        "half": np.array([[1, -2, 0.5], [65504, 2**-24, -np.inf]], dtype=np.float16),
        "double": np.array([0.25, -1.5], dtype=np.float64),
        "bn.num_batches_tracked": np.array(42, dtype=np.int64),
        "int32": np.array([-3, 0, 100000], dtype=np.int32),
        "int16": np.array([-32768, 32767], dtype=np.int16),
        "int8": np.array([-128, 127], dtype=np.int8),
        "uint8": np.array([0, 255], dtype=np.uint8),
        "mask": np.array([[True, False], [False, True]]),
    }
    bfloat = bf16_bits([1.0, -2.0, 3.140625])                            # 0x3F80 0xC000 0x4049
    specs = {name: spec(a) for name, a in arrays.items()}
    specs["bfloat"] = spec(bfloat, dtype="bfloat16")
    serialize_file(specs, path, metadata={"format": "pt"})
    print(f"wrote {os.path.normpath(path)} ({os.path.getsize(path)} bytes)")


def read_back(path):
    """Loads a Motive-written file with the reference reader and prints what it holds."""
    with open(path, "rb") as f:
        header_length = int.from_bytes(f.read(8), "little")
    assert (8 + header_length) % 8 == 0, "data does not start on an 8-byte boundary"
    with safe_open(path, framework="np") as f:
        print(f"metadata: {f.metadata()}")
        for name in f.keys():
            t = f.get_tensor(name)
            print(f"{name}: {t.dtype} {list(t.shape)} {t.ravel()[:8].tolist()}")
    print("read-back OK")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--read-back", metavar="FILE", help="load a Motive-written file instead")
    args = parser.parse_args()
    if args.read_back:
        read_back(args.read_back)
    else:
        write_fixture(FIXTURE)
