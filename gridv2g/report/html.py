"""A self-contained HTML page: summary tables with units, figures embedded as PNG (base64),
small tables, text. One file, no scripts, no external resources, so it renders the same in
any browser and can be mailed as is.

Static figures rather than interactive ones: the report's figures are the same matplotlib
figures the run writes as PNG files, so the two never disagree, and the page needs no
JavaScript library (plotly's would add 3.5 MB to every report). Every text that comes from an
input (case names, bus names, descriptions) is escaped.
"""

from __future__ import annotations

import base64
import html
import io
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from gridv2g.units import DEFAULT_CURRENCY, unit_of

#: resolution of figures [dpi]: a run's PNG files and the page embed the same bytes
EMBED_DPI = 110

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#222;
background:#fafafa}
header{background:#1f3b57;color:#fff;padding:18px 32px}
header h1{margin:0;font-size:1.5em}header p{margin:4px 0 0;opacity:.85}
main{max-width:1100px;margin:0 auto;padding:12px 32px 48px}
nav{background:#fff;border:1px solid #ddd;padding:8px 16px;margin:16px 0;font-size:.92em}
nav a{margin-right:14px;color:#1f3b57}
section{background:#fff;border:1px solid #ddd;margin:18px 0;padding:8px 20px 16px}
h2{color:#1f3b57;border-bottom:1px solid #eee;padding-bottom:4px}
figure{margin:14px 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.9em;color:#555;margin-top:4px}
table{border-collapse:collapse;font-size:.88em;margin:8px 0}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:right}
th{background:#f0f3f6}td.k,th.k{text-align:left}
.note{font-size:.9em;color:#555}.warn{color:#a33;font-weight:600}
"""


def figure_png(fig, dpi: int = EMBED_DPI) -> bytes:
    """A matplotlib figure as PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


def _value(value) -> str:
    if isinstance(value, float | np.floating):
        return "-" if not np.isfinite(value) else f"{value:.6g}"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


class Page:
    """An HTML report built section by section; :meth:`write` writes one file.

    ``page = Page("ieee33_der", "grid result"); page.section("Summary");
    page.summary(result.summary, "EUR"); page.figure(fig, "caption"); page.write(path)``."""

    def __init__(self, title: str, subtitle: str = ""):
        self.title = title
        self.subtitle = subtitle
        self._sections: list[tuple[str, str, list[str]]] = []  # (anchor, heading, parts)

    def section(self, heading: str, text: str = "") -> Page:
        """Start a new section (everything added next goes in it)."""
        anchor = f"s{len(self._sections) + 1}"
        self._sections.append((anchor, heading, []))
        if text:
            self.text(text)
        return self

    def _add(self, part: str) -> None:
        if not self._sections:
            self.section("Contents")
        self._sections[-1][2].append(part)

    def text(self, text: str, cls: str = "") -> Page:
        """A paragraph of plain text (escaped); ``cls="warn"`` stands out, ``"note"`` is small."""
        attr = f' class="{cls}"' if cls else ""
        self._add(f"<p{attr}>{html.escape(str(text))}</p>")
        return self

    def summary(self, summary: dict, currency: str = DEFAULT_CURRENCY, keys=None) -> Page:
        """Headline figures as a (figure, value, unit) table; units from the figure names and
        the case's currency (:func:`gridv2g.units.unit_of`); nested dicts and lists are
        left out (they have their own tables)."""
        rows = []
        for key in keys if keys is not None else summary:
            value = summary.get(key)
            if isinstance(value, dict | list | tuple) or key not in summary:
                continue
            number = isinstance(value, int | float | np.number) and not isinstance(value, bool)
            unit = unit_of(key, currency) if number else ""
            rows.append(
                f'<tr><td class="k">{html.escape(key)}</td><td>{html.escape(_value(value))}</td>'
                f'<td class="k">{html.escape(unit)}</td></tr>'
            )
        head = '<tr><th class="k">figure</th><th>value</th><th class="k">unit</th></tr>'
        self._add(f"<table>{head}{''.join(rows)}</table>")
        return self

    def figure(self, fig, caption: str = "", name: str = "", png: bytes | None = None) -> Page:
        """Embed a matplotlib figure as a PNG (``png``: its bytes when rendered already);
        the caption defaults to the figure's title; ``name`` (the figure's file stem)
        becomes the element's id ``fig-<name>``."""
        if not caption:
            titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
            caption = fig.get_suptitle() or (titles[0] if titles else "")
        data = base64.b64encode(figure_png(fig) if png is None else png).decode("ascii")
        alt = html.escape(caption or "figure", quote=True)
        ident = f' id="fig-{html.escape(name, quote=True)}"' if name else ""
        self._add(
            f'<figure{ident}><img alt="{alt}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )
        return self

    def figures(self, figures: dict, directory=None) -> Page:
        """Embed {file stem: Figure} in order; with ``directory``, each is also written there
        as ``<stem>.png`` from the same rendering (the file and the page hold the same
        bytes)."""
        for stem, fig in figures.items():
            png = figure_png(fig)
            if directory is not None:
                (Path(directory) / f"{stem}.png").write_bytes(png)
            self.figure(fig, name=stem, png=png)
        return self

    def table(self, frame: pd.DataFrame, caption: str = "", max_rows: int = 60) -> Page:
        """A small table (the first ``max_rows`` rows; the caption says when cut)."""
        shown = frame.head(max_rows)
        cut = len(frame) - len(shown)
        note = f" (first {max_rows} of {len(frame)} rows)" if cut > 0 else ""
        body = shown.to_html(float_format=lambda v: f"{v:.6g}", na_rep="-", border=0, escape=True)
        text = html.escape(caption + note)
        self._add(f"<p><b>{text}</b></p>{body}" if text else body)
        return self

    def render(self) -> str:
        """The page as one HTML string."""
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        from gridv2g.version import __version__

        nav = "".join(f'<a href="#{a}">{html.escape(h)}</a>' for a, h, _ in self._sections)
        body = "".join(
            f'<section id="{a}"><h2>{html.escape(h)}</h2>{"".join(parts)}</section>'
            for a, h, parts in self._sections
        )
        sub = html.escape(self.subtitle)
        return (
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>{html.escape(self.title)}</title><style>{_STYLE}</style></head><body>"
            f"<header><h1>{html.escape(self.title)}</h1><p>{sub}</p>"
            f"<p>gridv2g {html.escape(__version__)}, written {stamp}</p></header>"
            f"<main><nav>{nav}</nav>{body}</main></body></html>\n"
        )

    def write(self, path: str | Path) -> Path:
        """Write the page (UTF-8); returns its path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.render(), encoding="utf-8")
        return path
