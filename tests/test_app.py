"""The browser app: its model wrapper, its speed, and the page in a real headless Chromium.

The browser part starts ``solara run app/app.py`` on a free loopback port,
drives the page with Playwright (Debian's Chromium; Playwright's own browser
download needs the open internet), steps and plays the model, moves a slider,
resets, and checks that the network view and both plots change. Screenshots go
to ``test-artifacts/``. Without Playwright, Chromium or Solara's page files
(``scripts/install-app-assets``) it skips and says which is missing.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app import answer, charts  # noqa: E402
from app import model as app_model  # noqa: E402
from app.model import (  # noqa: E402
    DEFAULT_RULES,
    DEFAULTS,
    RULES,
    AppModel,
    app_config,
    check_knobs,
    fit_config,
    parse_seed,
    weak_share,
)
from sim import measures  # noqa: E402
from sim.run import collect  # noqa: E402
from sim.ties import strength_offsets  # noqa: E402

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
PICTURES = ("network-view", "share-plot", "closures-plot")


# --- the model behind the app (no browser) ------------------------------------------------


def test_knobs_build_the_config():
    model = AppModel(people=300, attention_budget=7.5, weak_tie_share=0.4,
                     audience_exponent=2.2, pass_on=0.3, seed="7")
    cfg = model.config
    assert (cfg.seed, cfg.people.n, cfg.people.budget_mean) == (7, 300, 7.5)
    assert (cfg.network.degree_exponent, cfg.response.pass_base) == (2.2, 0.3)
    assert cfg.people.agents == "all" and len(model.agents) == 300
    assert model.n_people == 300 and model.steps == 0


def test_seed_box_accepts_any_text():
    assert parse_seed("42") == 42 and parse_seed(" 42 ") == 42
    assert parse_seed("pharma") == parse_seed("pharma") != parse_seed("biotech")
    # "²" is a digit to Python (int("²") fails): here it is text, hashed.
    assert parse_seed("\u00b2") == parse_seed("\u00b2") != parse_seed("2")
    assert parse_seed(str(2**63 - 1)) == 2**63 - 1
    assert parse_seed(str(2**63)) == parse_seed(str(2**63))  # too big for a seed: hashed
    assert parse_seed(str(2**63)) < 2**32
    a, b = AppModel(people=200, seed="x"), AppModel(people=200, seed="x")
    for _ in range(20):
        a.step()
        b.step()
    assert a.scores() == b.scores()


@pytest.mark.parametrize(("knob", "value", "message"), [
    ("seed", "9" * 5000, "Seed: too long (more than 100 characters)"),
    ("seed", 10**5000, "Seed: too long (more than 100 characters)"),
    ("seed", ["1"], "Seed: ['1'] is not text"),
    ("people", 10**10, "People: 10000000000 is out of range; allowed: a whole number from 200 "
                       "to 3,000"),
    ("people", 10**5000, "People: a number with thousands of digits is out of range"),
    ("people", 199, "People: 199 is out of range"),
    ("people", 250.5, "People: 250.5 is not a whole number"),
    ("attention_budget", 0.5, "Attention budget: 0.5 is out of range; allowed: a number from "
                              "1 to 20"),
    ("attention_budget", float("inf"), "Attention budget: inf is not allowed"),
    ("weak_tie_share", float("nan"), "Weak-tie share: nan is not allowed; allowed: a number "
                                     "from 0.05 to 0.95"),
    ("audience_exponent", "2.5", "Audience exponent: '2.5' is not a number"),
    ("audience_exponent", True, "Audience exponent: True is not a number"),
    ("pass_on", -0.1, "Pass-on probability: -0.1 is out of range; allowed: a number from 0 to 1"),
    ("pass_on", None, "Pass-on probability: None is not a number"),
    ("rules", "fit A", "Rules: 'fit A' is not one of the choices; allowed: 'budgets independent "
                       "of audience (fit B)' or 'budgets grow with audience (fit A)'"),
    ("rules", ["x"], "Rules: ['x'] is not one of the choices"),
    ("rules", 1, "Rules: 1 is not one of the choices"),
], ids=lambda v: v if isinstance(v, str) and len(v) < 30 else type(v).__name__)
def test_the_server_refuses_bad_knobs_and_says_so(knob, value, message):
    knobs, problems = check_knobs({knob: value})
    assert knobs[knob] == DEFAULTS[knob] or knobs[knob] == str(DEFAULTS[knob])
    assert len(problems) == 1 and problems[0].startswith(message), problems
    assert problems[0].endswith(f"Used the default, {DEFAULTS[knob]}.")
    model = AppModel(**{**DEFAULTS, "people": 200, knob: value})  # never raises
    assert model.problems == problems
    assert model.n_people == (1000 if knob == "people" else 200)


def test_good_knobs_pass_unchanged():
    knobs, problems = check_knobs({"people": 3000, "attention_budget": 20, "seed": "\u00b2",
                                   "weak_tie_share": 0.05, "pass_on": np.float64(1.0)})
    assert problems == []
    assert knobs == {**DEFAULTS, "people": 3000, "attention_budget": 20.0, "seed": "\u00b2",
                     "weak_tie_share": 0.05, "pass_on": 1.0}
    assert AppModel(people=200, seed="\u00b2").knobs["seed"] == "\u00b2"


# --- the calibrated fits behind the rules knob ---------------------------------------------


FIT_A = "budgets grow with audience (fit A)"
FIT_B = "budgets independent of audience (fit B)"


def test_rules_knob_offers_both_fits_fit_b_by_default():
    assert RULES == {FIT_B: "calibrated_rules_at_defaults", FIT_A: "calibrated"}
    assert DEFAULTS["rules"] == DEFAULT_RULES == FIT_B
    assert app_model.MODEL_PARAMS["rules"] == {
        "type": "Select", "value": FIT_B, "values": [FIT_B, FIT_A],
        "label": "Rules: calibrated fit (press Reset to apply)"}


@pytest.mark.parametrize("rules", [FIT_A, FIT_B])
def test_rules_knob_builds_the_config_hydra_composes(rules):
    from experiments.compose import compose_config
    from sim.config import flatten

    experiment = RULES[rules]
    hydra = compose_config([f"experiment={experiment}", "seed=5"])
    assert fit_config(rules, 5) == hydra
    # The app's world: the fitted keys as Hydra composes them, the knobs on top.
    fitted = flatten(compose_config([f"experiment={experiment}"]))
    defaults = flatten(compose_config([]))
    changed = {k for k in fitted if fitted[k] != defaults[k]}
    assert changed == {f"{section}.{key}" for section, keys in
                       app_model.fit_overrides(rules).items() for key in keys}
    model = AppModel(people=300, pass_on=0.3, attention_budget=7.5, seed="5", rules=rules)
    mine = flatten(model.config)
    assert {k: mine[k] for k in changed - {"response.pass_base"}} == \
        {k: fitted[k] for k in changed - {"response.pass_base"}}
    assert (mine["response.pass_base"], mine["people.budget_mean"], mine["seed"]) == (0.3, 7.5, 5)
    assert model.knobs["rules"] == rules and model.problems == []


def test_world_line_names_the_rules_and_the_fitted_value_a_knob_replaced():
    from app.views import describe

    knobs, _ = check_knobs({"rules": FIT_A, "pass_on": 0.25, "seed": "a<b"})
    assert describe(knobs) == (
        "This world: 1,000 people, rules: budgets grow with audience (fit A) (fitted values from "
        "the experiment file, these knobs on top), attention budget 5 posts/day, 65% weak ties, "
        "audience exponent 2.5, pass-on probability 0.25 (fitted: 0.125), seed a&lt;b.")
    assert describe(check_knobs({})[0]).endswith(
        "pass-on probability 0.10 (fitted: 0.145), seed 42.")


def test_fit_a_and_fit_b_set_the_contested_rules():
    a, b = fit_config(FIT_A), fit_config(FIT_B)
    assert (a.people.budget_audience_exponent, a.response.know) == (0.551, "attention")
    assert (b.people.budget_audience_exponent, b.response.know) == (0.0, "attention")
    assert (a.response.pass_base, b.response.pass_base) == (0.125, 0.145)


def test_budgets_growing_with_audience_hand_the_valuable_referrals_to_large_people():
    # Same seed and knobs, the two fits: the live world shows the calibrated contrast.
    shares = {}
    for rules in (FIT_A, FIT_B):
        model = AppModel(people=2000, seed="3", rules=rules)
        for _ in range(200):
            model.step()
        scores = model.scores()
        assert scores["valuable_referrals"] >= 10
        shares[rules] = scores["small_share_valuable_brokered"]
    assert shares[FIT_A] < 0.5 < shares[FIT_B], shares


# --- the calibrated answer above the tiles --------------------------------------------------

CLAIM_MAP_HEADER = "group,condition,claim,runs,value,low,high,interval,line,verdict\n"


def _claim_map(tmp_path: Path, b_majority: str = "holds", b_follower: str = "holds") -> Path:
    a, b = "fit A (all fitted)", "fit B (rules at defaults)"
    rows = [
        (a, a, "small_share", 0.2, 0.15, 0.25, 0.9, "fails"),
        (a, a, "small_majority", 0.2, 0.15, 0.25, 0.5, "fails"),
        (a, a, "per_follower", 0.3, 0.25, 0.35, 1.0, "fails"),
        (a, a, "loyal", 0.6, 0.5, 0.7, 1.0, "fails"),
        # a moved factor: not the fit's own row, never shown
        (a, "fit A: people.budget_audience_exponent=0.0", "small_share", 0.66, 0.6, 0.7, 0.9,
         "fails"),
        (b, b, "small_share", 0.8, 0.754, 0.856, 0.9, "fails"),
        (b, b, "small_majority", 0.8, 0.754, 0.856, 0.5, b_majority),
        (b, b, "per_follower", 3.5, 3.214, 3.926, 1.0, b_follower),
        (b, "fit B: response.know=all", "per_follower", 1.05, 0.95, 1.36, 1.0, "undecided"),
    ]
    path = tmp_path / "claim_map.csv"
    path.write_text(CLAIM_MAP_HEADER + "".join(
        f"{g},{c},{k},6,{v},{lo},{hi},BCa,{line},{verdict}\n"
        for g, c, k, v, lo, hi, line, verdict in rows))
    return path


def test_banner_states_both_fits_and_the_condition(tmp_path):
    path = _claim_map(tmp_path)
    assert answer.answer_sentences(path) == [
        "The calibrated answer: both fits match Granovetter's (1973) tables equally well, and "
        "they disagree on who closes the valuable connections. What decides it is whether "
        "attention budgets grow with audience (how viewers know their contacts' expertise "
        "goes with it).",
        "If attention budgets do not grow with audience (fit B: the contested rules at their "
        "defaults): small-audience people broker 80% [75%, 86%] of the valuable referrals that "
        "worked, a majority, below their 90% share of people; realised value per follower, "
        "small over large, is 3.50\u00d7 [3.21\u00d7, 3.93\u00d7]: small audiences give more "
        "per follower.",
        "If attention budgets grow with audience (fit A: every calibrated parameter fitted, "
        "the budget exponent among them): small-audience people broker 20% [15%, 25%] "
        "of the valuable referrals that worked, a minority, below their 90% share of people; "
        "realised value per follower, "
        "small over large, is 0.30\u00d7 [0.25\u00d7, 0.35\u00d7]: large audiences give more "
        "per follower.",
    ]
    markup = answer.answer_html(path)
    assert markup.count('class="ref-answer-card"') == 2
    assert markup.index("(fit B: the contested") < markup.index("(fit A: every")
    assert '<span class="v">80%</span> <span class="i">[75%, 86%]</span>' in markup
    assert '<span class="v">0.30\u00d7</span> <span class="i">[0.25\u00d7, 0.35\u00d7]</span>' \
        in markup
    assert "pooled over 6 seeds a fit" in markup
    assert ("A minority, below their 90% share of people; large audiences give more per "
            f"follower. In the app: rules = \u201c{FIT_A}\u201d.") in markup
    assert ("A majority, below their 90% share of people; small audiences give more per "
            f"follower. In the app: rules = \u201c{FIT_B}\u201d.") in markup


def test_banner_says_undecided_when_the_interval_straddles_the_line(tmp_path):
    sentence = answer.answer_sentences(_claim_map(tmp_path, "undecided", "undecided"))[1]
    assert "worked, about half, not clearly more or less, below their 90% share" in sentence
    assert sentence.endswith(": no clear difference per follower.")


@pytest.mark.parametrize("content", [
    None,  # no file
    "",  # empty
    "group,condition,claim\nfit A (all fitted),fit A (all fitted),small_share\n",  # columns
    "\xff\xfe not a csv",
], ids=["missing", "empty", "columns-missing", "garbage"])
def test_banner_without_a_readable_claim_map_points_to_the_findings(tmp_path, content):
    path = tmp_path / "claim_map.csv"
    if content is not None:
        path.write_bytes(content.encode("latin-1"))
    assert answer.answer_sentences(path) == [
        "The calibrated answer, and the conditions it depends on, is in docs/findings.md."]
    assert answer.answer_html(path) == (
        '<div class="ref-answer-note">The calibrated answer, and the conditions it depends on, '
        "is in docs/findings.md.</div>")


def test_banner_refuses_a_claim_map_missing_a_fit_or_a_number(tmp_path):
    full = _claim_map(tmp_path).read_text()
    no_b = "".join(line + "\n" for line in full.splitlines() if not line.startswith("fit B"))
    (tmp_path / "no_b.csv").write_text(no_b)
    assert answer.answer_sentences(tmp_path / "no_b.csv") == [answer.FALLBACK]
    (tmp_path / "nan.csv").write_text(full.replace("3.5,3.214", "nan,3.214"))
    assert answer.answer_sentences(tmp_path / "nan.csv") == [answer.FALLBACK]
    (tmp_path / "verdict.csv").write_text(full.replace("0.9,fails", "0.9,maybe"))
    assert answer.answer_sentences(tmp_path / "verdict.csv") == [answer.FALLBACK]


def test_tiles_are_the_models_measures():
    # A seed where both classes broker valuable referrals, so every ratio is a number.
    model = AppModel(people=1000, seed="6")
    for _ in range(120):
        model.step()
    scores = model.scores()
    small, large = model.history.valuable_small[-1], model.history.valuable_large[-1]
    assert small > 0 and large > 0
    want = measures.class_comparison(small, large, model.n_small, model.n_large,
                                     model.audience_small, model.audience_large)
    assert {k: scores[k] for k in measures.COMPARISONS} == want
    # ... which is the run's headline formula: over the same days, broker credit only.
    result = collect(model)
    for key in measures.COMPARISONS:
        assert scores[key] == pytest.approx(result.metrics[key], rel=1e-12)


def test_playing_stops_when_the_page_closes_or_the_server_shuts_down(monkeypatch):
    model = AppModel(people=200, seed="1")
    open_page = [True]
    model.page_alive = lambda: open_page[0]
    model.step()
    assert model.world.day == 1 and model.running
    open_page[0] = False
    model.step()
    assert model.world.day == 1 and not model.running
    assert model.stopped_because == "the page was closed"
    other = AppModel(people=200, seed="1")
    monkeypatch.setattr(app_model, "SHUTDOWN", type(app_model.SHUTDOWN)())
    app_model.SHUTDOWN.set()
    other.step()
    assert other.world.day == 0 and other.stopped_because == "the server is shutting down"


def test_shutdown_is_set_when_the_main_thread_ends():
    code = ("import threading, app.model as m\n"
            "m.AppModel(people=200)\n"
            "def late():\n"
            "    assert m.SHUTDOWN.wait(20), 'not set'\n"
            "    print('shutdown seen', flush=True)\n"
            "threading.Thread(target=late).start()\n")  # non-daemon: like Mesa's play loop
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and "shutdown seen" in done.stdout, done.stderr


def test_app_module_turns_solara_telemetry_off():
    env = {k: v for k, v in os.environ.items() if k != "SOLARA_TELEMETRY_MIXPANEL_ENABLE"}
    code = ("import os, app.app, solara.server.settings as s; "
            "print(s.telemetry.mixpanel_enable, os.environ['SOLARA_TELEMETRY_MIXPANEL_ENABLE'])")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env=env)
    assert done.stdout.split() == ["False", "False"], done.stderr


@pytest.mark.parametrize("share", [0.2, 0.5, 0.85])
def test_weak_tie_share_slider_sets_the_share_of_weak_ties(share):
    cfg, graph = app_config(people=800, weak_tie_share=share, seed="3")
    offsets = strength_offsets(graph.n, graph.u, graph.v, cfg.ties, graph.community)
    assert weak_share(cfg.ties.strength_base, offsets, cfg.ties) == pytest.approx(share, abs=1e-6)
    model = AppModel(people=800, weak_tie_share=share, seed="3")
    realised = float((model.world.initial_strength < cfg.ties.weak_below).mean())
    assert realised == pytest.approx(share, abs=0.04)


def test_history_agrees_with_the_run_tables():
    model = AppModel(people=1000, seed="5")
    for _ in range(90):
        model.step()
    closures = collect(model).closures
    ref = closures[(closures["kind"] == "referral") & closures["valuable"]]
    large = model.is_large[ref["broker"].to_numpy()]
    assert model.history.valuable_large[-1] == int(large.sum())
    assert model.history.valuable_small[-1] == int((~large).sum())
    assert model.history.day == list(range(90))
    assert all(90 - 1 - day < 7 for day, _, _ in model.history.chains)


def test_step_and_pictures_are_fast_enough_at_2000_people():
    model = AppModel(people=2000, seed="11")
    model.step()  # compiles nothing new, but warms caches
    t0 = time.perf_counter()
    for _ in range(30):
        model.step()
    step = (time.perf_counter() - t0) / 30
    assert step < 0.3, f"one day at 2,000 people took {step:.3f} s"
    snap = model.snapshot()
    t0 = time.perf_counter()
    first = charts.network_image(model, snap, fmt="png")  # layout + background + overlays
    t1 = time.perf_counter()
    model.step()
    # Overlays on the cached background:
    again = charts.network_image(model, model.snapshot(), fmt="png")
    t2 = time.perf_counter()
    for png in (first, again, charts.share_png(snap, 0.9), charts.closures_png(snap)):
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
    # Generous bounds (shared CI machines); typical: about 1 s, then 0.1-0.2 s.
    assert t1 - t0 < 15 and t2 - t1 < 3, (t1 - t0, t2 - t1)


def test_layout_is_seeded_and_keeps_communities_apart():
    from sim.viz.network import community_layout

    model = AppModel(people=1500, seed="9")
    g = model.graph
    a = community_layout(g.n, g.u, g.v, g.community, seed=9)
    assert np.array_equal(a, community_layout(g.n, g.u, g.v, g.community, seed=9))
    assert a.shape == (1500, 2) and np.isfinite(a).all()
    assert not np.array_equal(a, community_layout(g.n, g.u, g.v, g.community, seed=10))
    # Each community sits in its own disc: members are nearer their own centre than others'.
    labels = np.unique(g.community)
    centres = np.array([a[g.community == c].mean(axis=0) for c in labels])
    nearest = np.argmin(((a[:, None, :] - centres[None]) ** 2).sum(axis=2), axis=1)
    assert (labels[nearest] == g.community).mean() > 0.97


# --- the page in a real browser ------------------------------------------------------------


def _chromium() -> str | None:
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium",
                      shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _missing(reason: str) -> None:
    """Skip the browser tests, except in CI (``CI=true``), where a missing piece fails them."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and the app's browser test cannot run: {reason}")
    pytest.skip(reason)


def _browser_ready() -> None:
    """Skip (fail in CI) unless Playwright, Chromium and Solara's page files are there."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _missing("playwright is not installed (pip install -e '.[test]')")
    if _chromium() is None:
        _missing("Chromium not found: run scripts/install-browser "
                 "(apt-get install -y chromium) or set CHROMIUM=/path/to/chromium")
    check = subprocess.run([sys.executable, str(ROOT / "scripts" / "install-app-assets"),
                            "--check"], capture_output=True, text=True)
    if check.returncode != 0:
        _missing("Solara's page files are not installed, so the page cannot load offline: "
                 f"run {sys.executable} scripts/install-app-assets ({check.stdout.strip()})")


def _start(port: int, log_path: Path, via_make: bool = False,
           env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start the app server on ``port`` (directly, or as ``make app``) in its own session."""
    if via_make:
        command = ["make", "-s", "app", f"APP_PORT={port}"]
    else:
        solara = Path(sys.executable).with_name("solara")
        command = [*([str(solara)] if solara.exists() else [sys.executable, "-m", "solara"]),
                   "run", "app/app.py", "--host", "127.0.0.1", "--port", str(port),
                   "--production", "--no-open", "--no-check-version"]
    log = open(log_path, "w")  # noqa: SIM115 (the child holds it; closed when it ends)
    try:
        return subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, env={**os.environ, **(env or {})})
    finally:
        log.close()


def _wait_until_it_answers(proc: subprocess.Popen, url: str, log_path: Path) -> None:
    deadline = time.monotonic() + 120
    while not _answers(url):
        if proc.poll() is not None:
            pytest.fail(f"the app server exited with {proc.returncode}; see {log_path}")
        if time.monotonic() > deadline:
            pytest.fail("the app server did not answer within 120 s")
        time.sleep(0.3)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)


@pytest.fixture(scope="module")
def server():
    _browser_ready()
    ARTIFACTS.mkdir(exist_ok=True)
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    log_path = ARTIFACTS / "app-server.log"
    proc = _start(port, log_path)
    try:
        _wait_until_it_answers(proc, url, log_path)
        yield url
    finally:
        _stop(proc)


def _pixels(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)


def _changed(before: bytes, after: bytes) -> float:
    """Share of pixels that differ (1.0 when the sizes differ)."""
    a, b = _pixels(before), _pixels(after)
    if a.shape != b.shape:
        return 1.0
    return float((np.abs(a - b).sum(axis=2) > 30).mean())


@pytest.mark.slow
def test_app_in_a_real_browser(server):
    from playwright.sync_api import expect, sync_playwright

    timings: dict[str, float] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            t0 = time.perf_counter()
            page.goto(server)
            for name in PICTURES:
                page.locator(f"img.{name}").wait_for(state="visible", timeout=120_000)
            timings["page_load_s"] = time.perf_counter() - t0
            day = page.locator(".ref-tile .v").first
            expect(day).to_have_text("0")
            expect(page.get_by_text("This world: 1,000 people, rules: budgets independent of "
                                    "audience (fit B)")).to_be_visible()
            # The calibrated answer above the tiles: both fits from the committed claim map,
            # or, without it, the one sentence pointing to the findings.
            banner = page.locator(".ref-answer")
            expect(banner).to_contain_text("The calibrated answer")
            readable = answer.read_answers() is not None
            expect(banner.locator(".ref-answer-card")).to_have_count(2 if readable else 0)

            def shots() -> dict[str, bytes]:
                return {n: page.locator(f"img.{n}").screenshot() for n in PICTURES}

            start = shots()
            # Step three days, one click each.
            step = page.get_by_role("button", name="Step")
            for k in (1, 2, 3):
                t0 = time.perf_counter()
                step.click()
                expect(day).to_have_text(str(k), timeout=30_000)
                timings[f"step_{k}_s"] = time.perf_counter() - t0
            stepped = shots()
            assert _changed(start["network-view"], stepped["network-view"]) > 0.002
            assert _changed(start["closures-plot"], stepped["closures-plot"]) > 0.002
            # No valuable referral yet in three days: only the day axis has grown.
            assert _changed(start["share-plot"], stepped["share-plot"]) > 0
            # Play until day 12 and a first valuable referral (day 8 with this seed), then pause.
            valuable = page.locator(".ref-tile .v").nth(2)
            page.get_by_role("button", name="\u25b6").click()
            deadline = time.monotonic() + 150
            while int(day.inner_text()) < 12 or int(valuable.inner_text().replace(",", "")) < 1:
                assert time.monotonic() < deadline, "playing did not reach a valuable referral"
                page.wait_for_timeout(200)
            page.get_by_role("button", name="\u275a\u275a").click()
            expect(step).to_be_enabled(timeout=30_000)
            page.wait_for_timeout(1000)
            played = shots()
            for name in PICTURES:
                assert _changed(stepped[name], played[name]) > 0.002, name
            assert int(day.inner_text()) >= 12
            page.screenshot(path=str(ARTIFACTS / "app.png"), full_page=True)
            # Move the People slider to its minimum (keyboard on its thumb), then Reset.
            people = page.locator("[role=slider][aria-valuemax='3000']")
            people.focus()
            page.keyboard.press("Home")
            expect(people).to_have_attribute("aria-valuenow", "200")
            # ... and switch the rules to the other calibrated fit.
            page.get_by_text("budgets independent of audience (fit B)", exact=True).first.click()
            page.get_by_role("option", name="budgets grow with audience (fit A)").click()
            t0 = time.perf_counter()
            page.get_by_role("button", name="Reset").click()
            expect(page.get_by_text("This world: 200 people, rules: budgets grow with audience "
                                    "(fit A)")).to_be_visible(timeout=60_000)
            expect(day).to_have_text("0", timeout=30_000)
            timings["reset_200_people_s"] = time.perf_counter() - t0
            page.wait_for_timeout(1000)
            reset = shots()
            assert _changed(played["network-view"], reset["network-view"]) > 0.05
            assert _changed(played["closures-plot"], reset["closures-plot"]) > 0.002
            page.screenshot(path=str(ARTIFACTS / "app-after-reset.png"), full_page=True)
            assert not errors, errors
        finally:
            browser.close()
    (ARTIFACTS / "app-timings.json").write_text(json.dumps(timings, indent=2) + "\n")


# --- the server: nothing leaves the machine, Ctrl+C stops it, a closed tab stops playing ------

AUDIT_HOOK = '''
import json, os, sys
_log = open(os.environ["APP_AUDIT_LOG"], "a", buffering=1)
def _hook(event, args):
    if event in ("socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg"):
        _log.write(json.dumps({"event": event, "address": repr(args[-1])}) + "\\n")
    elif event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr"):
        _log.write(json.dumps({"event": event, "address": repr(args[0])}) + "\\n")
sys.addaudithook(_hook)
'''
LOOPBACK = ("'127.", "('127.", "'localhost'", "('localhost'", "'::1'", "('::1'", "None")


def _is_loopback(address: str) -> bool:
    """An audited address (its repr) is loopback, a Unix socket or no host at all."""
    return address.startswith(LOOPBACK) or (address.startswith("'/") and "'" in address[1:])


def test_loopback_check_itself():
    assert _is_loopback("('127.0.0.1', 8765)") and _is_loopback("'localhost'")
    assert _is_loopback("('::1', 80, 0, 0)") and _is_loopback("'/tmp/x.sock'")
    assert not _is_loopback("('203.0.113.80', 443)") and not _is_loopback("'pypi.org'")
    assert not _is_loopback("'api.mixpanel.com'") and not _is_loopback("('10.0.0.1', 80)")


def _day(page) -> int:
    return int(page.locator(".ref-tile .v").first.inner_text())


def _play_until(page, day: int, timeout_s: float = 120) -> None:
    page.get_by_role("button", name="\u25b6").click()
    deadline = time.monotonic() + timeout_s
    while _day(page) < day:
        assert time.monotonic() < deadline, f"playing did not reach day {day}"
        page.wait_for_timeout(200)


def _wait_for_text(path: Path, text: str, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if text in path.read_text(errors="replace"):
            return True
        time.sleep(0.2)
    return False


@pytest.mark.slow
def test_make_app_stays_on_loopback_stops_with_the_tab_and_on_ctrl_c(tmp_path):
    """``make app`` under an audit hook of every socket call; play, close the tab, play, Ctrl+C."""
    _browser_ready()
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    (tmp_path / "hook").mkdir()
    (tmp_path / "hook" / "sitecustomize.py").write_text(AUDIT_HOOK)
    audit = tmp_path / "audit.jsonl"
    audit.touch()
    log_path = ARTIFACTS / "app-make-server.log"
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    env = {"PYTHONPATH": str(tmp_path / "hook"), "APP_AUDIT_LOG": str(audit)}
    env.pop("SOLARA_TELEMETRY_MIXPANEL_ENABLE", None)
    proc = _start(port, log_path, via_make=True,
                  env={**env, "SOLARA_TELEMETRY_MIXPANEL_ENABLE": ""})
    try:
        _wait_until_it_answers(proc, url, log_path)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
            try:
                # 1. Bad input in the seed box: a message in the page, never a traceback.
                page = browser.new_page(viewport={"width": 1600, "height": 1000})
                page.goto(url)
                page.locator("img.network-view").wait_for(state="visible", timeout=120_000)
                seed = page.get_by_label("Seed (press Reset to apply)")
                for text, shown in (("\u00b2", "seed \u00b2."), ("9" * 5000, "seed 42.")):
                    seed.fill(text)
                    seed.press("Enter")
                    page.get_by_role("button", name="Reset").click()
                    expect(page.get_by_text("This world: 1,000 people")).to_be_visible(
                        timeout=60_000)
                    expect(page.locator(".ref-world")).to_contain_text(shown, timeout=60_000)
                    assert "Traceback" not in page.locator("body").inner_text()
                expect(page.locator(".ref-problems")).to_contain_text(
                    "Seed: too long (more than 100 characters)")
                page.screenshot(path=str(ARTIFACTS / "app-bad-seed.png"), full_page=True)
                # 2. Play, then close the tab: the server stops playing.
                _play_until(page, 3)
                page.close()
                assert _wait_for_text(log_path, "stopped playing", 30), (
                    "the model went on playing after the tab was closed")
                assert "the page was closed" in log_path.read_text()
                # 3. Play in a new tab, then Ctrl+C (SIGINT to make and the server).
                page = browser.new_page(viewport={"width": 1600, "height": 1000})
                page.goto(url)
                page.locator("img.network-view").wait_for(state="visible", timeout=120_000)
                _play_until(page, 3)
                os.killpg(proc.pid, signal.SIGINT)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    pytest.fail("Ctrl+C did not stop `make app` within 30 s while playing")
            finally:
                browser.close()
    finally:
        _stop(proc)
    events = [json.loads(line) for line in audit.read_text().splitlines()]
    assert any(e["event"] == "socket.bind" for e in events), "the audit hook saw nothing"
    outside = [e for e in events if not _is_loopback(e["address"])]
    assert outside == [], f"the app server reached out: {outside}"
