from __future__ import annotations

import dataclasses
import inspect
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import specimg
from specimg import FormatError, ParameterError, SpectrogramParams
from specimg.params import FORMAT_VERSION


def test_derived_defaults_follow_librosa():
    p = SpectrogramParams(sr=22050)
    assert (p.n_fft, p.hop_length, p.win_length, p.window, p.center) == (2048, 512, 2048, "hann", True)
    assert p.fmax == 11025.0
    assert SpectrogramParams(sr=16000, n_fft=1024, win_length=800).hop_length == 200


def test_encode_defaults_match_params_defaults():
    """encode() and SpectrogramParams must share names and defaults (STYLE.md §3)."""
    fields = {f.name: f.default for f in dataclasses.fields(SpectrogramParams)}
    sig = inspect.signature(specimg.encode).parameters
    shared = [name for name in sig if name not in ("y", "sr", "store_phase", "phase_bits")]  # not metadata
    for name in shared:
        assert name in fields, f"encode() option {name!r} is not a SpectrogramParams field"
        assert sig[name].default == fields[name], name
    not_in_encode = set(fields) - set(sig) - {"n_samples", "n_channels", "edits", "version"}
    assert not not_in_encode


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"sr": -1}, "sr=-1"),
        ({"sr": 22050, "hop_length": 0}, "hop_length=0"),
        ({"sr": 22050, "hop_length": 4096}, "hop_length=4096"),
        ({"sr": 22050, "win_length": 4096}, "win_length=4096"),
        ({"sr": 22050, "n_fft": 10**9}, "n_fft=1000000000"),
        ({"sr": 22050, "n_mels": 2000, "n_fft": 2048, "scale": "mel"}, "n_mels=2000"),
        ({"sr": 22050, "fmax": 20000.0}, "fmax=20000.0"),
        ({"sr": 22050, "fmin": 5000.0, "fmax": 4000.0}, "fmin=5000.0"),
        ({"sr": 22050, "db_min": 0.0, "db_max": 0.0}, "db_min=0.0"),
        ({"sr": 22050, "db_min": float("nan")}, "finite"),
        ({"sr": 22050, "ref": 0.0}, "ref=0.0"),
        ({"sr": 22050, "bit_depth": 12}, "bit_depth=12"),
        ({"sr": 22050, "window": "no-such-window"}, "window="),
        ({"sr": 22050, "scale": "log"}, "scale='log'"),
        ({"sr": 22050, "norm": "l2"}, "norm='l2'"),
        ({"sr": 22050, "version": 99}, "version=99"),
        ({"sr": 22050.5}, "sr=22050.5"),
    ],
)
def test_invalid_params_raise_with_the_value(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        SpectrogramParams(**kwargs)


param_sets = st.builds(
    SpectrogramParams,
    sr=st.sampled_from([8000, 16000, 22050, 44100, 48000]),
    n_fft=st.sampled_from([256, 512, 1024, 2048]),
    # at most n_fft // 2 of the smallest n_fft: a hop of n_fft leaves gaps (NOLA) for these windows
    hop_length=st.one_of(st.none(), st.integers(1, 128)),
    window=st.sampled_from(["hann", "hamming", "blackman", ("kaiser", 8.0)]),
    center=st.booleans(),
    scale=st.sampled_from(["linear", "mel"]),
    n_mels=st.integers(1, 129),
    fmin=st.floats(0, 100),
    htk=st.booleans(),
    norm=st.sampled_from(["slaney", None]),
    power=st.floats(0.5, 3.0),
    db_min=st.floats(-200, -10),
    db_max=st.floats(-5, 30),
    ref=st.floats(1e-6, 1e3),
    flip=st.booleans(),
    invert=st.booleans(),
    bit_depth=st.sampled_from([8, 16, 32]),
    n_samples=st.one_of(st.none(), st.integers(0, 10**9)),
    n_channels=st.integers(1, 8),
    edits=st.lists(st.fixed_dictionaries({"op": st.text(max_size=8), "db": st.floats(-60, 60)}), max_size=3),
)


def test_n_mels_only_constrains_mel_images():
    assert SpectrogramParams(sr=8000, n_fft=64).n_bins == 33  # default n_mels=128 unused
    with pytest.raises(ParameterError, match="n_mels=128"):
        SpectrogramParams(sr=8000, n_fft=64, scale="mel")


@settings(max_examples=200, deadline=None)
@given(param_sets)
def test_json_round_trip_is_exact(p):
    assert SpectrogramParams.from_json(p.to_json()) == p
    assert SpectrogramParams.from_dict(json.loads(p.to_json())) == p


def _meta(**changes):
    d = SpectrogramParams(sr=22050, n_samples=1000).to_dict()
    d.update(changes)
    return d


@pytest.mark.parametrize(
    "data, match",
    [
        (_meta(version=3), "format version 3"),
        (_meta(format="other"), "not specimg metadata"),
        ({k: v for k, v in _meta().items() if k != "hop_length"}, "lacks the key"),
        (_meta(surprise=1), "unknown key"),
        (_meta(sr=-5), "sr=-5"),
        (_meta(n_fft=10**9), "n_fft=1000000000"),
        (_meta(flip="yes"), "flip='yes'"),
    ],
)
def test_bad_metadata_raises_format_error(data, match):
    with pytest.raises(FormatError, match=match):
        SpectrogramParams.from_dict(data)


def test_from_json_rejects_non_json():
    with pytest.raises(FormatError, match="not valid JSON"):
        SpectrogramParams.from_json("{not json")


def test_version_constant():
    assert SpectrogramParams(sr=8000).version == FORMAT_VERSION == 2


def test_frames_and_axes():
    p = SpectrogramParams(sr=22050, n_samples=22050)
    assert p.n_frames == 1 + 22050 // 512
    assert p.n_bins == 1025
    assert p.frequencies[-1] == 11025.0
    assert p.times(3)[1] == pytest.approx(512 / 22050)
    m = p.replace(scale="mel", n_mels=64)
    assert m.n_bins == 64 and len(m.frequencies) == 64 and m.frequencies[0] > 0


def test_duration_and_output_length():
    p = SpectrogramParams(sr=8000, n_fft=512, n_samples=12000)
    assert p.duration == 1.5
    assert p.output_length(3) == 12000  # n_samples when known
    unknown = p.replace(n_samples=None)
    assert unknown.duration is None
    assert unknown.output_length(10) == unknown.length_for(10) == 9 * 128


def test_resolved_fields_are_never_none():
    p = SpectrogramParams(sr=8000, n_fft=512, hop_length=None, win_length=None, fmax=None)
    assert (type(p.hop_length), type(p.win_length), type(p.fmax)) == (int, int, float)
    assert inspect.signature(SpectrogramParams).parameters["hop_length"].default is None
    assert json.loads(p.to_json())["hop_length"] == 128


def test_check_float_is_public():
    from specimg.params import check_float

    assert check_float("x", 2) == 2.0 and type(check_float("x", 2)) is float
    for bad, match in ((True, "real number"), ("1", "real number"), (float("inf"), "finite")):
        with pytest.raises(ParameterError, match=match):
            check_float("x", bad)
