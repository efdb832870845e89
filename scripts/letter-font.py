#!/usr/bin/python3
"""Builds the letter of request's fonts (internal/letter/font/LetterSans*.ttf).

fpdf embeds one TrueType font per style and has no fallback between fonts,
so the scripts a letter must print live in one font: DejaVu Sans (Latin,
Greek, Cyrillic, Arabic, Hebrew, ...) with the Thai block of Noto Sans Thai
added, scaled to DejaVu's units. Only the tables fpdf reads are needed; the
layout tables (GSUB, GPOS, GDEF) and MATH are dropped, as fpdf does not
shape text. The merged font is renamed, as both licences ask of a modified
font (internal/letter/font/LICENSE).

Needs Debian's python3-fonttools and fonts-noto-core, and DejaVu Sans 2.37
(fonts-dejavu-core): python3 scripts/letter-font.py
"""
import os
import sys

from fontTools import subset
from fontTools.merge import Merger
from fontTools.ttLib import TTFont
from fontTools.ttLib.scaleUpem import scale_upem

DEJAVU = os.environ.get("DEJAVU_DIR", "/usr/share/fonts/truetype/dejavu")
NOTO = os.environ.get("NOTO_DIR", "/usr/share/fonts/truetype/noto")
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "internal", "letter", "font")
DROPPED = ("MATH", "GSUB", "GPOS", "GDEF")
THAI = range(0x0E00, 0x0E80)


def build(style, dejavu, thai, tmp):
    t = TTFont(os.path.join(NOTO, thai))
    options = subset.Options()
    options.notdef_outline = True
    options.name_IDs = ["*"]
    sub = subset.Subsetter(options)
    sub.populate(unicodes=THAI)
    sub.subset(t)
    d = TTFont(os.path.join(DEJAVU, dejavu))
    scale_upem(t, d["head"].unitsPerEm)
    for font in (d, t):
        for tag in DROPPED:
            if tag in font:
                del font[tag]
    parts = [os.path.join(tmp, "dejavu.ttf"), os.path.join(tmp, "thai.ttf")]
    d.save(parts[0])
    t.save(parts[1])
    merged = Merger().merge(parts)
    name = merged["name"]
    family, full = "mla-flow Letter Sans", "mla-flow Letter Sans" + (" Bold" if style else "")
    for rec in list(name.names):
        if rec.nameID in (1, 3, 4, 6, 16, 17):
            name.removeNames(nameID=rec.nameID)
    name.setName(family, 1, 3, 1, 0x409)
    name.setName("Bold" if style else "Book", 2, 3, 1, 0x409)
    name.setName(full, 3, 3, 1, 0x409)
    name.setName(full, 4, 3, 1, 0x409)
    name.setName(full.replace(" ", ""), 6, 3, 1, 0x409)
    merged.save(os.path.join(OUT, "LetterSans%s.ttf" % style))


def main():
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        build("", "DejaVuSans.ttf", "NotoSansThai-Regular.ttf", tmp)
        build("-Bold", "DejaVuSans-Bold.ttf", "NotoSansThai-Bold.ttf", tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
