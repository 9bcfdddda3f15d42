"""The page's files: served from the package, nothing remote, no inline script, no HTML built from data."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from simulator.explore.app import STATIC, static_files

VENDORED = {"vendor/uPlot.iife.min.js": "19c8d4c6ad88929a79f4ae49d6f7161566dfd0ba3d15cc495e974f787eb78f1f",
            "vendor/uPlot.min.css": "df630c6a8d6f8eeaff264b50f73ce5b114f646ffd9a0bb74f049b0a00135fa04"}


@pytest.mark.parametrize("name, sha256", sorted(VENDORED.items()))
def test_vendored_files_are_the_recorded_release(name, sha256):
    data = (STATIC / name).read_bytes()
    assert hashlib.sha256(data).hexdigest() == sha256
    assert sha256 in (STATIC / "vendor" / "README.md").read_text(encoding="utf-8")
    assert "MIT" in (STATIC / "vendor" / "uPlot-LICENSE.txt").read_text(encoding="utf-8")


def test_every_file_the_page_loads_is_served_from_the_package():
    files = static_files()
    page = files["index.html"][0].decode("utf-8")
    refs = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert refs, "the page loads its scripts and styles"
    for ref in refs:
        assert ref.startswith("/static/"), ref
        assert ref[len("/static/"):] in files, ref
    css = files["explore.css"][0].decode("utf-8")
    assert re.findall(r"url\(([^)]+)\)", css) == ['"/font/cjk.woff2"']


def test_no_remote_origin_and_no_inline_code_in_our_files():
    for name in ("index.html", "util.js", "charts.js", "explore.js", "explore.css"):
        text = (STATIC / name).read_text(encoding="utf-8")
        assert not re.search(r"https?://", text), name
        assert "//cdn" not in text
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    assert not re.search(r"<script(?![^>]*\bsrc=)", page), "an inline script"
    assert "<style" not in page and " style=" not in page and not re.search(r"\son\w+=", page)


def test_the_page_builds_its_dom_with_text_never_html():
    js = "\n".join((STATIC / name).read_text(encoding="utf-8") for name in ("util.js", "charts.js", "explore.js"))
    for unsafe in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function",
                   "setAttribute(\"on", "srcdoc"):
        assert unsafe not in js, unsafe
    assert "textContent" in js


def test_the_package_data_lists_the_static_folders():
    import tomllib

    root = Path(__file__).resolve().parents[2]
    data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["package-data"]
    patterns = data["simulator.explore"]
    for path in STATIC.rglob("*"):
        if path.is_file():
            rel = path.relative_to(STATIC.parent).as_posix()
            assert any(Path(rel).match(p) for p in patterns), rel
