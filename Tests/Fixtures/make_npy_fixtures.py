"""Writes the .npy fixtures of TensorIOTests/NPYTests.swift with numpy's own writer.

Run from the package root: python3 Tests/Fixtures/make_npy_fixtures.py
CI never runs it; the two small files are committed.
"""
import os

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "TensorIOTests", "Fixtures")
np.save(os.path.join(OUT, "arange_2x3x4_f32.npy"), np.arange(24, dtype=np.float32).reshape(2, 3, 4))
np.save(os.path.join(OUT, "pair_f64.npy"), np.array([1.5, -2.0]))
