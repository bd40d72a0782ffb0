"""A matplotlib figure as an inline <svg> element for the HTML report."""
from __future__ import annotations

import io
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

# Text stays text (a tenth of the size of glyphs drawn as paths); the hash salt fixes the ids,
# so the same report gives the same page.
SVG_STYLE = {"svg.fonttype": "none", "svg.hashsalt": "sessionsim"}


def inline_svg(fig, prefix: str) -> str:
    """The figure's <svg> element, its ids prefixed so that several can share one page."""
    buffer = io.StringIO()
    with plt.rc_context(SVG_STYLE):
        fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    ids = set(re.findall(r'\sid="([^"]+)"', text))
    if not ids:
        return text
    pattern = re.compile(r'(\sid="|#)(' + "|".join(map(re.escape, ids)) + r')(?=["\)])')
    return pattern.sub(lambda m: f"{m.group(1)}{prefix}-{m.group(2)}", text)


def save(fig, path, svgs: dict | None = None, dpi: int = 110) -> "Path":
    """Writes the figure as PNG at `path` and, with `svgs`, keeps its <svg> under the file's name
    for the HTML page; closes it. Returns the path."""
    path = Path(path)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    if svgs is not None:
        svgs[path.name] = inline_svg(fig, path.stem)
    plt.close(fig)
    return path
