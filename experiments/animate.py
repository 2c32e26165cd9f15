"""An animation for slides: one need travelling through the network and closing.

``python -m experiments.animate`` builds a small network (default generator,
400 people), runs days until a *valuable* need closes by referral over at
least ``--min-hops`` ties, then replays that need day by day from the same
seed: the seeker posting, the contacts who saw it and those who passed it on,
hop by hop, the broker introducing the provider, the closure, and the
seeker-provider tie appearing (or growing). Every frame has a title that tells
the story ("Day 0: Ana (audience 4) needs pharma expertise") and a side panel
with the cast and their audiences.

It writes a GIF (Pillow) and, where ``ffmpeg`` is on the PATH, an MP4 next to
it. Existing files are never overwritten unless ``--force`` is given::

    python -m experiments.animate                       # outputs/animation/need.gif
    python -m experiments.animate --seed 3 --people 600 --fps 4 --out talk/need.gif

The replay re-runs the same seed (runs are deterministic) and reads where the
need went from the model's arrays: its handled-set (who saw it) and the
frontier of carriers (who passed it on, and from whom).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import numpy as np
from matplotlib.animation import FFMpegWriter, PillowWriter

from sim.io import atomic_path

EXIT_BAD_INPUT = 2
DEFAULT_OUT = Path("outputs/animation/need.gif")

#: What the model's topics stand for in the story (topic ids are arbitrary).
EXPERTISE = (
    "pharma", "biotech", "patent law", "UX design", "data science", "marketing", "tax",
    "logistics", "nursing", "teaching", "carpentry", "translation", "cybersecurity",
    "real estate", "photography", "accounting", "urban planning", "nutrition", "robotics",
    "music production",
)
#: Names for the people of the story (assigned by person id, distinct within a story).
NAMES = (
    "Ana", "Bo", "Chen", "Dee", "Eli", "Femi", "Gus", "Hana", "Ines", "Jon", "Kai", "Lena",
    "Mo", "Nia", "Oskar", "Priya", "Quinn", "Rosa", "Sami", "Tess", "Umar", "Vera", "Wes",
    "Xia", "Yara", "Zoe",
)
SECONDS = {"intro": 3.0, "post": 3.5, "spread": 3.0, "quiet": 1.5, "broker": 3.5,
           "closure": 3.5, "tie": 3.0, "end": 5.0}
"""How long each kind of frame stays on screen (seconds)."""


# --- finding and tracing one need -----------------------------------------------------------


@dataclass
class DayTrace:
    """What happened to the need on one day.

    Attributes:
        day: Model day.
        seen: Everybody who has seen it so far (seeker excluded).
        new_seen: Who saw it for the first time today.
        offers: ``(holder, viewer)`` ties over which the new viewers got it.
        passers: Who passed it on today (they show it tomorrow).
    """

    day: int
    seen: list[int]
    new_seen: list[int]
    offers: list[tuple[int, int]]
    passers: list[int]


@dataclass
class Story:
    """One valuable referral and how its need travelled.

    Attributes:
        need: Need id.
        seeker: Person who posted it.
        broker: Person who made the introduction.
        provider: Person whose expertise matched.
        path: Seeker, carriers, broker, provider.
        topic: Topic of the need.
        value: Value of the need (valuable: at or above ``threshold``).
        threshold: Valuable threshold of the run.
        posted: Day it was posted.
        closed: Day it closed.
        days: One :class:`DayTrace` per day from ``posted`` to ``closed``.
        tie_before: Seeker-provider tie strength before the closure (0: no tie).
        tie_after: The same after it.
        audience: Audience (ties at the start) of every person.
        is_large: Large-audience class of every person.
    """

    need: int
    seeker: int
    broker: int
    provider: int
    path: list[int]
    topic: int
    value: float
    threshold: float
    posted: int
    closed: int
    days: list[DayTrace] = field(default_factory=list)
    tie_before: float = 0.0
    tie_after: float = 0.0
    audience: np.ndarray | None = None
    is_large: np.ndarray | None = None

    @property
    def hops(self) -> int:
        """Ties from seeker to provider along the path."""
        return len(self.path) - 1


def make_config(seed: int, people: int):
    """The run's configuration: default generator, ``people`` people, Mesa agents on demand."""
    from sim.config import Config, validate

    cfg = Config(seed=seed)
    cfg.people.n = people
    cfg.people.agents = "lazy"
    return validate(cfg)


@dataclass
class Found:
    """A valuable referral found by :func:`find_need` (ids and days of the search run)."""

    need: int
    posted: int
    closed: int
    seeker: int
    provider: int


def find_need(config, max_days: int, min_hops: int, broker: str) -> Found | None:
    """Run days until a valuable referral closes; return it, or ``None``.

    Takes the first valuable referral that worked, over at least ``min_hops`` ties whose
    provider is outside the seeker's community (so the picture shows the need
    leaving home, as most valuable needs must) and whose broker matches
    ``broker`` (``any``, ``small`` or ``large``). Failing that by ``max_days``,
    the best other valuable referral over at least 2 ties: enough hops first,
    then leaving the community, then the earliest.
    """
    from sim import kernels
    from sim.model import ReferralModel

    model = ReferralModel(config)
    world = model.world
    best: tuple[tuple[bool, bool], Found] | None = None
    for _ in range(max_days):
        logged = len(world.closures)
        model.step()
        for part in [world.closures.since(logged)]:
            for i in range(len(part)):
                # The essay's story: an introduction that became an engagement that
                # worked (with trust on, others close the need but change no tie).
                if part.kind[i] != kernels.REFERRAL or not part.worked[i]:
                    continue
                need = int(part.need[i])
                if world.need_value.data[need] < model.valuable_threshold:
                    continue
                hops = len(part.path_of(i)) - 1
                large = bool(model.is_large[part.broker[i]])
                if hops < 2 or (broker != "any" and large != (broker == "large")):
                    continue
                seeker, provider = int(part.seeker[i]), int(part.provider[i])
                found = Found(need, int(world.need_posted.data[need]), int(part.day[i]),
                              seeker, provider)
                score = (hops >= min_hops,
                         bool(world.community[seeker] != world.community[provider]))
                if all(score):
                    return found
                if best is None or score > best[0]:
                    best = (score, found)
    return None if best is None else best[1]


def trace_need(config, found: Found) -> Story:
    """Replay the run of ``config`` and record, day by day, where the need went.

    Runs are deterministic, so the replay meets the same need on the same day;
    it is checked (seeker, closing day, provider) and a mismatch raises.
    """
    from sim.model import ReferralModel

    model = ReferralModel(config)
    world = model.world
    for _ in range(found.posted):
        model.step()
    need, seeker = found.need, found.seeker
    days: list[DayTrace] = []
    holders: list[tuple[int, int]] = []
    seen_before: list[int] = []
    tie_before = 0.0
    closure = None
    for day in range(found.posted, found.closed + 1):
        today = [seeker] + [p for p, _ in holders]  # who shows the need today
        tie_before = world.ties.strength(seeker, found.provider)
        logged = len(world.closures)
        model.step()
        if day == found.posted and int(world.need_seeker.data[need]) != seeker:
            raise RuntimeError("the replay diverged from the search run")
        handled = [p for p in world.handled_by(need) if p != seeker]
        new_seen = handled[len(seen_before):]
        holders = world.holders(need)  # who passed it on today, and from whom
        passed_from = dict(holders)
        offers = []
        for person in new_seen:
            sender = passed_from.get(person)  # exact for carriers; else a holder they know
            if sender is None:
                sender = next((h for h in today if world.ties.tie(h, person) >= 0), None)
            if sender is not None:
                offers.append((sender, person))
        days.append(DayTrace(day, handled, new_seen, offers, [p for p, _ in holders]))
        seen_before = handled
        for part in [world.closures.since(logged)]:
            hit = np.flatnonzero(part.need == need)
            if hit.size:
                i = int(hit[0])
                closure = (part.path_of(i).tolist(), int(part.broker[i]), int(part.provider[i]))
    if closure is None or closure[2] != found.provider:
        raise RuntimeError(f"need {need} did not close as in the search run")
    path, broker, provider = closure
    return Story(
        need=need, seeker=seeker, broker=broker, provider=provider, path=[int(p) for p in path],
        topic=int(world.need_topic.data[need]), value=float(world.need_value.data[need]),
        threshold=float(model.valuable_threshold), posted=found.posted, closed=found.closed,
        days=days, tie_before=tie_before, tie_after=world.ties.strength(seeker, provider),
        audience=world.audience.copy(), is_large=model.is_large.copy())


# --- the story as frames -------------------------------------------------------------------


def _names(story: Story) -> dict[int, str]:
    """Distinct first names for the cast: seeker, carriers on the path, broker, provider."""
    names: dict[int, str] = {}
    used: set[str] = set()
    for person in [story.seeker, story.broker, story.provider, *story.path[1:-2]]:
        if person in names:
            continue
        k = person % len(NAMES)
        while NAMES[k] in used:
            k = (k + 1) % len(NAMES)
        names[person] = NAMES[k]
        used.add(NAMES[k])
    return names


def _expertise(topic: int) -> str:
    return EXPERTISE[topic] if 0 <= topic < len(EXPERTISE) else f"topic-{topic}"


def _people(k: int) -> str:
    return f"{k} {'person' if k == 1 else 'people'}"


def story_scenes(story: Story, n_ties: int):
    """The frames of the story as ``(scene, seconds)`` pairs (:class:`experiments.scenes.Scene`)."""
    from experiments.scenes import Scene

    aud = story.audience
    n = aud.shape[0]
    name = _names(story)
    s, b, p = story.seeker, story.broker, story.provider
    what = _expertise(story.topic)

    def who(person: int) -> str:
        return f"{name[person]} (audience {int(aud[person])})"

    def cls(person: int) -> str:
        return "large audience" if story.is_large[person] else "small audience"

    seeker_line = ("seeker", f"Seeker: {name[s]}\naudience {int(aud[s])} ({cls(s)})")
    broker_line = ("broker", f"Broker: {name[b]}\naudience {int(aud[b])} ({cls(b)})")
    provider_line = ("provider", f"Provider: {name[p]}, {what}\naudience {int(aud[p])} "
                                 f"({cls(p)})")
    scenes = []
    scenes.append((Scene(
        title=f"A network of {n:,} people and {n_ties:,} ties",
        caption="Dot size = audience (number of ties). Blue: small audiences; "
                "vermillion: the 10% with the largest.",
        classes=True,
        panel=[("", "Who closes the valuable\nconnections: the few with\nhuge audiences, "
                    "or everyone?")]), SECONDS["intro"]))
    labels = {s: ("seeker", f"{name[s]}, seeker")}
    scenes.append((Scene(
        title=f"Day 0: {who(s)} needs {what} expertise",
        caption=f"A valuable need (worth more than 9 in 10 needs). {name[s]} posts it; "
                f"{name[s]}'s {int(aud[s])} contacts may see it.",
        labels=labels, panel=[seeker_line]), SECONDS["post"]))
    spread: list[tuple[int, int]] = []
    carriers: list[int] = []
    for trace in story.days:
        rel = trace.day - story.posted
        last = trace is story.days[-1]
        fresh = list(trace.offers)
        new_carriers = [c for c in trace.passers if c not in carriers]
        if last:
            title = (f"Day {rel}: {_people(len(trace.new_seen))} saw it, "
                     f"among them {who(b)}")
            caption = "Attention is scarce: a contact sees a post only if it wins a share of it."
            labels = {s: ("seeker", f"{name[s]}, seeker"), b: ("broker", f"{name[b]}")}
        elif trace.new_seen:
            title = (f"Day {rel}: {_people(len(trace.new_seen))} saw it; "
                     f"{len(new_carriers)} passed it on")
            caption = ("They see it only if it wins a share of their attention, and pass it "
                       "on more readily when it came over a strong tie.")
            labels = {s: ("seeker", f"{name[s]}, seeker")}
        else:
            title = f"Day {rel}: nobody new saw it"
            caption = f"{name[s]}'s post stays up; the need is open for a week."
            labels = {s: ("seeker", f"{name[s]}, seeker")}
        carriers += new_carriers
        panel = [seeker_line, ("seen", f"Saw the need: {len(trace.seen)}"),
                 ("carrier", f"Passed it on: {len(carriers)}")]
        scenes.append((Scene(title=title, caption=caption, seen=list(trace.seen),
                             carriers=list(carriers), spread=list(spread), fresh=fresh,
                             labels=labels, panel=panel),
                       SECONDS["spread"] if trace.new_seen else SECONDS["quiet"]))
        spread += fresh
    final = story.days[-1]
    rel = final.day - story.posted
    base = {"seen": list(final.seen), "carriers": list(carriers), "spread": list(spread)}
    cast = {s: ("seeker", f"{name[s]}, seeker"), b: ("broker", f"{name[b]}, broker"),
            p: ("provider", f"{name[p]}, {what}")}
    for q in story.path[1:-2]:  # the carriers on the path, in order
        cast.setdefault(q, ("carrier", name[q]))
    panel = [seeker_line, broker_line, provider_line,
             ("seen", f"Saw the need: {len(final.seen)}"),
             ("carrier", f"Passed it on: {len(carriers)}")]
    scenes.append((Scene(
        title=f"Day {rel}: {name[b]} knows {who(p)}, who does {what}",
        caption=f"{name[b]} does not do {what}, but knows someone who does: a referral.",
        referral=(b, p), labels=cast, panel=panel, **base), SECONDS["broker"]))
    route = " \u2192 ".join(name.get(q, "\u2026") for q in story.path)
    scenes.append((Scene(
        title=f"{name[b]} introduces {name[s]} to {name[p]}: closed in {story.hops} hops",
        caption=f"The path: {route}. {name[b]} is the broker and gets the credit.",
        chain=story.path, referral=(b, p), labels=cast, panel=panel, **base),
        SECONDS["closure"]))
    if story.tie_before > 0:
        title = (f"Afterwards: the {name[s]}\u2013{name[p]} tie grows from "
                 f"{story.tie_before:.2f} to {story.tie_after:.2f}")
    else:
        title = (f"Afterwards: {name[s]} and {name[p]} are tied "
                 f"(a new tie of strength {story.tie_after:.2f})")
    caption = f"{name[b]}'s ties to both of them grow stronger too."
    steps = 5
    for k in range(1, steps + 1):
        width = 1.5 + (6.5 - 1.5) * k / steps
        scenes.append((Scene(title=title, caption=caption, new_tie=(s, p), new_tie_width=width,
                             labels=cast, panel=panel, **base),
                       SECONDS["tie"] if k == steps else 0.25))
    larger = float((aud > aud[b]).mean())
    if story.is_large[b]:
        verdict = (f"{name[b]} is one of the 10% with the largest audiences "
                   f"({int(aud[b])} ties).")
    else:
        verdict = (f"{name[b]} has an audience of {int(aud[b])}: "
                   f"{100 * larger:.0f}% of people have a larger one.")
    scenes.append((Scene(
        title=f"Brokered by {name[b]}, {cls(b)}", caption=verdict,
        chain=story.path, new_tie=(s, p), new_tie_width=6.5, labels=cast,
        panel=[*panel, ("", "Everyone's an influencer.")], **base), SECONDS["end"]))
    return scenes


# --- writing the files ---------------------------------------------------------------------


class HoldingPillowWriter(PillowWriter):
    """A :class:`~matplotlib.animation.PillowWriter` whose frames can stay up longer.

    ``grab_frame(hold=k)`` renders the figure once and shows it for ``k``
    frame periods (one GIF frame with a longer duration), so a story of a dozen
    scenes costs a dozen renders, not one per frame period.
    """

    def setup(self, fig, outfile, dpi=None):  # noqa: D102 (as the base class)
        super().setup(fig, outfile, dpi=dpi)
        self._durations: list[int] = []

    def grab_frame(self, hold: int = 1, **savefig_kwargs):  # noqa: D102
        super().grab_frame(**savefig_kwargs)
        self._durations.append(round(1000 * hold / self.fps))

    def finish(self):  # noqa: D102
        self._frames[0].save(self.outfile, save_all=True, append_images=self._frames[1:],
                             duration=self._durations, loop=0)


class HoldingFFMpegWriter(FFMpegWriter):
    """An :class:`~matplotlib.animation.FFMpegWriter` that renders a held frame once."""

    def grab_frame(self, hold: int = 1, **savefig_kwargs):  # noqa: D102
        buf = io.BytesIO()
        self.fig.set_size_inches(self._w, self._h)
        self.fig.savefig(buf, format=self.frame_format, dpi=self.dpi, **savefig_kwargs)
        data = buf.getvalue()
        for _ in range(hold):
            self._proc.stdin.write(data)


def render(story: Story, layout: np.ndarray, edges: tuple[np.ndarray, np.ndarray],
           strengths: np.ndarray, fps: float, gif: Path, mp4: Path | None) -> list[Path]:
    """Draw each scene once and write the GIF (and the MP4), each atomically."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from experiments.scenes import draw_scene
    from sim.viz.network import NetworkPainter

    painter = NetworkPainter(layout, story.is_large, figsize=(12.8, 7.2), dpi=100,
                             rect=(0.01, 0.02, 0.62, 0.83), largest=360.0, smallest=8.0,
                             pad=0.05)
    painter.render_background(edges[0], edges[1], strengths, story.audience, muted=True)
    scenes = story_scenes(story, int(edges[0].shape[0]))
    fig = painter.new_figure()
    FigureCanvasAgg(fig)
    targets: list[tuple[Path, object]] = [(gif, HoldingPillowWriter(fps=fps))]
    if mp4 is not None:
        targets.append((mp4, HoldingFFMpegWriter(fps=fps, codec="libx264",
                                                 extra_args=["-pix_fmt", "yuv420p"])))
    with contextlib.ExitStack() as stack:
        for path, writer in targets:
            tmp = stack.enter_context(atomic_path(path))
            stack.enter_context(writer.saving(fig, str(tmp), dpi=painter.dpi))
        for scene, seconds in scenes:
            draw_scene(painter, scene, fig)
            for _, writer in targets:
                writer.grab_frame(hold=max(1, round(seconds * fps)))
    return [path for path, _ in targets]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options (see the module docstring)."""

    def positive(kind):
        def check(text: str):
            value = kind(text)
            if not (math.isfinite(value) and value > 0):  # nan and inf are not > 0 either
                raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
            return value
        check.__name__ = kind.__name__  # argparse names it: "invalid float value"
        return check

    def refuse(message: str) -> NoReturn:  # one line, status 2 (argparse adds the usage)
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT)

    parser = argparse.ArgumentParser(
        prog="python -m experiments.animate",
        description="Animate one valuable need travelling through the network and closing.")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"GIF to write (an MP4 goes next to it where ffmpeg exists; "
                             f"default {DEFAULT_OUT})")
    parser.add_argument("--seed", type=int, default=7, help="root seed (default 7)")
    parser.add_argument("--people", type=positive(int), default=400,
                        help="people in the network (default 400)")
    parser.add_argument("--fps", type=positive(float), default=4.0,
                        help="frames per second (default 4)")
    parser.add_argument("--min-hops", type=positive(int), default=3,
                        help="prefer a referral over at least this many ties (default 3; "
                             "falls back to 2)")
    parser.add_argument("--broker", choices=("any", "small", "large"), default="any",
                        help="whose referral to show: any (the first found), or the first by "
                             "a small- or large-audience broker")
    parser.add_argument("--max-days", type=positive(int), default=730,
                        help="days to search for a referral (default 730)")
    parser.add_argument("--force", action="store_true", help="overwrite existing files")
    parser.error = refuse  # type: ignore[method-assign]
    args = parser.parse_args(argv)
    if args.seed < 0:
        refuse(f"--seed must be >= 0, got {args.seed}")
    if args.people < 20:
        refuse(f"--people must be at least 20, got {args.people}")
    if args.out.suffix.lower() != ".gif":
        refuse(f"--out must name a .gif file, got {args.out}")
    problem = _unwritable(args.out)
    if problem:
        refuse(f"--out {args.out}: {problem}")
    return args


def _unwritable(out: Path) -> str | None:
    """Why ``out`` cannot be written (its nearest existing folder refuses a file), or None."""
    import errno
    import tempfile

    folder = out.absolute().parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        return f"{folder} is a file, not a folder"
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        reason = exc.strerror or errno.errorcode.get(exc.errno or 0, "error")
        return f"cannot write into {folder} ({reason.lower()})"
    return None


def main(argv: list[str] | None = None) -> int:
    """Find a valuable referral, replay it, write the animation; return the exit status."""
    args = parse_args(argv)
    gif = args.out
    mp4 = gif.with_suffix(".mp4") if shutil.which("ffmpeg") else None
    for path in (gif, mp4):
        if path is not None and path.exists() and not args.force:
            print(f"error: {path} exists; use --force to overwrite it", file=sys.stderr)
            return EXIT_BAD_INPUT
    started = time.perf_counter()
    config = make_config(args.seed, args.people)
    found = find_need(config, args.max_days, args.min_hops, args.broker)
    if found is None:
        print(f"error: no valuable referral over 2+ hops in {args.max_days} days "
              f"(seed {args.seed}, {args.people} people); try another --seed or more "
              "--people", file=sys.stderr)
        return 1
    story = trace_need(config, found)

    from sim.model import ReferralModel
    from sim.viz.network import community_layout, landscape

    model = ReferralModel(config)
    graph = model.graph
    layout = landscape(community_layout(graph.n, graph.u, graph.v, graph.community,
                                        seed=args.seed))
    edges = model.world.ties.edges()
    written = render(story, layout, edges, model.world.ties.strengths(), args.fps, gif, mp4)
    names = _names(story)
    print(f"need {story.need}: {names[story.seeker]} -> {names[story.broker]} (broker, audience "
          f"{int(story.audience[story.broker])}) -> {names[story.provider]}, {story.hops} hops, "
          f"days {story.posted}-{story.closed}; {time.perf_counter() - started:.1f} s")
    if mp4 is None:
        print("(no ffmpeg on PATH: GIF only)")
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
