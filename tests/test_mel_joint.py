"""The joint magnitude-and-phase estimation of mel decode (specimg.phase._mel)."""

from __future__ import annotations

import numpy as np
import pytest

import specimg
from specimg.metrics import magnitude_convergence
from specimg.params import SpectrogramParams
from specimg.phase import MEL_ITERATIONS, mel_iterations, mel_refiner, mel_start, reconstruct
from specimg.phase._mel import MelFit, mel_fit
from specimg.spectral import magnitude, match_mel, mel_basis, mel_to_linear, stft_magnitude

from .conftest import SAMPLE_DATA

GEOMETRIES = [
    dict(sr=22050, n_fft=2048, n_mels=128),
    dict(sr=16000, n_fft=1024, n_mels=64, htk=True, norm=None, power=1.0, fmin=100.0),
]


def case(kw: dict, n_frames: int = 40, seed: int = 0) -> tuple[SpectrogramParams, np.ndarray, np.ndarray]:
    """Params; the linear magnitude of speech (n_frames, n_bins), randomly perturbed by ±3 dB, as
    the current estimate A; and the mel amplitude M (n_mels, n_frames) of the speech itself."""
    p = SpectrogramParams(scale="mel", **kw)
    y, sr = specimg.read_audio(SAMPLE_DATA / "speech.wav", sr=p.sr)
    y = y[sr // 2 : sr // 2 + p.hop_length * (n_frames - 1)]
    S = stft_magnitude(y, p)
    A = (S * np.exp(0.35 * np.random.default_rng(seed).standard_normal(S.shape))).T.astype(np.float32)
    return p, A, magnitude(y, p)


@pytest.mark.parametrize("kw", GEOMETRIES)
def test_fit_is_match_mel_and_has_the_mel_bands(kw) -> None:
    p, A, M = case(kw)
    P = (M**p.power).T
    out = mel_fit(p).fit(A, P)
    assert out.dtype == np.float32 and out.shape == A.shape and np.all(out >= 0)
    ref = match_mel(A.T, M, p).T
    assert np.linalg.norm(out - ref) / np.linalg.norm(ref) < 1e-5
    # the stored bands, but for the few where a negative coefficient clips bins at 0
    bands = mel_basis(p) @ out.T.astype(np.float64) ** p.power
    assert np.linalg.norm(bands - M**p.power) / np.linalg.norm(M**p.power) < 5e-3


def test_fit_without_the_banded_layout_falls_back_to_match_mel() -> None:
    p, A, M = case(GEOMETRIES[0])
    fit = MelFit(p)
    fast = fit.fit(A, (M**2).T)
    fit.banded = False
    slow = fit.fit(A, (M**2).T)
    assert np.linalg.norm(fast - slow) / np.linalg.norm(slow) < 1e-5
    assert np.allclose(fit.fit(None, (M**2).T), MelFit(p).fit(None, (M**2).T), rtol=1e-4)


def test_silent_frames_are_fitted_flat_and_silent_bands_stay_silent() -> None:
    p, A, M = case(GEOMETRIES[0], n_frames=8)
    A[1] = 0.0  # no energy under any filter: fitted as a flat spectrum
    M[:, 2] = 0.0  # nothing to impose: silence
    fit = mel_fit(p)
    out = fit.fit(A, (M**2).T)
    flat = fit.fit(None, (M**2).T)
    np.testing.assert_allclose(out[1], flat[1], rtol=1e-6)
    assert np.all(out[2] == 0) and np.all(flat[2] == 0)


def test_start_is_the_geometric_mean_and_the_first_target_that_of_least_squares_and_fit() -> None:
    p, _, M = case(GEOMETRIES[0], n_frames=30)
    start = mel_start(M, p)
    nnls = mel_to_linear(M, p)
    flat = mel_fit(p).fit(None, (M**2).T).T
    np.testing.assert_allclose(start, np.sqrt(flat * nnls), rtol=1e-5, atol=1e-7 * float(start.max()))
    refine = mel_refiner(M, p, start)
    A = np.ones_like(start)
    first, second = refine(A, slice(0, 30)), refine(A, slice(0, 30))
    # the least-squares magnitude, but 0 where the flat fit is (a band much quieter than
    # its neighbours gives a negative coefficient): there start is 0 too
    lost = flat == 0
    assert np.all(first[lost] == 0) and np.count_nonzero(lost & (nnls > 0)) < 0.01 * nnls.size
    # the first call: √(least squares × fit of A), A flat here, so the fit of A is the flat fit
    want = np.sqrt(np.where(lost, 0.0, nnls) * flat)
    assert np.linalg.norm(first - want) / np.linalg.norm(want) < 1e-5
    np.testing.assert_allclose(second, flat, rtol=1e-5)  # later calls: the fit of A
    assert np.linalg.norm(refine(A[:, 10:20], slice(10, 20)) - want[:, 10:20]) / np.linalg.norm(want[:, 10:20]) < 1e-5


def test_mel_decode_runs_its_preset_and_fits_the_bands() -> None:
    """On speech, the joint estimate's mel SC is far below that of mel_to_linear followed by
    Griffin-Lim on that fixed magnitude, at the same number of iterations."""
    y, sr = specimg.read_audio(SAMPLE_DATA / "speech.wav")
    y = y[: sr * 2]
    img = specimg.encode(y, sr, scale="mel", n_mels=128)
    p = img.params
    y_fast, _ = specimg.decode(img, quality="fast")
    y_given, _ = specimg.decode(img, quality="fast", n_iter=MEL_ITERATIONS["fast"])
    np.testing.assert_array_equal(y_fast, y_given)
    mel = magnitude(y, p)
    joint = magnitude_convergence(magnitude(y_fast, p), mel)
    fixed = reconstruct(mel_to_linear(img.channel_magnitude(0), p).astype(np.float32), p, n_iter=24, rng=0)
    cascade = magnitude_convergence(magnitude(fixed, p), mel)
    assert joint < -30.0
    assert joint < cascade - 10.0


def test_refine_kernels_match_their_formulas() -> None:
    """The compiled steps of the refined loop against fast Griffin-Lim's formulas in numpy,
    with a zero coefficient (phase 0 after the projection) and a zero target."""
    from specimg.phase._kernels import momentum_point, momentum_project, project_target

    rng = np.random.default_rng(1)
    shape = (7, 5)
    z = lambda: (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)
    mag = np.abs(rng.standard_normal(shape)).astype(np.float32)
    mag[0, 1] = 0.0
    r, t_prev, a = z(), z(), 0.99
    r[2, 3] = t_prev[2, 3] = 0.0  # c = 0 there
    c = r + a * (r - t_prev)
    want = np.where(np.abs(c) > 0, mag * c / np.maximum(np.abs(c), 1e-30), mag)
    prev, out = t_prev.copy(), z()
    momentum_project(r, prev, a, mag, out)
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(prev, r)
    assert out[2, 3] == mag[2, 3] and out[0, 1] == 0
    prev, out, A = t_prev.copy(), z(), np.empty(shape, dtype=np.float32)
    momentum_point(r, prev, a, out, A)
    np.testing.assert_allclose(out, c, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(A, np.abs(c) / (1 + a), rtol=1e-6, atol=1e-6)  # in the target's units
    project_target(out, mag)
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-6)


def test_a_refine_that_keeps_the_target_gives_fast_griffin_lim() -> None:
    """The refined loop (momentum point, fit, projection) is fast Griffin-Lim when the fit
    returns the target it was given: same signal to float rounding, over one and two blocks."""
    from specimg.phase import griffin_lim

    y, sr = specimg.read_audio(SAMPLE_DATA / "speech.wav")
    p = SpectrogramParams(sr=sr, n_fft=512, hop_length=128)
    S = stft_magnitude(y[: 128 * 299], p) / 100.0
    seen = []

    def keep(A: np.ndarray, frames: slice) -> np.ndarray:
        seen.append(frames)
        return S[:, frames]

    for block in (2048, 256):
        kw = dict(n_fft=512, hop_length=128, n_iter=12, rng=0, method="fgla", block_frames=block)
        plain = griffin_lim(S, **kw)
        refined = griffin_lim(S, refine=keep, **kw)
        assert np.linalg.norm(refined - plain) / np.linalg.norm(plain) < 1e-4
    assert len(seen) == 6 + 6 * 2 and seen[-1].stop == S.shape[1]


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda p: mel_iterations("hgih"), "quality='hgih'"),
        (lambda p: mel_start(np.ones((10, 3)), p), r"M has shape \(10, 3\)"),
        (lambda p: mel_refiner(np.ones((10, 3)), p, np.ones((129, 3))), r"M has shape \(10, 3\)"),
        (lambda p: mel_refiner(np.ones((16, 3)), p, np.ones((129, 4))), r"start has shape \(129, 4\)"),
    ],
)
def test_mel_functions_refuse_bad_input(call, match) -> None:
    from specimg.errors import ParameterError

    p = SpectrogramParams(sr=8000, n_fft=256, scale="mel", n_mels=16)
    with pytest.raises(ParameterError, match=match):
        call(p)
