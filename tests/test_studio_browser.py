"""specimg studio in a real browser (issue 20 item 8).

Debian's headless Chromium (``/usr/bin/chromium``) driven by Playwright for Python, against
the real server opened with :func:`specimg.studio.open`. The tests carry the ``browser``
mark: the normal run leaves them out (``-m "not browser"`` in pyproject's addopts) and
``.ci/run`` runs them in a step of their own::

    .venv/bin/python -m pytest -q -n 0 -m browser tests/test_studio_browser.py

They skip when Chromium, Playwright or the studio's server dependencies are absent.
Playwright's own browser downloads are never used: the browser is Debian's.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest

import specimg

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[1]
SPEECH = ROOT / "sample_data" / "speech.png"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    # the page starts playback from a click, but A/B restarts it from the element's events
    "--autoplay-policy=no-user-gesture-required",
]

if not CHROMIUM.exists():
    pytest.skip("no /usr/bin/chromium (apt-get install chromium chromium-driver)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
studio_mod = pytest.importorskip(
    "specimg.studio", reason="specimg.studio needs its extra: pip install 'specimg[studio]'")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One headless Chromium (fresh profile) for the module; each test opens its own page."""
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 760}, accept_downloads=True,
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def studio(tmp_path: Path) -> Iterator[Any]:
    """The studio on a copy of sample_data/speech.png (its autosave and output land in tmp)."""
    path = tmp_path / "speech.png"
    shutil.copyfile(SPEECH, path)
    st = studio_mod.open(path, open_browser=False)
    try:
        yield st
    finally:
        st.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    pg = browser.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield pg
    finally:
        pg.close()
    assert not errors, f"uncaught errors in the page: {errors}"


def open_page(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_function("Number(document.body.dataset.rendered) >= 1", timeout=20_000)


def state(page: Any) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate("window.specimgStudio.state")
    return result


def wait_edits(page: Any, n: int) -> None:
    """Wait for n edits in the history; an error in the status line fails at once."""
    page.wait_for_function(
        f"window.specimgStudio.state.history.length === {n} || "
        "document.querySelector('[data-testid=status]').dataset.kind === 'error'", timeout=30_000)
    status = page.get_by_test_id("status")
    assert status.get_attribute("data-kind") != "error", status.text_content()
    assert len(state(page)["history"]) == n


def player(page: Any) -> tuple[bool, float]:
    el = page.get_by_test_id("player")
    return el.get_attribute("data-playing") == "true", float(el.get_attribute("data-position"))


def drag(page: Any, frac0: tuple[float, float], frac1: tuple[float, float]) -> None:
    """Press, move and release the left button between two points given as fractions of the view."""
    box = page.get_by_test_id("view").bounding_box()
    x0, y0 = box["x"] + frac0[0] * box["width"], box["y"] + frac0[1] * box["height"]
    x1, y1 = box["x"] + frac1[0] * box["width"], box["y"] + frac1[1] * box["height"]
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x1, y1, steps=8)
    page.mouse.up()


def test_edit_listen_and_save_round_trip(studio: Any, page: Any, tmp_path: Path) -> None:
    """Open, drag a rectangle, erase + gain, undo, redo, play, A/B, save; then check the file."""
    open_page(page, studio.url)
    assert page.get_by_test_id("status").get_attribute("data-kind") != "error"

    # the readout follows the pointer: time, frequency and level
    box = page.get_by_test_id("view").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_function("/ s · .*Hz · .*dB$/.test(document.querySelector('[data-testid=readout]').textContent)")

    page.get_by_test_id("tool-rect").click()
    drag(page, (0.25, 0.55), (0.42, 0.85))  # about 1.4–2.4 s, the lower part of the band
    page.wait_for_function("window.specimgStudio.selection !== null")
    sel = page.evaluate("window.specimgStudio.selection.sel")
    assert sel["kind"] == "rect" and sel["time"][0] < sel["time"][1] and sel["freq"][0] < sel["freq"][1]
    assert page.get_by_test_id("overlay").is_visible()

    page.get_by_test_id("op-erase").click()
    wait_edits(page, 1)
    page.get_by_test_id("gain-db").fill("-12")
    page.get_by_test_id("op-gain").click()
    wait_edits(page, 2)
    assert [e["op"] for e in state(page)["history"]] == ["erase", "gain"]
    assert page.get_by_test_id("history").locator("li").count() == 2

    page.get_by_test_id("undo").click()
    wait_edits(page, 1)
    assert state(page)["can_redo"]
    page.get_by_test_id("view").focus()
    page.keyboard.press("Control+Shift+Z")
    wait_edits(page, 2)
    page.keyboard.press("Control+Z")
    wait_edits(page, 1)
    page.get_by_test_id("redo").click()
    wait_edits(page, 2)
    assert not state(page)["can_redo"]

    # play: the page reports the playing state and a position that advances, and draws the playhead
    page.get_by_test_id("play-all").click()
    page.wait_for_function("document.querySelector('[data-testid=player]').dataset.playing === 'true'", timeout=20_000)
    _, p0 = player(page)
    page.wait_for_function(
        f"Number(document.querySelector('[data-testid=player]').dataset.position) > {p0 + 0.25}", timeout=10_000)
    assert page.locator("[data-testid=playhead]").count() == 1

    # A/B: the original at the same playhead (not from the start), then back
    _, before = player(page)
    page.get_by_test_id("ab").click()
    page.wait_for_function("document.querySelector('[data-testid=ab]').dataset.state === 'original'")
    page.wait_for_function("document.querySelector('[data-testid=player]').dataset.playing === 'true'", timeout=20_000)
    playing, after = player(page)
    assert playing and after >= before - 0.05, (before, after)
    page.get_by_test_id("ab").click()
    page.wait_for_function("document.querySelector('[data-testid=ab]').dataset.state === 'edited'")
    page.get_by_test_id("loop").click()
    assert page.get_by_test_id("loop").get_attribute("aria-pressed") == "true"
    page.get_by_test_id("stop").click()
    page.wait_for_function("document.querySelector('[data-testid=player]').dataset.playing === 'false'")

    with page.expect_download() as dl:
        page.get_by_test_id("export-history").click()
    history = json.loads(Path(dl.value.path()).read_text())
    assert history["specimg_history"] == 1 and [e["op"] for e in history["edits"]] == ["erase", "gain"]

    page.get_by_test_id("save").click()
    page.wait_for_function("/saved/.test(document.querySelector('[data-testid=status]').textContent)", timeout=30_000)
    saved = tmp_path / "speech.edited.png"
    assert saved.is_file()
    check_saved(SPEECH, saved, sel)


def check_saved(source: Path, saved: Path, sel: dict[str, Any]) -> None:
    """Pixels change only inside the selection plus its fade, and equal the two ops calls;
    the file decodes, and untouched frames decode with SC ≤ −50 dB against the source."""
    from specimg import ops
    from specimg.metrics import spectral_convergence

    src, out = specimg.load(source), specimg.load(saved)
    assert out.shape == src.shape
    erase, gain = out.params.edits
    assert erase["op"] == "erase" and gain["op"] == "gain" and gain["db"] == -12
    np.testing.assert_allclose(erase["time"], sel["time"], atol=1e-6)
    np.testing.assert_allclose(erase["freq"], sel["freq"], atol=1e-6)
    region = dict(time=erase["time"], freq=erase["freq"], fade=erase["fade"], fade_hz=erase["fade_hz"])
    weight = ops.region_mask(src, **region)  # bin order, like .db
    changed = out.db != src.db
    assert changed.any()
    assert not (changed & (weight == 0)).any(), "pixels changed outside the selection and its fade"
    expected = ops.gain(ops.erase(src, **region), -12.0, **region)
    np.testing.assert_array_equal(out.pixels, expected.pixels)

    y_out, sr = specimg.decode(out, quality="fast")
    y_src, _ = specimg.decode(src, quality="fast")
    assert y_out.shape == y_src.shape and np.isfinite(y_out).all()
    p = src.params
    margin = erase["fade"] + p.n_fft / sr  # the fade, and the frames whose window reaches the edit
    lo, hi = int((erase["time"][0] - margin) * sr), int((erase["time"][1] + margin) * sr)
    for a, b in ((0, lo), (hi, y_src.shape[-1])):
        assert b - a > 4 * p.n_fft
        sc = spectral_convergence(y_out[..., a:b], y_src[..., a:b], p)
        assert sc <= -50.0, f"untouched samples {a}:{b} decode with SC {sc:.1f} dB"


def test_selection_outside_the_image_is_refused_clearly(studio: Any, page: Any) -> None:
    open_page(page, studio.url)
    page.get_by_test_id("op-erase").click()  # nothing selected yet
    status = page.get_by_test_id("status")
    page.wait_for_function("document.querySelector('[data-testid=status]').dataset.kind === 'error'")
    assert "select" in status.text_content()
    messages: list[str] = []
    page.on("console", lambda m: messages.append(m.text) if m.type == "error" else None)
    duration = page.evaluate("window.specimgStudio.info.duration")
    sel = {"kind": "rect", "time": [duration + 10, duration + 20], "freq": None, "channel": None}
    assert page.evaluate("(sel) => window.specimgStudio.setSelection(sel)", sel) is None
    text = status.text_content()
    assert status.get_attribute("data-kind") == "error" and len(text) > 20, text
    assert any("specimg studio" in m for m in messages), messages
    assert page.evaluate("window.specimgStudio.selection") is None
    assert state(page)["history"] == [] and not page.get_by_test_id("overlay").is_visible()


def test_requests_without_the_token_get_403(studio: Any, page: Any) -> None:
    base = studio.url.split("?")[0]
    res = page.goto(base)
    assert res is not None and res.status == 403
    assert "error" in json.loads(page.locator("body").text_content())
    open_page(page, studio.url)
    codes = page.evaluate("""async () => [
        (await fetch('/api/info')).status,
        (await fetch('/api/info', {headers: {'X-Specimg-Token': 'wrong'}})).status,
        (await fetch('/api/undo', {method: 'POST'})).status,
        (await fetch('/static/studio.js')).status,
    ]""")
    assert codes == [403, 403, 403, 403]


def test_zoom_pan_channels_and_display_options(studio: Any, page: Any) -> None:
    open_page(page, studio.url)
    full = page.evaluate("window.specimgStudio.view")

    def rendered() -> int:
        return int(page.evaluate("Number(document.body.dataset.rendered)"))

    def after(action: Any) -> dict[str, Any]:
        n = rendered()
        action()
        page.wait_for_function(
            f"Number(document.body.dataset.rendered) > {n} && document.body.dataset.drawing === 'false'")
        view: dict[str, Any] = page.evaluate("window.specimgStudio.view")
        return view

    box = page.get_by_test_id("view").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    v = after(lambda: page.mouse.wheel(0, -400))
    assert v["t1"] - v["t0"] < full["t1"] - full["t0"] and (v["f0"], v["f1"]) == (full["f0"], full["f1"])
    page.keyboard.down("Shift")
    v2 = after(lambda: page.mouse.wheel(0, -400))
    page.keyboard.up("Shift")
    assert v2["f1"] - v2["f0"] < full["f1"] - full["f0"]
    page.get_by_test_id("tool-pan").click()
    v3 = after(lambda: drag(page, (0.5, 0.5), (0.7, 0.5)))
    assert v3["t0"] < v2["t0"] and abs((v3["t1"] - v3["t0"]) - (v2["t1"] - v2["t0"])) < 1e-9
    for _ in range(12):  # down to single frames
        after(lambda: page.get_by_test_id("zoom-in").click())
    v4 = page.evaluate("window.specimgStudio.view")
    info = page.evaluate("window.specimgStudio.info")
    assert v4["t1"] - v4["t0"] <= 4 * info["hop_length"] / info["sr"]
    v5 = after(lambda: page.get_by_test_id("zoom-fit").click())
    assert (v5["t0"], v5["t1"]) == (full["t0"], full["t1"])
    v6 = after(lambda: page.get_by_test_id("freq-axis").select_option("log"))
    assert v6["freq_axis"] == "log"
    v7 = after(lambda: page.get_by_test_id("colormap").select_option(info["colormaps"][-1]))
    assert v7["cmap"] == info["colormaps"][-1]
    assert page.get_by_test_id("status").get_attribute("data-kind") != "error"


def test_every_tool_and_edit_goes_through(studio: Any, page: Any) -> None:
    """Each selection tool and each edit button, as the page sends them, is accepted by the server."""
    open_page(page, studio.url)
    status = page.get_by_test_id("status")

    def ok() -> None:
        assert status.get_attribute("data-kind") != "error", status.text_content()

    kinds = []
    for tool, a, b in [("time", (0.2, 0.5), (0.3, 0.5)), ("freq", (0.5, 0.2), (0.5, 0.4)),
                       ("lasso", (0.3, 0.3), (0.45, 0.7)), ("harmonic", (0.1, 0.9), (0.4, 0.9)),
                       ("rect", (0.15, 0.4), (0.4, 0.95))]:
        page.get_by_test_id(f"tool-{tool}").click()
        page.evaluate("window.__sel = window.specimgStudio.selection")
        drag(page, a, b)
        page.wait_for_function("window.specimgStudio.selection !== window.__sel")
        ok()
        kinds.append(page.evaluate("window.specimgStudio.selection.sel.kind"))
    assert kinds == ["rect", "rect", "lasso", "harmonic", "rect"]

    page.get_by_test_id("op-learn-noise").click()
    page.wait_for_function("window.specimgStudio.state.noise_profile === true", timeout=30_000)
    ok()
    page.get_by_test_id("similar-db").fill("-60")
    page.get_by_test_id("select-similar").click()
    page.wait_for_function("window.specimgStudio.selection && window.specimgStudio.selection.sel.kind === 'level'")
    ok()
    n = 0
    for op in ["heal", "mask", "denoise", "apply"]:
        if op == "denoise":  # de-noise takes a rectangle, a time range or a band
            page.get_by_test_id("tool-rect").click()
            page.evaluate("window.__sel = window.specimgStudio.selection")
            drag(page, (0.5, 0.4), (0.7, 0.95))
            page.wait_for_function("window.specimgStudio.selection !== window.__sel")
        if op == "apply":
            page.get_by_test_id("apply-kwargs").fill('{"sigma": 2}')
        page.get_by_test_id(f"op-{op}").click()
        n += 1
        wait_edits(page, n)
        ok()
    history = state(page)["history"]
    assert [e["op"] for e in history][2] == "denoise" and history[2]["time"] is not None, history[2]
    assert len(history) == 4

    # a bad argument is refused in the page, nothing is sent
    page.get_by_test_id("apply-kwargs").fill("{sigma: 2")
    page.get_by_test_id("op-apply").click()
    page.wait_for_function("document.querySelector('[data-testid=status]').dataset.kind === 'error'")
    assert "JSON" in status.text_content() and len(state(page)["history"]) == 4


@pytest.fixture
def stereo_studio(tmp_path: Path) -> Iterator[Any]:
    """A 3-second stereo picture with stored phase (music on the left, speech on the right)."""
    import soundfile as sf

    music, sr = sf.read(ROOT / "sample_data" / "music.wav", always_2d=True)
    speech, sr2 = sf.read(ROOT / "sample_data" / "speech.wav", always_2d=True)
    assert sr == sr2
    n = 3 * sr
    y = np.stack([music[:n, 0], speech[:n, 0]])
    path = tmp_path / "stereo.png"
    specimg.save(specimg.encode(y, sr, store_phase=True), path)
    st = studio_mod.open(path, open_browser=False)
    try:
        yield st
    finally:
        st.close()


def test_stereo_channels_and_listening_to_parts(stereo_studio: Any, page: Any) -> None:
    open_page(page, stereo_studio.url)
    assert page.get_by_test_id("channel").input_value() == "all"
    assert page.locator(".freq-axis .chan").count() == 2  # stacked, labelled
    box = page.get_by_test_id("view").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.75)
    page.wait_for_function("/^ch 1 · .* dB$/.test(document.querySelector('[data-testid=readout]').textContent)")

    n = int(page.evaluate("Number(document.body.dataset.rendered)"))
    page.get_by_test_id("channel").select_option("1")
    page.wait_for_function(f"Number(document.body.dataset.rendered) > {n} && document.body.dataset.drawing === 'false'")
    assert page.evaluate("window.specimgStudio.view.channel") == "1"
    assert page.locator(".freq-axis .chan").count() == 0
    page.get_by_test_id("tool-time").click()
    drag(page, (0.3, 0.5), (0.6, 0.5))
    page.wait_for_function("window.specimgStudio.selection !== null")
    sel = page.evaluate("window.specimgStudio.selection.sel")
    assert sel["channel"] == 1 and sel["freq"] is None
    page.get_by_test_id("op-erase").click()
    wait_edits(page, 1)

    # the selection's sound, then the view's: the playhead starts inside each
    t0 = page.evaluate("window.specimgStudio.selection.bounds.time[0]")
    page.get_by_test_id("play-selection").click()
    page.wait_for_function("document.querySelector('[data-testid=player]').dataset.playing === 'true'", timeout=20_000)
    playing, pos = player(page)
    assert playing and t0 - 0.01 <= pos
    page.keyboard.press("Escape")  # clears the selection
    assert page.evaluate("window.specimgStudio.selection") is None
    page.get_by_test_id("play-view").click()
    page.wait_for_function(
        "document.querySelector('[data-testid=player]').dataset.playing === 'true' && "
        "Number(document.querySelector('[data-testid=player]').dataset.position) < 0.5", timeout=20_000)
    page.get_by_test_id("view").focus()
    page.keyboard.press(" ")  # space stops
    page.wait_for_function("document.querySelector('[data-testid=player]').dataset.playing === 'false'")
    assert page.get_by_test_id("status").get_attribute("data-kind") != "error"
