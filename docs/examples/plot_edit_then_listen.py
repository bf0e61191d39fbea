"""
Edit, then listen: every operation of ``specimg.ops``
=====================================================

:mod:`specimg.ops` edits the picture in calibrated units: seconds, hertz and dB. Each
operation returns a new image and records itself in ``params.edits``. Decoding with
``phase_from=`` the original audio keeps everything the edit did not touch exactly as it
was: only the edited region is reconstructed.

Each section shows the picture before and after, and plays the result.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import scipy.ndimage
from IPython.display import Audio

import specimg
from specimg import ops
from specimg.cli import sample_data_dir

y, sr = specimg.read_audio(sample_data_dir() / "speech.wav")
y = y[: int(2.5 * sr)]
img = specimg.encode(y, sr)


def before_after(after, title):
    """The picture before and after the edit, on the same dB scale."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), sharey=True, layout="constrained")
    for ax, picture, name in zip(axes, (img, after), ("before", title)):
        mesh = ax.pcolormesh(picture.times, picture.frequencies / 1000, picture.db, shading="nearest",
                             cmap="magma", vmin=-100, vmax=img.db.max())
        ax.set(xlabel="time (s)", title=name)
    axes[0].set_ylabel("frequency (kHz)")
    fig.colorbar(mesh, ax=axes, label="level (dBFS)")


def listen(edited):
    """Decode with the original audio's phase outside the edit."""
    out, rate = specimg.decode(edited, phase_from=y, quality="fast")
    return Audio(out, rate=rate)


# %%
# The original:
Audio(y, rate=sr)

# %%
# ``ops.gain``: a time–frequency rectangle louder or quieter
# ----------------------------------------------------------
# −30 dB below 1 kHz between 0.5 and 1.5 s, with soft edges (``fade`` seconds, ``fade_hz``).
quieter = ops.gain(img, -30, time=(0.5, 1.5), freq=(0, 1000))
before_after(quieter, "gain −30 dB, 0.5–1.5 s, < 1 kHz")
print(quieter.params.edits)

# %%
listen(quieter)

# %%
# ``ops.erase``: silence a rectangle
# ----------------------------------
# Full band between 1.2 and 1.5 s, as you would cut a cough.
erased = ops.erase(img, time=(1.2, 1.5))
before_after(erased, "erase 1.2–1.5 s")

# %%
listen(erased)

# %%
# ``ops.region_mask``: the soft mask behind ``gain`` and ``erase``
# ----------------------------------------------------------------
# In bin order (lowest frequency first), like ``img.db``: weight 1 inside, falling to 0
# along a raised cosine.
w = ops.region_mask(img, time=(0.5, 1.5), freq=(2000, 5000), fade=0.1, fade_hz=500)
fig, ax = plt.subplots(figsize=(6, 3), layout="constrained")
mesh = ax.pcolormesh(img.times, img.frequencies / 1000, w, shading="nearest", cmap="gray")
ax.set(xlabel="time (s)", ylabel="frequency (kHz)", title="region_mask(time=(0.5, 1.5), freq=(2000, 5000))")
fig.colorbar(mesh, ax=ax, label="weight")

# %%
# ``ops.apply_mask``: a painted mask as an attenuation
# ----------------------------------------------------
# White = attenuate, black = keep, in **image orientation** (low frequencies at the
# bottom, as an image editor shows it). Here the mask is the rectangle above, flipped into
# image orientation; any gray or RGB picture painted in an editor works the same way.
painted = np.flipud(w) if img.params.flip else w
masked = ops.apply_mask(img, painted, db=-40)
before_after(masked, "apply_mask, −40 dB, 2–5 kHz")

# %%
listen(masked)

# %%
# ``ops.inpaint``: remove a region and fill it from around it
# -----------------------------------------------------------
# A hole between 0.9 and 1.1 s below 4 kHz, filled by OpenCV's Telea inpainting.
hole = ops.region_mask(img, time=(0.9, 1.1), freq=(0, 4000), fade=0) > 0.5
filled = ops.inpaint(img, np.flipud(hole) if img.params.flip else hole)
before_after(filled, "inpaint 0.9–1.1 s, < 4 kHz")

# %%
listen(filled)

# %%
# ``ops.denoise``: noise reduction on the calibrated level
# --------------------------------------------------------
# Methods: ``specimg.ops.DENOISE_OPTIONS`` lists them with their options. On a clean
# recording a gate only lowers what lies under the noise floor it estimates; see
# :doc:`plot_denoise` for a noisy one.
print(sorted(ops.DENOISE_OPTIONS))
gated = ops.denoise(img, "gate")
before_after(gated, "denoise 'gate'")

# %%
listen(gated)

# %%
# ``ops.apply``: any array function on the level in dB
# ----------------------------------------------------
# The function sees one channel in image orientation; here a Gaussian blur along time
# (axis 1), which smears the syllables into each other.
blurred = ops.apply(img, lambda a: scipy.ndimage.gaussian_filter1d(a, sigma=4, axis=1))
before_after(blurred, "apply: Gaussian blur along time")

# %%
listen(blurred)
