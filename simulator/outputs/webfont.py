"""A web font for a self-contained page: the subset of the bundled Noto Sans CJK SC that the
page uses, as WOFF2 in an @font-face data URI.

A report mailed to a planner must show its Chinese on a machine without any CJK font (a
fresh Linux desktop, a locked-down office PC): without an embedded font the browser draws
a box for every character. The full font is 16 MB; the subset of the few hundred
characters a report uses is a few tens of kB (fontTools' subsetter, WOFF2 via brotli).
"""

from __future__ import annotations

import base64
import io

#: the CSS family name of the embedded font (listed first in the page's font-family)
FAMILY = "urbsd Noto Sans CJK SC"


def font_subset_woff2(text: str) -> bytes:
    """WOFF2 bytes of the bundled CJK font reduced to the characters of `text`."""
    from fontTools import subset

    from simulator.outputs.charts.style import cjk_font_path

    chars = "".join(sorted(set(text) - set("\r\n\t"))) or " "
    options = subset.Options()
    options.flavor = "woff2"
    options.notdef_outline = True
    options.layout_features = ["*"]
    font = subset.load_font(str(cjk_font_path()), options)
    try:
        subsetter = subset.Subsetter(options)
        subsetter.populate(text=chars)
        subsetter.subset(font)
        buf = io.BytesIO()
        subset.save_font(font, buf, options)
    finally:
        font.close()
    return buf.getvalue()


def font_face_css(text: str, family: str = FAMILY) -> str:
    """An @font-face rule whose source is a data URI of the font subset for `text`."""
    data = base64.b64encode(font_subset_woff2(text)).decode("ascii")
    return (f'@font-face {{ font-family: "{family}"; font-style: normal; font-weight: 400; '
            f'src: url(data:font/woff2;base64,{data}) format("woff2"); }}\n')
