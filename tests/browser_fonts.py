"""Browser tests' font setup: Chromium sees no CJK font but what the page brings."""

from __future__ import annotations

from pathlib import Path


def fonts_conf(folder: Path) -> Path:
    """A fontconfig file with only matplotlib's DejaVu fonts (no CJK font at all)."""
    import matplotlib

    ttf = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    conf = folder / "fonts.conf"
    conf.write_text('<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n'
                    f"<fontconfig><dir>{ttf}</dir><cachedir>{folder / 'fc-cache'}</cachedir></fontconfig>\n",
                    encoding="utf-8")
    return conf
