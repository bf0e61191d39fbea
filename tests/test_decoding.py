"""Decode as a plan (specimg.decoding) and its one call into phase (specimg.phase.rebuild)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import specimg
from specimg import SpectrogramParams
from specimg.decoding import IFPlaneSource, MagnitudeOnly, OriginalAudio, StoredPhaseSource, plan, run
from specimg.errors import FormatError, MissingFileError, ParameterError, ResourceError
from specimg.formats import read_header
from specimg.phase import KnownPhase, rebuild
from specimg.resources import memory_limit
from specimg.spectral import stft

SR = 8000


@pytest.fixture(scope="module")
def tone() -> np.ndarray:
    t = np.arange(SR) / SR
    return 0.3 * np.sin(2 * np.pi * 440 * t) + 0.1 * np.sin(2 * np.pi * 1250 * t)


@pytest.fixture(scope="module")
def img(tone: np.ndarray) -> specimg.SpectrogramImage:
    return specimg.encode(tone, SR, n_fft=256, store_phase=True)


def test_plan_picks_one_source(img: specimg.SpectrogramImage, tone: np.ndarray) -> None:
    assert type(plan(img).source) is StoredPhaseSource
    assert type(plan(img, stored_phase=False).source) is MagnitudeOnly
    assert type(plan(img, phase_from=tone).source) is OriginalAudio  # the original audio wins over the stored phase
    assert type(plan(img.replace(phase=None)).source) is MagnitudeOnly
    plane = np.zeros(img.pixels.shape)
    assert type(plan(img.replace(phase=None), if_plane=plane).source) is IFPlaneSource


def test_run_of_the_plan_is_decode(img: specimg.SpectrogramImage) -> None:
    y, sr = run(plan(img, quality="fast"))
    y2, _ = specimg.decode(img, quality="fast")
    assert sr == SR and np.array_equal(y, y2)


def test_stored_phase_beats_magnitude_alone(img: specimg.SpectrogramImage, tone: np.ndarray) -> None:
    def sc(y: np.ndarray) -> float:
        p = img.params
        ref = np.abs(stft(tone, p))
        return float(20 * np.log10(np.linalg.norm(np.abs(stft(y, p)) - ref) / np.linalg.norm(ref)))

    held = sc(specimg.decode(img, quality="fast")[0])
    free = sc(specimg.decode(img, quality="fast", stored_phase=False)[0])
    assert held < -60 and held < free - 20, (held, free)


def test_file_memory_is_checked_from_the_header_before_pixels(img: specimg.SpectrogramImage, tmp_path: Path) -> None:
    path = specimg.save(img, tmp_path / "a.png")
    header = read_header(path)
    assert header.n_frames == img.n_frames and header.has_phase and header.params == img.params
    with memory_limit("100K"), pytest.raises(ResourceError, match="decode"):
        plan(path)


def test_read_header_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="path="):
        read_header(3)  # type: ignore[arg-type]
    with pytest.raises(MissingFileError):
        read_header(tmp_path / "missing.png")
    with pytest.raises(ParameterError, match="params="):
        read_header(tmp_path / "missing.png", params={"sr": 8000})  # type: ignore[arg-type]


def test_plan_bad_input(img: specimg.SpectrogramImage) -> None:
    with pytest.raises(ParameterError, match="quality="):
        plan(img, quality="ultra")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="rng="):
        plan(img, rng="x")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="SpectrogramImage"):
        plan(img.pixels)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="init phase"):
        plan(img, init=np.zeros((3, 3)))
    with pytest.raises(ParameterError, match="phase_from"):
        plan(img, phase_from=np.zeros((2, SR)))


def test_rebuild_with_the_whole_original_is_exact(tone: np.ndarray) -> None:
    p = SpectrogramParams(sr=SR, n_fft=256, n_samples=SR)
    X = stft(tone, p)
    y = rebuild(np.abs(X).astype(np.float32), p, known=KnownPhase.original(X, np.ones(X.shape, bool)), n_iter=0)
    assert y.shape == (SR,) and np.max(np.abs(y - tone)) < 1e-4


def test_rebuild_bad_input(tone: np.ndarray) -> None:
    p = SpectrogramParams(sr=SR, n_fft=256, n_samples=SR)
    S = np.abs(stft(tone, p)).astype(np.float32)
    with pytest.raises(ParameterError, match="known phase"):
        KnownPhase.start(np.zeros(5))
    with pytest.raises(ParameterError, match="held"):
        KnownPhase.stored(np.zeros(S.shape), np.ones((3, 3), bool))
    with pytest.raises(ParameterError, match="quality="):
        rebuild(S, p, quality="ultra")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="pixels"):  # a linear picture's stored phase needs its pixels' cells
        rebuild(S, p, known=KnownPhase.stored(np.zeros(S.shape), np.ones(S.shape, bool)))


def test_a_picture_with_no_audio_is_refused() -> None:
    p = SpectrogramParams(sr=SR, n_fft=256)
    img = specimg.SpectrogramImage(np.zeros((129, 1), np.uint16), p)
    with pytest.raises(FormatError, match="0 samples"):
        plan(img)
