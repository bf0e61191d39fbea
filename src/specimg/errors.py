"""Exceptions and warnings raised by specimg.

Every error derives from :class:`SpecimgError`, and each subclass also derives from the
built-in exception it replaces, so ``except ValueError`` keeps working.
"""

from __future__ import annotations

__all__ = [
    "SpecimgError",
    "ParameterError",
    "FormatError",
    "AudioError",
    "MissingFileError",
    "OutputError",
    "ResourceError",
    "SpecimgWarning",
    "LossyWarning",
    "ClippingWarning",
    "AssumptionWarning",
    "PhaseWarning",
]


class SpecimgError(Exception):
    """Root of every error specimg raises."""


class ParameterError(SpecimgError, ValueError):
    """A parameter has an invalid value or contradicts another parameter."""


class FormatError(SpecimgError, ValueError):
    """An image or metadata file cannot be read as a specimg spectrogram."""


class AudioError(SpecimgError, ValueError):
    """Audio that cannot be encoded: not audio, empty, too short, or not finite."""


class OutputError(SpecimgError, OSError):
    """An output file cannot be written (full disk, read-only folder); names the output."""


class MissingFileError(SpecimgError, FileNotFoundError):
    """An input file does not exist."""


class ResourceError(SpecimgError, MemoryError):
    """A job would need more memory than the budget (see :mod:`specimg.resources`).

    Raised before the work starts, with the estimate, the budget and how to change either.
    """


class SpecimgWarning(UserWarning):
    """Root of every warning specimg emits."""


class LossyWarning(SpecimgWarning):
    """A legal choice that loses information (8-bit pixels, for instance)."""


class ClippingWarning(SpecimgWarning):
    """More than 0.1 % of the time-frequency bins were clipped at ``db_max``."""


class AssumptionWarning(SpecimgWarning):
    """An input lacks a parameter (or looks odd) and a documented default was assumed.

    Raised by :mod:`specimg.legacy` when, for instance, ``ref=np.max`` has discarded the
    absolute level of a spectrogram; the message names the value used and how to set it.
    """


class PhaseWarning(SpecimgWarning):
    """A file's stored phase (FORMAT.md §7) is damaged or does not fit its image: it is ignored.

    The picture itself is read as usual and decodes like one without stored phase.
    """
