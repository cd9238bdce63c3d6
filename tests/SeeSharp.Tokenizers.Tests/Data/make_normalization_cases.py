#!/usr/bin/env python3
"""Golden data for NormalizationTests: random strings and their NFC/NFD/NFKC/NFKD from Python's unicodedata.
Run: python3 make_normalization_cases.py > normalization_cases.json"""
import json, random, sys, unicodedata as ud
rng = random.Random(20261126)
pools = [
    list(range(0x41, 0x7B)), list(range(0xC0, 0x180)), list(range(0x300, 0x370)),  # Latin, Latin-1/Ext-A, combining
    list(range(0x1100, 0x1113)) + list(range(0x1161, 0x1176)) + list(range(0x11A8, 0x11C3)),  # Hangul jamo
    list(range(0xAC00, 0xAC40)), list(range(0x1E00, 0x1F00)), list(range(0x1F00, 0x2000)),  # syllables, Latin ext add., Greek ext
    list(range(0x2000, 0x2200)), list(range(0xFB00, 0xFB50)), list(range(0xFF00, 0xFFEF)),  # punctuation/letterlike, ligatures, fullwidth
    list(range(0x0900, 0x0980)), list(range(0x0B00, 0x0B80)), list(range(0x0C80, 0x0D00)),  # Indic (two-part vowels)
    list(range(0x3040, 0x3100)), list(range(0xF900, 0xFA70)), [0x1D15E, 0x1D160, 0x1D400, 0x1F600, 0x2F800, 0x1109A, 0x110AB],
    [0x212B, 0x2126, 0x0344, 0x0F73, 0x0F75, 0x0F81, 0x0958, 0x2ADC, 0x1E9B, 0x0323, 0x0301, 0x0308, 0x0345, 0x05B0, 0x0591],
]
cases = []
for _ in range(400):
    s = "".join(chr(rng.choice(rng.choice(pools))) for _ in range(rng.randint(1, 12)))
    cases.append({"s": s, "NFC": ud.normalize("NFC", s), "NFD": ud.normalize("NFD", s),
                  "NFKC": ud.normalize("NFKC", s), "NFKD": ud.normalize("NFKD", s)})
json.dump({"unicode_version": ud.unidata_version, "cases": cases}, sys.stdout, ensure_ascii=True, indent=0)
