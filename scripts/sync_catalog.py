"""Sync offboard/i18n/zh_CN.po with the message templates used in the code.

Usage: python scripts/sync_catalog.py — keeps existing translations, adds new templates
with an empty translation (to fill in the .po file), drops templates no longer used, and
lists what is still untranslated (exit 1 if anything is).
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.support.messages import templates  # noqa: E402

PO = ROOT / "offboard" / "i18n" / "zh_CN.po"


def main() -> int:
    existing: dict[str, str] = {}
    if PO.exists():
        with open(PO, "rb") as fh:
            existing = {m.id: m.string for m in read_po(fh) if m.id}
    catalog = Catalog(locale="zh_CN", project="offboard", charset="utf-8")
    used = templates()
    missing = []
    for template, where in sorted(used.items()):
        text = existing.get(template, "")
        if not text:
            missing.append(f"{where}: {template}")
        catalog.add(template, text, locations=[(where.rsplit(":", 1)[0], int(where.rsplit(":", 1)[1]))])
    with open(PO, "wb") as fh:
        write_po(fh, catalog, width=0, omit_header=False, sort_output=True)
    for line in missing:
        print("untranslated:", line)
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
