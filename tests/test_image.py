from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from specimg import FormatError, SpectrogramImage, SpectrogramParams
from specimg.image import db_to_pixels, pixel_max, pixels_to_db


@settings(max_examples=200, deadline=None)
@given(
    db=hnp.arrays(np.float64, (3, 7), elements=st.floats(-150, 30)),
    bit_depth=st.sampled_from([8, 16, 32]),
    invert=st.booleans(),
    db_min=st.floats(-140, -20),
    span=st.floats(10, 160),
)
def test_quantisation_error_is_half_a_step(db, bit_depth, invert, db_min, span):
    p = SpectrogramParams(sr=8000, n_fft=4, db_min=db_min, db_max=db_min + span, bit_depth=bit_depth, invert=invert)
    back = pixels_to_db(db_to_pixels(db, p), p)
    expected = np.clip(db, p.db_min, p.db_max)
    step = span / pixel_max(bit_depth)
    tol = step / 2 + 1e-9 * span if bit_depth != 32 else 1e-5 * span
    assert np.max(np.abs(back - expected)) <= tol


def test_mapping_ends_and_invert():
    p = SpectrogramParams(sr=8000, n_fft=4, db_min=-80, db_max=0, bit_depth=8)
    assert db_to_pixels(np.array([-80.0, -200.0, 0.0, 10.0]), p).tolist() == [0, 0, 255, 255]
    pi = p.replace(invert=True)
    assert db_to_pixels(np.array([-80.0, 0.0]), pi).tolist() == [255, 0]
    assert pixels_to_db(np.array([255, 0]), pi).tolist() == [-80.0, 0.0]


def _params(**kw):
    base = dict(sr=8000, n_fft=8, hop_length=2, n_samples=10, db_min=-60.0, db_max=0.0)
    base.update(kw)
    return SpectrogramParams(**base)


def test_flip_puts_low_frequencies_at_the_bottom():
    p = _params()
    db = np.full((5, 6), -60.0)
    db[0] = 0.0  # lowest bin loud
    img = SpectrogramImage.from_db(db, p)
    assert img.pixels[-1].min() == 65535 and img.pixels[0].max() == 0
    assert np.array_equal(img.db, np.clip(db, -60, 0))
    img_nf = SpectrogramImage.from_db(db, p.replace(flip=False))
    assert img_nf.pixels[0].min() == 65535


def test_channels_stack_top_to_bottom():
    p = _params(n_channels=2)
    db = np.full((2, 5, 6), -60.0)
    db[1, 0] = 0.0  # lowest bin of the second channel
    img = SpectrogramImage.from_db(db, p)
    assert img.shape == (10, 6)
    assert img.pixels[-1].min() == 65535 and img.pixels[4].max() == 0
    assert np.array_equal(img.db, db)


def test_floor_decodes_to_silence():
    p = _params()
    img = SpectrogramImage.from_db(np.full((5, 6), -60.0), p)
    assert np.all(img.magnitude == 0.0)
    img = SpectrogramImage.from_db(np.full((5, 6), -20.0), p)
    np.testing.assert_allclose(img.magnitude, 0.1, rtol=1e-4)


@pytest.mark.parametrize(
    "pixels, match",
    [
        (np.zeros((5, 6, 3), np.uint16), "2-D grayscale"),
        (np.zeros((5, 6), np.uint8), "dtype uint8"),
        (np.zeros((4, 6), np.uint16), "4 rows"),
        (np.zeros((5, 7), np.uint16), "7 columns"),
    ],
)
def test_image_checks_its_shape(pixels, match):
    with pytest.raises(FormatError, match=match):
        SpectrogramImage(pixels, _params())
