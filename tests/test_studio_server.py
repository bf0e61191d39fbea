"""The studio's HTTP side through starlette's TestClient: the contract's routes, the round
trip of issue 20 (erase a cough, gain −12 dB on 0–300 Hz, save, export and replay the
history), and every refusal: token, Host, Origin, other paths, large bodies, bad
selections, an unreadable file."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")
from starlette.testclient import TestClient  # noqa: E402

import specimg  # noqa: E402
from specimg import ops  # noqa: E402
from specimg.studio import load_session  # noqa: E402
from specimg.studio.server import make_app  # noqa: E402

SAMPLES = Path(__file__).resolve().parents[1] / "sample_data"
PORT = 8123
TOKEN = "t" * 43
AUTH = {"X-Specimg-Token": TOKEN}


@pytest.fixture()
def served(tmp_path: Path):
    src = tmp_path / "speech.png"
    shutil.copy(SAMPLES / "speech.png", src)
    session = load_session(src)
    client = TestClient(make_app(session, TOKEN, [PORT]), base_url=f"http://127.0.0.1:{PORT}")
    return client, session, src


def test_round_trip_through_the_server(served, tmp_path: Path) -> None:
    client, session, src = served
    info = client.get("/api/info", headers=AUTH).json()
    assert info["n_frames"] == 250 and info["state"]["version"] == 0 and "magma" in info["colormaps"]
    assert info["view_formats"] == ["png", "rgba"] and "gate" in info["denoise_methods"]
    assert set(info["whole_image_ops"]) <= set(info["ops"])
    r = client.post("/api/edit", headers=AUTH, json={"op": "erase", "selection": {"kind": "rect", "time": [1.0, 1.3]}})
    assert r.status_code == 200 and r.json()["changed"]["time"][0] < 1.0
    r = client.post("/api/edit", headers=AUTH, json={
        "op": "gain", "selection": {"kind": "rect", "time": None, "freq": [0, 300]}, "args": {"db": -12}})
    assert r.json()["state"]["version"] == 2
    assert client.post("/api/undo", headers=AUTH).json()["state"]["can_redo"]
    assert client.post("/api/redo", headers=AUTH).json()["state"]["history"][-1]["op"] == "gain"
    r = client.post("/api/save", headers=AUTH, json={"format": "png"})
    assert r.status_code == 200 and r.json()["path"] == "speech.edited.png"
    original = specimg.load(src)
    expected = ops.gain(ops.erase(original, time=(1.0, 1.3)), -12, freq=(0, 300))
    saved = specimg.load(tmp_path / "speech.edited.png")
    assert np.array_equal(saved.pixels, expected.pixels) and saved.params == expected.params
    history = client.get("/api/export/history", headers=AUTH)
    assert "speech.history.json" in history.headers["content-disposition"]
    (tmp_path / "h.json").write_bytes(history.content)
    edits = json.loads(history.content)["edits"]
    assert np.array_equal(ops.replay(original, edits).pixels, saved.pixels)
    out = tmp_path / "replayed.png"
    subprocess.run([sys.executable, "-m", "specimg", "edit", str(src), str(out), "--replay", str(tmp_path / "h.json")],
                   check=True, capture_output=True, timeout=120)  # fmt: skip
    replayed = specimg.load(out)
    assert np.array_equal(replayed.pixels, saved.pixels) and replayed.params == saved.params


def test_views_axes_probe_selection_and_audio(served) -> None:
    client, session, _ = served
    q = "t0=0.5&t1=3&f0=0&f1=8000&width=300&height=120"
    for axis in ("linear", "log", "mel"):
        r = client.get(f"/api/view?{q}&freq_axis={axis}&cmap=viridis&vmin=-90&vmax=0", headers=AUTH)
        assert r.status_code == 200 and r.headers["content-type"] == "image/png"
        assert r.content[16:24] == (300).to_bytes(4, "big") + (120).to_bytes(4, "big")  # IHDR width, height
        axes = client.get(f"/api/axes?{q}&freq_axis={axis}", headers=AUTH).json()
        assert len(axes["y_to_freq"]) == 120 and axes["y_to_freq"][0] > axes["y_to_freq"][-1]
        assert axes["channel_rows"] == [[0, 120, 0]] and axes["time_ticks"]
    assert client.get(f"/api/view?{q}&which=original", headers=AUTH).status_code == 200
    # raw RGBA: the same colours as the PNG, width * height * 4 bytes, rows top to bottom
    from PIL import Image

    png = Image.open(io.BytesIO(client.get(f"/api/view?{q}&format=png", headers=AUTH).content))
    raw = client.get(f"/api/view?{q}&format=rgba", headers=AUTH)
    assert raw.headers["content-type"] == "application/octet-stream" and len(raw.content) == 300 * 120 * 4
    rgba = np.frombuffer(raw.content, np.uint8).reshape(120, 300, 4)
    assert np.array_equal(rgba[..., :3], np.asarray(png.convert("RGB"))) and np.all(rgba[..., 3] == 255)
    assert client.get(f"/api/view?{q}&format=jpeg", headers=AUTH).status_code == 422
    assert client.get("/api/colorbar?height=64", headers=AUTH).status_code == 200
    probe = client.get("/api/probe?t=1&f=440&channel=0", headers=AUTH).json()
    assert abs(probe["time"] - 1) < 0.03 and -120 <= probe["db"] <= 6
    view = {"t0": 0, "t1": 5.8, "f0": 0, "f1": 11025, "width": 200, "height": 100}
    r = client.post("/api/selection", headers=AUTH, json={"selection": {"kind": "rect", "time": [1, 2]}, "view": view})
    assert r.status_code == 200 and r.json()["overlay"].startswith("data:image/png;base64,")
    assert r.json()["bounds"]["time"] == [1, 2]
    wav = client.get("/api/audio?t0=0.5&t1=1.5", headers=AUTH)
    import soundfile as sf

    y, sr = sf.read(io.BytesIO(wav.content))
    assert wav.headers["content-type"] == "audio/wav" and sr == 22050 and len(y) == 22050
    flac = client.get("/api/export/audio?format=flac&t0=0&t1=1", headers=AUTH)
    assert flac.status_code == 200 and "attachment" in flac.headers["content-disposition"]


def test_refusals_change_nothing(served, capsys) -> None:
    client, session, _ = served
    before = session.pixels.copy()
    cases = [
        (client.get("/api/info"), 403),
        (client.get("/api/info", headers={"X-Specimg-Token": "wrong"}), 403),
        (client.get(f"/api/info?token={TOKEN}x"), 403),
        (client.get("/api/info", headers={**AUTH, "Host": "evil.example:8123"}), 403),
        (client.get("/api/info", headers={**AUTH, "Host": f"127.0.0.1:{PORT + 1}"}), 403),
        (client.get("/api/info", headers={**AUTH, "Origin": "http://evil.example"}), 403),
        (client.post("/api/edit", headers={**AUTH, "Origin": f"http://127.0.0.2:{PORT}"}, json={}), 403),
        (client.get("/etc/passwd", headers=AUTH), 404),
        (client.get("/static/../speech.png", headers=AUTH), 404),
        (client.get("/static/%2e%2e%2fspeech.png", headers=AUTH), 404),
        (client.get("/static/..%2f..%2fpyproject.toml", headers=AUTH), 404),
        (client.get("/static/studio.py", headers=AUTH), 404),
        (client.get("/api/edit", headers=AUTH), 405),
        (client.post("/api/edit", headers={**AUTH, "Content-Length": str(1 << 30)}, content=b"{}"), 413),
        (client.post("/api/edit", headers=AUTH, content=b"[" * 10 + b"0" * (2 << 20)), 413),
        (client.post("/api/edit", headers=AUTH, json={"op": "erase", "selection": {"kind": "rect", "time": [5, 60]}}), 422),
        (client.post("/api/edit", headers=AUTH, json={"op": "erase", "selection": {"kind": "rect", "freq": [0, 1e6]}}), 422),
        (client.post("/api/edit", headers=AUTH, content=b"{not json"), 422),
        (client.post("/api/undo", headers=AUTH), 422),
        (client.get("/api/view?width=99999", headers=AUTH), 422),
        (client.get("/api/view?t0=nan", headers=AUTH), 422),
        (client.get("/api/audio?t0=3&t1=1", headers=AUTH), 422),
    ]
    for response, status in cases:
        assert response.status_code == status, (response.request.url, response.text)
        body = response.json()
        assert set(body) == {"error"} and "\n" not in body["error"] and body["error"]
    assert np.array_equal(session.pixels, before) and session.state()["version"] == 0
    err = capsys.readouterr().err
    assert err.count("specimg studio: 403") == 7 and "specimg studio: 413" in err and "Traceback" not in err


def test_page_and_assets_carry_the_token(served) -> None:
    client, _, _ = served
    page = client.get(f"/?token={TOKEN}")
    if page.status_code == 404:
        pytest.skip("the page's files are not in this checkout")
    assert page.status_code == 200 and f"/static/studio.js?token={TOKEN}" in page.text
    js = client.get(f"/static/studio.js?token={TOKEN}")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")


def test_cli_refuses_an_unreadable_file_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a picture")
    for path in (bad, tmp_path / "missing.wav"):
        r = subprocess.run([sys.executable, "-m", "specimg", "studio", str(path), "--no-browser"],
                           capture_output=True, text=True, timeout=120)  # fmt: skip
        assert r.returncode == 1 and r.stdout == ""
        assert r.stderr.count("\n") == 1 and r.stderr.startswith("specimg: error: ")


def test_open_serves_in_a_thread() -> None:
    import httpx

    from specimg import studio

    img = specimg.encode(0.1 * np.sin(np.arange(8000) / 3), 8000, n_fft=256)
    with studio.open(img, open_browser=False) as s:
        assert "<iframe" in s._repr_html_()
        base = s.url.split("/?")[0]
        r = httpx.get(f"{base}/api/info", headers={"X-Specimg-Token": s.token}, timeout=30)
        assert r.status_code == 200 and r.json()["sr"] == 8000
        httpx.post(f"{base}/api/edit", headers={"X-Specimg-Token": s.token}, timeout=30,
                   json={"op": "gain", "selection": {"kind": "rect", "time": [0.1, 0.5]}, "args": {"db": -6}})
        assert s.image.params.edits[-1]["op"] == "gain"


@pytest.mark.parametrize("output, says", [("x.png", "is the file being edited"), ("./sub/../x.png", "is the file being edited"),
                                          ("x.png.studio.json", "is its autosave"), ("out.wav", ".png, .tif or .tiff")])
def test_an_output_that_would_overwrite_the_input_or_is_no_image_is_refused_at_open(tmp_path: Path, output, says) -> None:
    from specimg.errors import ParameterError
    from specimg.studio import Session

    from .test_cli import assert_one_line_error, run

    src = tmp_path / "x.png"
    shutil.copy(SAMPLES / "speech.png", src)
    (tmp_path / "sub").mkdir()
    before = src.read_bytes()
    with pytest.raises(ParameterError, match=says):
        load_session(src, output=tmp_path / output)
    with pytest.raises(ParameterError, match=says):
        Session(specimg.load(src), source=src, output=tmp_path / output)
    assert_one_line_error(run("studio", "x.png", "--output", output, "--no-browser", cwd=tmp_path), says)
    assert src.read_bytes() == before and not (tmp_path / "x.png.studio.json").exists()


def test_internal_errors_become_json_lines(served, capsys, monkeypatch) -> None:
    client, session, _ = served

    def chunks():
        for _ in range(3):
            yield b" " * (1 << 20)

    r = client.post("/api/edit", headers=AUTH, content=chunks())  # chunked: no Content-Length
    assert r.status_code == 413 and r.json() == {"error": f"request body is over the {1 << 20} byte limit"}
    cases = [
        ({"op": "denoise", "selection": {"kind": "rect", "time": [0.5, 1]},
          "args": {"method": "gate", "noise": [0, 0.3], "time": [0, 1]}}, "denoise gate does not take time; it takes: method"),
        ({"op": "apply", "args": {"function": "scipy.ndimage.gaussian_filter", "kwargs": {"sigma": 1e9}}},
         "sigma=1000000000.0 for scipy.ndimage.gaussian_filter must be a number from 0 to 64"),
        ({"op": "apply", "args": {"function": "scipy.ndimage.gaussian_filter", "kwargs": {"sigma": 1, "output": "float16"}}},
         "'output' is not taken for scipy.ndimage.gaussian_filter; it takes: sigma"),
    ]  # fmt: skip
    for body, says in cases:
        r = client.post("/api/edit", headers=AUTH, json=body)
        assert r.status_code == 422 and says in r.json()["error"], r.text
    assert session.state()["version"] == 0
    r = client.get("/api/audio?t0=0&t1=1e308", headers=AUTH)  # t1 past the end: up to the end
    assert r.status_code == 200 and r.headers["content-type"] == "audio/wav"
    y, sr = __import__("soundfile").read(io.BytesIO(r.content))
    assert abs(len(y) - session.params.output_length(session.n_frames)) <= 1
    assert client.get("/api/audio?t0=-5&t1=0.5", headers=AUTH).status_code == 200
    assert client.get("/api/audio?t0=9&t1=1e308", headers=AUTH).status_code == 422
    monkeypatch.setattr(session, "undo", lambda: 1 / 0)
    r = client.post("/api/undo", headers=AUTH)
    assert r.status_code == 500 and r.json() == {"error": "internal error: ZeroDivisionError: division by zero"}
    err = capsys.readouterr().err
    assert "specimg studio: 413 POST /api/edit" in err and "Traceback" not in err
    assert "specimg studio: 500 POST /api/undo: internal error: ZeroDivisionError" in err


def test_state_is_read_under_the_session_lock(served) -> None:
    import threading

    client, session, _ = served
    seen = []
    real = session._state

    def spy() -> dict:
        seen.append(session.lock._is_owned())  # type: ignore[attr-defined]
        return real()

    session._state = spy  # type: ignore[method-assign]
    client.get("/api/info", headers=AUTH)
    client.post("/api/edit", headers=AUTH, json={"op": "erase", "selection": {"kind": "rect", "time": [1.0, 1.1]}})
    client.post("/api/undo", headers=AUTH)
    client.post("/api/redo", headers=AUTH)
    client.post("/api/save", headers=AUTH, json={})
    assert seen and all(seen) and threading.current_thread() is threading.main_thread()


def test_the_page_sends_no_referrer(served) -> None:
    client, _, _ = served
    assert '<meta name="referrer" content="no-referrer">' in client.get("/", headers=AUTH).text


def test_the_command_serves_until_interrupted(tmp_path: Path) -> None:
    """`specimg studio FILE --no-browser` as a user runs it: the URL with its token on stdout,
    the page's API behind the token, and Ctrl-C ends it with its own line and no traceback."""
    import signal

    import httpx

    src = tmp_path / "speech.png"
    shutil.copy(SAMPLES / "speech.png", src)
    proc = subprocess.Popen([sys.executable, "-m", "specimg", "studio", str(src), "--no-browser"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("specimg studio: http://127.0.0.1:") and "/?token=" in line, line
        url = line.split(": ", 1)[1].strip()
        base, token = url.split("/?token=")
        assert httpx.get(f"{base}/api/info", timeout=30).status_code == 403
        info = httpx.get(f"{base}/api/info?token={token}", timeout=30)
        assert info.status_code == 200 and info.json()["name"] == "speech.png"
        # and an interrupt the moment the URL is out, as an impatient user sends it
        early = subprocess.Popen([sys.executable, "-m", "specimg", "studio", str(src), "--no-browser"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
        assert early.stdout is not None and early.stdout.readline().startswith("specimg studio: http")
        early.send_signal(signal.SIGINT)
        _, early_err = early.communicate(timeout=30)
        assert early.returncode == 130 and early_err.strip().splitlines() == ["specimg: aborted"], early_err
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    lines = [line for line in err.splitlines() if line.strip()]
    assert proc.returncode == 130 and lines[-1] == "specimg: aborted", (proc.returncode, err)
    assert lines[:-1] == ["specimg studio: 403 GET /api/info: missing or wrong token: open the URL with ?token=... "
                          "that the studio printed"], err  # fmt: skip
