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


def library_of(frame: str) -> str:
    match = _FRAME.match(frame)
    path = match.group("file") if match else frame
    for prefix, name in LIBRARIES:
        if path.startswith(prefix) or f"/{prefix}" in path:
            return name
    return "stdlib"


@dataclass
class Node:
    name: str
    total: int = 0
    children: dict[str, Node] = field(default_factory=dict)


@dataclass
class Profile:
    stacks: Counter[tuple[str, ...]]

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

    def by_library(self) -> Counter[str]:
        """Self time attributed to the library whose code was running."""
        counts: Counter[str] = Counter()
        for stack, count in self.stacks.items():
            counts[library_of(stack[-1])] += count
        return counts

    def summary(self, *, title: str, top: int = 25) -> str:
        samples = self.samples or 1
        lines = [f"# {title}: {self.samples} samples (CPU only; idle time is not sampled)", ""]
        lines += ["## Self time by library", ""]
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
    top_margin, bottom_margin = 48, 24
    height = top_margin + depth * FRAME_HEIGHT + bottom_margin
    legend = "  ".join(
        f"{name} {100 * count / total:.0f}%" for name, count in profile.by_library().most_common(8)
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
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    profile = Profile.read(args.raw)
    if args.svg:
        args.svg.write_text(render_svg(profile, title=args.title))
    print(profile.summary(title=args.title, top=args.top))


if __name__ == "__main__":
    main()
