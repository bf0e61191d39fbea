"""
Denoising a noisy recording
===========================

Speech mixed with white noise at 5 dB SNR, denoised in the picture with
:func:`specimg.ops.denoise`, then decoded. The decoder takes the phase of the noisy
recording (``phase_from=``), what you have in practice, and rebuilds only what the
denoiser changed.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Audio

import specimg
from specimg import ops
from specimg.cli import sample_data_dir

clean, sr = specimg.read_audio(sample_data_dir() / "speech.wav")
clean = clean[: 3 * sr]
rng = np.random.default_rng(0)
noise = rng.standard_normal(len(clean))
noise *= np.sqrt(np.mean(clean**2) / np.mean(noise**2)) * 10 ** (-5 / 20)  # 5 dB SNR
noisy = (clean + noise).astype(np.float32)
noisy_img = specimg.encode(noisy, sr)


def snr_db(y):
    """Magnitude-domain SNR of ``y`` against the clean speech, in dB."""
    C = np.abs(specimg.encode(clean, sr).magnitude)
    D = np.abs(specimg.encode(y, sr).magnitude)
    return 10 * np.log10(np.sum(C**2) / np.sum((D - C) ** 2))


def show(img, ax, title):
    mesh = ax.pcolormesh(img.times, img.frequencies / 1000, img.db, shading="nearest", cmap="magma",
                         vmin=-100, vmax=-10)
    ax.set(xlabel="time (s)", title=title)
    return mesh


# %%
# The noisy recording:
print(f"noisy: SNR {snr_db(noisy):5.1f} dB")
Audio(noisy, rate=sr)

# %%
# Two denoisers: a spectral gate, and non-local means on the picture followed by power
# spectral subtraction (``ops.DENOISE_STRENGTH`` holds their default strengths in dB).
results = {}
for method in ("gate", "nlmeans"):
    cleaned = ops.denoise(noisy_img, method)
    y_hat, _ = specimg.decode(cleaned, phase_from=noisy, quality="fast")
    results[method] = (cleaned, y_hat)
    print(f"{method:8s} SNR {snr_db(y_hat):5.1f} dB (strength {ops.DENOISE_STRENGTH[method]} dB)")

fig, axes = plt.subplots(1, 3, figsize=(11, 3.2), sharey=True, layout="constrained")
show(noisy_img, axes[0], "noisy, 5 dB SNR")
show(results["gate"][0], axes[1], "ops.denoise(img, 'gate')")
mesh = show(results["nlmeans"][0], axes[2], "ops.denoise(img, 'nlmeans')")
axes[0].set_ylabel("frequency (kHz)")
fig.colorbar(mesh, ax=axes, label="level (dBFS)")

# %%
# After the gate:
Audio(results["gate"][1], rate=sr)

# %%
# After non-local means:
Audio(results["nlmeans"][1], rate=sr)

# %%
# The clean recording, for comparison:
Audio(clean, rate=sr)
