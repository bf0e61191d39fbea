"""Iterations on the low band alone (``griffin_lim(n_low=...)``, the mel decode's last stage)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal

import specimg
from specimg.errors import ParameterError
from specimg.metrics import magnitude_convergence
from specimg.params import SpectrogramParams
from specimg.phase import MEL_LOW_ITERATIONS, decimation_for, griffin_lim, mel_low_band
from specimg.phase._mel import mel_fit
from specimg.phase._stft import StftPair
from specimg.spectral import magnitude, mel_basis, stft_magnitude

from .conftest import SAMPLE_DATA


def _stft_mag(y: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    import librosa

    return np.abs(librosa.stft(np.asarray(y, np.float64), n_fft=n_fft, hop_length=hop, pad_mode="constant"))


def test_the_low_bins_of_a_band_limited_signal_are_its_decimated_stft() -> None:
    """What the low-band iterations rest on: bins below sr / (2D) of the STFT are D times the
    STFT of the signal decimated by D, with the window and hop decimated too (LowBand's pair)."""
    from specimg.phase._lowband import LowBand

    sr = 22050
    t = np.arange(sr) / sr
    tones = ((0.5, 210.0, 0.3), (0.3, 640.0, 1.0), (0.2, 1310.0, 2.0))
    for n_fft, hop, D in ((2048, 512, 4), (2048, 512, 8), (1536, 384, 4)):
        # well inside the band (up to sr / (2D)): at D = 8 the band ends at 1378 Hz
        y = sum(a * np.sin(2 * np.pi * f * t + ph) for a, f, ph in tones if f < sr / (2 * D) - 400)
        w = scipy.signal.get_window("hann", n_fft, fftbins=True)
        n_frames = 1 + len(y) // hop
        full = StftPair(n_fft=n_fft, hop_length=hop, window=w, n_frames=n_frames, length=len(y), dtype=np.float64)
        X = full.forward(y)
        band = LowBand(X, full, D)
        assert band.n_bins == n_fft // (2 * D) + 1 and band.pair.n_fft == n_fft // D
        Z = band.pair.forward(y[::D])[2:-2]  # not the frames over the signal's ends
        X_low = X[2:-2, : band.n_bins]
        assert np.max(np.abs(X_low - D * Z)) < 1e-5 * np.max(np.abs(X_low)), (n_fft, D)  # sidelobes alias
        np.testing.assert_allclose(band.start[2:-2], Z, atol=1e-5 * np.max(np.abs(Z)))


def test_low_band_iterations_lower_the_low_band_error_and_keep_the_rest() -> None:
    """On speech, 100 low-band iterations after 16 full ones bring the low band's spectral
    convergence well below that of the 16 alone, leave the bins above the band as they
    were, and cost the whole far less than 100 more full iterations would bring."""
    y, sr = specimg.read_audio(SAMPLE_DATA / "speech.wav")
    y = y[: sr * 2]
    S = _stft_mag(y, 1024, 256)
    kw = dict(n_fft=1024, hop_length=256, length=len(y), rng=0, n_iter=16)
    base = griffin_lim(S, **kw)
    low = griffin_lim(S, n_low=100, decimation=4, **kw)
    band, above = slice(0, 100), slice(160, None)  # the band: 129 bins, its own phase up to 82 %
    S_base, S_low = _stft_mag(base, 1024, 256), _stft_mag(low, 1024, 256)
    sc_band = magnitude_convergence(S_low[band], S[band]), magnitude_convergence(S_base[band], S[band])
    assert sc_band[0] < sc_band[1] - 3.0, sc_band
    sc_above = magnitude_convergence(S_low[above], S[above]), magnitude_convergence(S_base[above], S[above])
    assert abs(sc_above[0] - sc_above[1]) < 0.5, sc_above


def test_low_band_iterations_keep_held_coefficients(monkeypatch) -> None:
    """Coefficients held with ``hold`` stay held through the low-band iterations themselves
    (their result, before it is merged), and in the output."""
    import librosa

    from specimg.phase import _lowband

    y, sr = specimg.read_audio(SAMPLE_DATA / "speech.wav")
    y = y[:sr]
    X = librosa.stft(y.astype(np.float64), n_fft=512, hop_length=128, pad_mode="constant")
    S = np.abs(X)
    mask = np.zeros(S.shape, dtype=bool)
    mask[:, : S.shape[1] // 2] = True
    seen = []
    merge = _lowband.LowBand.merge

    def spy(self, X_full, Z):
        seen.append((self.decimation, self.n_bins, Z.copy()))
        return merge(self, X_full, Z)

    monkeypatch.setattr(_lowband.LowBand, "merge", spy)
    kw = dict(n_fft=512, hop_length=128, length=len(y), rng=0, n_iter=10, n_low=60, decimation=2)
    init = np.where(mask, np.angle(X), 0.0)
    held = griffin_lim(S, hold=(mask, X), init=init, **kw)
    (D, n, Z), = seen
    low_mask = mask[:n].T
    np.testing.assert_allclose(Z[low_mask], (X[:n].T / D)[low_mask].astype(np.complex64), rtol=1e-6, atol=1e-9)
    assert np.abs(Z[~low_mask] - (X[:n].T / D)[~low_mask]).max() > 0.05 * S.max() / D  # the rest moved
    X_held = librosa.stft(held.astype(np.float64), n_fft=512, hop_length=128, pad_mode="constant")
    inner = slice(8, S.shape[1] // 2 - 8)
    np.testing.assert_allclose(X_held[:, inner], X[:, inner], atol=1e-3 * S.max())


def test_the_low_band_fit_imposes_the_bands_wholly_inside_it() -> None:
    p = SpectrogramParams(sr=22050, n_fft=2048, scale="mel", n_mels=128)
    y, _ = specimg.read_audio(SAMPLE_DATA / "speech.wav", sr=p.sr)
    y = y[p.sr // 2 : p.sr // 2 + p.hop_length * 39]
    M = magnitude(y, p)
    rng = np.random.default_rng(0)
    k = 250
    A = (stft_magnitude(y, p)[:k] * np.exp(0.35 * rng.standard_normal((k, M.shape[1])))).T.astype(np.float32)
    low = mel_fit(p, k)
    B = mel_basis(p)
    inside = [m for m in range(B.shape[0]) if np.flatnonzero(B[m]).max() < k]
    assert low.n_mels == len(inside) and 60 < low.n_mels < 80
    out = low.fit(A, (M[: low.n_mels] ** 2).T)
    assert out.shape == A.shape
    bands = B[inside, :k] @ out.T.astype(np.float64) ** 2
    assert np.linalg.norm(bands - M[inside] ** 2) / np.linalg.norm(M[inside] ** 2) < 5e-3
    free = low.uncovered
    assert free.sum() > 0 and np.array_equal(out[:, free], A[:, free])  # under none of them: as received
    assert not low.uncovered[: np.flatnonzero(B[inside[-1]])[0]].any()


def test_mel_decode_runs_the_low_band_of_its_preset(monkeypatch) -> None:
    """The balanced mel decode runs MEL_LOW_ITERATIONS on the low band; the stored bands are
    matched better than without them (mel SC −46.2 against −45.6 dB) and the low band's
    linear SC is lower too."""
    y, sr = specimg.read_audio(SAMPLE_DATA / "speech.wav")
    y = y[: sr * 2]
    img = specimg.encode(y, sr, scale="mel", n_mels=128)
    p = img.params
    assert mel_low_band(p, "balanced") == (MEL_LOW_ITERATIONS["balanced"], 4) and MEL_LOW_ITERATIONS["balanced"] > 0
    with_low, _ = specimg.decode(img)
    monkeypatch.setitem(MEL_LOW_ITERATIONS, "balanced", 0)
    without, _ = specimg.decode(img)
    mel = magnitude(y, p)
    sc = [magnitude_convergence(magnitude(z, p), mel) for z in (with_low, without)]
    assert sc[0] < -40.0 and sc[0] < sc[1] - 0.3, sc
    n_fft, hop = p.n_fft, p.hop_length
    S = _stft_mag(y, n_fft, hop)[:200]
    low_sc = [magnitude_convergence(_stft_mag(z[: len(y)], n_fft, hop)[:200], S) for z in (with_low, without)]
    assert low_sc[0] < low_sc[1], low_sc


def test_decimation_follows_the_sampling_rate() -> None:
    for sr in (16000, 22050, 44100, 48000):
        D = decimation_for(sr, 2048, 512)
        assert sr / (2 * D) >= 2500 > sr / (4 * D)
    for n_fft, hop in ((600, 200), (2048, 441), (96, 32)):  # frames of an odd or too small length
        D = decimation_for(44100, n_fft, hop)
        assert D == 1 or (n_fft // D % 2 == 0 and n_fft // D >= 64)


def test_no_low_band_when_no_filter_lies_in_it() -> None:
    """A mel picture whose filters start above the band (fmin 3 kHz) gets no low-band iterations."""
    from specimg.phase._mel import MelFit

    p = SpectrogramParams(sr=22050, n_fft=2048, scale="mel", n_mels=64, fmin=3000.0)
    assert mel_low_band(p, "balanced")[0] == 0
    with pytest.raises(ParameterError, match="one filter wholly below bin 257"):
        MelFit(p, 257)
    specimg.decode(specimg.encode(np.zeros(22050, np.float32) + 0.1, 22050, scale="mel", n_mels=64, fmin=3000.0))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_low=-1), "n_low=-1 must be an integer >= 0"),
        (dict(n_low=2.5), "n_low=2.5"),
        (dict(n_low=4, decimation=3), "decimation=3 must divide n_fft=512 and hop_length=128"),
        (dict(n_low=4, decimation=16), r"even n_fft // decimation >= 64"),
        (dict(n_low=4, decimation=1), "decimation=1 must be an integer >= 2"),
        (dict(n_low=4, decimation=True), "decimation=True"),
    ],
)
def test_griffin_lim_refuses_bad_low_band_arguments(kwargs, match) -> None:
    with pytest.raises(ParameterError, match=match):
        griffin_lim(np.ones((257, 10), dtype=np.float32), hop_length=128, **kwargs)


def test_the_low_band_fit_needs_a_banded_filterbank(monkeypatch) -> None:
    """librosa's triangles are always banded; a filterbank that is not (as the fallback of
    MelFit.fit allows for) gets no low-band iterations."""
    import specimg.phase._mel as mel

    p = SpectrogramParams(sr=16000, n_fft=512, hop_length=128, scale="mel", n_mels=40, fmax=7900.0)
    assert mel.mel_low_band(p, "balanced")[0] > 0
    monkeypatch.setattr(mel, "filters_per_bin", lambda B: None)
    monkeypatch.setattr(mel, "_FITS", {})  # not the banded fits cached above
    with pytest.raises(ParameterError, match="low band's fit needs"):
        mel.MelFit(p, 64)
    assert mel.MelFit(p).banded is False and mel_low_band(p, "balanced")[0] == 0


def test_low_band_iterations_run_block_by_block_without_a_seam() -> None:
    """A long signal decoded in blocks (each holding the frames the previous one converged
    to) with low-band iterations is as consistent as the one-piece decode, and around the
    joins of the blocks the low band helps as it does elsewhere (measured: 4.8 dB there)."""
    y, sr = specimg.read_audio(SAMPLE_DATA / "speech.wav")
    y = np.tile(y[: sr * 2], 3)
    S = _stft_mag(y, 512, 128)
    assert S.shape[1] > 2 * 256
    kw = dict(n_fft=512, hop_length=128, length=len(y), rng=0, n_iter=24, decimation=2)
    whole = _stft_mag(griffin_lim(S, n_low=60, **kw), 512, 128)
    blocks = _stft_mag(griffin_lim(S, n_low=60, block_frames=256, **kw), 512, 128)
    plain = _stft_mag(griffin_lim(S, block_frames=256, **kw), 512, 128)
    assert magnitude_convergence(blocks, S) < magnitude_convergence(whole, S) + 1.0
    for joins in (slice(176, 240), slice(368, 432)):  # around the two cross-fades
        sc = [magnitude_convergence(z[:, joins], S[:, joins]) for z in (blocks, plain)]
        assert sc[0] < sc[1] - 2.0, (joins, sc)


def test_no_low_band_without_full_band_iterations() -> None:
    """n_iter=0 returns the ISTFT of the initial estimate, with or without n_low; with few
    iterations, half of them run after the low band."""
    S = _stft_mag(specimg.read_audio(SAMPLE_DATA / "speech.wav")[0][:22050], 512, 128)
    kw = dict(n_fft=512, hop_length=128, rng=0, decimation=2)
    np.testing.assert_array_equal(griffin_lim(S, n_iter=0, n_low=40, **kw), griffin_lim(S, n_iter=0, **kw))
    two = griffin_lim(S, n_iter=2, n_low=40, **kw)
    assert np.all(np.isfinite(two)) and not np.array_equal(two, griffin_lim(S, n_iter=2, **kw))


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda p: mel_low_band(p, "hgih"), "quality='hgih' must be one of"),
        (lambda p: mel_low_band(p, "balanced", n_iter=-3), "n_iter=-3 must be an integer >= 0"),
        (lambda p: mel_low_band(p, "balanced", n_iter=2.5), "n_iter=2.5 must be an integer >= 0"),
    ],
)
def test_mel_low_band_refuses_bad_input(call, match) -> None:
    p = SpectrogramParams(sr=22050, n_fft=2048, scale="mel", n_mels=128)
    with pytest.raises(ParameterError, match=match):
        call(p)
