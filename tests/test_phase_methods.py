"""Accelerated Griffin-Lim, RAAR and the fused consistency projection of specimg.phase."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import scipy.signal

from specimg import ParameterError
from specimg.metrics import magnitude_convergence
from specimg.phase import PRESET_METHODS, QUALITY_PRESETS, StftPair, griffin_lim, reconstruct


def _stft_mag(y: np.ndarray, n_fft: int = 1024, hop: int = 256) -> np.ndarray:
    return np.abs(librosa.stft(np.asarray(y, dtype=np.float64), n_fft=n_fft, hop_length=hop, pad_mode="constant"))


def _test_signal(sr: int = 16000, seconds: float = 1.5) -> np.ndarray:
    """Two gliding harmonic tones and a noise burst: neither trivial nor slow to reconstruct."""
    rng = np.random.default_rng(3)
    t = np.arange(int(sr * seconds)) / sr
    y = sum(0.3 / h * np.sin(2 * np.pi * h * (220 * t + 40 * t**2)) for h in range(1, 6))
    y = y + 0.2 * np.sin(2 * np.pi * 1250 * t + 3 * np.sin(2 * np.pi * 4 * t))
    burst = (t > 0.6) & (t < 0.75)
    y[burst] += 0.1 * rng.standard_normal(int(burst.sum()))
    return y.astype(np.float32)


@pytest.mark.parametrize("n_fft, hop_length, length", [(512, 128, 9000), (1024, 300, 7777), (512, 128, 5000)])
def test_project_is_forward_of_inverse(n_fft, hop_length, length, rng):
    """The fused projection equals the two transforms, including a length shorter than the frames span."""
    n_frames = 1 + 9000 // hop_length
    pair = StftPair(
        n_fft=n_fft, hop_length=hop_length, window=scipy.signal.get_window("hann", n_fft), n_frames=n_frames,
        length=length, dtype=np.float64,
    )  # fmt: skip
    X = rng.standard_normal((n_frames, n_fft // 2 + 1)) + 1j * rng.standard_normal((n_frames, n_fft // 2 + 1))
    want = pair.forward(pair.inverse(X))
    np.testing.assert_allclose(pair.project(X), want, atol=1e-10 * np.abs(want).max())
    np.testing.assert_allclose(pair.project(X), want, atol=1e-10 * np.abs(want).max())  # buffer reuse


def test_projection_flushes_what_would_be_subnormal(rng):
    """Time samples below 1e-30 come out of the projection as 0, so that no subnormal float
    (slow: 0.53 -> 0.38 s CPU for the balanced decode of a 5 s espeak-ng clip with digital
    silence) enters the next FFT; normal-sized values pass unchanged."""
    n_fft, hop, n_frames = 512, 128, 20
    pair = StftPair(n_fft=n_fft, hop_length=hop, window=scipy.signal.get_window("hann", n_fft), n_frames=n_frames,
                    length=hop * (n_frames - 1))
    X = (rng.standard_normal((n_frames, n_fft // 2 + 1)) + 1j * rng.standard_normal((n_frames, n_fft // 2 + 1)))
    whisper = pair.project((1e-31 * X).astype(np.complex64))  # time samples near 1e-33: all flushed
    assert not np.any(whisper)
    quiet = pair.project((1e-20 * X).astype(np.complex64))
    tiny = np.finfo(np.float32).tiny
    spectrum = quiet.view(np.float32)
    assert not np.any((spectrum != 0) & (np.abs(spectrum) < tiny))  # no subnormal left in the output
    want = pair.forward(pair.inverse((1e-20 * X).astype(np.complex64)))
    np.testing.assert_allclose(quiet, want, atol=1e-3 * np.abs(want).max())


def test_update_rules_match_their_formulas(rng):
    """One step of the compiled accelerated-GLA and RAAR updates against the formulas in numpy."""
    from specimg.phase._kernels import accelerated_step, raar_step

    shape = (7, 5)
    z = lambda: (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)
    mag = np.abs(rng.standard_normal(shape)).astype(np.float32)
    P_M = lambda c: mag * c / np.abs(c)
    r, t_prev, d_prev, out = z(), z(), z(), z()
    a, b, g = 0.99, 1.1, 1.25
    t = (1 - g) * d_prev + g * r
    want_out, want_d = P_M(t + a * (t - t_prev)), t + b * (t - t_prev)
    prev, lead = t_prev.copy(), d_prev.copy()
    accelerated_step(r, prev, lead, mag, a, b, g, out)
    np.testing.assert_allclose(out, want_out, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(lead, want_d, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(prev, t, rtol=1e-5, atol=1e-5)

    x = P_M(z()) * 1.3  # an iterate off the magnitude set
    reflected = 2 * P_M(x) - x
    rebuilt, beta = z(), 0.97
    x_new = beta * (x + rebuilt - P_M(x)) + (1 - beta) * P_M(x)
    state, out = x.copy(), reflected.copy()
    raar_step(rebuilt, state, mag, beta, out)
    np.testing.assert_allclose(state, x_new, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out, 2 * P_M(x_new) - x_new, rtol=1e-5, atol=1e-5)


def test_raar_then_agla_beats_fast_griffin_lim_for_the_same_iterations():
    """On amplitude-modulated low-passed noise (where the corpus shows the largest gains), the
    balanced preset's scheme (RAAR then accelerated GLA) reaches a spectral convergence 2.7 dB
    lower than fast Griffin-Lim in the same 60 iterations (both from PGHI); AGLA alone 1.7 dB."""
    sr = 16000
    t = np.arange(int(sr * 1.5)) / sr
    noise = scipy.signal.lfilter(*scipy.signal.butter(1, 0.05), np.random.default_rng(3).standard_normal(len(t)))
    y = (0.3 * noise / np.std(noise) * np.abs(np.sin(2 * np.pi * 3 * t))).astype(np.float32)
    S = _stft_mag(y)
    kw = dict(n_iter=60, hop_length=256, length=len(y), rng=0)

    def sc(z: np.ndarray) -> float:
        return magnitude_convergence(_stft_mag(z), S)

    fgla = sc(griffin_lim(S, **kw))
    agla = sc(griffin_lim(S, method="agla", gamma=1.25, **kw))
    hybrid = sc(griffin_lim(S, method="agla", gamma=1.25, n_raar=32, raar_beta=0.97, **kw))
    assert hybrid < agla - 0.5 < fgla - 1.5, (hybrid, agla, fgla)


def test_presets_use_their_methods_and_callers_override_them():
    assert set(PRESET_METHODS) == set(QUALITY_PRESETS)
    y = _test_signal(seconds=0.5)
    S = _stft_mag(y)
    kw = dict(hop_length=256, length=len(y), rng=0, n_iter=8)
    plain = griffin_lim(S, **kw)
    assert np.allclose(reconstruct(S, quality="balanced", method="fgla", n_raar=0, **kw), plain, atol=1e-6)
    assert not np.allclose(reconstruct(S, quality="balanced", **kw), plain, atol=1e-3)


def test_raar_respects_held_coefficients_and_blocks():
    """RAAR keeps held coefficients exactly, and a blocked reconstruction with RAAR is as
    consistent as the one-piece one (the held first frames of each block join the blocks)."""
    y = np.tile(_test_signal(), 3)
    X = librosa.stft(y.astype(np.float64), n_fft=512, hop_length=128, pad_mode="constant")
    S = np.abs(X)
    mask = np.zeros(S.shape, dtype=bool)
    mask[:, : S.shape[1] // 2] = True
    kw = dict(n_iter=30, n_raar=15, raar_beta=0.97, method="agla", gamma=1.25, hop_length=128, length=len(y), rng=0)
    init = np.where(mask, np.angle(X), 0.0)  # the true phase only where held: not a fixed point
    inner = slice(8, S.shape[1] // 2 - 8)
    held = griffin_lim(S, hold=(mask, X), init=init, **kw)
    X_held = librosa.stft(held.astype(np.float64), n_fft=512, hop_length=128, pad_mode="constant")
    np.testing.assert_allclose(X_held[:, inner], X[:, inner], atol=1e-3 * np.abs(X).max())
    free = griffin_lim(S, init=init, **kw)  # without the hold the same start drifts away
    X_free = librosa.stft(free.astype(np.float64), n_fft=512, hop_length=128, pad_mode="constant")
    assert np.abs(X_free[:, inner] - X[:, inner]).max() > 0.05 * np.abs(X).max()

    def sc(z: np.ndarray) -> float:
        return magnitude_convergence(_stft_mag(z, 512, 128), S)

    whole, blocks = griffin_lim(S, **kw), griffin_lim(S, block_frames=256, **kw)
    assert sc(blocks) < sc(whole) + 1.0, (sc(blocks), sc(whole))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(momentum=float("inf")), "momentum=inf must be a finite number"),
        (dict(dtype=np.float16), "dtype="),
        (dict(refine_every=1.5), "refine_every=1.5"),
        (dict(init=np.zeros((1025, 10), dtype=complex)), "finite real numbers"),
        (dict(refine=lambda A, frames: A[:, :5]), "refine returned shape"),
        (dict(hold=(np.zeros((1025, 10)), np.zeros((1025, 10)))), "must be bool"),
        (dict(hold=5), "hold must be"),
        (dict(hold=(np.ones((1025, 10), bool), np.full((1025, 10), np.nan))), "must be finite"),
        (dict(method="dm"), "method='dm'"),
        (dict(gamma=0), "gamma=0"),
        (dict(beta=-1.0), "beta=-1.0"),
        (dict(raar_beta=1.5), "raar_beta=1.5"),
        (dict(raar_beta=float("nan")), "raar_beta=nan"),
        (dict(n_raar=-1), "n_raar=-1"),
        (dict(n_raar=2.5), "n_raar=2.5"),
    ],
)
def test_bad_method_arguments(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        griffin_lim(np.ones((1025, 10)), **kwargs)
