"""Phase Gradient Heap Integration [1]_: a phase estimate from the STFT magnitude alone.

References
----------
.. [1] Z. Průša, P. Balazs, P. L. Søndergaard, "A Noniterative Method for Reconstruction of
   Phase From STFT Magnitude", IEEE/ACM Trans. Audio, Speech, Lang. Process. 25(5),
   1154–1164, 2017. doi:10.1109/TASLP.2017.2678166
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from ..geometry import analysis_window
from ..typing import Window
from ._checks import as_generator, check_magnitude, renamed_magnitude, stft_geometry

__all__ = ["gaussian_tfr", "pghi"]

# λ / L² of the Gaussian that best matches a Hann window of length L ([1], Table I).
_HANN_TFR = 0.25645


def gaussian_tfr(window: Window, win_length: int) -> float:
    """Time-frequency ratio λ (in samples²) of the Gaussian ``exp(-π n² / λ)`` equivalent to a window.

    For a Hann window this is ``0.25645 * win_length**2`` ([1], Table I). For a
    ``("gaussian", std)`` window it is exact: ``2 π std²``. For any other window, λ is
    matched on the second moment of the window, scaled so that Hann gives the value above.
    """
    if isinstance(window, str) and window in ("hann", "hanning"):
        return _HANN_TFR * win_length**2
    if isinstance(window, tuple) and len(window) == 2 and window[0] in ("gaussian", "gauss"):
        return 2.0 * np.pi * float(window[1]) ** 2

    def moment(w: np.ndarray) -> float:
        n = np.arange(len(w)) - (len(w) - 1) / 2.0
        w = np.abs(w)
        return float(np.sum(w * n**2) / np.sum(w))

    w = np.asarray(window) if isinstance(window, np.ndarray) else analysis_window(window, win_length, win_length)
    hann = analysis_window("hann", win_length, win_length)
    return _HANN_TFR * win_length**2 * moment(w) / moment(hann)



def pghi(
    S: np.ndarray | None = None,
    *,
    n_fft: int | None = None,
    hop_length: int | None = None,
    win_length: int | None = None,
    window: Window = "hann",
    tol: float = 1e-5,
    known: np.ndarray | None = None,
    rng: np.random.Generator | int | None = None,
    magnitude: np.ndarray | None = None,
) -> np.ndarray:
    """Phase Gradient Heap Integration: a phase estimate from the magnitude alone.

    The phase gradient is computed from the gradient of the log-magnitude with the
    relations that hold exactly for a Gaussian window ``exp(-π n² / λ)`` ([1]_, eq. 24–25);
    for other windows λ is that of the equivalent Gaussian (see :func:`gaussian_tfr`),
    which makes the estimate approximate. The gradient is then integrated from the
    largest coefficient outwards along a max-heap.

    Parameters
    ----------
    S : np.ndarray [shape=(..., n_fft // 2 + 1, n_frames)], non-negative
        STFT magnitude (any consistent scale: PGHI only uses its log-gradient).
    n_fft : int > 0 or None
        ``None`` → ``2 * (S.shape[-2] - 1)``.
    hop_length : int > 0 or None
        ``None`` → ``win_length // 4``.
    win_length : int or None
        ``None`` → ``n_fft``.
    window : str, tuple or np.ndarray
        Analysis window, as for :func:`scipy.signal.get_window`.
    tol : float in (0, 1)
        Coefficients below ``tol * max(S)`` are not integrated and get a random
        phase; they carry too little energy for their gradient to be trusted.
    known : np.ndarray [shape=S.shape] or None
        Phases already known (radians, librosa convention), NaN elsewhere. Known
        coefficients keep their phase and the integration starts from them; this is how
        consecutive blocks of a long signal are made to join without a phase jump.
    rng : np.random.Generator, int or None
        Source of the random phase of small coefficients.
    magnitude : np.ndarray or None
        Deprecated name of ``S`` (warns; removed in the next release).

    Returns
    -------
    np.ndarray [shape=S.shape], float64, phase in radians, in the convention of
    :func:`librosa.stft` (phase referred to the start of each frame).

    Raises
    ------
    ParameterError
        If the magnitude is not 2-D or more, has negative or non-finite values, or
        ``hop_length`` is out of range.

    References
    ----------
    .. [1] Průša, Balazs, Søndergaard, IEEE/ACM TASLP 25(5), 2017.
    """
    S = renamed_magnitude(S, magnitude, "pghi")
    check_magnitude(S)
    S = S.astype(np.float64, copy=False)
    n_fft, hop_length, win_length, w = stft_geometry(S.shape[-2], n_fft, hop_length, win_length, window)
    if not 0 < tol < 1:
        raise ParameterError(f"tol={tol} must be between 0 and 1")
    if known is not None and np.shape(known) != S.shape:
        raise ParameterError(f"known phases of shape {np.shape(known)} must match magnitude {S.shape}")
    gen = as_generator(rng)
    lam = gaussian_tfr(window if not isinstance(window, np.ndarray) else w[w != 0], win_length)
    a, M = float(hop_length), float(n_fft)
    k = np.arange(S.shape[-2], dtype=np.float64)[:, None]
    from ._kernels import heap_integrate, log_gradient  # numba, on first use

    out = np.empty(S.shape)
    centre_shift = 2.0 * np.pi * k * (n_fft / 2.0) / M  # frame-start → frame-centre convention
    for idx in np.ndindex(*S.shape[:-2]):
        s = S[idx]
        peak = float(s.max()) if s.size else 0.0
        is_known = np.zeros(s.shape, dtype=bool) if known is None else np.isfinite(known[idx])
        if peak <= 0.0:
            out[idx] = np.where(is_known, known[idx] if known is not None else 0.0, gen.uniform(-np.pi, np.pi, size=s.shape))
            continue
        small = s < tol * peak
        logs = np.log(np.maximum(s, tol * peak))
        ds_dm = log_gradient(logs, small, 1)
        ds_dk = log_gradient(logs, small, 0)
        # per-hop and per-bin phase increments (frame-centre convention)
        dphi_t = a * M / lam * ds_dk + 2.0 * np.pi * a * k / M
        dphi_f = -lam / (a * M) * ds_dm
        seed = np.zeros(s.shape) if known is None else np.where(is_known, known[idx] + centre_shift, 0.0)
        phase = heap_integrate(s, dphi_t, dphi_f, small, is_known, seed, tol * peak)
        random = small & ~is_known
        phase[random] = gen.uniform(-np.pi, np.pi, size=int(random.sum()))
        out[idx] = phase - centre_shift
    return out

