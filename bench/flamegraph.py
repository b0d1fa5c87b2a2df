"""Collapsed stacks (py-spy's `raw` format) to a flame graph SVG and a plain-text summary.

One recording gives both: the SVG to look at, and tables (self time, inclusive
time, time by library) to quote. No Perl, no Rust: a flame graph is rectangles.

    .venv/bin/python -m bench.flamegraph profile.txt --svg out.svg --title "REST item"
"""

from __future__ import annotations

import argparse
import html
import re
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

WIDTH = 1200
FRAME_HEIGHT = 16
FONT_SIZE = 11
MIN_FRACTION = 0.001  # frames narrower than this share of samples are left out of the SVG
CHAR_WIDTH = FONT_SIZE * 0.59

_FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^()]*)\)$")

# The library a frame belongs to, by the start of its file path (py-spy shortens
# site-packages paths to `package/module.py`); first match wins.
LIBRARIES: tuple[tuple[str, str], ...] = (
    ("tandem/graphql/", "tandem.graphql"),
    ("tandem/api/", "tandem.api"),
    ("tandem/domain/", "tandem.domain"),
    ("tandem/persistence/", "tandem.persistence"),
    ("tandem/", "tandem"),
    ("bench/", "bench"),
    ("strawberry/", "strawberry"),
    ("graphql/", "graphql-core"),
    ("aiodataloader", "aiodataloader"),
    ("fastapi/", "fastapi"),
    ("starlette/", "starlette"),
    ("pydantic", "pydantic"),
    ("sqlalchemy/", "sqlalchemy"),
    ("asyncpg/", "asyncpg"),
    ("jwt/", "pyjwt"),
    ("uvicorn/", "uvicorn"),
    ("httptools/", "uvicorn"),
    ("uvloop/", "uvloop"),
    ("orjson", "orjson"),
    ("greenlet", "greenlet"),
)
COLOURS = {
    "tandem.api": (240, 150, 50),
    "tandem.graphql": (240, 120, 60),
    "tandem.domain": (250, 190, 60),
    "tandem.persistence": (230, 170, 80),
    "tandem": (245, 160, 70),
    "bench": (245, 160, 70),
    "strawberry": (225, 110, 160),
    "graphql-core": (205, 120, 200),
    "aiodataloader": (190, 140, 210),
    "fastapi": (90, 180, 120),
    "starlette": (120, 200, 140),
    "pydantic": (80, 170, 200),
    "sqlalchemy": (220, 80, 70),
    "asyncpg": (150, 110, 220),
    "pyjwt": (70, 200, 200),
    "uvicorn": (170, 170, 170),
    "uvloop": (150, 150, 150),
    "orjson": (100, 200, 100),
    "greenlet": (200, 100, 100),
    "stdlib": (200, 200, 130),
}


def split_frame(frame: str) -> tuple[str, str]:
    """(function, file) of a py-spy frame `function (file)`."""
    match = _FRAME.match(frame)
    return (match.group("function"), match.group("file")) if match else (frame, "")


def library_of(frame: str) -> str:
    path = split_frame(frame)[1] or frame
    for prefix, name in LIBRARIES:
        if path.startswith(prefix) or f"/{prefix}" in path:
            return name
    return "stdlib"


# Frames that only run when a pooled connection is opened or closed (pool overflow churn):
# connecting, SQLAlchemy's per-connection set-up, asyncpg's type introspection, and the
# re-preparing of statements on a connection that has none cached yet.
CHURN_FRAMES = {
    ("connect", "asyncpg/connection.py"),
    ("Connection.close", "asyncpg/connection.py"),
    ("Connection._prepare", "asyncpg/connection.py"),
    ("Connection._introspect_types", "asyncpg/connection.py"),
    ("Pool._create_connection", "sqlalchemy/pool/base.py"),
    ("_ConnectionRecord.__connect", "sqlalchemy/pool/base.py"),
    ("_ConnectionRecord._ConnectionRecord__connect", "sqlalchemy/pool/base.py"),
    ("_ConnectionRecord.__close", "sqlalchemy/pool/base.py"),
    ("AsyncAdapt_dbapi_connection.create", "sqlalchemy/connectors/asyncio.py"),
}
CHURN_FILES = ("asyncpg/connect_utils.py",)
# Where SQLAlchemy stops building a statement and starts executing it.
EXECUTE_FRAMES = (
    "AsyncConnection.execute",
    "AsyncConnection.scalar",
    "greenlet_spawn",
    "Connection.execute",
    "Connection._execute_clauseelement",
)
# Borrowing a pooled connection and giving it back (per `async with engine.connect()`).
CHECKOUT_FRAMES = {
    "Engine.connect",
    "Engine.raw_connection",
    "Connection.__init__",
    "Connection.close",
    "AsyncEngine.connect",
    "AsyncConnection.start",
    "AsyncConnection.close",
    "AsyncConnection.__aexit__",
    "StartableContext.__aenter__",
    "_run_to_completion",
}
THREAD_POOL_FILES = ("anyio/", "threading.py", "concurrent/futures/")

COST_CENTRES = (
    "connection churn (open, set up, re-prepare, close)",
    "sync dependency: thread-pool hop",
    "JWT decode (PyJWT)",
    "SQLAlchemy: pool checkout and return",
    "SQLAlchemy: building statements",
    "SQLAlchemy: executing (cache key, compiled cache, events, rows)",
    "asyncpg (driver, protocol)",
    "GraphQL (strawberry, graphql-core, dataloaders)",
    "FastAPI, Starlette, pydantic",
    "application code (tandem/, or bench/floor.py)",
    "HTTP server and event loop (uvicorn, uvloop)",
)


# Short names for the one-line legend of a flame graph.
SHORT = dict(
    zip(
        COST_CENTRES,
        (
            "pool churn",
            "thread-pool hop",
            "JWT",
            "SQLAlchemy pool",
            "SQLAlchemy build",
            "SQLAlchemy execute",
            "asyncpg",
            "GraphQL",
            "FastAPI/Starlette/pydantic",
            "app code",
            "server + event loop",
        ),
        strict=True,
    )
)


def effective_library(stack: tuple[str, ...]) -> str:
    """The library of the deepest frame that is not the standard library (or greenlet)."""
    for frame in reversed(stack):
        library = library_of(frame)
        if library not in ("stdlib", "greenlet"):
            return library
    return "stdlib"


def cost_centre(stack: tuple[str, ...]) -> str:
    """One design-level bucket per sample; the first rule that matches wins."""
    frames = [split_frame(frame) for frame in stack]
    if any(f in CHURN_FRAMES or path.startswith(CHURN_FILES) for f in frames for path in [f[1]]):
        return COST_CENTRES[0]
    if any(path.startswith(THREAD_POOL_FILES) or fn == "run_in_threadpool" for fn, path in frames):
        return COST_CENTRES[1]
    if any(path.startswith("jwt/") for _, path in frames):
        return COST_CENTRES[2]
    library = effective_library(stack)
    if library == "sqlalchemy":
        if any(fn in EXECUTE_FRAMES for fn, _ in frames):
            return COST_CENTRES[5]
        if any(
            path.startswith("sqlalchemy/pool/")
            or (fn in CHECKOUT_FRAMES and path.startswith("sqlalchemy/"))
            for fn, path in frames
        ):
            return COST_CENTRES[3]
        return COST_CENTRES[4]
    if library == "asyncpg":
        return COST_CENTRES[6]
    if library in ("strawberry", "graphql-core", "aiodataloader"):
        return COST_CENTRES[7]
    if library in ("fastapi", "starlette", "pydantic"):
        return COST_CENTRES[8]
    if library.startswith("tandem") or library == "bench":
        return COST_CENTRES[9]
    return COST_CENTRES[10]


@dataclass
class Node:
    name: str
    total: int = 0
    children: dict[str, Node] = field(default_factory=dict)


@dataclass
class Profile:
    stacks: Counter[tuple[str, ...]]
    requests: float | None = None  # served while sampling, when the caller knows

    def gil_ms_per_request(self, rate_hz: int) -> float | None:
        """Sampled time per request: samples / rate / requests (None without a request count)."""
        if not self.requests:
            return None
        return 1000 * self.samples / rate_hz / self.requests

    @classmethod
    def read(cls, path: Path) -> Profile:
        stacks: Counter[tuple[str, ...]] = Counter()
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if stack and count.isdigit():
                stacks[tuple(stack.split(";"))] += int(count)
        return cls(stacks)

    @property
    def samples(self) -> int:
        return sum(self.stacks.values())

    def tree(self) -> Node:
        root = Node("all")
        for stack, count in self.stacks.items():
            root.total += count
            node = root
            for frame in stack:
                node = node.children.setdefault(frame, Node(frame))
                node.total += count
        return root

    def self_time(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        for stack, count in self.stacks.items():
            counts[stack[-1]] += count
        return counts

    def inclusive(self) -> Counter[str]:
        """Samples with the function anywhere on the stack (counted once per stack)."""
        counts: Counter[str] = Counter()
        for stack, count in self.stacks.items():
            for frame in set(stack):
                counts[frame] += count
        return counts

    def cost_centres(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        for stack, count in self.stacks.items():
            counts[cost_centre(stack)] += count
        return counts

    def by_library(self) -> Counter[str]:
        """Self time by library; standard-library frames count for the library that called them."""
        counts: Counter[str] = Counter()
        for stack, count in self.stacks.items():
            counts[effective_library(stack)] += count
        return counts

    def summary(self, *, title: str, top: int = 25) -> str:
        samples = self.samples or 1
        lines = [f"# {title}: {self.samples} samples (CPU only; idle time is not sampled)", ""]
        lines += ["## Cost centres (first matching rule over the whole stack)", ""]
        centres = self.cost_centres()
        for name in COST_CENTRES:
            lines.append(f"{100 * centres[name] / samples:6.1f}%  {name}")
        lines += ["", "## Self time by library (standard library counted for its caller)", ""]
        for name, count in self.by_library().most_common():
            lines.append(f"{100 * count / samples:6.1f}%  {name}")
        lines += ["", f"## Self time, top {top} functions", ""]
        for frame, count in self.self_time().most_common(top):
            lines.append(f"{100 * count / samples:6.1f}%  {frame}")
        lines += ["", f"## Inclusive time, top {2 * top} functions", ""]
        for frame, count in self.inclusive().most_common(2 * top):
            lines.append(f"{100 * count / samples:6.1f}%  {frame}")
        return "\n".join(lines) + "\n"


def _colour(frame: str) -> str:
    red, green, blue = COLOURS.get(library_of(frame), COLOURS["stdlib"])
    jitter = zlib.crc32(frame.encode()) % 30 - 15  # stable per function, so neighbours differ
    return f"rgb({min(255, max(0, red + jitter))},{min(255, max(0, green + jitter))},{blue})"


def render_svg(profile: Profile, *, title: str, subtitle: str = "") -> str:
    """A classic flame graph (root at the bottom), with a tooltip per frame."""
    root = profile.tree()
    total = root.total or 1
    boxes: list[tuple[int, float, float, Node]] = []  # depth, x, width, node

    def walk(node: Node, depth: int, x: float) -> int:
        deepest = depth
        for child in sorted(node.children.values(), key=lambda n: n.name):
            width = WIDTH * child.total / total
            if child.total / total >= MIN_FRACTION:
                boxes.append((depth, x, width, child))
                deepest = max(deepest, walk(child, depth + 1, x))
            x += width
        return deepest

    depth = walk(root, 0, 0.0) + 1
    top_margin, bottom_margin = 48, 40
    height = top_margin + depth * FRAME_HEIGHT + bottom_margin
    legend = "  ".join(
        f"{name} {100 * count / total:.0f}%" for name, count in profile.by_library().most_common(9)
    )
    centres = "  ".join(
        f"{SHORT[name]} {100 * count / total:.0f}%"
        for name, count in profile.cost_centres().most_common()
        if count / total >= 0.005
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="Verdana, sans-serif" '
        f'font-size="{FONT_SIZE}">',
        f'<rect width="{WIDTH}" height="{height}" fill="#fdfdf6"/>',
        f'<text x="{WIDTH / 2}" y="18" text-anchor="middle" font-size="15">'
        f"{html.escape(title)}</text>",
        f'<text x="{WIDTH / 2}" y="36" text-anchor="middle" fill="#555">'
        f"{html.escape(subtitle)}</text>",
        f'<text x="4" y="{height - 24}" fill="#333">cost centres: {html.escape(centres)}</text>',
        f'<text x="4" y="{height - 8}" fill="#333">self time by library: '
        f"{html.escape(legend)}</text>",
    ]
    for level, x, width, node in boxes:
        y = top_margin + (depth - level - 1) * FRAME_HEIGHT
        share = 100 * node.total / total
        label = f"{node.name} — {node.total} samples, {share:.1f}%"
        parts.append(
            f'<g><title>{html.escape(label)}</title><rect x="{x:.2f}" y="{y}" '
            f'width="{max(width - 0.5, 0.1):.2f}" height="{FRAME_HEIGHT - 1}" '
            f'fill="{_colour(node.name)}" rx="2"/>'
        )
        characters = int((width - 6) / CHAR_WIDTH)
        if characters >= 3:
            text = node.name if len(node.name) <= characters else node.name[: characters - 2] + ".."
            parts.append(
                f'<text x="{x + 3:.2f}" y="{y + FRAME_HEIGHT - 4}">{html.escape(text)}</text>'
            )
        parts.append("</g>")
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.flamegraph", description=__doc__)
    parser.add_argument("raw", type=Path, help="collapsed stacks, as `py-spy record -f raw` writes")
    parser.add_argument("--svg", type=Path)
    parser.add_argument("--title", default="profile")
    parser.add_argument("--subtitle", default="")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    profile = Profile.read(args.raw)
    if args.svg:
        args.svg.write_text(render_svg(profile, title=args.title, subtitle=args.subtitle))
    print(profile.summary(title=args.title, top=args.top))


if __name__ == "__main__":
    main()
