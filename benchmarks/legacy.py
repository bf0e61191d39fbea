#!/usr/bin/env python
"""Acceptance benchmark of specimg.legacy (issue 6): audio back from images made by other tools.

Run from anywhere::

    python benchmarks/legacy.py [--corpus DIR] [--json PATH] [--quick]

Every corpus file (default ``../shared/corpus`` next to the repository) is loaded the way
the users of each tool load it — ``librosa.load(path)``: mono, 22050 Hz (riffusion:
44100 Hz) — and turned into the five kinds of picture with the producing library's own
calls, then imported with :mod:`specimg.legacy` and decoded with ``specimg.decode``
(``quality="balanced"``):

1. ``scipy.signal.spectrogram(y, sr, window="hann", nperseg=2048, noverlap=1536)`` (PSD,
   density scaling) → ``from_scipy_spectrogram``.
2. ``librosa.amplitude_to_db(np.abs(librosa.stft(y)), ref=np.max)``, min-max scaled to
   0..255, ``np.flipud``, saved by ``skimage.io.imsave`` as an 8-bit PNG; three variants:
   as is, inverted (``255 - u8``), and denoised with ``cv2.fastNlMeansDenoising(u8, None,
   h=5)`` → ``from_minmax_image``.
3. ``librosa.display.specshow`` of that dB spectrogram (``y_axis="hz"`` with magma,
   ``"log"`` with gray) and of ``power_to_db(melspectrogram(y), ref=np.max)``
   (``y_axis="mel"`` with viridis), in a figure with ``fig.add_axes([0, 0, 1, 1])`` and
   ``ax.axis("off")``, at 20 × 20 in and 6.4 × 4.8 in, dpi 100, saved by matplotlib as
   PNG and as JPEG (quality 95) → ``from_figure(duration=len(y) / sr, y_axis=, cmap=)``.
   Plus one 60-s excerpt (the love theme looped), 6.4 × 4.8 in PNG and JPEG, log axis.
4. ``librosa.feature.melspectrogram(y=y, sr=sr)`` (128 bands, power 2) →
   ``from_array(M, "power", sr=sr, n_samples=len(y))``; against
   ``librosa.feature.inverse.mel_to_audio(M, sr=sr, length=len(y))`` (its 32 iterations).
5. audio-diffusion: diffusers' ``Mel().audio_slice_to_image(0)`` (256 × 256, 5.94 s) →
   ``from_audio_diffusion(image, mel=mel)``; riffusion: a 512-frame (5.11 s) clip at
   44.1 kHz through riffusion's own ``image_util.image_from_spectrogram`` with its EXIF
   tags → ``from_riffusion``. diffusers' ``Mel`` needs torch, and riffusion's spectrogram
   step needs torchaudio, which has no CPU build here: its mel magnitudes are computed
   with librosa using riffusion's settings (``n_fft=17640, win_length=4410,
   hop_length=441``, reflect padding, HTK mel without normalisation, 512 bands to 10 kHz,
   power 1), which is what ``torchaudio.transforms.Spectrogram`` + ``MelScale`` compute.
   Install them in the benchmark's environment with ``pip install torch==2.13.0
   diffusers && pip install --no-deps riffusion==0.0.5``; without them the benchmark
   rebuilds the two images from the tools' documented conventions and says so.

Figures per picture:

* **duration**: ``len(decoded) - len(original)`` in samples; the target is |Δ| ≤ one hop.
  Where the tool keeps the length (audio-diffusion slices, figures given ``duration``)
  it is exact; scipy and min-max pictures do not carry it.
* **corr**: Pearson correlation of ``amplitude_to_db(|STFT|, ref=np.max)`` of the decoded
  and the original audio on the STFT grid (n_fft 2048, hop 512), over the bins within
  80 dB of the original's peak (:func:`specimg.metrics.db_correlation`). Target ≥ 0.9 for
  PNG and array workflows, ≥ 0.8 for JPEG figures.
* **picture**: the same correlation between the original and the picture's own content,
  before any phase step: the image's dB on its grid (for mel pictures, each band's level
  per Hz interpolated in dB between band centres, the smoothest spectrum the picture
  allows; nothing above ``fmax``), carried to the measurement grid when the picture has
  another (riffusion). Where ``corr`` falls short of a target and ``picture`` does too,
  the picture itself lacks the detail (mel bands, a figure with fewer rows than bins,
  noise whose bin-to-bin detail is random), not the phase reconstruction.
* **SC**: spectral convergence on that grid. Where the picture lost the absolute level
  (ref=np.max, min-max, colour scales) the decoded audio is first scaled by the
  least-squares gain, and the column says so ("SC*"). Workflow 1 and 4 carry their
  level: plain SC, target ≤ -25 dB for workflow 1; workflow 4 is judged in the mel
  domain, against librosa's ``mel_to_audio``. For workflow 1 the SC is also given on
  the picture's own grid (scipy's uncentred frames), which is the magnitude the decoder
  was given and on which the target is judged; the common centred grid adds frames
  that overhang the ends, where scipy's layout leaves the audio covered by one window.
* **checks**: a wrong colormap name, a figure with axes, title and colorbar left in, a
  colormap that does not match, and a duration that contradicts the picture must each
  give a clear error or warning; the messages are printed.

A PASS/FAIL summary ends the output; the exit status is 0 when every target passes.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import AUDIO_EXTS, DEFAULT_CORPUS, environment, fmt, print_summary, write_json  # noqa: E402

N_FFT, HOP = 2048, 512
SIZES = {"20x20": (20.0, 20.0), "6.4x4.8": (6.4, 4.8)}
FIGURES = [("hz", "magma"), ("log", "gray"), ("mel", "viridis")]


# ---------------------------------------------------------------------------- measures
def grid(sr: int):
    import specimg

    return specimg.SpectrogramParams(sr=sr, n_fft=N_FFT, hop_length=HOP)


def measure(y_hat: np.ndarray, y: np.ndarray, sr: int, *, level_known: bool) -> dict[str, Any]:
    """duration Δ, dB correlation and SC (gain-matched when the level was lost)."""
    from specimg.metrics import db_correlation, spectral_convergence

    n = min(len(y), len(y_hat))
    a, b = y[:n].astype(np.float64), y_hat[:n].astype(np.float64)
    if not level_known and np.dot(b, b) > 0:
        # least-squares gain on magnitudes: the level is not in the picture
        from specimg.spectral import stft_magnitude

        A, B = stft_magnitude(a, grid(sr)), stft_magnitude(b, grid(sr))
        b = b * float(np.sum(A * B) / np.sum(B * B))
    return {
        "delta_samples": int(len(y_hat) - len(y)),
        "corr": db_correlation(b, a, grid(sr)),
        "sc_db": spectral_convergence(b, a, grid(sr)),
        "sc_gain_matched": not level_known,
    }


def picture_on_grid(img: Any) -> np.ndarray:
    """The picture's own content as dB on its linear STFT grid, channel 0: the image's dB for
    a linear picture; for a mel picture, each band's level per Hz (band power over the
    filter's sum) interpolated in dB between band centres — the smoothest spectrum the
    picture allows, with nothing above fmax or below fmin."""
    import librosa

    from specimg.spectral import mel_basis

    p = img.params
    db = img.db[0] if p.n_channels > 1 else img.db
    if p.scale == "linear":
        return db
    B = mel_basis(p)
    # band power A**p over the filter's sum, back to an amplitude: dB - (20/p)·log10(Σ filter)
    dens_db = db - 20.0 / p.power * np.log10(np.maximum(B.sum(axis=1), 1e-30))[:, None]
    centres = librosa.mel_frequencies(p.n_mels + 2, fmin=p.fmin, fmax=p.fmax, htk=p.htk)[1:-1]
    freqs = librosa.fft_frequencies(sr=p.sr, n_fft=p.n_fft)
    out = np.stack([np.interp(freqs, centres, dens_db[:, j]) for j in range(dens_db.shape[1])], axis=1)
    out[(freqs < p.fmin) | (freqs > p.fmax)] = -np.inf
    return out


def picture_ceiling(img: Any, y: np.ndarray) -> float:
    """How well the picture itself matches the original, before any phase step: the
    correlation (as :func:`specimg.metrics.db_correlation`) of the original's dB on the
    measurement grid with the picture's own content (:func:`picture_on_grid`) carried to
    that grid (linear interpolation in dB across frequency and frame time; the identity
    when the picture's grid is the measurement grid, i.e. everywhere but riffusion)."""
    import librosa

    from specimg.spectral import stft_magnitude

    p = img.params
    g = grid(int(p.sr))
    A = stft_magnitude(y.astype(np.float64), g)
    with np.errstate(divide="ignore"):
        a = np.maximum(20.0 * np.log10(np.maximum(A, 1e-30) / A.max()), -80.0)
    pic = picture_on_grid(img)
    pic = np.maximum(pic - np.max(pic[np.isfinite(pic)]), -80.0)
    if (p.n_fft, p.hop_length, p.center) != (g.n_fft, g.hop_length, g.center):
        f_src = librosa.fft_frequencies(sr=p.sr, n_fft=p.n_fft)
        f_dst = librosa.fft_frequencies(sr=g.sr, n_fft=g.n_fft)
        pic = np.stack([np.interp(f_dst, f_src, pic[:, j]) for j in range(pic.shape[1])], axis=1)
        t_src = np.arange(pic.shape[1]) * p.hop_length + (0 if p.center else p.n_fft // 2)
        t_dst = np.arange(a.shape[1]) * g.hop_length
        pic = np.stack([np.interp(t_dst, t_src, row) for row in pic], axis=0)
    n = min(a.shape[1], pic.shape[1])
    a, pic = a[:, :n], pic[:, :n]
    keep = a > -80.0
    return float(np.corrcoef(a[keep], pic[keep])[0, 1])


def decode(img: Any) -> np.ndarray:
    import specimg

    y_hat, _ = specimg.decode(img, quality="balanced")
    return y_hat


def quiet(fn, *args, **kwargs):
    """Call ``fn`` and return (result, [warning messages])."""
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        out = fn(*args, **kwargs)
    return out, [str(w.message) for w in rec]


# ---------------------------------------------------------------------------- workflows
def w1_scipy(y: np.ndarray, sr: int) -> list[dict[str, Any]]:
    import scipy.signal

    from specimg import legacy
    from specimg.metrics import spectral_convergence

    f, t, Sxx = scipy.signal.spectrogram(y, sr, window="hann", nperseg=N_FFT, noverlap=N_FFT - HOP)
    img = legacy.from_scipy_spectrogram(f, t, Sxx, fs=sr, window="hann", nperseg=N_FFT, noverlap=N_FFT - HOP)
    y_hat = decode(img)
    # SC on the picture's own grid (scipy's uncentred frames): the magnitude the decoder was given
    own = spectral_convergence(y_hat, y[: len(y_hat)], img.params)
    return [{"variant": "psd density", "hop": HOP, **measure(y_hat, y, sr, level_known=True), "sc_own_db": own,
             "ceiling": picture_ceiling(img, y)}]


def minmax_u8(y: np.ndarray) -> np.ndarray:
    import librosa

    Xdb = librosa.amplitude_to_db(np.abs(librosa.stft(y)), ref=np.max)
    u8 = (255 * (Xdb - Xdb.min()) / (Xdb.max() - Xdb.min())).astype(np.uint8)
    return np.flipud(u8)


def w2_minmax(y: np.ndarray, sr: int, tmp: Path) -> list[dict[str, Any]]:
    import cv2
    import skimage.io

    from specimg import legacy

    u8 = minmax_u8(y)
    rows = []
    for variant, pic, invert in [
        ("plain", u8, False),
        ("inverted", 255 - u8, True),
        ("fastNlMeans h=5", cv2.fastNlMeansDenoising(np.ascontiguousarray(u8), None, h=5), False),
    ]:
        path = tmp / "minmax.png"
        skimage.io.imsave(path, np.ascontiguousarray(pic), check_contrast=False)
        img, _ = quiet(legacy.from_minmax_image, path, sr=sr, invert=invert)
        rows.append({"variant": variant, "hop": HOP, **measure(decode(img), y, sr, level_known=False),
                     "ceiling": picture_ceiling(img, y)})
    return rows


def render_figure(data: np.ndarray, sr: int, y_axis: str, cmap: str, size: tuple[float, float], path: Path) -> None:
    import librosa.display
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=size, dpi=100)
    ax = fig.add_axes([0, 0, 1, 1])
    librosa.display.specshow(data, sr=sr, hop_length=HOP, x_axis="time", y_axis=y_axis, cmap=cmap, ax=ax)
    ax.axis("off")
    kwargs = {"pil_kwargs": {"quality": 95}} if path.suffix == ".jpg" else {}
    fig.savefig(path, dpi=100, **kwargs)
    plt.close(fig)


def figure_data(y: np.ndarray, sr: int, y_axis: str) -> np.ndarray:
    import librosa

    if y_axis == "mel":
        return librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=sr), ref=np.max)
    return librosa.amplitude_to_db(np.abs(librosa.stft(y)), ref=np.max)


def w3_figures(y: np.ndarray, sr: int, tmp: Path, *, quick: bool) -> list[dict[str, Any]]:
    from specimg import legacy

    rows = []
    sizes = {"6.4x4.8": SIZES["6.4x4.8"]} if quick else SIZES
    for y_axis, cmap in FIGURES:
        data = figure_data(y, sr, y_axis)
        for size_name, size in sizes.items():
            for ext in (".png", ".jpg"):
                path = tmp / f"figure{ext}"
                render_figure(data, sr, y_axis, cmap, size, path)
                img, msgs = quiet(legacy.from_figure, path, sr=sr, duration=len(y) / sr, y_axis=y_axis, cmap=cmap)
                other = [m for m in msgs if "absolute level is unknown" not in m]
                rows.append({
                    "variant": f"{y_axis}/{cmap} {size_name} {ext[1:]}", "format": ext[1:], "hop": HOP,
                    **measure(decode(img), y, sr, level_known=False), "ceiling": picture_ceiling(img, y),
                    "warnings": other,
                })
    return rows


def w4_mel_array(y: np.ndarray, sr: int) -> list[dict[str, Any]]:
    import librosa

    from specimg import legacy
    from specimg.metrics import magnitude_convergence

    M = librosa.feature.melspectrogram(y=y, sr=sr)
    img = legacy.from_array(M, "power", sr=sr, n_samples=len(y))
    t0 = time.perf_counter()
    y_hat = decode(img)
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    y_lib = librosa.feature.inverse.mel_to_audio(M, sr=sr, length=len(y))
    t_lib = time.perf_counter() - t0

    def mel_sc(z: np.ndarray) -> float:
        return magnitude_convergence(np.sqrt(librosa.feature.melspectrogram(y=z, sr=sr)), np.sqrt(M))

    return [{
        "variant": "melspectrogram power", "hop": HOP, **measure(y_hat, y, sr, level_known=True),
        "ceiling": picture_ceiling(img, y),
        "mel_sc_db": mel_sc(y_hat), "librosa_mel_sc_db": mel_sc(y_lib),
        "librosa_corr": measure(y_lib, y, sr, level_known=True)["corr"],
        "time_s": t_ours, "librosa_time_s": t_lib,
    }]


def have(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def w5_audio_diffusion(y: np.ndarray, sr: int) -> list[dict[str, Any]]:
    import librosa
    from PIL import Image

    from specimg import legacy

    if have("diffusers") and have("torch"):
        from diffusers.pipelines.deprecated.audio_diffusion.mel import Mel

        mel = Mel()
        mel.load_audio(raw_audio=y)
        image = mel.audio_slice_to_image(0)
        ref = mel.get_audio_slice(0)
        source = "diffusers Mel"
    else:  # the two lines of Mel.audio_slice_to_image, with Mel's defaults
        ref = np.pad(y, (0, max(0, 256 * HOP - len(y))))[: 256 * HOP - 1]
        S = librosa.feature.melspectrogram(y=ref, sr=sr, n_fft=N_FFT, hop_length=HOP, n_mels=256)
        log_S = librosa.power_to_db(S, ref=np.max, top_db=80)
        image = Image.fromarray((((log_S + 80) * 255 / 80).clip(0, 255) + 0.5).astype(np.uint8))
        mel, source = None, "rebuilt (diffusers/torch absent)"
    img, _ = quiet(legacy.from_audio_diffusion, image, mel=mel)
    return [{"variant": f"audio-diffusion ({source})", "hop": HOP, **measure(decode(img), ref, sr, level_known=False),
             "ceiling": picture_ceiling(img, ref)}]


RIFF_LEN = 441 * 511  # 512 frames of riffusion's 10-ms hop (center=True)


def w5_riffusion(path: Path) -> list[dict[str, Any]]:
    import librosa
    from PIL import Image

    from specimg import legacy

    y, sr = librosa.load(path, sr=44100)
    y = np.pad(y, (0, max(0, RIFF_LEN - len(y))))[:RIFF_LEN]
    M = librosa.feature.melspectrogram(
        y=y, sr=sr, n_fft=17640, hop_length=441, win_length=4410, window="hann", center=True,
        pad_mode="reflect", power=1.0, n_mels=512, fmin=0, fmax=10000, htk=True, norm=None,
    )[np.newaxis]
    tags = legacy.RIFFUSION_EXIF_TAGS
    exif_values = {
        tags["sample_rate"]: 44100, tags["stereo"]: False, tags["step_size_ms"]: 10,
        tags["window_duration_ms"]: 100, tags["padded_duration_ms"]: 400, tags["num_frequencies"]: 512,
        tags["min_frequency"]: 0, tags["max_frequency"]: 10000, tags["power_for_image"]: 0.25,
        tags["max_value"]: float(M.max()),
    }
    if have("riffusion"):
        from riffusion.spectrogram_params import SpectrogramParams
        from riffusion.util import image_util

        params = SpectrogramParams()
        image = image_util.image_from_spectrogram(M, power=params.power_for_image)
        exif_values = params.to_exif()
        exif_values[SpectrogramParams.ExifTags.MAX_VALUE.value] = float(np.max(M))
        source = "riffusion image_util"
    else:  # riffusion's image_from_spectrogram, as documented
        data = (255 - np.power(M / M.max(), 0.25) * 255).astype(np.uint8)
        image = Image.fromarray(data[0], mode="L").convert("RGB").transpose(Image.Transpose.FLIP_TOP_BOTTOM)
        source = "rebuilt (riffusion absent)"
    exif = image.getexif()
    exif.update(exif_values.items())
    buf = io.BytesIO()
    image.save(buf, format="PNG", exif=exif)
    buf.seek(0)
    img = legacy.from_riffusion(Image.open(buf))
    return [{"variant": f"riffusion ({source})", "hop": 441, **measure(decode(img), y, sr, level_known=True),
             "ceiling": picture_ceiling(img, y)}]


# ---------------------------------------------------------------------------- checks
def checks(y: np.ndarray, sr: int, tmp: Path) -> list[dict[str, Any]]:
    """Each bad input must give an error or a warning that says what looks wrong."""
    import librosa.display
    import matplotlib.pyplot as plt

    from specimg import legacy

    data = figure_data(y, sr, "log")
    good = tmp / "good.png"
    render_figure(data, sr, "log", "magma", SIZES["6.4x4.8"], good)
    axes = tmp / "axes.png"
    fig = plt.figure(figsize=(6.4, 4.8), dpi=100)
    librosa.display.specshow(data, sr=sr, hop_length=HOP, x_axis="time", y_axis="log", cmap="magma")
    plt.colorbar(format="%+2.0f dB")
    plt.title("spectrogram")
    fig.savefig(axes, dpi=100)
    plt.close(fig)
    big = tmp / "big.png"
    render_figure(data, sr, "hz", "magma", (20.0, 20.0), big)
    cases = [
        ("wrong colormap name", good, dict(cmap="magmaa", y_axis="log", duration=len(y) / sr)),
        ("colormap that does not match", good, dict(cmap="viridis", y_axis="log", duration=len(y) / sr)),
        ("axes, title and colorbar left in", axes, dict(cmap="magma", y_axis="log", duration=len(y) / sr)),
        ("duration 3x too long for the picture", big, dict(cmap="magma", y_axis="hz", duration=3 * len(y) / sr)),
    ]
    out = []
    for name, path, kwargs in cases:
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            try:
                legacy.from_figure(path, sr=sr, peak_db=-12.0, **kwargs)
                outcome, message = "warning", "; ".join(str(w.message) for w in rec)
                if not rec:
                    outcome, message = "accepted silently", ""
            except Exception as exc:  # noqa: BLE001 - the message is the figure
                outcome, message = f"error ({type(exc).__name__})", str(exc)
        out.append({"case": name, "outcome": outcome, "message": message})
    return out


# ---------------------------------------------------------------------------- main
def corpus_files(corpus: Path) -> list[Path]:
    return sorted(p for p in corpus.iterdir() if p.suffix.lower() in AUDIO_EXTS)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help=f"audio folder (default: {DEFAULT_CORPUS})")
    ap.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write the figures as JSON here")
    ap.add_argument("--quick", action="store_true", help="figures at 6.4x4.8 in only, no 60-s excerpt")
    args = ap.parse_args(argv)

    import librosa
    import matplotlib

    matplotlib.use("Agg")

    if not args.corpus.is_dir():
        print(f"{args.corpus} not found: the benchmark needs the corpus (--corpus DIR)", file=sys.stderr)
        return 2
    files = corpus_files(args.corpus)
    results: dict[str, list[dict[str, Any]]] = {k: [] for k in ("1 scipy", "2 min-max", "3 figure", "4 mel array",
                                                              "5 audio-diffusion", "5 riffusion")}
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="specimg-legacy-bench-") as d:
        tmp = Path(d)
        for path in files:
            print(f"  {path.name} ...", file=sys.stderr, flush=True)
            y, sr = librosa.load(path)
            for key, rows in [
                ("1 scipy", w1_scipy(y, sr)),
                ("2 min-max", w2_minmax(y, sr, tmp)),
                ("3 figure", w3_figures(y, sr, tmp, quick=args.quick)),
                ("4 mel array", w4_mel_array(y, sr)),
                ("5 audio-diffusion", w5_audio_diffusion(y, sr)),
                ("5 riffusion", w5_riffusion(path)),
            ]:
                results[key] += [{"file": path.stem, **r} for r in rows]
        if not args.quick:
            love = next((p for p in files if "love" in p.stem), files[0])
            y, sr = librosa.load(love)
            y60 = np.tile(y, int(np.ceil(60 * sr / len(y))))[: 60 * sr]
            print("  60-s excerpt ...", file=sys.stderr, flush=True)
            data = figure_data(y60, sr, "log")
            for ext in (".png", ".jpg"):
                p = tmp / f"long{ext}"
                render_figure(data, sr, "log", "magma", SIZES["6.4x4.8"], p)
                img, _ = quiet(__import__("specimg").legacy.from_figure, p, sr=sr, duration=60.0, y_axis="log",
                               cmap="magma")
                results["3 figure"].append({"file": f"{love.stem} x60s", "variant": f"log/magma 6.4x4.8 {ext[1:]}",
                                            "format": ext[1:], "hop": HOP,
                                            **measure(decode(img), y60, sr, level_known=False),
                                            "ceiling": picture_ceiling(img, y60), "warnings": []})
        y, sr = librosa.load(next((p for p in files if "love" in p.stem), files[0]))
        chk = checks(y, sr, tmp)
    t_total = time.perf_counter() - t_start

    env = environment()
    print(f"specimg legacy benchmark on {len(files)} files of {args.corpus}; decode quality='balanced'; "
          f"measured on librosa's STFT grid n_fft={N_FFT}, hop={HOP}")
    print("  ".join(f"{k} {v}" for k, v in env.items()))
    print("corr = Pearson r of amplitude_to_db(ref=max) over bins within 80 dB of the original's peak; "
          "SC* = spectral convergence after a least-squares gain (the level is not in the picture)")
    summary: list[tuple[str, bool, str]] = []
    for key, rows in results.items():
        print(f"\n{key}")
        print(f"  {'file':23} {'variant':40} {'Δ samples':>10} {'corr':>7} {'picture':>8} {'SC dB':>8}")
        for r in rows:
            sc = fmt(r["sc_db"], ".1f") + ("*" if r["sc_gain_matched"] else "")
            print(f"  {r['file']:23} {r['variant']:40} {r['delta_samples']:>10} {fmt(r['corr'], '.3f'):>7} "
                  f"{fmt(r['ceiling'], '.3f'):>8} {sc:>8}")
            for w in r.get("warnings", []):
                print(f"      warning: {w}")
            if "sc_own_db" in r:
                print(f"      SC on scipy's own frames (the magnitude the decoder was given): {r['sc_own_db']:.1f} dB")
            if "mel_sc_db" in r:
                print(f"      mel-domain SC {r['mel_sc_db']:.1f} dB vs librosa mel_to_audio {r['librosa_mel_sc_db']:.1f} dB"
                      f" (corr {r['librosa_corr']:.3f}); time {r['time_s']:.2f} s vs {r['librosa_time_s']:.2f} s")
        corrs = [r["corr"] for r in rows]
        print(f"  median corr {statistics.median(corrs):.3f}, min {min(corrs):.3f}; median picture "
              f"{statistics.median(r['ceiling'] for r in rows):.3f}; "
              f"median SC {statistics.median(r['sc_db'] for r in rows):.1f} dB")
        dur_ok = all(abs(r["delta_samples"]) <= r["hop"] for r in rows)
        summary.append((f"{key}: duration within one hop", dur_ok,
                        f"max |Δ| {max(abs(r['delta_samples']) for r in rows)} samples"))
        for fmt_name, target in (("png", 0.9), ("jpg", 0.8)):
            sel = [r for r in rows if r.get("format", "png") == fmt_name]
            if sel:
                worst = min(sel, key=lambda r: r["corr"])
                n_low = sum(r["corr"] < target for r in sel)
                summary.append((f"{key}: corr >= {target} ({fmt_name if key == '3 figure' else 'all'})",
                                n_low == 0, f"{len(sel) - n_low}/{len(sel)} pass; min {worst['corr']:.3f} "
                                f"({worst['file']} {worst['variant']}, picture {worst['ceiling']:.3f})"))
        if key == "1 scipy":
            worst = max(r["sc_own_db"] for r in rows)
            summary.append(("1 scipy: SC <= -25 dB on the picture's own frames", worst <= -25.0,
                            f"worst {worst:.1f} dB; on the common centred grid worst "
                            f"{max(r['sc_db'] for r in rows):.1f} dB"))
        if key == "4 mel array":
            margin = min(r["librosa_mel_sc_db"] - r["mel_sc_db"] for r in rows)
            summary.append(("4 mel array: mel-domain SC better than librosa mel_to_audio", margin > 0,
                            f"smallest margin {margin:.1f} dB"))
    print("\nchecks")
    for c in chk:
        print(f"  {c['case']}: {c['outcome']}\n      {c['message']}")
    summary.append(("checks: each bad input gives an error or a warning", all(c["outcome"] != "accepted silently"
                                                                              for c in chk), ""))
    print(f"\ntotal time {t_total:.0f} s")
    ok = print_summary(summary)
    if args.json:
        write_json(args.json, {"environment": env, "results": results, "checks": chk, "summary": summary})
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
