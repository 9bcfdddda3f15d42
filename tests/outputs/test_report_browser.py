"""report.html in a real browser: headless Chromium draws its Chinese without any CJK font
on the machine, from the font subset the page embeds.

Chromium runs with a fontconfig that knows only matplotlib's DejaVu fonts, so no system CJK
font (fonts-noto-cjk or another) can stand in for the embedded one, whatever the machine
has. Three headings are drawn: 平, 凉 and U+E000 (a private-use character no font has, so
always a "tofu" box). Where glyphs are drawn, the three differ; where the font is missing,
all three are the same box. The control page (the same report without the embedded font)
must show that sameness, so the check is known to detect tofu on this machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from simulator.outputs.report import report_html

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                                reason="needs Debian's chromium (.ci/run installs it)")


def _fonts_conf(folder: Path) -> Path:
    import matplotlib

    ttf = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    conf = folder / "fonts.conf"
    conf.write_text('<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n'
                    f"<fontconfig><dir>{ttf}</dir><cachedir>{folder / 'fc-cache'}</cachedir></fontconfig>\n",
                    encoding="utf-8")
    return conf


def _screenshot(page: str, folder: Path, name: str) -> np.ndarray:
    """The page drawn by headless Chromium (no CJK font but the page's own), as RGB pixels."""
    from PIL import Image

    assert CHROMIUM is not None, "chromium is not installed (.ci/run installs it with apt-get)"
    html, png = folder / f"{name}.html", folder / f"{name}.png"
    html.write_text(page, encoding="utf-8")
    env = {**os.environ, "FONTCONFIG_FILE": str(_fonts_conf(folder)), "HOME": str(folder)}
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
                    f"--user-data-dir={folder / ('profile-' + name)}", "--window-size=600,400",
                    f"--screenshot={png}", html.as_uri()],
                   env=env, check=True, timeout=120, capture_output=True)
    return np.asarray(Image.open(png).convert("RGB"), dtype=int)


def _glyphs(pixels: np.ndarray) -> list[np.ndarray]:
    """The ink of each heading (dark text pixels, not the red rule under it), cropped, top to bottom."""
    r, g, b = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    ink = (r + g + b < 3 * 140) & (r - b < 60)
    rows = np.flatnonzero(ink.any(axis=1))
    bands = np.split(rows, np.flatnonzero(np.diff(rows) > 1) + 1) if rows.size else []
    out = []
    for band in bands:
        part = ink[band[0]:band[-1] + 1]
        cols = np.flatnonzero(part.any(axis=0))
        out.append(part[:, cols[0]:cols[-1] + 1])
    return out


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool((a == b).all())


MARKDOWN = "# 平\n\n# 凉\n\n# \ue000\n"


def test_report_html_draws_chinese_without_a_system_cjk_font(tmp_path):
    drawn = _glyphs(_screenshot(report_html(MARKDOWN, {}, lang="zh"), tmp_path, "embedded"))
    tofu = _glyphs(_screenshot(report_html(MARKDOWN, {}, lang="zh", embed_font=False), tmp_path, "control"))

    # the control: without the embedded font this machine draws one box for every character
    assert len(tofu) == 3 and _same(tofu[0], tofu[1]) and _same(tofu[0], tofu[2]), \
        "the browser found a CJK font of its own: the check could not tell glyphs from boxes"
    # the report: 平 and 凉 are two different glyphs, neither of them the box of U+E000
    assert len(drawn) == 3
    ping, liang, box = drawn
    assert not _same(ping, liang) and not _same(ping, box) and not _same(liang, box)
    assert min(ping.sum(), liang.sum()) > 30  # real strokes, not a dot
