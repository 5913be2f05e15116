#!/usr/bin/env python3
"""Independent evaluation corpus: a model of a mid-size Japanese company's file share.

Written from general knowledge of real company documents and of the public check-digit
specifications, WITHOUT reading the scanner's detection rules.

Run:  python3 corpus/independent/generate.py
Rebuilds share/, ground-truth.jsonl and hard-negatives.jsonl from scratch (fixed seeds),
converts some documents with LibreOffice (soffice) and verifies that every recorded value
occurs in the extracted text of the file (or archive member / mail attachment) it names.
"""
from __future__ import annotations

import base64
import binascii
import csv
import datetime as dt
import email.header
import email.utils
import hashlib
import io
import json
import os
import quopri
import re
import shutil
import subprocess
import sys
import tempfile
import unicodedata
import uuid
import zipfile
from pathlib import Path
import random
from xml.etree import ElementTree as ET

HERE = Path(__file__).resolve().parent
SHARE = HERE / "share"
SEED = "minase-seiki-independent-corpus-v1"
FIXED_TS = dt.datetime(2024, 6, 14, 9, 30, 0)


def R(name: str) -> random.Random:
    """A private, deterministic RNG per section (str seeds are hashed with sha512)."""
    return random.Random(f"{SEED}:{name}")


# ---------------------------------------------------------------------------
# Check-digit algorithms (implemented from the public specifications)
# ---------------------------------------------------------------------------

def mynumber_check(first11: str) -> int:
    """個人番号 check digit: weights Qn = n+1 (n<=6), n-5 (n>=7), n counted from the right."""
    s = 0
    for n in range(1, 12):
        p = int(first11[11 - n])
        q = n + 1 if n <= 6 else n - 5
        s += p * q
    r = s % 11
    return 0 if r <= 1 else 11 - r


def is_mynumber(d: str) -> bool:
    return len(d) == 12 and d.isdigit() and mynumber_check(d[:11]) == int(d[11])


def corp_check(base12: str) -> int:
    """法人番号 check digit (the FIRST digit): 9 - (sum Pn*Qn mod 9), Qn = 1 odd n / 2 even n."""
    s = 0
    for n in range(1, 13):
        p = int(base12[12 - n])
        s += p * (1 if n % 2 else 2)
    return 9 - (s % 9)


def is_corp(d: str) -> bool:
    return len(d) == 13 and d.isdigit() and corp_check(d[1:]) == int(d[0])


def luhn_ok(d: str) -> bool:
    tot = 0
    for i, ch in enumerate(reversed(d)):
        v = int(ch)
        if i % 2 == 1:
            v *= 2
            if v > 9:
                v -= 9
        tot += v
    return tot % 10 == 0


def luhn_complete(partial: str) -> str:
    for c in "0123456789":
        if luhn_ok(partial + c):
            return partial + c
    raise AssertionError


def card_brand(d: str) -> str | None:
    """Brand by IIN and length (None if no real brand would issue it)."""
    n = len(d)
    if d[0] == "4" and n in (13, 16, 19):
        return "visa"
    if n == 16 and (51 <= int(d[:2]) <= 55 or 2221 <= int(d[:4]) <= 2720):
        return "mastercard"
    if n == 15 and d[:2] in ("34", "37"):
        return "amex"
    if n == 16 and 3528 <= int(d[:4]) <= 3589:
        return "jcb"
    if n == 14 and d[:2] in ("36", "38") or (n == 14 and 300 <= int(d[:3]) <= 305):
        return "diners"
    if n == 16 and (d[:4] == "6011" or d[:2] == "65"):
        return "discover"
    return None


def is_card(d: str) -> bool:
    return d.isdigit() and 13 <= len(d) <= 19 and card_brand(d) is not None and luhn_ok(d)


def ean_check(first12: str) -> int:
    s = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(first12))
    return (10 - s % 10) % 10


def iban_check(country: str, bban: str) -> str:
    rearr = bban + country + "00"
    num = "".join(str(int(c, 36)) for c in rearr)
    return f"{98 - int(num) % 97:02d}"


def is_iban(s: str) -> bool:
    s = s.replace(" ", "")
    num = "".join(str(int(c, 36)) for c in s[4:] + s[:4])
    return int(num) % 97 == 1


# ---------------------------------------------------------------------------
# Findings recorder
# ---------------------------------------------------------------------------

DIGITS_ONLY = re.compile(r"[^0-9]")


class Rec:
    """Collects (type, value) positives and (type, value, why) decoys for one item."""

    def __init__(self):
        self.pos: dict[tuple[str, str], None] = {}
        self.neg: dict[tuple[str, str], str] = {}

    def p(self, typ: str, value: str) -> str:
        assert value, typ
        self.pos[(typ, value)] = None
        return value

    def n(self, typ: str, value: str, why: str) -> str:
        self.neg.setdefault((typ, value), why)
        return value

    def digits(self, value: str, why: str, shape_types=()) -> str:
        """A number that is NOT sensitive. Records it as a hard negative for every
        checksum type it happens to pass, and for the shape-only types given."""
        d = DIGITS_ONLY.sub("", value)
        if is_mynumber(d):
            self.n("jp-my-number", value, f"{why}; passes the My Number check digit")
        if is_corp(d):
            self.n("jp-corporate-number", value, f"{why}; passes the 法人番号 check digit")
        if is_card(d):
            self.n("credit-card-number", value, f"{why}; Luhn-valid with a card IIN")
        for t in shape_types:
            self.n(t, value, why)
        return value

    def scan(self, text: str, why: str) -> str:
        """Register every checksum-valid digit run inside a non-sensitive string (UUIDs, ids)."""
        for rx in (D12_RE, D13_RE, *CARD_RES):
            for m in rx.finditer(text):
                self.digits(m.group(0), why)
        return text

    def email_decoys(self, text: str, why: str) -> str:
        for m in EMAIL_RE.finditer(text):
            if ("email-address", m.group(0)) not in self.pos:
                self.n("email-address", m.group(0), why)
        return text

    def merge(self, other: "Rec"):
        self.pos.update(other.pos)
        for k, v in other.neg.items():
            self.neg.setdefault(k, v)


class Truth:
    def __init__(self):
        self.items: dict[str, Rec] = {}

    def add(self, path: str, rec: Rec):
        if path in self.items:
            if self.items[path] is not rec:
                self.items[path].merge(rec)
        else:
            self.items[path] = rec

    def drop(self, path: str):
        self.items.pop(path, None)


TRUTH = Truth()


# ---------------------------------------------------------------------------
# Value generators (real-valid shapes and check digits)
# ---------------------------------------------------------------------------

KNOWN_TEST_PANS = {
    "4111111111111111", "4242424242424242", "4012888888881881", "4000056655665556",
    "5555555555554444", "5105105105105100", "5200828282828210", "2223003122003222",
    "378282246310005", "371449635398431", "378734493671000", "3530111333300000",
    "3566002020360505", "30569309025904", "38520000023237", "6011111111111117",
    "6011000990139424", "36227206271667",
}


def gen_mynumber(r: random.Random) -> str:
    while True:
        b = "".join(r.choice("0123456789") for _ in range(11))
        if b[0] != "0" or r.random() < 0.1:
            return b + str(mynumber_check(b))


def fmt_mynumber(d: str, style: str) -> str:
    if style == "space":
        return f"{d[:4]} {d[4:8]} {d[8:]}"
    if style == "hyphen":
        return f"{d[:4]}-{d[4:8]}-{d[8:]}"
    return d


def gen_corp(r: random.Random, kind: str = "company") -> str:
    # Base of a 株式会社 etc.: 4 digits 会社法人等番号 registry office + 2 type + 6 serial.
    if kind == "company":
        base = f"{r.randint(100, 9999):04d}{r.choice(['01', '01', '01', '02', '03'])}{r.randint(1, 999999):06d}"
    else:  # government / other bodies
        base = f"{r.randint(0, 9999):04d}05{r.randint(1, 999999):06d}"
    return str(corp_check(base)) + base


CARD_BINS = {
    "visa": ["4980", "4297", "4539", "4205", "4511", "4716", "4874", "4053"],
    "mastercard": ["5178", "5253", "5412", "5589", "5310", "2221", "2306", "2720", "5523"],
    "jcb": ["3528", "3540", "3556", "3569", "3589", "3543"],
    "amex": ["3715", "3772", "3449", "3782"],
    "diners": ["3600", "3625", "3689"],
    "discover": ["6011", "6500", "6522"],
}
CARD_LEN = {"visa": 16, "mastercard": 16, "jcb": 16, "amex": 15, "diners": 14, "discover": 16}


def gen_card(r: random.Random, brand: str | None = None) -> str:
    brand = brand or r.choice(["visa", "visa", "visa", "mastercard", "mastercard", "jcb", "jcb", "amex", "diners", "discover"])
    while True:
        pre = r.choice(CARD_BINS[brand])
        body = pre + "".join(r.choice("0123456789") for _ in range(CARD_LEN[brand] - len(pre) - 1))
        d = luhn_complete(body)
        if d not in KNOWN_TEST_PANS and len(set(d[4:])) > 3:
            assert is_card(d), d
            return d


def fmt_card(d: str, style: str) -> str:
    sep = {"space": " ", "hyphen": "-"}.get(style)
    if sep is None:
        return d
    if len(d) == 15:
        return sep.join([d[:4], d[4:10], d[10:]])
    if len(d) == 14:
        return sep.join([d[:4], d[4:10], d[10:]])
    return sep.join(d[i:i + 4] for i in range(0, len(d), 4))


def gen_ssn(r: random.Random) -> str:
    while True:
        a = r.randint(1, 899)
        if a == 666:
            continue
        g, s = r.randint(1, 99), r.randint(1, 9999)
        v = f"{a:03d}-{g:02d}-{s:04d}"
        if v not in ("078-05-1120", "219-09-9999", "123-45-6789"):
            return v


def gen_itin(r: random.Random) -> str:
    return f"9{r.randint(0, 99):02d}-{r.choice([70, 71, 72, 73, 75, 78, 79, 80, 83, 88, 90, 92]):02d}-{r.randint(1, 9999):04d}"


def gen_aba(r: random.Random) -> str:
    while True:
        d = [r.randint(0, 9) for _ in range(8)]
        d[0] = r.choice([0, 1, 2, 3])
        w = [3, 7, 1, 3, 7, 1, 3, 7]
        s = sum(a * b for a, b in zip(d, w))
        c = (10 - s % 10) % 10
        return "".join(map(str, d)) + str(c)


# Area code -> (area digits incl. leading 0, local-exchange digits)
AREA_FORMATS = {"03": (4, 4), "06": (4, 4), "045": (3, 4), "044": (3, 4), "048": (3, 4), "047": (3, 4),
                "052": (3, 4), "092": (3, 4), "011": (3, 4), "022": (3, 4), "075": (3, 4), "078": (3, 4),
                "0466": (2, 4), "0263": (2, 4), "0480": (2, 4), "0877": (2, 4)}


def gen_landline(r: random.Random, area: str | None = None) -> tuple[str, str, str]:
    area = area or r.choice(list(AREA_FORMATS))
    a, b = AREA_FORMATS[area]
    mid = str(r.randint(2, 9)) + "".join(r.choice("0123456789") for _ in range(a - 1))
    last = "".join(r.choice("0123456789") for _ in range(b))
    return area, mid, last


def gen_mobile(r: random.Random) -> tuple[str, str, str]:
    pre = r.choice(["090", "090", "080", "080", "070"])
    return pre, str(r.randint(1, 9)) + "".join(r.choice("0123456789") for _ in range(3)), "".join(r.choice("0123456789") for _ in range(4))


def fmt_phone(parts: tuple[str, str, str], style: str = "hyphen") -> str:
    a, b, c = parts
    if style == "hyphen":
        return f"{a}-{b}-{c}"
    if style == "plain":
        return a + b + c
    if style == "paren":
        return f"({a}){b}-{c}"
    if style == "paren2":
        return f"{a}({b}){c}"
    if style == "intl":
        return f"+81-{a[1:]}-{b}-{c}"
    if style == "intl_space":
        return f"+81 {a[1:]} {b} {c}"
    if style == "fullwidth":
        return to_fullwidth(f"{a}-{b}-{c}").replace("-", "－")
    raise ValueError(style)


def gen_tollfree(r: random.Random) -> str:
    if r.random() < 0.7:
        return f"0120-{r.randint(100, 999)}-{r.randint(100, 999)}"
    return f"0800-{r.randint(100, 999)}-{r.randint(1000, 9999)}"


PASSPORT_PREFIX = ["TK", "TR", "TZ", "TS", "TH", "MZ", "MU", "MS", "RZ", "RE", "RH", "TT", "TP"]


def gen_passport(r: random.Random) -> str:
    return r.choice(PASSPORT_PREFIX) + f"{r.randint(0, 9999999):07d}"


# 公安委員会コード (first two digits of the licence number)
DL_PREF = {"北海道": "10", "宮城": "22", "東京": "30", "埼玉": "43", "千葉": "44", "神奈川": "45",
           "静岡": "49", "愛知": "53", "京都": "61", "大阪": "62", "兵庫": "63", "広島": "73", "福岡": "91"}


def gen_dl(r: random.Random, pref_code: str | None = None) -> str:
    pc = pref_code or r.choice(list(DL_PREF.values()))
    yy = r.choice([f"{y % 100:02d}" for y in range(1985, 2023)])
    serial = f"{r.randint(0, 999999):06d}"
    chk = str(r.randint(0, 9))
    reissue = r.choice("0000000112")
    return pc + yy + serial + chk + reissue


def gen_residence(r: random.Random) -> str:
    L = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    return r.choice(L) + r.choice(L) + f"{r.randint(0, 99999999):08d}" + r.choice(L) + r.choice(L)


def gen_bank_account(r: random.Random) -> str:
    return str(r.randint(0, 9)) + f"{r.randint(0, 999999):06d}" if r.random() < 0.3 else f"{r.randint(1000000, 9999999)}"


IBAN_SPECS = {
    # country: builder(r) -> BBAN
    "DE": lambda r: f"{r.choice(['10070000', '37040044', '50010517', '20040000', '70020270', '60050101'])}{r.randint(0, 10**10 - 1):010d}",
    "GB": lambda r: f"{r.choice(['NWBK', 'BARC', 'HBUK', 'LOYD', 'MIDL'])}{r.randint(0, 999999):06d}{r.randint(0, 10**8 - 1):08d}",
    "NL": lambda r: f"{r.choice(['ABNA', 'INGB', 'RABO'])}{r.randint(0, 10**10 - 1):010d}",
    "CH": lambda r: f"{r.choice(['00762', '00230', '08390'])}{r.randint(0, 10**12 - 1):012d}",
    "FR": None,  # built with the RIB key below
    "BE": None,
}


def gen_iban(r: random.Random, country: str | None = None) -> str:
    country = country or r.choice(["DE", "DE", "GB", "GB", "FR", "NL", "CH", "BE"])
    if country == "FR":
        bank, branch, acct = f"{r.choice([30004, 30003, 10278, 20041])}", f"{r.randint(0, 99999):05d}", f"{r.randint(0, 10**11 - 1):011d}"
        key = 97 - ((89 * int(bank) + 15 * int(branch) + 3 * int(acct)) % 97)
        bban = f"{bank}{branch}{acct}{key:02d}"
    elif country == "BE":
        first = r.randint(0, 10**10 - 1)
        chk = first % 97 or 97
        bban = f"{first:010d}{chk:02d}"
    else:
        bban = IBAN_SPECS[country](r)
    iban = country + iban_check(country, bban) + bban
    assert is_iban(iban)
    return iban


def fmt_iban(i: str, grouped: bool) -> str:
    return " ".join(i[k:k + 4] for k in range(0, len(i), 4)) if grouped else i


# Real, public BICs of large banks (bank identifiers, published by the banks themselves)
BICS = {
    "DE": [("Deutsche Bank AG", "DEUTDEFF"), ("Commerzbank AG", "COBADEFFXXX"), ("DZ Bank AG", "GENODEFF"),
           ("UniCredit Bank AG", "HYVEDEMM"), ("Landesbank Baden-Wuerttemberg", "SOLADEST600")],
    "GB": [("Barclays Bank UK PLC", "BARCGB22"), ("HSBC UK Bank plc", "HBUKGB4B"), ("NatWest", "NWBKGB2L"),
           ("Lloyds Bank plc", "LOYDGB2L"), ("Standard Chartered Bank", "SCBLGB2L")],
    "FR": [("BNP Paribas", "BNPAFRPP"), ("Societe Generale", "SOGEFRPP"), ("Credit Agricole CIB", "BSUIFRPP"),
           ("CIC", "CMCIFRPP")],
    "NL": [("ABN AMRO Bank N.V.", "ABNANL2A"), ("ING Bank N.V.", "INGBNL2A"), ("Rabobank", "RABONL2U")],
    "CH": [("UBS Switzerland AG", "UBSWCHZH80A"), ("Zuercher Kantonalbank", "ZKBKCHZZ80A"), ("PostFinance", "POFICHBEXXX")],
    "BE": [("KBC Bank", "KREDBEBB"), ("BNP Paribas Fortis", "GEBABEBB"), ("Belfius Bank", "GKCCBEBB")],
    "US": [("JPMorgan Chase Bank", "CHASUS33"), ("Citibank N.A.", "CITIUS33"), ("Bank of America", "BOFAUS3N"),
           ("Wells Fargo Bank", "WFBIUS6S")],
    "SG": [("DBS Bank Ltd", "DBSSSGSG"), ("OCBC Bank", "OCBCSGSG"), ("United Overseas Bank", "UOVBSGSG")],
    "TH": [("Bangkok Bank", "BKKBTHBK"), ("Kasikornbank", "KASITHBK")],
    "VN": [("Vietcombank", "BFTVVNVX"), ("BIDV", "BIDVVNVX")],
    "CN": [("Bank of China", "BKCHCNBJ"), ("ICBC", "ICBKCNBJ")],
    "JP": [("Mizuho Bank", "MHCBJPJT"), ("MUFG Bank", "BOTKJPJT"), ("Sumitomo Mitsui Banking Corporation", "SMBCJPJT"),
           ("Resona Bank", "DIWAJPJT")],
}


# --- secrets --------------------------------------------------------------
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
UPPER_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def rs(r: random.Random, n: int, alphabet: str = ALNUM) -> str:
    return "".join(r.choice(alphabet) for _ in range(n))


def b62(n: int, width: int) -> str:
    out = ""
    while n:
        n, m = divmod(n, 62)
        out = B62[m] + out
    return out.rjust(width, "0")


def gen_aws_key_id(r):
    return "AKIA" + rs(r, 16, UPPER_ALNUM)


def gen_aws_secret(r):
    return rs(r, 40, ALNUM + "/+")


def gen_github(r, kind="ghp"):
    if kind == "pat":
        return "github_pat_11" + rs(r, 20, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") + "_" + rs(r, 59)
    body = rs(r, 30)
    return f"{kind}_{body}{b62(binascii.crc32(body.encode()), 6)}"


def gen_gitlab(r):
    return "glpat-" + rs(r, 20, ALNUM + "_-")


def gen_slack_token(r, kind="xoxb"):
    if kind == "xoxb":
        return f"xoxb-{r.randint(10**10, 10**13 - 1)}-{r.randint(10**12, 10**13 - 1)}-{rs(r, 24)}"
    if kind == "xoxp":
        return f"xoxp-{r.randint(10**10, 10**13 - 1)}-{r.randint(10**10, 10**13 - 1)}-{r.randint(10**12, 10**13 - 1)}-{rs(r, 32, '0123456789abcdef')}"
    return f"xapp-1-A{rs(r, 10, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789')}-{r.randint(10**12, 10**13 - 1)}-{rs(r, 64, '0123456789abcdef')}"


def gen_slack_webhook(r):
    return (f"https://hooks.slack.com/services/T{rs(r, 8, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789')}"
            f"/B{rs(r, 10, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789')}/{rs(r, 24)}")


def b64url(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).decode().rstrip("=")


def gen_jwt(r, sub: str, email_addr: str | None = None, alg: str = "HS256", iat: int | None = None) -> str:
    hdr = {"alg": alg, "typ": "JWT"} if alg == "HS256" else {"alg": alg, "kid": rs(r, 16, "0123456789abcdef"), "typ": "JWT"}
    iat = iat or 1718150400 + r.randint(0, 400000)
    payload = {"sub": sub, "iss": r.choice(["https://auth.minase-seiki.co.jp", "member-portal", "order-api"]),
               "iat": iat, "exp": iat + r.choice([900, 3600, 86400])}
    if email_addr:
        payload["email"] = email_addr
    if r.random() < 0.5:
        payload["roles"] = r.choice([["user"], ["admin"], ["operator", "viewer"]])
    sig = bytes(r.getrandbits(8) for _ in range(32 if alg == "HS256" else 256))
    enc = lambda o: b64url(json.dumps(o, separators=(",", ":")).encode())
    return f"{enc(hdr)}.{enc(payload)}.{b64url(sig)}"


def gen_google_key(r):
    return "AIzaSy" + rs(r, 33, ALNUM + "_-")


def gen_stripe(r):
    return "sk_live_" + rs(r, r.choice([24, 99]))


def gen_npm(r):
    return "npm_" + rs(r, 36)


def gen_openai(r, kind="proj"):
    if kind == "proj":
        return "sk-proj-" + rs(r, 74, ALNUM + "_-") + "T3BlbkFJ" + rs(r, 74, ALNUM + "_-")
    return "sk-" + rs(r, 20) + "T3BlbkFJ" + rs(r, 20)


def gen_password(r, n: int | None = None, url_safe: bool = False) -> str:
    n = n or r.randint(10, 18)
    sym = "-_.!*" if url_safe else "!#$%&*-_=+?@^"
    while True:
        pw = rs(r, n - 2) + r.choice(sym) + r.choice("0123456789")
        pw = "".join(r.sample(pw, len(pw)))
        if pw[0] not in "#-=" and re.search(r"[A-Z]", pw) and re.search(r"[a-z]", pw):
            return pw


def pem_block(label: str, der: bytes, width: int = 64) -> str:
    b = base64.b64encode(der).decode()
    lines = [b[i:i + width] for i in range(0, len(b), width)]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----"


def gen_private_key(r, kind: str = "rsa") -> str:
    rnd = lambda n: bytes(r.getrandbits(8) for _ in range(n))
    if kind == "rsa":  # PKCS#1 RSA 2048
        der = bytes.fromhex("308204a40201000282010100") + rnd(1192 - 12)
        return pem_block("RSA PRIVATE KEY", der)
    if kind == "pkcs8":
        der = bytes.fromhex("308204bd020100300d06092a864886f70d0101010500048204a7308204a30201000282010100") + rnd(1217 - 38)
        return pem_block("PRIVATE KEY", der)
    if kind == "ec":
        der = bytes.fromhex("30770201010420") + rnd(32) + bytes.fromhex("a00a06082a8648ce3d030107a144034200") + b"\x04" + rnd(64)
        return pem_block("EC PRIVATE KEY", der)
    if kind == "openssh":
        der = b"openssh-key-v1\x00" + b"\x00\x00\x00\x04none\x00\x00\x00\x04none\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x33\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20" + rnd(32) + rnd(200)
        return pem_block("OPENSSH PRIVATE KEY", der, width=70)
    raise ValueError(kind)


def gen_ipv4_private(r):
    k = r.random()
    if k < 0.5:
        return f"10.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(2, 254)}"
    if k < 0.8:
        return f"192.168.{r.randint(0, 255)}.{r.randint(2, 254)}"
    return f"172.{r.randint(16, 31)}.{r.randint(0, 255)}.{r.randint(2, 254)}"


PUBLIC_V4_PREFIXES = ["153.120", "133.242", "210.140", "219.94", "124.33", "126.12", "106.72", "182.48", "118.27",
                      "114.160", "220.100", "27.85", "60.34", "61.205", "101.102", "49.98", "36.12", "180.30", "111.89", "14.8"]


def gen_ipv4_public(r):
    return f"{r.choice(PUBLIC_V4_PREFIXES)}.{r.randint(0, 255)}.{r.randint(1, 254)}"


def gen_ipv6(r):
    k = r.random()
    h = lambda: f"{r.randint(0, 0xffff):x}"
    if k < 0.5:
        return f"{r.choice(['2400:4050', '240b:10', '2404:7a80', '2409:10', '240f:6c'])}:{h()}:{h()}:{h()}:{h()}:{h()}:{h()}".replace("::", ":0:")
    if k < 0.75:
        # a link-local EUI-64 address: xxxx:xxff:fexx:xxxx (each group at most four hex digits)
        return f"fe80::{h()}:{r.randint(0, 255):x}ff:fe{r.randint(0, 255):02x}:{h()}"
    return f"fd{r.randint(0, 255):02x}:{h()}:{h()}:{r.randint(1, 9)}::{r.randint(2, 200):x}"


def to_fullwidth(s: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else ("\u3000" if c == " " else c) for c in s)


_HW = {}
for _cp in range(0xFF61, 0xFFA0):
    _fw = unicodedata.normalize("NFKC", chr(_cp))
    if len(_fw) == 1:
        _HW.setdefault(_fw, chr(_cp))


def to_halfwidth_kana(s: str) -> str:
    out = []
    for ch in s:
        if ch in _HW:
            out.append(_HW[ch])
            continue
        dec = unicodedata.normalize("NFD", ch)
        if len(dec) == 2 and dec[0] in _HW and dec[1] in "\u3099\u309a":
            out.append(_HW[dec[0]] + ("\uff9e" if dec[1] == "\u3099" else "\uff9f"))
        elif ch == "\u3000":
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


# ---------------------------------------------------------------------------
# The company and its people
# ---------------------------------------------------------------------------

COMPANY = "株式会社ミナセ精機"
COMPANY_EN = "Minase Seiki Co., Ltd."
DOMAIN = "minase-seiki.co.jp"

SURNAMES = [("佐藤", "サトウ", "sato"), ("鈴木", "スズキ", "suzuki"), ("高橋", "タカハシ", "takahashi"), ("田中", "タナカ", "tanaka"),
            ("伊藤", "イトウ", "ito"), ("渡辺", "ワタナベ", "watanabe"), ("山本", "ヤマモト", "yamamoto"), ("中村", "ナカムラ", "nakamura"),
            ("小林", "コバヤシ", "kobayashi"), ("加藤", "カトウ", "kato"), ("吉田", "ヨシダ", "yoshida"), ("山田", "ヤマダ", "yamada"),
            ("佐々木", "ササキ", "sasaki"), ("山口", "ヤマグチ", "yamaguchi"), ("松本", "マツモト", "matsumoto"), ("井上", "イノウエ", "inoue"),
            ("木村", "キムラ", "kimura"), ("林", "ハヤシ", "hayashi"), ("斎藤", "サイトウ", "saito"), ("清水", "シミズ", "shimizu"),
            ("山崎", "ヤマザキ", "yamazaki"), ("森", "モリ", "mori"), ("池田", "イケダ", "ikeda"), ("橋本", "ハシモト", "hashimoto"),
            ("阿部", "アベ", "abe"), ("石川", "イシカワ", "ishikawa"), ("山下", "ヤマシタ", "yamashita"), ("中島", "ナカジマ", "nakajima"),
            ("石井", "イシイ", "ishii"), ("小川", "オガワ", "ogawa"), ("前田", "マエダ", "maeda"), ("岡田", "オカダ", "okada"),
            ("長谷川", "ハセガワ", "hasegawa"), ("藤田", "フジタ", "fujita"), ("後藤", "ゴトウ", "goto"), ("近藤", "コンドウ", "kondo"),
            ("村上", "ムラカミ", "murakami"), ("遠藤", "エンドウ", "endo"), ("青木", "アオキ", "aoki"), ("坂本", "サカモト", "sakamoto"),
            ("福田", "フクダ", "fukuda"), ("太田", "オオタ", "ota"), ("西村", "ニシムラ", "nishimura"), ("藤井", "フジイ", "fujii"),
            ("岡本", "オカモト", "okamoto"), ("松田", "マツダ", "matsuda"), ("中川", "ナカガワ", "nakagawa"), ("原田", "ハラダ", "harada"),
            ("小野", "オノ", "ono"), ("竹内", "タケウチ", "takeuchi"), ("金子", "カネコ", "kaneko"), ("和田", "ワダ", "wada"),
            ("中山", "ナカヤマ", "nakayama"), ("石田", "イシダ", "ishida"), ("上田", "ウエダ", "ueda"), ("森田", "モリタ", "morita")]
MALE = [("太郎", "タロウ", "taro"), ("健太", "ケンタ", "kenta"), ("大輔", "ダイスケ", "daisuke"), ("翔太", "ショウタ", "shota"),
        ("拓也", "タクヤ", "takuya"), ("直樹", "ナオキ", "naoki"), ("浩二", "コウジ", "koji"), ("誠", "マコト", "makoto"),
        ("隆", "タカシ", "takashi"), ("亮", "リョウ", "ryo"), ("健一", "ケンイチ", "kenichi"), ("和也", "カズヤ", "kazuya"),
        ("蓮", "レン", "ren"), ("悠斗", "ユウト", "yuto"), ("大樹", "ダイキ", "daiki"), ("修", "オサム", "osamu"),
        ("哲也", "テツヤ", "tetsuya"), ("裕介", "ユウスケ", "yusuke"), ("達也", "タツヤ", "tatsuya"), ("雄一", "ユウイチ", "yuichi"),
        ("博", "ヒロシ", "hiroshi"), ("剛", "ツヨシ", "tsuyoshi"), ("陽太", "ヨウタ", "yota"), ("智也", "トモヤ", "tomoya")]
FEMALE = [("花子", "ハナコ", "hanako"), ("美咲", "ミサキ", "misaki"), ("陽子", "ヨウコ", "yoko"), ("恵", "メグミ", "megumi"),
          ("由美", "ユミ", "yumi"), ("真由美", "マユミ", "mayumi"), ("彩", "アヤ", "aya"), ("愛", "アイ", "ai"),
          ("優子", "ユウコ", "yuko"), ("直美", "ナオミ", "naomi"), ("明美", "アケミ", "akemi"), ("さくら", "サクラ", "sakura"),
          ("結衣", "ユイ", "yui"), ("葵", "アオイ", "aoi"), ("千尋", "チヒロ", "chihiro"), ("奈々", "ナナ", "nana"),
          ("久美子", "クミコ", "kumiko"), ("麻衣", "マイ", "mai"), ("沙織", "サオリ", "saori"), ("智子", "トモコ", "tomoko"),
          ("舞", "マイ", "mai"), ("裕子", "ユウコ", "yuko"), ("香織", "カオリ", "kaori"), ("美穂", "ミホ", "miho")]

# (prefecture, city, zip3 choices, towns, home area code, licence prefix)
PLACES = [
    ("東京都", "品川区", ["140", "141", "142"], ["東品川", "大崎", "西五反田", "戸越", "南大井"], "03", "30"),
    ("東京都", "世田谷区", ["154", "156", "157", "158"], ["三軒茶屋", "経堂", "用賀", "桜新町", "成城"], "03", "30"),
    ("東京都", "大田区", ["143", "144", "146"], ["蒲田", "大森北", "田園調布", "池上"], "03", "30"),
    ("東京都", "練馬区", ["176", "177", "178"], ["豊玉北", "石神井町", "大泉学園町"], "03", "30"),
    ("東京都", "江東区", ["135", "136"], ["豊洲", "亀戸", "東陽", "大島"], "03", "30"),
    ("神奈川県", "横浜市港北区", ["222", "223"], ["日吉", "綱島西", "新横浜", "大倉山"], "045", "45"),
    ("神奈川県", "川崎市中原区", ["211"], ["小杉町", "木月", "新丸子町"], "044", "45"),
    ("神奈川県", "藤沢市", ["251", "252"], ["鵠沼海岸", "辻堂元町", "湘南台"], "0466", "45"),
    ("埼玉県", "さいたま市浦和区", ["330"], ["高砂", "常盤", "北浦和"], "048", "43"),
    ("千葉県", "船橋市", ["273", "274"], ["本町", "習志野台", "前原西"], "047", "44"),
    ("大阪府", "大阪市北区", ["530", "531"], ["梅田", "天神橋", "中崎西"], "06", "62"),
    ("大阪府", "吹田市", ["564", "565"], ["江坂町", "千里山西", "山田東"], "06", "62"),
    ("愛知県", "名古屋市中区", ["460"], ["栄", "丸の内", "大須"], "052", "53"),
    ("福岡県", "福岡市博多区", ["812"], ["博多駅前", "住吉", "千代"], "092", "91"),
    ("北海道", "札幌市中央区", ["060", "064"], ["北一条西", "南三条西", "宮の森"], "011", "10"),
    ("宮城県", "仙台市青葉区", ["980", "981"], ["一番町", "国分町", "上杉"], "022", "22"),
    ("京都府", "京都市左京区", ["606"], ["下鴨", "北白川", "岡崎"], "075", "61"),
    ("兵庫県", "神戸市中央区", ["650", "651"], ["三宮町", "元町通", "北野町"], "078", "63"),
]
BUILDINGS = ["", "", "", "", "コーポ{t}", "{t}ハイツ", "パークハウス{t}", "メゾン{t}", "グランドール{t}", "レジデンス{t}"]

PREF_KANA = {"東京都": "トウキョウト", "神奈川県": "カナガワケン", "埼玉県": "サイタマケン", "千葉県": "チバケン", "大阪府": "オオサカフ",
             "愛知県": "アイチケン", "福岡県": "フクオカケン", "北海道": "ホッカイドウ", "宮城県": "ミヤギケン", "京都府": "キョウトフ", "兵庫県": "ヒョウゴケン"}
CITY_KANA = {"品川区": "シナガワク", "世田谷区": "セタガヤク", "大田区": "オオタク", "練馬区": "ネリマク", "江東区": "コウトウク",
             "横浜市港北区": "ヨコハマシコウホクク", "川崎市中原区": "カワサキシナカハラク", "藤沢市": "フジサワシ", "さいたま市浦和区": "サイタマシウラワク",
             "船橋市": "フナバシシ", "大阪市北区": "オオサカシキタク", "吹田市": "スイタシ", "名古屋市中区": "ナゴヤシナカク", "福岡市博多区": "フクオカシハカタク",
             "札幌市中央区": "サッポロシチュウオウク", "仙台市青葉区": "センダイシアオバク", "京都市左京区": "キョウトシサキョウク", "神戸市中央区": "コウベシチュウオウク"}

DEPTS = ["総務部", "人事部", "経理部", "営業第一部", "営業第二部", "開発部", "製造部", "品質保証部", "情報システム部", "購買部", "物流センター"]
TITLES = ["", "", "", "", "", "主任", "主任", "係長", "課長", "部長"]

BANKS = [("みずほ銀行", "0001", "ミズホ"), ("三菱UFJ銀行", "0005", "ミツビシユーエフジエイ"), ("三井住友銀行", "0009", "ミツイスミトモ"),
         ("りそな銀行", "0010", "リソナ"), ("横浜銀行", "0138", "ヨコハマ"), ("千葉銀行", "0134", "チバ"), ("楽天銀行", "0036", "ラクテン"),
         ("住信SBIネット銀行", "0038", "スミシンエスビーアイネツト"), ("城南信用金庫", "1344", "ジヨウナンシンキン"), ("静岡銀行", "0149", "シズオカ")]
BRANCHES = [("本店", "ホンテン"), ("新宿支店", "シンジユク"), ("渋谷支店", "シブヤ"), ("品川支店", "シナガワ"), ("五反田支店", "ゴタンダ"),
            ("横浜駅前支店", "ヨコハマエキマエ"), ("梅田支店", "ウメダ"), ("名古屋支店", "ナゴヤ"), ("川崎支店", "カワサキ"),
            ("藤沢支店", "フジサワ"), ("大崎支店", "オオサキ"), ("蒲田支店", "カマタ"), ("浦和支店", "ウラワ"), ("船橋支店", "フナバシ")]


class Person:
    pass


def make_people(n: int = 1200) -> list[Person]:
    r = R("people")
    used_local: dict[str, int] = {}
    people = []
    emp_ids = r.sample(range(100000, 999999), n)
    branch_codes = {b[0]: f"{r.randint(1, 899):03d}" for b in BRANCHES}
    for i in range(n):
        p = Person()
        p.gender = r.choice("MF")
        p.sei, p.sei_kana, p.sei_r = r.choice(SURNAMES)
        p.mei, p.mei_kana, p.mei_r = r.choice(MALE if p.gender == "M" else FEMALE)
        p.name = f"{p.sei}　{p.mei}" if r.random() < 0.5 else f"{p.sei} {p.mei}"
        p.name_plain = f"{p.sei}{p.mei}"
        p.kana = f"{p.sei_kana} {p.mei_kana}"
        p.emp_id = f"{emp_ids[i]}"
        p.birth = dt.date(1960, 1, 1) + dt.timedelta(days=r.randint(0, 365 * 43))
        p.hire = max(p.birth + dt.timedelta(days=365 * 22), dt.date(1985, 4, 1)) + dt.timedelta(days=r.randint(0, 365 * 15))
        if p.hire > dt.date(2024, 4, 1):
            p.hire = dt.date(2024, 4, 1)
        p.dept, p.title = r.choice(DEPTS), r.choice(TITLES)
        pref, city, zips, towns, area, dlp = r.choice(PLACES)
        p.pref, p.city, p.area_code, p.dl_pref = pref, city, area, dlp
        p.zip = f"{r.choice(zips)}-{r.randint(0, 9999):04d}"
        bld = r.choice(BUILDINGS).format(t=r.choice(towns)[:2])
        p.address = f"{pref}{city}{r.choice(towns)}{r.randint(1, 5)}丁目{r.randint(1, 30)}番{r.randint(1, 20)}号" + (f" {bld} {r.randint(1, 12)}0{r.randint(1, 9)}号室" if bld else "")
        p.home = gen_landline(r, area) if r.random() < 0.45 else None
        p.mobile = gen_mobile(r) if r.random() < 0.9 else None
        local = r.choice([f"{p.sei_r}.{p.mei_r}", f"{p.mei_r[0]}.{p.sei_r}", f"{p.sei_r}-{p.mei_r[0]}", f"{p.sei_r}{p.mei_r[0]}"])
        k = used_local.get(local, 0)
        used_local[local] = k + 1
        p.email = (local if k == 0 else f"{local}{k + 1}") + "@" + DOMAIN
        p.private_email = f"{p.mei_r}.{p.sei_r}{r.randint(1, 999)}@" + r.choice(["gmail.com", "yahoo.co.jp", "docomo.ne.jp", "icloud.com", "outlook.jp", "ezweb.ne.jp"])
        p.mynumber = gen_mynumber(r)
        p.dependents = []
        for _ in range(r.choice([0, 0, 1, 1, 2, 3])):
            rel = "配偶者" if not p.dependents and r.random() < 0.7 else r.choice(["子", "子", "父", "母"])
            g = ("F" if p.gender == "M" else "M") if rel == "配偶者" else r.choice("MF")
            mei = r.choice(MALE if g == "M" else FEMALE)
            p.dependents.append((f"{p.sei}　{mei[0]}", f"{p.sei_kana} {mei[1]}", rel, gen_mynumber(r)))
        bank = r.choice(BANKS)
        br = r.choice(BRANCHES)
        p.bank = (bank[0], bank[1], br[0], branch_codes[br[0]], r.choice(["普通"] * 9 + ["当座"]), gen_bank_account(r), bank[2], br[1])
        p.passport = gen_passport(r) if r.random() < 0.4 else None
        p.dl = gen_dl(r, dlp) if r.random() < 0.8 else None
        p.salary = r.randrange(210000, 780000, 500)
        people.append(p)
    return people


PEOPLE = make_people()


FOREIGN = [("NGUYEN", "VAN AN", "ベトナム"), ("TRAN", "THI HOA", "ベトナム"), ("LE", "MINH TUAN", "ベトナム"), ("PHAM", "THI LAN", "ベトナム"),
           ("WANG", "LEI", "中国"), ("LI", "NA", "中国"), ("ZHANG", "WEI", "中国"), ("CHEN", "JING", "中国"),
           ("SANTOS", "MARIA CRISTINA", "フィリピン"), ("REYES", "JOHN PAUL", "フィリピン"), ("GURUNG", "RAM", "ネパール"),
           ("TAMANG", "SITA", "ネパール"), ("KIM", "MIN JUN", "韓国"), ("PARK", "JI YEON", "韓国"), ("SILVA", "LUCAS", "ブラジル"),
           ("SARI", "DEWI", "インドネシア"), ("PUTRA", "ADI", "インドネシア"), ("AUNG", "KYAW", "ミャンマー")]
STATUSES = ["技術・人文知識・国際業務", "技術・人文知識・国際業務", "特定技能1号", "技能実習2号", "永住者", "家族滞在", "留学", "定住者", "高度専門職1号ロ"]

# Customers / suppliers
CO_NAMES = [("東和商事", "towa-shoji"), ("北辰工業", "hokushin-kogyo"), ("大和ロジテック", "yamato-logitech"), ("三栄電機", "san-ei-denki"),
            ("日興テクノ", "nikko-techno"), ("丸菱産業", "marubishi"), ("グリーンフィールド", "greenfield"), ("アサヒ物流", "asahi-butsuryu"),
            ("新光精密", "shinko-seimitsu"), ("富士見システム", "fujimi-sys"), ("中央化成", "chuo-kasei"), ("さくらデザイン", "sakura-design"),
            ("関東電設", "kanto-densetsu"), ("ヤマブキ食品", "yamabuki"), ("西日本メディカル", "nishinihon-med"), ("オリオン技研", "orion-giken"),
            ("協和プラスチック", "kyowa-plastic"), ("瑞穂建設", "mizuho-kensetsu"), ("テクノブリッジ", "technobridge"), ("明星印刷", "myojo-print"),
            ("湘南マテリアル", "shonan-material"), ("東洋ソリューションズ", "toyo-sol"), ("ミドリ環境サービス", "midori-kankyo"),
            ("ハヤテ運輸", "hayate-unyu"), ("光陽電子", "koyo-denshi"), ("エムケー通商", "mk-tsusho"), ("ナカノ鉄工所", "nakano-tekko"),
            ("ベイサイドホテル", "bayside-hotel"), ("アオバ不動産", "aoba-fudosan"), ("セントラル警備保障", "central-keibi"),
            ("トキワ製薬", "tokiwa-pharma"), ("ユニオン事務機", "union-jimuki"), ("弥生クリエイト", "yayoi-create"), ("大成機械", "taisei-kikai"),
            ("常盤ネットワークス", "tokiwa-net"), ("日向ケミカル", "hyuga-chem"), ("昭栄興産", "shoei-kosan"), ("リバーサイド商会", "riverside")]


class Company:
    pass


def make_companies() -> list[Company]:
    r = R("companies")
    out = []
    for i, (nm, dom) in enumerate(CO_NAMES):
        c = Company()
        form = r.choice(["株式会社", "株式会社", "株式会社", "有限会社", "合同会社"])
        c.name = f"{form}{nm}" if r.random() < 0.6 else f"{nm}{form}"
        c.short = nm
        c.domain = f"{dom}.co.jp" if form != "合同会社" else f"{dom}.jp"
        c.corp = gen_corp(r)
        c.invoice = ("T" + c.corp) if r.random() < 0.88 else None
        pref, city, zips, towns, area, _ = r.choice(PLACES)
        c.zip = f"{r.choice(zips)}-{r.randint(0, 9999):04d}"
        c.address = f"{pref}{city}{r.choice(towns)}{r.randint(1, 5)}-{r.randint(1, 30)}-{r.randint(1, 20)}"
        c.tel = gen_landline(r, area)
        c.fax = (c.tel[0], c.tel[1], f"{(int(c.tel[2]) + r.randint(1, 9)) % 10000:04d}")
        sei = r.choice(SURNAMES)
        mei = r.choice(MALE + FEMALE)
        c.contact = f"{sei[0]} {mei[0]}"
        c.contact_mail = f"{r.choice([sei[2], mei[2][0] + '.' + sei[2], sei[2] + '.' + mei[2]])}@{c.domain}"
        c.contact_mobile = gen_mobile(r)
        bank, br = r.choice(BANKS), r.choice(BRANCHES)
        c.bank = (bank[0], br[0], r.choice(["普通", "普通", "当座"]), gen_bank_account(r))
        c.code = f"C{10000 + i * 37:05d}"
        out.append(c)
    return out


COMPANIES = make_companies()
OWN_CORP = gen_corp(R("own"))
OWN_TEL = ("03", "5789", "4100")
OWN_FAX = ("03", "5789", "4109")
OWN_BANK = ("みずほ銀行", "大崎支店", "普通", "2847163")


# ---------------------------------------------------------------------------
# Writers
# ---------------------------------------------------------------------------

FILES: dict[str, bytes] = {}       # logical path ("share/...") -> bytes, written at the end
TEXT_ENC: dict[str, str] = {}      # logical path (incl. members) -> text encoding
CONVERT: list[tuple[str, str, bytes]] = []  # (target logical path, source ext, source bytes)
ZIP_DT = (2024, 6, 14, 9, 30, 0)


def emit(path: str, data: bytes, rec: Rec | None = None, enc: str | None = None):
    assert path.startswith("share/") and path not in FILES, path
    FILES[path] = data
    if rec is not None:
        TRUTH.add(path, rec)
    if enc:
        TEXT_ENC[path] = enc


def text_bytes(text: str, enc: str, crlf: bool = False) -> bytes:
    if crlf:
        text = text.replace("\r\n", "\n").replace("\n", "\r\n")
    return text.encode(enc)


def csv_text(rows, delimiter=",", quote_all=False) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\n",
                   quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)
    for row in rows:
        w.writerow(["" if v is None else v for v in row])
    return buf.getvalue()


def normalize_zip(data: bytes) -> bytes:
    """Rewrite a zip container (docx/xlsx/pptx) with fixed timestamps, same members/order."""
    zin = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zi = zipfile.ZipInfo(info.filename, ZIP_DT)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            body = zin.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"(<dcterms:(?:modified|created)[^>]*>)[^<]*(</dcterms:)", rb"\g<1>2024-06-14T00:30:00Z\g<2>", body)
            zout.writestr(zi, body)
    return out.getvalue()


def make_zip(members: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members:
            zi = zipfile.ZipInfo(name, ZIP_DT)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            z.writestr(zi, data)
    return out.getvalue()


def make_xlsx(sheets, widths=None, landscape=False) -> bytes:
    """sheets: list of (title, rows). Cells may be str/int/float/None or ('num0', int) for a
    number stored numerically with format '0' (how people keep My Numbers in Excel)."""
    import openpyxl
    from openpyxl.styles import Font, PatternFill
    wb = openpyxl.Workbook()
    wb.properties.creator = "minase"
    wb.properties.created = FIXED_TS
    wb.properties.modified = FIXED_TS
    wb.remove(wb.active)
    for si, (title, rows) in enumerate(sheets):
        ws = wb.create_sheet(title)
        hdr_row = None
        for ri, row in enumerate(rows, 1):
            for ci, v in enumerate(row, 1):
                if v is None:
                    continue
                if isinstance(v, tuple) and v[0] == "num0":
                    c = ws.cell(ri, ci, int(v[1]))
                    c.number_format = "0"
                elif isinstance(v, tuple) and v[0] == "hdr":
                    c = ws.cell(ri, ci, v[1])
                    c.font = Font(bold=True)
                    c.fill = PatternFill("solid", fgColor="DDEBF7")
                    hdr_row = ri
                else:
                    ws.cell(ri, ci, v)
        # column widths: wide enough that LibreOffice never clips a value
        maxw: dict[int, int] = {}
        for row in rows:
            for ci, v in enumerate(row, 1):
                s = str(v[1] if isinstance(v, tuple) else ("" if v is None else v))
                w = sum(2 if ord(ch) > 0x2000 else 1 for ch in s)
                maxw[ci] = max(maxw.get(ci, 0), w)
        from openpyxl.utils import get_column_letter
        for ci, w in maxw.items():
            ws.column_dimensions[get_column_letter(ci)].width = min(max(8, w * 1.15 + 2), 120)
        if hdr_row:
            ws.freeze_panes = ws.cell(hdr_row + 1, 1)
        if landscape:
            ws.page_setup.orientation = "landscape"
            ws.page_setup.fitToWidth = 1
            ws.page_setup.fitToHeight = 0
            ws.sheet_properties.pageSetUpPr.fitToPage = True
    buf = io.BytesIO()
    wb.save(buf)
    return normalize_zip(buf.getvalue())


def H(*names):
    """Header row cells (bold, shaded)."""
    return [("hdr", n) for n in names]


class Doc:
    """Thin python-docx wrapper."""

    def __init__(self, landscape=False, font="IPAMincho"):
        import docx
        from docx.shared import Pt
        from docx.oxml.ns import qn
        self.d = docx.Document()
        st = self.d.styles["Normal"]
        st.font.name = font
        st.font.size = Pt(10.5)
        st.element.rPr.rFonts.set(qn("w:eastAsia"), font)
        cp = self.d.core_properties
        cp.author, cp.created, cp.modified, cp.last_modified_by = "minase", FIXED_TS, FIXED_TS, "minase"
        if landscape:
            from docx.enum.section import WD_ORIENT
            s = self.d.sections[0]
            s.orientation = WD_ORIENT.LANDSCAPE
            s.page_width, s.page_height = s.page_height, s.page_width
        for s in self.d.sections:
            from docx.shared import Cm
            s.left_margin = s.right_margin = Cm(1.8)

    def h(self, text, level=1):
        self.d.add_heading(text, level)

    def para(self, text, bold=False, align=None):
        p = self.d.add_paragraph()
        run = p.add_run(text)
        run.bold = bold
        if align == "right":
            from docx.enum.text import WD_ALIGN_PARAGRAPH
            p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        elif align == "center":
            from docx.enum.text import WD_ALIGN_PARAGRAPH
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        return p

    def table(self, rows, header=True, widths_cm=None, font_pt=None):
        from docx.shared import Cm, Pt
        t = self.d.add_table(rows=len(rows), cols=len(rows[0]))
        t.style = "Table Grid"
        for i, row in enumerate(rows):
            for j, v in enumerate(row):
                cell = t.cell(i, j)
                cell.text = "" if v is None else str(v)
                if font_pt or (header and i == 0):
                    for p in cell.paragraphs:
                        for run in p.runs:
                            if font_pt:
                                run.font.size = Pt(font_pt)
                            if header and i == 0:
                                run.bold = True
                if widths_cm:
                    cell.width = Cm(widths_cm[j])
        return t

    def page_break(self):
        self.d.add_page_break()

    def bytes(self) -> bytes:
        buf = io.BytesIO()
        self.d.save(buf)
        return normalize_zip(buf.getvalue())


def make_pptx(slides) -> bytes:
    """slides: list of dicts {title, bullets?:[str], table?:[[...]], notes?:str}"""
    from pptx import Presentation
    from pptx.util import Inches, Pt
    prs = Presentation()
    prs.slide_width, prs.slide_height = Inches(13.333), Inches(7.5)
    prs.core_properties.author = "minase"
    prs.core_properties.created = FIXED_TS
    prs.core_properties.modified = FIXED_TS
    for s in slides:
        layout = prs.slide_layouts[5]  # title only
        sl = prs.slides.add_slide(layout)
        sl.shapes.title.text = s["title"]
        top = Inches(1.5)
        if s.get("bullets"):
            tb = sl.shapes.add_textbox(Inches(0.6), top, Inches(12), Inches(1.2 + 0.3 * len(s["bullets"])))
            tf = tb.text_frame
            tf.word_wrap = True
            for i, b in enumerate(s["bullets"]):
                para = tf.paragraphs[0] if i == 0 else tf.add_paragraph()
                para.text = b
                para.font.size = Pt(16)
            top = Inches(1.5 + 0.45 * len(s["bullets"]) + 0.2)
        if s.get("table"):
            rows = s["table"]
            shp = sl.shapes.add_table(len(rows), len(rows[0]), Inches(0.4), top, Inches(12.5), Inches(0.35 * len(rows)))
            tbl = shp.table
            for i, row in enumerate(rows):
                for j, v in enumerate(row):
                    cell = tbl.cell(i, j)
                    cell.text = "" if v is None else str(v)
                    for para in cell.text_frame.paragraphs:
                        para.font.size = Pt(11)
        if s.get("notes"):
            sl.notes_slide.notes_text_frame.text = s["notes"]
    buf = io.BytesIO()
    prs.save(buf)
    return normalize_zip(buf.getvalue())


# --- mail -------------------------------------------------------------------

def enc_header_words(text: str, charset: str) -> str:
    """RFC 2047 encode a header value if it is not ASCII (charset as a mailer of that kind would)."""
    try:
        text.encode("ascii")
        return text
    except UnicodeEncodeError:
        pass
    if charset == "shift_jis":  # as Shift_JIS mailers write it: =?Shift_JIS?B?...?= words
        words = [text[i:i + 14] for i in range(0, len(text), 14)]
        return "\r\n ".join(f"=?Shift_JIS?B?{base64.b64encode(w.encode('cp932')).decode()}?=" for w in words)
    return email.header.Header(text, charset).encode(linesep="\r\n")


def fmt_addr(name: str | None, addr: str, charset: str) -> str:
    if not name:
        return addr
    return f"{enc_header_words(name, charset)} <{addr}>"


def body_part(text: str, charset: str, cte: str) -> tuple[list[str], bytes]:
    codec = {"iso-2022-jp": "iso2022_jp", "shift_jis": "cp932", "utf-8": "utf-8", "us-ascii": "ascii"}[charset]
    raw = text.replace("\n", "\r\n").encode(codec)
    if cte == "base64":
        b = base64.encodebytes(raw).replace(b"\n", b"\r\n")
    elif cte == "quoted-printable":
        b = quopri.encodestring(raw).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    else:
        b = raw
    hdrs = [f"Content-Type: text/plain; charset={'ISO-2022-JP' if charset == 'iso-2022-jp' else ('Shift_JIS' if charset == 'shift_jis' else charset)}",
            f"Content-Transfer-Encoding: {cte}"]
    return hdrs, b


MIME_TYPES = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
              "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
              "pdf": "application/pdf", "csv": "text/csv", "zip": "application/zip", "txt": "text/plain"}


def make_eml(headers: list[tuple[str, str]], body: str, charset: str, cte: str,
             attachments: list[tuple[str, bytes]] = (), boundary_seed: str = "") -> bytes:
    lines = [f"{k}: {v}" for k, v in headers]
    lines.append("MIME-Version: 1.0")
    bh, bb = body_part(body, charset, cte)
    if not attachments:
        return ("\r\n".join(lines + bh) + "\r\n\r\n").encode("ascii") + bb
    bnd = "----=_Part_" + hashlib.sha1(boundary_seed.encode()).hexdigest()[:20]
    lines.append(f'Content-Type: multipart/mixed; boundary="{bnd}"')
    out = ("\r\n".join(lines) + "\r\n\r\nThis is a multi-part message in MIME format.\r\n\r\n").encode("ascii")
    out += f"--{bnd}\r\n".encode() + ("\r\n".join(bh) + "\r\n\r\n").encode() + bb + b"\r\n"
    for name, data in attachments:
        ext = name.rsplit(".", 1)[-1].lower()
        try:
            name.encode("ascii")
            disp = f'attachment; filename="{name}"'
            ctn = f'; name="{name}"'
        except UnicodeEncodeError:
            q = "".join(c if c.isalnum() and ord(c) < 128 or c in "._-" else "".join(f"%{b:02X}" for b in c.encode()) for c in name)
            disp = f"attachment; filename*=UTF-8''{q}"
            ctn = '; name="' + email.header.Header(name, "utf-8").encode(linesep="\r\n") + '"'
        b64 = base64.encodebytes(data).replace(b"\n", b"\r\n")
        out += (f"--{bnd}\r\nContent-Type: {MIME_TYPES.get(ext, 'application/octet-stream')}{ctn}\r\n"
                f"Content-Disposition: {disp}\r\nContent-Transfer-Encoding: base64\r\n\r\n").encode() + b64 + b"\r\n"
    out += f"--{bnd}--\r\n".encode()
    return out


def msg_id(r: random.Random, when: dt.datetime, host: str) -> str:
    return f"<{when:%Y%m%d%H%M%S}.{rs(r, 10, '0123456789ABCDEF')}@{host}>"


# ---------------------------------------------------------------------------
# Text extraction (for verification)
# ---------------------------------------------------------------------------

W_NS = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
A_NS = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
TEXT_NS = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"


def _ooxml_paras(xml: bytes, ns: str) -> list[str]:
    root = ET.fromstring(xml)
    out = []
    for p in root.iter(ns + "p"):
        buf = []
        for el in p.iter():
            if el.tag == ns + "t" and el.text:
                buf.append(el.text)
            elif el.tag in (ns + "tab",):
                buf.append("\t")
            elif el.tag in (ns + "br",):
                buf.append("\n")
        out.append("".join(buf))
    return out


def extract_docx(data: bytes) -> str:
    z = zipfile.ZipFile(io.BytesIO(data))
    parts = [n for n in z.namelist() if re.match(r"word/(document|header\d*|footer\d*)\.xml$", n)]
    return "\n".join("\n".join(_ooxml_paras(z.read(n), W_NS)) for n in sorted(parts))


def extract_pptx(data: bytes) -> str:
    z = zipfile.ZipFile(io.BytesIO(data))
    parts = sorted(n for n in z.namelist() if re.match(r"ppt/(slides|notesSlides)/\w+\.xml$", n))
    return "\n".join("\n".join(_ooxml_paras(z.read(n), A_NS)) for n in parts)


def extract_xlsx(data: bytes) -> str:
    import openpyxl
    wb = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
    out = []
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            cells = []
            for v in row:
                if v is None:
                    cells.append("")
                elif isinstance(v, float) and v.is_integer():
                    cells.append(str(int(v)))
                else:
                    cells.append(str(v))
            out.append("\t".join(cells))
    return "\n".join(out)


def extract_odf(data: bytes) -> str:
    z = zipfile.ZipFile(io.BytesIO(data))
    root = ET.fromstring(z.read("content.xml"))
    out = []

    def walk(el, buf):
        if el.text:
            buf.append(el.text)
        for ch in el:
            tag = ch.tag
            if tag == TEXT_NS + "s":
                buf.append(" " * int(ch.get(TEXT_NS + "c", "1")))
            elif tag == TEXT_NS + "tab":
                buf.append("\t")
            elif tag == TEXT_NS + "line-break":
                buf.append("\n")
            else:
                walk(ch, buf)
            if ch.tail:
                buf.append(ch.tail)

    for el in root.iter():
        if el.tag in (TEXT_NS + "p", TEXT_NS + "h"):
            buf = []
            walk(el, buf)
            out.append("".join(buf))
    return "\n".join(out)


def extract_pdf(data: bytes) -> str:
    with tempfile.TemporaryDirectory() as td:
        f = Path(td) / "x.pdf"
        f.write_bytes(data)
        outs = []
        for mode in (["-layout"], ["-raw"]):
            res = subprocess.run(["pdftotext", *mode, "-enc", "UTF-8", str(f), "-"], capture_output=True, check=True)
            outs.append(res.stdout.decode("utf-8"))
        return "\n=====\n".join(outs)


def decode_part(part) -> str:
    payload = part.get_payload(decode=True) or b""
    cs = (part.get_content_charset() or "us-ascii").lower()
    codec = {"iso-2022-jp": "iso2022_jp", "shift_jis": "cp932", "us-ascii": "ascii"}.get(cs, cs)
    return payload.decode(codec)


def eml_parts(data: bytes):
    """(header text, [decoded text bodies], {attachment name: bytes})"""
    import email as em
    from email import policy
    msg = em.message_from_bytes(data, policy=policy.compat32)
    raw_headers = data.split(b"\r\n\r\n", 1)[0].decode("ascii")
    bodies, atts = [], {}
    for part in msg.walk():
        if part.is_multipart():
            continue
        fn = part.get_filename()
        if fn:
            fn = str(email.header.make_header(email.header.decode_header(fn)))
            atts[fn] = part.get_payload(decode=True)
        else:
            bodies.append(decode_part(part))
    return raw_headers, bodies, atts


def extract_bytes(name: str, data: bytes, logical: str) -> str:
    ext = name.rsplit(".", 1)[-1].lower() if "." in name.rsplit("/", 1)[-1] else ""
    if ext == "docx":
        return extract_docx(data)
    if ext == "xlsx":
        return extract_xlsx(data)
    if ext == "pptx":
        return extract_pptx(data)
    if ext in ("odt", "ods", "odp"):
        return extract_odf(data)
    if ext == "pdf":
        return extract_pdf(data)
    if ext == "eml":
        h, bodies, _ = eml_parts(data)
        return h + "\n\n" + "\n\n".join(bodies)
    enc = TEXT_ENC.get(logical, "utf-8")
    return data.decode(enc)


def resolve(logical: str) -> bytes:
    """Bytes of a logical path: a file, a zip member (a.zip!m) or a mail attachment (m.eml!a)."""
    parts = logical.split("!")
    data = FILES[parts[0]]
    for i, member in enumerate(parts[1:], 1):
        container = parts[i - 1]
        if container.endswith(".zip"):
            data = zipfile.ZipFile(io.BytesIO(data)).read(member)
        elif container.endswith(".eml"):
            data = eml_parts(data)[2][member]
        else:
            raise ValueError(logical)
    return data


# ---------------------------------------------------------------------------
# HR
# ---------------------------------------------------------------------------

def d8(d: dt.date, style="slash") -> str:
    return {"slash": f"{d:%Y/%m/%d}", "iso": d.isoformat(), "compact": f"{d:%Y%m%d}",
            "jp": f"{d.year}年{d.month}月{d.day}日"}[style]


def build_hr():
    r = R("hr")
    # 1. master roster, UTF-8 with BOM, CRLF (Excel "CSV UTF-8")
    rec = Rec()
    rows = [["社員番号", "氏名", "フリガナ", "性別", "生年月日", "入社年月日", "所属", "役職", "郵便番号", "住所",
             "電話番号", "携帯電話", "メールアドレス", "雇用区分", "備考"]]
    notes = ["", "", "", "", "", "", "2024/04 住所変更", "育休中(2024/03～)", "時短勤務", "内線 4123", "内線 2210", "在宅勤務(週3)", "2023/10 異動"]
    for p in PEOPLE[:1000]:
        home = rec.p("jp-phone-number", fmt_phone(p.home)) if p.home else ""
        mob = ""
        if p.mobile:
            mob = rec.p("jp-phone-number", fmt_phone(p.mobile, "plain" if r.random() < 0.15 else "hyphen"))
        rows.append([p.emp_id, p.name, p.kana, "男" if p.gender == "M" else "女", d8(p.birth), d8(p.hire), p.dept, p.title,
                     p.zip, p.address, home, mob, rec.p("email-address", p.email),
                     r.choice(["正社員"] * 8 + ["契約社員", "嘱託"]), r.choice(notes)])
    emit("share/hr/社員名簿/社員名簿_2024年6月.csv", text_bytes(csv_text(rows), "utf-8-sig", crlf=True), rec, "utf-8-sig")

    # 2. My Number ledger, Shift_JIS (cp932), CRLF
    rec = Rec()
    rows = [["管理番号", "社員番号", "氏名", "続柄", "個人番号", "番号確認書類", "身元確認書類", "取得日", "利用目的", "廃棄予定日"]]
    k = 1
    for p in PEOPLE[:300]:
        acq = dt.date(2016, 1, 4) + dt.timedelta(days=r.randint(0, 3000))
        docs = r.choice([("個人番号カード", "個人番号カード"), ("通知カード", "運転免許証"), ("住民票(番号付)", "パスポート")])
        rows.append([f"MN-{k:06d}", p.emp_id, p.name, "本人", rec.p("jp-my-number", p.mynumber), docs[0], docs[1], d8(acq),
                     "源泉徴収・社会保険", ""])
        k += 1
        for dn, dk, rel, mn in p.dependents:
            rows.append([f"MN-{k:06d}", p.emp_id, dn, rel, rec.p("jp-my-number", mn), "扶養控除等申告書", "(本人確認済)", d8(acq),
                         "源泉徴収・社会保険", ""])
            k += 1
    emit("share/hr/個人番号/マイナンバー管理台帳.csv", text_bytes(csv_text(rows), "cp932", crlf=True), rec, "cp932")

    # 3. legacy mainframe export with half-width katakana headers (cp932)
    rec = Rec()
    rows = [["ｼｬｲﾝNO", "ｼﾒｲ", "ｾｲﾈﾝｶﾞｯﾋﾟ", "ﾏｲﾅﾝﾊﾞｰ", "ﾃﾞﾝﾜﾊﾞﾝｺﾞｳ", "ﾕｳﾋﾞﾝﾊﾞﾝｺﾞｳ", "ｼﾞｭｳｼｮ(ｶﾅ)", "ｼｮｿﾞｸCD"]]
    for i, p in enumerate(PEOPLE[300:450]):
        phone = p.home or p.mobile
        z = p.zip.replace("-", "")
        if i < 40:
            rec.n("jp-bank-account-number", z, "7-digit 郵便番号 without hyphen (ﾕｳﾋﾞﾝﾊﾞﾝｺﾞｳ column)")
        rows.append([p.emp_id, to_halfwidth_kana(p.kana), d8(p.birth, "compact"),
                     rec.p("jp-my-number", fmt_mynumber(p.mynumber, "hyphen")),
                     rec.p("jp-phone-number", fmt_phone(phone, "plain")) if phone else "", z,
                     to_halfwidth_kana(f"{PREF_KANA[p.pref]}{CITY_KANA[p.city]} {r.randint(1, 5)}-{r.randint(1, 30)}-{r.randint(1, 20)}"),
                     f"{r.randint(100, 990)}"])
    emit("share/hr/個人番号/KJN_EXPORT_20240601.csv", text_bytes(csv_text(rows), "cp932", crlf=True), rec, "cp932")

    # 4. year-end adjustment summary (xlsx), My Number stored as a number with format "0"
    rec = Rec()
    rows = [["令和6年分 給与所得者の扶養控除等(異動)申告書 集計表"], [f"{COMPANY} 人事部 給与グループ"], [],
            H("社員番号", "氏名", "本人個人番号", "配偶者氏名", "配偶者個人番号", "控除対象扶養親族数", "住所", "提出日")]
    for p in PEOPLE[450:700]:
        if p.mynumber[0] == "0":
            continue
        sp = next((d for d in p.dependents if d[2] == "配偶者"), None)
        rows.append([p.emp_id, p.name, ("num0", rec.p("jp-my-number", p.mynumber)), sp[0] if sp else None,
                     rec.p("jp-my-number", sp[3]) if sp else None, sum(1 for d in p.dependents if d[2] != "配偶者"),
                     p.address, d8(dt.date(2024, 1, 10) + dt.timedelta(days=r.randint(0, 20)))])
    ex = [["記入例"], ["個人番号欄には12桁の番号を左詰めで記入してください。"],
          ["例）", rec.n("jp-my-number", "123456789018", "documentation example number in 記入例 (passes the check digit)")],
          ["※ 個人番号は他の書類に転記しないこと。"]]
    emit("share/hr/個人番号/扶養控除等申告書_集計_2024.xlsx", make_xlsx([("集計", rows), ("記入例", ex)]), rec)

    # 5. ODS (converted): year-end adjustment 2023, My Number with spaces
    rec = Rec()
    rows = [H("社員番号", "氏名", "個人番号", "給与等の支払金額", "源泉徴収税額", "住所")]
    for p in PEOPLE[700:820]:
        pay = p.salary * 12 + r.randrange(0, 1500000, 1000)
        rows.append([p.emp_id, p.name, rec.p("jp-my-number", fmt_mynumber(p.mynumber, "space")), f"{pay:,}",
                     f"{int(pay * 0.045):,}", p.address])
    CONVERT.append(("share/hr/給与/年末調整_2023_源泉徴収簿.ods", "xlsx", make_xlsx([("源泉徴収簿", rows)])))
    TRUTH.add("share/hr/給与/年末調整_2023_源泉徴収簿.ods", rec)

    # 6. residence cards of foreign staff (xlsx)
    rec = Rec()
    rows = [H("社員番号", "氏名(ローマ字)", "国籍・地域", "在留資格", "在留カード番号", "在留期間満了日", "資格外活動", "携帯電話", "備考")]
    for i in range(90):
        sur, given, nat = r.choice(FOREIGN)
        exp = dt.date(2024, 7, 1) + dt.timedelta(days=r.randint(0, 1500))
        mob = gen_mobile(r)
        rows.append([f"{r.randint(700000, 799999)}", f"{sur} {given}", nat, r.choice(STATUSES), rec.p("jp-residence-card-number", gen_residence(r)),
                     d8(exp), r.choice(["なし", "なし", "許可あり"]), rec.p("jp-phone-number", fmt_phone(mob)),
                     "更新申請中" if exp < dt.date(2024, 9, 30) else ""])
    emit("share/hr/外国籍社員/在留カード・在留期限管理.xlsx", make_xlsx([("在留管理", rows)]), rec)

    # 7. overseas travellers (TSV, UTF-8, LF)
    rec = Rec()
    rows = [["社員番号", "氏名", "旅券記載氏名", "旅券番号", "旅券有効期限", "渡航先", "出国日", "帰国日", "緊急連絡先(携帯)"]]
    travellers = [p for p in PEOPLE if p.passport][:80]
    for p in travellers:
        out = dt.date(2024, 6, 1) + dt.timedelta(days=r.randint(0, 120))
        rows.append([p.emp_id, p.name, f"{p.sei_r.upper()} {p.mei_r.upper()}", rec.p("jp-passport-number", p.passport),
                     d8(dt.date(2025, 1, 1) + dt.timedelta(days=r.randint(0, 3000))),
                     r.choice(["ベトナム(ハノイ)", "タイ(バンコク)", "ドイツ(ミュンヘン)", "米国(シカゴ)", "中国(上海)", "シンガポール"]),
                     d8(out), d8(out + dt.timedelta(days=r.randint(3, 20))),
                     rec.p("jp-phone-number", fmt_phone(p.mobile or gen_mobile(r), "intl_space" if len(rows) % 6 == 0 else "hyphen"))])
    emit("share/hr/出張/海外出張者名簿_2024.tsv", text_bytes(csv_text(rows, "\t"), "utf-8"), rec, "utf-8")

    # 8. company-car drivers (xlsx)
    rec = Rec()
    drivers = [p for p in PEOPLE if p.dl]
    rows = [["社用車運転者登録台帳"], ["※運転免許証の写しは総務部で保管"], H("社員番号", "氏名", "所属", "運転免許証番号", "免許の種類", "免許証の色", "有効期限", "携帯電話")]
    for p in drivers[:120]:
        rows.append([p.emp_id, p.name, p.dept, rec.p("jp-drivers-license-number", p.dl), r.choice(["普通", "準中型", "中型", "普通・大特"]),
                     r.choice(["ゴールド", "ゴールド", "ブルー", "グリーン"]), d8(dt.date(2024, 8, 1) + dt.timedelta(days=r.randint(0, 1800)), "jp"),
                     rec.p("jp-phone-number", fmt_phone(p.mobile)) if p.mobile else ""])
    emit("share/hr/総務/社用車運転者登録.xlsx", make_xlsx([("登録台帳", rows)]), rec)

    # 9. ODS (converted): commuting by private car, with insurance policy numbers as decoys
    rec = Rec()
    rows = [H("社員番号", "氏名", "運転免許証番号", "車両番号", "任意保険会社", "保険証券番号", "片道距離(km)", "許可日")]
    plates = ["品川", "横浜", "湘南", "練馬", "大宮", "千葉", "なにわ", "名古屋"]
    for p in drivers[120:220]:
        pol = rs(r, 2, "ABCDEFGHJKLMNPRSTUVWXYZ") + f"{r.randint(0, 9999999):07d}"
        rows.append([p.emp_id, p.name, rec.p("jp-drivers-license-number", p.dl),
                     f"{r.choice(plates)} {r.randint(300, 599)} {r.choice('あいうえかきくけこさすせそたちつてとなにぬねのはひふほまみむめもやゆよらりるれろわ')} {r.randint(1, 99)}-{r.randint(10, 99)}",
                     r.choice(["東京海上日動", "損保ジャパン", "三井住友海上", "あいおいニッセイ同和"]),
                     rec.n("jp-passport-number", pol, "car-insurance policy number (保険証券番号 column), 2 letters + 7 digits"),
                     f"{r.randint(3, 38)}.{r.randint(0, 9)}", d8(dt.date(2023, 4, 1) + dt.timedelta(days=r.randint(0, 400)))])
    CONVERT.append(("share/hr/総務/マイカー通勤許可者一覧.ods", "xlsx", make_xlsx([("許可者一覧", rows)])))
    TRUTH.add("share/hr/総務/マイカー通勤許可者一覧.ods", rec)

    # 10-11. US subsidiary (English)
    build_us_hr(R("us-hr"))

    # 12. payroll transfer list (xlsx)
    rec = Rec()
    rows = [[f"{COMPANY} 給与振込口座一覧 (2024年6月支給分)"], [],
            H("社員番号", "氏名", "銀行コード", "銀行名", "支店コード", "支店名", "預金種目", "口座番号", "口座名義(カナ)", "差引支給額")]
    for p in PEOPLE[:300]:
        b = p.bank
        rows.append([p.emp_id, p.name, b[1], b[0], b[3], b[2], b[4], rec.p("jp-bank-account-number", b[5]), p.kana,
                     int(p.salary * 0.78)])
    emit("share/hr/給与/給与振込口座一覧_2024年6月.xlsx", make_xlsx([("振込一覧", rows)]), rec)

    # 13. PDF (converted): bonus transfer statement
    rec = Rec()
    rows = [["2024年夏季賞与 振込明細"], [], H("社員番号", "氏名", "銀行名", "支店名", "種目", "口座番号", "支給額(円)")]
    for p in PEOPLE[300:340]:
        b = p.bank
        rows.append([p.emp_id, p.name, b[0], b[2], b[4], rec.p("jp-bank-account-number", b[5]), f"{int(p.salary * 1.8):,}"])
    CONVERT.append(("share/hr/給与/賞与振込明細_2024夏.pdf", "xlsx", make_xlsx([("賞与", rows)], landscape=True)))
    TRUTH.add("share/hr/給与/賞与振込明細_2024夏.pdf", rec)

    # 14. archive of leavers: CSV + 源泉徴収票 docx members
    members = []
    rec = Rec()
    rows = [["社員番号", "氏名", "退職日", "個人番号", "住所", "電話番号", "連絡先メール"]]
    leavers = PEOPLE[820:880]
    for p in leavers:
        rows.append([p.emp_id, p.name, d8(dt.date(2023, 4, 30) + dt.timedelta(days=r.randint(0, 330))),
                     rec.p("jp-my-number", p.mynumber), p.address,
                     rec.p("jp-phone-number", fmt_phone(p.mobile or p.home or gen_mobile(r))), rec.p("email-address", p.private_email)])
    members.append(("taishoku_2023/retirees_2023.csv", text_bytes(csv_text(rows), "cp932", crlf=True), rec, "cp932"))
    for p in leavers[:3]:
        rec = Rec()
        d = Doc()
        d.h("令和5年分 給与所得の源泉徴収票（控）", 1)
        d.table([["支払を受ける者", "住所", p.address],
                 ["", "氏名", p.name],
                 ["", "個人番号", rec.p("jp-my-number", p.mynumber)],
                 ["支払金額", f"{p.salary * 9:,}円", ""],
                 ["源泉徴収税額", f"{int(p.salary * 9 * 0.04):,}円", ""]], header=False)
        if p.dependents:
            d.para("控除対象扶養親族等")
            d.table([["氏名", "続柄", "個人番号"]] + [[dn, rel, rec.p("jp-my-number", mn)] for dn, _, rel, mn in p.dependents])
        d.para(f"支払者: {COMPANY}　法人番号 {rec.p('jp-corporate-number', OWN_CORP)}")
        d.para(f"所在地: 東京都品川区大崎2丁目11番1号　電話 {rec.p('jp-phone-number', fmt_phone(OWN_TEL))}")
        members.append((f"taishoku_2023/gensen_{p.emp_id}.docx", d.bytes(), rec, None))
    zpath = "share/archive/2023年度_退職者データ.zip"
    emit(zpath, make_zip([(n, b) for n, b, _, _ in members]))
    for n, _, rec, enc in members:
        TRUTH.add(f"{zpath}!{n}", rec)
        if enc:
            TEXT_ENC[f"{zpath}!{n}"] = enc


US_FIRST = ["James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth", "William", "Barbara",
            "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Carlos", "Maria", "Wei", "Priya", "Kevin", "Emily", "Daniel", "Ashley"]
US_LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez", "Hernandez", "Lopez",
           "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Nguyen", "Patel", "Kim", "Clark", "Lewis", "Walker"]
US_AREAS = [("IL", ["312", "773", "630", "847"]), ("OH", ["614", "513", "216"]), ("TX", ["214", "469", "512"]), ("CA", ["408", "650", "949"]), ("MI", ["248", "313", "734"])]


def build_us_hr(r):
    rec = Rec()
    rows = [["Employee ID", "Last Name", "First Name", "SSN/ITIN", "Date of Birth", "Hire Date", "Work State", "Work Phone",
             "Personal Email", "Bank Routing No", "Bank Account No", "Annual Salary (USD)"]]
    emps = []
    for i in range(300):
        fn, ln = r.choice(US_FIRST), r.choice(US_LAST)
        st, areas = r.choice(US_AREAS)
        if i % 37 == 5:
            tin = rec.n("us-ssn", gen_itin(r), "ITIN (area 9xx, group 70-99) in an SSN/ITIN column, not an SSN")
        else:
            tin = rec.p("us-ssn", gen_ssn(r))
        aba = gen_aba(r)
        if i < 40:
            rec.n("us-ssn", aba, "9-digit ABA bank routing number")
        mail = f"{fn.lower()}.{ln.lower()}{r.randint(1, 99)}@{r.choice(['gmail.com', 'yahoo.com', 'outlook.com', 'icloud.com'])}"
        emp = (f"US{10000 + i}", fn, ln, tin, mail)
        emps.append(emp)
        rows.append([emp[0], ln, fn, tin, f"{r.randint(1, 12):02d}/{r.randint(1, 28):02d}/{r.randint(1962, 2002)}",
                     f"{r.randint(1, 12):02d}/{r.randint(1, 28):02d}/{r.randint(2008, 2024)}", st,
                     f"({r.choice(areas)}) {r.randint(200, 989)}-{r.randint(1000, 9999)}", rec.p("email-address", mail),
                     aba, rec.digits(f"{r.randint(10**9, 10**12 - 1)}", "US bank account number (10-12 digits)"), f"{r.randrange(42000, 185000, 500):,}"])
    emit("share/hr/us/US_Payroll_Census_2024.csv", text_bytes(csv_text(rows), "utf-8", crlf=True), rec, "utf-8")

    rec = Rec()
    rows = [["Minase Seiki America Inc. - 2024 Open Enrollment"], [],
            H("Employee ID", "Employee Name", "SSN", "Medical Plan", "Coverage Tier", "Dependent Name", "Relationship", "Dependent SSN")]
    for emp in emps[:120]:
        if not emp[3].startswith("9"):
            ssn = rec.p("us-ssn", emp[3].replace("-", ""))
        else:
            ssn = rec.n("us-ssn", emp[3].replace("-", ""), "ITIN written without hyphens")
        dep = r.random() < 0.5
        dssn = rec.p("us-ssn", gen_ssn(r).replace("-", "")) if dep else None
        rows.append([emp[0], f"{emp[1]} {emp[2]}", ssn, r.choice(["PPO 500", "HDHP + HSA", "HMO Select"]),
                     r.choice(["Employee + Spouse", "Family", "Employee + Child(ren)"]) if dep else "Employee Only",
                     f"{r.choice(US_FIRST)} {emp[2]}" if dep else None, r.choice(["Spouse", "Child"]) if dep else None, dssn])
    emit("share/hr/us/benefits_enrollment_2024.xlsx", make_xlsx([("Enrollment", rows)]), rec)


# ---------------------------------------------------------------------------
# Sales
# ---------------------------------------------------------------------------

PRODUCTS_BASE = ["精密ドライバーセット PD-6", "ステンレス六角ボルト M8×30 (50本入)", "LEDワークライト 1200lm", "デジタルノギス 150mm",
                 "トルクレンチ 10-60N・m", "耐油手袋 Lサイズ (10双)", "結束バンド 200mm (100本)", "絶縁テープ 19mm×10m 黒",
                 "マイクロメーター 0-25mm", "エアダスター 350ml", "養生テープ 50mm 緑", "電動ドリルドライバー 18V",
                 "六角レンチセット 9本組", "防塵マスク DS2 (20枚)", "ステンレス定規 300mm", "ピンセット 精密用 125mm",
                 "タップハンドル M3-M12", "ダイヤルゲージ 0.01mm", "ワイヤーストリッパー", "はんだごて 40W", "静電気防止リストストラップ",
                 "油性マーカー 黒 (10本)", "ボールペン 0.5 黒 (10本)", "A4コピー用紙 2500枚", "クリアファイル A4 (100枚)",
                 "USBメモリ 32GB", "LANケーブル Cat6 3m", "電源タップ 6口 2m", "ラベルテープ 12mm 白", "ファイルボックス A4 (5個)"]


def gen_jan(r, prefix=None) -> str:
    base = (prefix or r.choice(["49", "49", "45"])) + f"{r.randint(0, 99999):05d}" + f"{r.randint(0, 99999):05d}"
    return base + str(ean_check(base))


def gen_isbn13(r) -> tuple[str, str]:
    pub = r.choice(["4061", "4065", "4088", "4167", "4274", "4297", "4798", "4815", "4873", "4839"])
    body = "978" + pub[:1] + pub[1:] + f"{r.randint(0, 99999):05d}"
    body = body[:12]
    d = body + str(ean_check(body))
    return d, f"{d[:3]}-{d[3]}-{d[4:7]}-{d[7:12]}-{d[12]}"


def gen_tracking(r, carrier: str) -> str:
    first = f"{r.choice(['3', '4', '5', '6', '2'])}{r.randint(0, 10**10 - 1):010d}"
    d = first + str(int(first) % 7)
    return f"{d[:4]}-{d[4:8]}-{d[8:]}" if carrier == "ヤマト運輸" else d


PRODUCTS = []


def build_products():
    r = R("products")
    for nm in PRODUCTS_BASE * 2:
        PRODUCTS.append((gen_jan(r), nm if len(PRODUCTS) < len(PRODUCTS_BASE) else nm.replace(" ", " 業務用 ", 1),
                         r.choice([180, 240, 320, 480, 980, 1280, 1980, 2480, 3980, 5800, 12800, 24800])))


EXTRA_A = [("東", "higashi"), ("西", "nishi"), ("北", "kita"), ("南", "minami"), ("中央", "chuo"), ("第一", "daiichi"), ("新", "shin"),
           ("大", "dai"), ("日本", "nihon"), ("関西", "kansai"), ("湘南", "shonan"), ("城北", "johoku"), ("太平", "taihei"), ("昭和", "showa"),
           ("富士", "fuji"), ("朝日", "asahi"), ("若葉", "wakaba"), ("金剛", "kongo"), ("旭", "kyokujitsu"), ("三和", "sanwa")]
EXTRA_B = [("産業", "sangyo"), ("精工", "seiko"), ("電子", "denshi"), ("物産", "bussan"), ("化学", "kagaku"), ("機工", "kiko"),
           ("通商", "tsusho"), ("建設", "kensetsu"), ("商会", "shokai"), ("工業", "kogyo"), ("製作所", "seisakusho"),
           ("システム", "system"), ("サービス", "service"), ("テック", "tech"), ("梱包", "konpo"), ("運輸", "unyu")]


def all_customers():
    r = R("customers-extra")
    out = list(COMPANIES)
    seen = {c.short for c in out}
    while len(out) < 180:
        a, b = r.choice(EXTRA_A), r.choice(EXTRA_B)
        if a[0] + b[0] in seen:
            continue
        seen.add(a[0] + b[0])
        c = Company()
        c.short = a[0] + b[0]
        c.name = "株式会社" + c.short if r.random() < 0.7 else c.short + "株式会社"
        c.domain = f"{a[1]}-{b[1]}.co.jp"
        c.corp = gen_corp(r)
        c.invoice = "T" + c.corp if r.random() < 0.85 else None
        pref, city, zips, towns, area, _ = r.choice(PLACES)
        c.zip = f"{r.choice(zips)}-{r.randint(0, 9999):04d}"
        c.address = f"{pref}{city}{r.choice(towns)}{r.randint(1, 5)}-{r.randint(1, 30)}-{r.randint(1, 20)}"
        c.tel = gen_landline(r, area)
        c.fax = (c.tel[0], c.tel[1], f"{(int(c.tel[2]) + 1) % 10000:04d}") if r.random() < 0.7 else None
        sei, mei = r.choice(SURNAMES), r.choice(MALE + FEMALE)
        c.contact = f"{sei[0]} {mei[0]}"
        c.contact_mail = f"{sei[2]}@{c.domain}" if r.random() < 0.5 else f"{mei[2][0]}-{sei[2]}@{c.domain}"
        c.contact_mobile = gen_mobile(r) if r.random() < 0.6 else None
        bank, br = r.choice(BANKS), r.choice(BRANCHES)
        c.bank = (bank[0], br[0], r.choice(["普通", "当座"]), gen_bank_account(r))
        c.code = f"C{10000 + len(out) * 37:05d}"
        out.append(c)
    return out


def build_sales():
    r = R("sales")
    build_products()
    customers = all_customers()

    # 15. order lines: 13-digit order numbers, JAN codes and 12-digit tracking numbers (decoys only)
    rec = Rec()
    rows = [["受注番号", "受注日時", "顧客コード", "顧客名", "JANコード", "商品名", "数量", "単価", "金額", "支払方法", "カード下4桁",
             "配送業者", "お問い合わせ伝票番号"]]
    seq = 3100412
    for i in range(1000):
        day = dt.datetime(2024, 4, 1, 8, 0) + dt.timedelta(minutes=i * 120 + r.randint(0, 110))
        seq += r.randint(1, 40)
        order_no = f"24{day:%m%d}{seq:07d}"
        rec.digits(order_no, "13-digit 受注番号 (order number)")
        c = r.choice(customers)
        jan, name, price = r.choice(PRODUCTS)
        rec.digits(jan, "JAN/EAN-13 product barcode")
        qty = r.choice([1, 1, 2, 3, 5, 10, 12, 20, 50])
        pay = r.choice(["請求書払い", "請求書払い", "クレジットカード", "銀行振込", "代金引換"])
        carrier = r.choice(["ヤマト運輸", "ヤマト運輸", "佐川急便"])
        trk = gen_tracking(r, carrier)
        rec.digits(trk, "12-digit delivery tracking number (お問い合わせ伝票番号)",
                   ("jp-drivers-license-number",) if i < 25 else ())
        rows.append([order_no, f"{day:%Y/%m/%d %H:%M}", c.code, c.name, jan, name, qty, price, qty * price, pay,
                     f"{r.randint(0, 9999):04d}" if pay == "クレジットカード" else "", carrier, trk])
    emit("share/sales/受注/受注明細_2024Q2.csv", text_bytes(csv_text(rows), "utf-8"), rec, "utf-8")

    # 16. customer master (xlsx)
    rec = Rec()
    rows = [H("取引先コード", "取引先名", "区分", "法人番号", "適格請求書発行事業者登録番号", "郵便番号", "所在地", "代表電話", "FAX",
              "担当者", "担当者メール", "担当者携帯", "取引開始日", "与信限度額(千円)")]
    for c in customers:
        rows.append([c.code, c.name, r.choice(["得意先", "得意先", "仕入先", "得意先・仕入先"]), rec.p("jp-corporate-number", c.corp),
                     rec.p("jp-invoice-registration-number", c.invoice) if c.invoice else "(未登録)", c.zip, c.address,
                     rec.p("jp-phone-number", fmt_phone(c.tel)), rec.p("jp-phone-number", fmt_phone(c.fax)) if c.fax else "",
                     c.contact, rec.p("email-address", c.contact_mail),
                     rec.p("jp-phone-number", fmt_phone(c.contact_mobile)) if c.contact_mobile else "",
                     d8(dt.date(2001, 4, 1) + dt.timedelta(days=r.randint(0, 8000))), r.choice([500, 1000, 3000, 5000, 10000, 30000])])
    emit("share/sales/顧客/取引先マスタ_2024.xlsx", make_xlsx([("取引先", rows)]), rec)

    # 17. PDF (converted) printable customer list
    rec = Rec()
    rows = [["取引先一覧（印刷用）2024年6月"], [], H("取引先名", "法人番号", "登録番号", "代表電話")]
    for c in customers[:36]:
        rows.append([c.name, rec.p("jp-corporate-number", c.corp),
                     rec.p("jp-invoice-registration-number", c.invoice) if c.invoice else "-", rec.p("jp-phone-number", fmt_phone(c.tel))])
    CONVERT.append(("share/sales/顧客/取引先一覧_印刷用.pdf", "xlsx", make_xlsx([("一覧", rows)], landscape=True)))
    TRUTH.add("share/sales/顧客/取引先一覧_印刷用.pdf", rec)

    # 18. legacy subscription card data (xlsx) -- the kind of file a DLP scan is for
    rec = Rec()
    rows = [["定期購入会員 カード情報（旧システムより移行・要削除）"], [],
            H("会員ID", "氏名", "フリガナ", "カード会社", "カード番号", "有効期限", "カード名義", "電話番号", "登録日", "備考")]
    brands_jp = {"visa": "VISA", "mastercard": "Mastercard", "jcb": "JCB", "amex": "AMEX", "diners": "Diners", "discover": "Discover"}
    for i in range(150):
        p = PEOPLE[880 + i]
        pan = gen_card(r)
        style = r.choice(["plain", "plain", "hyphen", "space"])
        note = ""
        if i % 10 == 3:
            old = gen_card(r)
            note = f"旧カード {rec.p('credit-card-number', fmt_card(old, 'hyphen'))} は2023/10期限切れ"
        elif i % 10 == 7:
            note = "カード更新依頼中"
        rows.append([f"M{200000 + i * 13}", p.name, p.kana, brands_jp[card_brand(pan)], rec.p("credit-card-number", fmt_card(pan, style)),
                     f"{r.randint(1, 12):02d}/{r.randint(25, 30)}", f"{p.mei_r.upper()} {p.sei_r.upper()}",
                     rec.p("jp-phone-number", fmt_phone(p.mobile or p.home or gen_mobile(r))), d8(dt.date(2015, 1, 1) + dt.timedelta(days=r.randint(0, 3000))),
                     note])
    emit("share/sales/カード/定期購入_カード情報_旧システム.xlsx", make_xlsx([("カード情報", rows)]), rec)

    # 19. payment gateway error export: masked PANs, and a logging bug leaked some full PANs
    rec = Rec()
    rows = [["txn_id", "created_at", "masked_pan", "amount_jpy", "error_code", "error_message", "raw_request"]]
    for i in range(220):
        pan = gen_card(r)
        masked = pan[:6] + "*" * (len(pan) - 10) + pan[-4:]
        when = dt.datetime(2024, 6, 1) + dt.timedelta(minutes=r.randint(0, 40000))
        code = r.choice(["G12", "G54", "G56", "G65", "C01", "E01"])
        raw = ""
        if i % 8 == 2:
            raw = json.dumps({"order_id": f"ORD-{when:%Y%m%d}-{i:06d}", "card_number": rec.p("credit-card-number", pan),
                              "exp": f"{r.randint(1, 12):02d}{r.randint(25, 30)}", "amount": r.randint(500, 90000)}, separators=(",", ":"))
        rows.append([f"tx_{rs(r, 16, '0123456789abcdef')}", when.isoformat() + "+09:00", masked, r.randint(300, 120000), code,
                     {"G12": "取引判定保留", "G54": "1日利用回数または金額オーバー", "G56": "クレジットカード番号異常",
                      "G65": "会員番号エラー", "C01": "貴社送信内容エラー", "E01": "Timeout"}[code], raw])
    emit("share/sales/カード/card_gateway_errors_202406.csv", text_bytes(csv_text(rows), "utf-8"), rec, "utf-8")

    # 20. books purchase list with ISBN-13 (decoys)
    rec = Rec()
    rows = [["ISBN", "書名", "出版社", "定価(税抜)", "冊数", "購入部署"]]
    titles = ["よくわかる品質管理", "生産管理の基礎", "図解 機械設計入門", "Pythonによるデータ分析", "実践 情報セキュリティ", "会計実務ハンドブック",
              "労務管理の手引き", "インボイス制度対応ガイド", "電子帳簿保存法Q&A", "Linuxサーバー構築標準教科書", "はじめてのSQL", "改訂 貿易実務"]
    for i in range(300):
        plain, hyph = gen_isbn13(r)
        v = hyph if r.random() < 0.4 else plain
        rec.digits(v, "ISBN-13 (978/979 book number)")
        rows.append([v, r.choice(titles) + (f" 第{r.randint(2, 5)}版" if r.random() < 0.3 else ""),
                     r.choice(["技術評論社", "日経BP", "オーム社", "翔泳社", "中央経済社", "講談社", "日本規格協会"]),
                     r.choice([1800, 2200, 2400, 2800, 3200, 3600, 4200]), r.randint(1, 5), r.choice(DEPTS)])
    emit("share/sales/書籍/書籍購入リスト_2024.csv", text_bytes(csv_text(rows), "utf-8-sig", crlf=True), rec, "utf-8-sig")

    # 21. loyalty members: 16-digit Luhn-valid point-card numbers (decoys) next to real phones/emails
    rec = Rec()
    rows = [["会員番号", "氏名", "生年月日", "郵便番号", "電話番号", "メールアドレス", "累計ポイント", "ランク"]]
    for i in range(200):
        p = PEOPLE[1030 + i % 170]
        card = luhn_complete("9810" + f"{r.randint(0, 10**11 - 1):011d}")
        if i < 60:
            rec.digits(card, "16-digit loyalty (point) card number; Luhn-valid but no card-brand IIN", ("credit-card-number",))
        style = r.choice(["hyphen", "hyphen", "plain", "intl"]) if i % 9 else "paren"
        phone = p.mobile or p.home or gen_mobile(r)
        rows.append([card, p.name, d8(p.birth), p.zip, rec.p("jp-phone-number", fmt_phone(phone, style)),
                     rec.p("email-address", p.private_email), r.randint(0, 48000), r.choice(["ブロンズ", "シルバー", "ゴールド"])])
    emit("share/sales/ポイント会員/会員一覧_抜粋_202406.csv", text_bytes(csv_text(rows), "utf-8"), rec, "utf-8")
    return customers


# ---------------------------------------------------------------------------
# Accounting
# ---------------------------------------------------------------------------

def invoice_doc(r, c: Company, no: int, rec: Rec, with_corp: bool) -> Doc:
    d = Doc()
    d.para("請　求　書", bold=True, align="center")
    issued = dt.date(2024, 6, 30)
    d.para(f"請求書番号：INV-2406-{no:04d}　　発行日：{issued.year}年{issued.month}月{issued.day}日", align="right")
    d.para(f"{COMPANY}　御中")
    d.para("〒141-0032 東京都品川区大崎2丁目11番1号　購買部 ご担当者様")
    d.para("")
    d.para(c.name, bold=True, align="right")
    d.para(f"〒{c.zip} {c.address}", align="right")
    tel = f"TEL {rec.p('jp-phone-number', fmt_phone(c.tel))}"
    if c.fax:
        tel += f"　FAX {rec.p('jp-phone-number', fmt_phone(c.fax))}"
    d.para(tel, align="right")
    if c.invoice:
        d.para(f"登録番号：{rec.p('jp-invoice-registration-number', c.invoice)}", align="right")
    if with_corp:
        d.para(f"法人番号：{rec.p('jp-corporate-number', c.corp)}", align="right")
    d.para(f"担当：{c.contact}（{rec.p('email-address', c.contact_mail)}）", align="right")
    d.para("下記のとおりご請求申し上げます。")
    po = f"45{r.randint(0, 10**8 - 1):08d}"
    rec.digits(po, "10-digit purchase order number (注文番号)")
    d.para(f"貴社注文番号：{po}　　納品日：2024年6月{r.randint(3, 28)}日")
    items = [["品番", "品名", "数量", "単位", "単価", "金額", "税率"]]
    total10 = total8 = 0
    for _ in range(r.randint(3, 7)):
        code = f"{r.choice(['MS', 'HK', 'TR', 'KP'])}-{r.randint(1000, 9999)}-{r.randint(1, 99):02d}"
        jan, name, price = r.choice(PRODUCTS)
        qty = r.choice([1, 2, 5, 10, 20, 100])
        rate = "10%" if r.random() < 0.9 else "8%※"
        amt = qty * price
        if rate == "10%":
            total10 += amt
        else:
            total8 += amt
        items.append([code, name, str(qty), r.choice(["個", "箱", "式", "本"]), f"{price:,}", f"{amt:,}", rate])
    d.table(items, widths_cm=[2.8, 6.2, 1.4, 1.4, 2.0, 2.4, 1.4], font_pt=9)
    tax = total10 // 10 + total8 * 8 // 100
    d.para(f"10%対象 {total10:,}円（消費税 {total10 // 10:,}円）　8%対象 {total8:,}円（消費税 {total8 * 8 // 100:,}円）")
    d.para(f"ご請求金額（税込）：￥{total10 + total8 + tax:,}-", bold=True)
    d.para("※は軽減税率対象品目です。")
    d.para(f"お支払期限：2024年7月31日")
    b = c.bank
    d.para(f"お振込先：{b[0]} {b[1]} {b[2]}預金 {rec.p('jp-bank-account-number', b[3])}　口座名義 {c.short}")
    d.para("恐れ入りますが振込手数料は貴社にてご負担ください。")
    return d


def build_accounting(customers):
    r = R("accounting")
    suppliers = customers[:40]
    # 22. invoices (docx), some also as PDF / ODT conversions
    for i, c in enumerate(suppliers[:10]):
        rec = Rec()
        d = invoice_doc(r, c, 101 + i, rec, with_corp=(i % 2 == 0))
        data = d.bytes()
        base = f"share/accounting/請求書/2024-06/請求書_{c.short}_INV-2406-{101 + i:04d}"
        if i < 8:
            emit(base + ".docx", data, rec)
        if i in (0, 3, 6, 8):
            tgt = f"share/accounting/請求書/2024-06/pdf/請求書_{c.short}_INV-2406-{101 + i:04d}.pdf"
            CONVERT.append((tgt, "docx", data))
            TRUTH.add(tgt, rec)
        if i in (1, 9):
            tgt = base + ".odt"
            CONVERT.append((tgt, "docx", data))
            TRUTH.add(tgt, rec)
    # a blank invoice template with placeholders (decoys)
    rec = Rec()
    d = Doc()
    d.para("請　求　書（テンプレート）", bold=True, align="center")
    d.para("登録番号：" + rec.n("jp-invoice-registration-number", "T0000000000000", "template placeholder (fails the check digit)"))
    d.para("法人番号：" + rec.n("jp-corporate-number", "0000000000000", "template placeholder"))
    d.para("TEL 03-XXXX-XXXX　FAX 03-XXXX-XXXX")
    d.para("お振込先：○○銀行 ××支店 普通預金 " + rec.n("jp-bank-account-number", "0000000", "template placeholder 口座番号"))
    emit("share/accounting/請求書/テンプレート/請求書_テンプレート.docx", d.bytes(), rec)

    # 23. payee bank master (cp932)
    rec = Rec()
    rows = [["支払先コード", "支払先名", "法人番号", "銀行コード", "銀行名", "支店コード", "支店名", "預金種目", "口座番号", "口座名義カナ", "手数料負担"]]
    bank_codes = {b[0]: b[1] for b in BANKS}
    for c in customers[20:140]:
        b = c.bank
        rows.append([c.code.replace("C", "S"), c.name, rec.p("jp-corporate-number", c.corp), bank_codes[b[0]], b[0],
                     f"{r.randint(1, 899):03d}", b[1], b[2], rec.p("jp-bank-account-number", b[3]),
                     to_halfwidth_kana("カ）" + c.short), r.choice(["当方", "先方"])])
    emit("share/accounting/支払/支払先口座マスタ.csv", text_bytes(csv_text(rows), "cp932", crlf=True), rec, "cp932")

    # 24. overseas vendors (xlsx): IBAN + BIC
    rec = Rec()
    rows = [H("Vendor Code", "Vendor Name", "Country", "City", "Bank", "SWIFT/BIC", "IBAN / Account No.", "Contact", "Email", "Phone")]
    vend = [("Hartmann Praezisionstechnik GmbH", "DE", "Stuttgart"), ("Kessler Antriebe GmbH", "DE", "Augsburg"), ("Bauer Messtechnik AG", "DE", "Munich"),
            ("Wexford Instruments Ltd", "GB", "Leeds"), ("Carrow & Finch Ltd", "GB", "Bristol"), ("Ateliers Moreau SAS", "FR", "Lyon"),
            ("Duval Composants SARL", "FR", "Grenoble"), ("Van Dijk Automation B.V.", "NL", "Eindhoven"), ("Rijnmond Tools B.V.", "NL", "Rotterdam"),
            ("Berner Feinmechanik AG", "CH", "Biel"), ("Lemaire Industrie NV", "BE", "Ghent"), ("Northgate Supply Co.", "US", "Chicago"),
            ("Lion City Components Pte Ltd", "SG", "Singapore"), ("Siam Precision Co., Ltd.", "TH", "Bangkok"), ("Hanoi Mechanical JSC", "VN", "Hanoi"),
            ("Suzhou Jingmi Parts Co., Ltd.", "CN", "Suzhou")]
    for i in range(48):
        nm, cc, city = vend[i % len(vend)]
        if i >= len(vend):
            nm = nm.replace(",", "").split(" ")[0] + f" {r.choice(['Engineering', 'Trading', 'Systems', 'Parts'])} " + nm.split(" ")[-1]
        bank, bic = r.choice(BICS[cc])
        bic = rec.p("swift-code", bic)
        if cc in ("DE", "GB", "FR", "NL", "CH", "BE"):
            acct = rec.p("iban", fmt_iban(gen_iban(r, cc), r.random() < 0.5))
        else:
            acct = f"{r.randint(10**9, 10**11):d}"
        first, last = r.choice(US_FIRST), r.choice(US_LAST)
        dom = re.sub(r"[^a-z]", "", nm.lower().split(" ")[0]) + {"DE": ".de", "GB": ".co.uk", "FR": ".fr", "NL": ".nl", "CH": ".ch", "BE": ".be",
                                                                 "US": ".com", "SG": ".com.sg", "TH": ".co.th", "VN": ".vn", "CN": ".cn"}[cc]
        rows.append([f"V{3000 + i}", nm, cc, city, bank, bic, acct, f"{first} {last}",
                     rec.p("email-address", f"{first[0].lower()}.{last.lower()}@{dom}"),
                     f"+{r.choice(['49', '44', '33', '31', '41', '32', '1', '65', '66', '84', '86'])} {r.randint(10, 99)} {r.randint(1000, 9999)} {r.randint(1000, 9999)}"])
    rows[0].append(("hdr", "Remarks"))
    for k, row in enumerate(rows[1:4]):
        good = gen_iban(r, "GB")
        bad = good[:2] + f"{(int(good[2:4]) + 7) % 100:02d}" + good[4:]
        assert not is_iban(bad)
        row.append("Old IBAN " + rec.n("iban", fmt_iban(bad, True), "mistyped IBAN from an old invoice (fails mod-97); rejected by the bank")
                   + " rejected by bank (invalid check digits)")
    emit("share/accounting/海外/overseas_vendors.xlsx", make_xlsx([("Vendors", rows)]), rec)

    # 25. overseas remittance requests (docx + PDF)
    rec = Rec()
    d = Doc()
    d.h("海外送金依頼書（2024年6月分）", 1)
    d.para("経理部 財務グループ 宛　下記のとおり外国送金を依頼します。")
    for i in range(7):
        nm, cc, city = vend[i if i < 6 else 9]
        bank, bic = r.choice(BICS[cc])
        iban = gen_iban(r, cc)
        d.h(f"依頼 {i + 1}", 2)
        d.table([["項目", "内容"],
                 ["受取人名 (Beneficiary)", nm],
                 ["受取人住所", f"{city}, {cc}"],
                 ["受取銀行 (Beneficiary Bank)", bank],
                 ["SWIFT/BICコード", rec.p("swift-code", bic)],
                 ["IBAN", rec.p("iban", fmt_iban(iban, i % 2 == 0))],
                 ["送金額", f"EUR {r.randint(1200, 98000):,}.00" if cc != "GB" and cc != "CH" else f"{'GBP' if cc == 'GB' else 'CHF'} {r.randint(1200, 98000):,}.00"],
                 ["送金目的", r.choice(["部品代金 (Invoice No. " + f"{r.randint(20240001, 20249999)})", "設備保守費用", "ライセンス料"])],
                 ["手数料", "OUR" if i % 3 else "SHA"],
                 ["送金種別", "TELEGRAPHIC TRANSFER（電信送金）"]], widths_cm=[5, 11])
    rec.n("swift-code", "TELEGRAPHIC", "11 uppercase letters (送金種別 value), not a BIC")
    rec.n("swift-code", "TRANSFER", "8 uppercase letters (送金種別 value), not a BIC")
    d.h("記入例", 2)
    d.para("IBAN欄の記入例：" + rec.n("iban", "DE00 1234 5678 9012 3456 78", "記入例 (fails the mod-97 check)")
           + "（ドイツは22桁。スペースは4桁ごと）")
    d.para("優先度：" + rec.n("swift-code", "STANDARD", "8 uppercase letters (priority), not a BIC") + "（至急の場合は URGENT）")
    d.para("承認：経理部長　　起票：財務グループ")
    data = d.bytes()
    emit("share/accounting/海外/海外送金依頼書_2024-06.docx", data, rec)
    CONVERT.append(("share/accounting/海外/海外送金依頼書_2024-06.pdf", "docx", data))
    TRUTH.add("share/accounting/海外/海外送金依頼書_2024-06.pdf", rec)

    # 26. journal (CSV)
    rec = Rec()
    rows = [["伝票番号", "伝票日付", "借方勘定科目", "借方金額", "貸方勘定科目", "貸方金額", "税区分", "摘要", "部門"]]
    accts = [("旅費交通費", "未払金"), ("消耗品費", "買掛金"), ("通信費", "普通預金"), ("仕入高", "買掛金"), ("支払手数料", "普通預金"),
             ("売掛金", "売上高"), ("外注費", "買掛金"), ("地代家賃", "普通預金"), ("福利厚生費", "現金")]
    vno = 24050001
    n_inv = 0
    for i in range(600):
        vno += 1
        a = r.choice(accts)
        amt = r.choice([r.randint(300, 9999), r.randint(10000, 999999), r.randint(1000000, 9999999)])
        c = r.choice(customers)
        memo = r.choice([f"{c.short} 5月分", f"{c.short} 請求書 INV-{r.randint(2400, 2499)}-{r.randint(1, 999):04d}", "タクシー代 品川→大崎",
                         "切手代", "振込手数料", f"{c.short} 検収 No.{r.randint(10000, 99999)}", "社員旅行積立"])
        if "請求書" in memo and c.invoice and 40 <= n_inv < 43:
            bad = "T" + str((int(c.invoice[1]) + 1) % 10) + c.invoice[2:]
            memo += f" 登録番号{rec.n('jp-invoice-registration-number', bad, 'mistyped registration number (fails the check digit)')}"
            n_inv += 1
        if "請求書" in memo and c.invoice and n_inv < 40:
            memo += f" 登録番号{rec.p('jp-invoice-registration-number', c.invoice)}"
            n_inv += 1
        rows.append([str(vno), f"2024/05/{r.randint(1, 31):02d}", a[0], amt, a[1], amt, r.choice(["課税10%", "課税8%", "対象外", "非課税"]),
                     memo, r.choice(["100", "200", "310", "320", "400", "510"])])
    emit("share/accounting/仕訳/仕訳帳_2024年5月.csv", text_bytes(csv_text(rows), "utf-8-sig", crlf=True), rec, "utf-8-sig")

    # 27. 稟議書 (docx + ODT)
    rec = Rec()
    v = suppliers[11]
    d = Doc()
    d.para("稟　議　書", bold=True, align="center")
    d.table([["稟議番号", "2024-041", "起案日", "2024年6月3日"], ["起案部署", "情報システム部", "起案者", "石川 健一"],
             ["件名", "基幹システム（販売・在庫）更改に伴う開発委託契約の締結", "決裁区分", "取締役会付議"]], header=False)
    d.h("1. 目的", 2)
    d.para("現行の販売管理システム（2012年稼働、バージョン 8.2.1.4）は保守期限を2025年3月に迎えるため、"
           "クラウド型基幹システムへ移行する。" )
    rec.n("ip-address", "8.2.1.4", "software version number written as four dotted parts")
    d.h("2. 委託先", 2)
    d.para(f"委託先：{v.name}（法人番号 {rec.p('jp-corporate-number', v.corp)}、"
           f"適格請求書発行事業者登録番号 {rec.p('jp-invoice-registration-number', v.invoice or 'T' + v.corp)}）")
    d.para(f"所在地：{v.address}　代表電話：{rec.p('jp-phone-number', fmt_phone(v.tel))}")
    d.para(f"先方窓口：{v.contact} 様（{rec.p('email-address', v.contact_mail)}、携帯 {rec.p('jp-phone-number', fmt_phone(v.contact_mobile or gen_mobile(r)))}）")
    d.h("3. 費用", 2)
    d.table([["項目", "金額(税抜)", "備考"], ["要件定義・設計", "12,400,000円", "見積番号 Q-2024-0512"], ["開発・テスト", "38,750,000円", "人月単価 1,150,000円"],
             ["データ移行", "6,200,000円", "受注データ約1,250,000件"], ["クラウド利用料(年額)", "4,560,000円", "5年総額 22,800,000円"]])
    d.para("なお、比較対象として他2社から見積を取得済み（最安値との差額 3,120,000円）。")
    d.h("4. スケジュール", 2)
    d.para("2024年7月 要件定義開始 → 2025年1月 受入テスト → 2025年2月 本番稼働。問い合わせ窓口（社内）：内線 4417")
    data = d.bytes()
    emit("share/accounting/稟議/稟議書_2024-041_基幹システム更改.docx", data, rec)
    CONVERT.append(("share/accounting/稟議/稟議書_2024-041_基幹システム更改.odt", "docx", data))
    TRUTH.add("share/accounting/稟議/稟議書_2024-041_基幹システム更改.odt", rec)


# ---------------------------------------------------------------------------
# Logs
# ---------------------------------------------------------------------------

UAS = ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.6422.142 Safari/537.36",
       "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
       "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
       "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80",
       "Mozilla/5.0 (Linux; Android 14; SO-51D) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.6422.113 Mobile Safari/537.36",
       "curl/8.5.0", "python-requests/2.31.0", "Googlebot/2.1 (+http://www.google.com/bot.html)"]


def ua_pick(r, rec: Rec) -> str:
    ua = r.choice(UAS)
    if "124.0.0.0" in ua:
        rec.n("ip-address", "124.0.0.0", "Chrome reduced user-agent version Chrome/124.0.0.0")
    return ua


def build_logs():
    r = R("logs")
    # 28. JSON API log
    rec = Rec()
    ips = [gen_ipv4_public(r) for _ in range(45)] + [gen_ipv4_private(r) for _ in range(20)] + [gen_ipv6(r) for _ in range(15)]
    users = [p.email for p in PEOPLE[:30]] + [p.private_email for p in PEOPLE[1000:1030]]
    jwts = [gen_jwt(r, f"u_{r.randint(10000, 99999)}", users[k], "RS256" if k % 3 == 0 else "HS256") for k in range(14)]
    lines = []
    t = 1718150400000 + 123
    paths = ["/api/v1/orders", "/api/v1/orders/{o}", "/api/v1/products/{j}", "/api/v1/members/me", "/api/v1/cart", "/api/v1/auth/login",
             "/api/v1/inventory/{j}", "/healthz"]
    for i in range(560):
        t += r.randint(5, 11000)
        ts = rec.digits(str(t), "epoch-millisecond timestamp (ts field)")
        ip = rec.p("ip-address", r.choice(ips))
        pth = r.choice(paths)
        if "{o}" in pth:
            o = f"2406{r.randint(10, 30)}{r.randint(3100000, 3199999)}"
            pth = pth.replace("{o}", rec.digits(o, "13-digit order number in a request path"))
        if "{j}" in pth:
            pth = pth.replace("{j}", rec.digits(r.choice(PRODUCTS)[0], "JAN/EAN-13 product code in a request path"))
        ent = {"ts": int(ts), "level": "INFO", "svc": "order-api", "req_id": rec.scan(str(uuid.UUID(int=r.getrandbits(128), version=4)), "digits inside a UUID"),
               "method": "GET" if "login" not in pth else "POST", "path": pth, "status": r.choice([200] * 12 + [201, 204, 304, 400, 401, 404, 500]),
               "dur_ms": r.randint(2, 1800), "client_ip": ip}
        if pth != "/healthz" and r.random() < 0.6:
            ent["user"] = rec.p("email-address", r.choice(users))
        if i % 40 == 11:
            ent["level"] = "DEBUG"
            ent["headers"] = {"authorization": "Bearer " + rec.p("jwt", jwts[(i // 40) % len(jwts)]), "x-forwarded-for": f"{rec.p('ip-address', r.choice(ips[:45]))}, {rec.p('ip-address', r.choice(ips[45:65]))}"}
        if ent["status"] == 500:
            ent["level"] = "ERROR"
            ent["error"] = r.choice(["upstream timeout after 3000ms", "could not serialize access due to concurrent update", "NullPointerException"])
        ent["ua"] = ua_pick(r, rec)
        lines.append(json.dumps(ent, ensure_ascii=False, separators=(",", ":")))
    emit("share/logs/api/order-api-2024-06-12.log", text_bytes("\n".join(lines) + "\n", "utf-8"), rec, "utf-8")

    # 29. nginx access log
    rec = Rec()
    lines = []
    when = dt.datetime(2024, 6, 12, 0, 0, 3)
    for i in range(560):
        when += dt.timedelta(seconds=r.randint(1, 150))
        ip = rec.p("ip-address", r.choice(ips[:45] + ips[65:]))
        req = r.choice(["GET / HTTP/1.1", "GET /products/{j} HTTP/2.0", "GET /static/js/app.3f9a1c.js HTTP/2.0", "POST /login HTTP/2.0",
                        "GET /search?q=%E3%83%89%E3%83%A9%E3%82%A4%E3%83%90%E3%83%BC HTTP/2.0", "GET /img/logo@2x.png HTTP/2.0",
                        "GET /cart HTTP/2.0", "GET /favicon.ico HTTP/1.1"])
        if "{j}" in req:
            req = req.replace("{j}", rec.digits(r.choice(PRODUCTS)[0], "JAN/EAN-13 product code in a URL"))
        if "logo@2x.png" in req:
            rec.n("email-address", "logo@2x.png", "retina image file name (name@2x.png), not an address")
        lines.append(f'{ip} - - [{when:%d/%b/%Y:%H:%M:%S} +0900] "{req}" {r.choice([200, 200, 200, 304, 302, 404])} {r.randint(200, 90000)} '
                     f'"{r.choice(["-", "https://shop.minase-seiki.co.jp/", "https://www.google.com/"])}" "{ua_pick(r, rec)}" rt={r.randint(1, 900) / 1000:.3f}')
    emit("share/logs/web/access.log-20240612", text_bytes("\n".join(lines) + "\n", "utf-8"), rec, "utf-8")

    # 30. nightly backup batch log: version decoys, a leaked connection string and keys
    rec = Rec()
    pw = gen_password(r, 16, url_safe=True)
    kid, sec = gen_aws_key_id(r), gen_aws_secret(r)
    dbip, nas = "10.20.1.15", "192.168.50.20"
    L = []
    ts = dt.datetime(2024, 6, 12, 1, 0, 0)
    def log(msg, lvl="INFO"):
        nonlocal ts
        ts += dt.timedelta(seconds=r.randint(1, 95))
        L.append(f"{ts:%Y-%m-%d %H:%M:%S},{r.randint(0, 999):03d} {lvl:5s} [backup-agent] {msg}")
    log(f"backup-agent version {rec.n('ip-address', '7.2.0.15', 'software version string (backup-agent version)')} starting (pid 41822)")
    log(f"runtime: .NET Framework {rec.n('ip-address', '4.8.4.0', '.NET Framework version string')}, OpenSSL 3.0.11")
    log("loading job definition /etc/backup/jobs/nightly-erp.yml")
    log(f"env: AWS_ACCESS_KEY_ID={rec.p('aws-access-key-id', kid)} AWS_SECRET_ACCESS_KEY={rec.p('aws-secret-access-key', sec)} AWS_REGION=ap-northeast-1", "DEBUG")
    log(f"connecting to postgresql://backup_user:{rec.p('password-in-url', pw)}@{rec.p('ip-address', dbip)}:5432/erp")
    log("pg_dump (PostgreSQL) 15.4 -- dumping schema public, sales, hr")
    for tbl in ["sales.orders", "sales.order_lines", "hr.employees", "hr.payroll", "public.audit_log", "sales.customers"]:
        log(f"dumped {tbl}: {r.randint(1000, 2000000):,} rows, {r.randint(1, 900)}.{r.randint(0, 9)} MB")
    log(f"rsync to {rec.p('ip-address', nas)}::backup/erp (NAS firmware {rec.n('ip-address', '4.3.6.2', 'NAS firmware version string')})")
    tsn = 1718153405123
    while not is_corp(str(tsn)):
        tsn += 1
    rec.digits(str(tsn), "epoch-millisecond timestamp in an S3 prefix")
    log(f"snapshot prefix s3://minase-backup-prod/erp/{rec.n('jp-invoice-registration-number', 'T' + str(tsn), 'T + epoch-ms timestamp in an S3 prefix (passes the check digit)')}/ created")
    log(f"upload s3://minase-backup-prod/erp/2024-06-12/erp.dump.gz ({r.randint(1, 9)}.{r.randint(10, 99)} GB) etag=\"{rs(r, 32, '0123456789abcdef')}\"")
    commit = rs(r, 40, "0123456789abcdef")
    log(f"job definition revision {rec.n('aws-secret-access-key', commit, 'git commit SHA-1 (40 hex characters)')}")
    log(f"retention: removed 3 snapshots older than 30 days; next run at 2024-06-13 01:00:00")
    log(f"secondary target {rec.p('ip-address', gen_ipv6(r))} unreachable, will retry", "WARN")
    log("job nightly-erp finished in 00:47:12 status=SUCCESS")
    emit("share/logs/batch/nightly_backup_20240612.log", text_bytes("\n".join(L) + "\n", "utf-8"), rec, "utf-8")

    # 31. Java error log
    rec = Rec()
    L = []
    ts = dt.datetime(2024, 6, 11, 9, 0, 0)
    for i in range(60):
        ts += dt.timedelta(seconds=r.randint(10, 1200))
        trace = rec.scan(rs(r, 16, "0123456789abcdef"), "digits inside a hex trace id")
        k = i % 5
        if k == 0:
            who = rec.p("email-address", r.choice(PEOPLE[1000:1100]).private_email)
            L.append(f"{ts:%Y-%m-%d %H:%M:%S}.{r.randint(0, 999):03d} ERROR [member-api,{trace}] o.h.e.j.s.SqlExceptionHelper : Duplicate entry '{who}' for key 'members.uk_email'")
            L.append("org.springframework.dao.DataIntegrityViolationException: could not execute statement; SQL [n/a]; constraint [members.uk_email]")
            L.append("\tat org.springframework.orm.jpa.vendor.HibernateJpaDialect.convertHibernateAccessException(HibernateJpaDialect.java:276)")
        elif k == 1:
            host = rec.p("ip-address", r.choice(["10.20.1.15", "10.20.1.31", "10.20.2.44"]))
            L.append(f"{ts:%Y-%m-%d %H:%M:%S}.{r.randint(0, 999):03d} ERROR [order-api,{trace}] c.z.h.p.HikariPool : HikariPool-1 - Exception during pool initialization.")
            L.append(f"java.net.ConnectException: Connection refused (Connection refused) to {host}:5432")
        elif k == 2:
            o = rec.digits(f"2406{r.randint(10, 30)}{r.randint(3100000, 3199999)}", "13-digit order number in an error message")
            L.append(f"{ts:%Y-%m-%d %H:%M:%S}.{r.randint(0, 999):03d} WARN  [order-api,{trace}] j.m.o.PaymentService : payment declined order={o} code=G56 card=****{r.randint(0, 9999):04d}")
        elif k == 3:
            L.append(f"{ts:%Y-%m-%d %H:%M:%S}.{r.randint(0, 999):03d} INFO  [order-api,{trace}] j.m.o.ShipmentClient : label created tracking="
                     + rec.digits(gen_tracking(r, "佐川急便"), "12-digit tracking number in a log line"))
        else:
            L.append(f"{ts:%Y-%m-%d %H:%M:%S}.{r.randint(0, 999):03d} ERROR [order-api,{trace}] j.m.o.web.GlobalExceptionHandler : request {uuid.UUID(int=r.getrandbits(128), version=4)} failed after {r.randint(3000, 30000)}ms")
            rec.scan(L[-1], "digits inside a UUID")
            L.append("java.util.concurrent.TimeoutException: null")
    emit("share/logs/app/member-order-api-error.log", text_bytes("\n".join(L) + "\n", "utf-8"), rec, "utf-8")


# ---------------------------------------------------------------------------
# IT: repositories, configs, keys, inventories, chat export
# ---------------------------------------------------------------------------

AWS_DOC_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_DOC_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
JWT_IO_SAMPLE = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ."
                 "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")
SLACK_DOC_WEBHOOK = "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"


def order_api_props(r, rec: Rec, env: str) -> str:
    pw = rec.p("password-assignment", gen_password(r))
    return f"""# order-api {env} settings
server.port=8080
spring.datasource.url=jdbc:postgresql://{rec.p('ip-address', '10.20.1.15')}:5432/orders
spring.datasource.username=order_app
spring.datasource.password={pw}
spring.jpa.open-in-view=false
spring.mail.host=smtp.minase-seiki.co.jp
spring.mail.username={rec.p('email-address', 'noreply@' + DOMAIN)}
spring.mail.password={rec.p('password-assignment', gen_password(r))}
payment.stripe.secret-key={rec.p('stripe-api-key', gen_stripe(r))}
payment.stripe.publishable-key={rec.n('stripe-api-key', 'pk_live_' + rs(r, 24), 'Stripe publishable key (pk_live_, public by design)')}
notify.slack.webhook-url={rec.p('slack-webhook-url', gen_slack_webhook(r))}
security.password.min-length={rec.n('password-assignment', '12', 'password policy setting (min length), not a password')}
security.jwt.expiry-seconds=3600
management.endpoints.web.exposure.include=health,info
"""


def build_repos():
    r = R("repos")
    base = "share/it/repos"

    # --- order-api (Java) ---
    rec = Rec()
    emit(f"{base}/order-api/src/main/resources/application-prod.properties", order_api_props(r, rec, "prod").encode(), rec)
    rec = Rec()
    stripe = gen_stripe(r)
    java = f"""package jp.minase.order.payment;

import java.util.Objects;

public final class PaymentConfig {{
    // TODO(2023-11): move to Vault (INFRA-2231)
    private static final String STRIPE_SECRET = "{rec.p('stripe-api-key', stripe)}";
    private static final String PASSWORD_FIELD = "{rec.n('password-assignment', 'password', 'form field name constant')}";{rec.n('password-assignment', 'form.get(PASSWORD_FIELD)', 'value read from a form map') and ''}
    static final String DEFAULT_CURRENCY = "jpy";

    public static String secretKey() {{
        String fromEnv = System.getenv("STRIPE_SECRET_KEY");
        return fromEnv != null ? fromEnv : STRIPE_SECRET;
    }}

    public static boolean hasPassword(java.util.Map<String, String> form) {{
        String password = form.get(PASSWORD_FIELD);
        if (password == null) {{
            return false;
        }}
        return !Objects.requireNonNull(password).isBlank();
    }}
}}
"""
    emit(f"{base}/order-api/src/main/java/jp/minase/order/payment/PaymentConfig.java", java.encode(), rec)
    rec = Rec()
    tests = ""
    for pan, why in [("4242424242424242", "Stripe published test card number in a unit test"),
                     ("4111111111111111", "well-known test Visa number in a unit test"),
                     ("5555555555554444", "Stripe published test Mastercard number in a unit test")]:
        rec.n("credit-card-number", pan, why)
        tests += f'        assertTrue(CardValidator.isValid("{pan}"));\n'
    rec.n("credit-card-number", "4242424242424241", "deliberately invalid number in a unit test (fails Luhn)")
    emit(f"{base}/order-api/src/test/java/jp/minase/order/payment/CardValidatorTest.java", f"""package jp.minase.order.payment;

import static org.junit.jupiter.api.Assertions.*;
import org.junit.jupiter.api.Test;

class CardValidatorTest {{
    @Test
    void acceptsPspTestCards() {{
{tests}    }}

    @Test
    void rejectsBadChecksum() {{
        assertFalse(CardValidator.isValid("4242424242424241"));
        assertFalse(CardValidator.isValid("1234 5678 9012 3456"));
    }}
}}
""".encode(), rec)
    rec = Rec()
    emit(f"{base}/order-api/README.md", f"""# order-api

受注API（Spring Boot 3.2）。

## ローカル起動

```bash
export STRIPE_SECRET_KEY={rec.n('stripe-api-key', 'sk_live_xxxxxxxxxxxxxxxxxxxxxxxx', 'placeholder in README')}
export DB_PASSWORD=<ローカルDBのパスワード>
./gradlew bootRun --args='--spring.profiles.active=local'
```

接続先DB: `postgres://order_app:{rec.n('password-in-url', '${DB_PASSWORD}', 'environment variable reference, not a password')}@localhost:5432/orders`

問い合わせ: 情報システム部 開発グループ（#dev-order, {rec.p('email-address', 'dev-order@' + DOMAIN)}）
ソース: `{rec.n('email-address', 'git@github.com', 'SSH remote user@host of a git URL, not a mailbox')}:minase-seiki/order-api.git`
""".encode(), rec)

    # --- member-portal (Node.js) ---
    rec = Rec()
    db_pw = gen_password(r)
    env = f"""NODE_ENV=production
PORT=3000
DB_HOST={rec.p('ip-address', '10.30.136.192')}
DB_PORT=5432
DB_USER=portal
DB_PASSWORD={rec.p('password-assignment', db_pw)}
REDIS_URL=redis://:{rec.p('password-in-url', gen_password(r, 20, url_safe=True))}@{rec.p('ip-address', '10.30.136.200')}:6379/0
SESSION_COOKIE_NAME=mp_sid
GOOGLE_MAPS_API_KEY={rec.p('google-api-key', gen_google_key(r))}
SLACK_BOT_TOKEN={rec.p('slack-token', gen_slack_token(r, 'xoxb'))}
OPENAI_API_KEY={rec.p('openai-api-key', gen_openai(r))}
SERVICE_JWT={rec.p('jwt', gen_jwt(r, 'svc-member-portal', None, 'RS256'))}
MAIL_FROM=noreply@{DOMAIN}
"""
    rec.p("email-address", "noreply@" + DOMAIN)
    emit(f"{base}/member-portal/.env.production", env.encode(), rec)
    rec = Rec()
    emit(f"{base}/member-portal/.env.example", f"""NODE_ENV=development
PORT=3000
DB_HOST=localhost
DB_USER=portal
DB_PASSWORD=
GOOGLE_MAPS_API_KEY={rec.n('google-api-key', 'AIzaSyXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX', 'placeholder of the right length')}
SLACK_BOT_TOKEN={rec.n('slack-token', 'xoxb-your-bot-token', 'placeholder')}
OPENAI_API_KEY={rec.n('openai-api-key', 'sk-proj-XXXXXXXXXXXXXXXXXXXXXXXX', 'placeholder')}
SERVICE_JWT=
""".encode(), rec)
    rec = Rec()
    gkey = gen_google_key(r)
    emit(f"{base}/member-portal/src/config.js", f"""// member-portal runtime configuration
const path = require('path');

module.exports = {{
  db: {{
    host: process.env.DB_HOST || 'localhost',
    user: process.env.DB_USER,
    password: {rec.n('password-assignment', 'process.env.DB_PASSWORD', 'environment variable reference')},
  }},
  maps: {{
    apiKey: '{rec.p('google-api-key', gkey)}', // restricted to *.minase-seiki.co.jp referrers
  }},
  upload: {{ dir: path.join(__dirname, '..', 'uploads'), maxBytes: 5242880 }},
}};
""".encode(), rec)
    rec = Rec()
    emit(f"{base}/member-portal/src/views/account.js", f"""export class AccountView {{
  constructor(root) {{
    this.root = root;
    this.addPassword = "{rec.n('password-assignment', '#add-password', 'CSS selector assigned to a variable named *Password')}";
    this.passwordHint = 'passwordHint';
  }}

  bind() {{
    const btn = this.root.querySelector(this.addPassword);
    btn.addEventListener('click', () => this.open());
  }}

  validate(form) {{
    const password = form.elements['password'].value;
    return password.length >= 12 && /[0-9]/.test(password);
  }}
}}
""".encode(), rec)
    rec = Rec()
    ja = {"login": {"title": "ログイン", "email": "メールアドレス", "password": rec.n("password-assignment", "パスワード", "i18n label text, not a password"),
                    "forgot": "パスワードをお忘れの方"},
          "signup": {"passwordConfirm": "パスワード（確認）", "placeholderEmail": rec.n("email-address", "taro.yamada@example.com", "placeholder address in a UI string")}}
    emit(f"{base}/member-portal/src/locales/ja.json", json.dumps(ja, ensure_ascii=False, indent=2).encode(), rec)
    rec = Rec()
    emit(f"{base}/member-portal/.npmrc", f"""@minase:registry=https://npm.pkg.github.com/
//npm.pkg.github.com/:_authToken={rec.p('github-token', gen_github(r, 'ghp'))}
//registry.npmjs.org/:_authToken={rec.p('npm-token', gen_npm(r))}
save-exact=true
""".encode(), rec)
    rec = Rec()
    emit(f"{base}/member-portal/package.json", json.dumps({
        "name": "@minase/member-portal", "version": "3.4.1", "private": True,
        "scripts": {"start": "node src/server.js", "test": "jest"},
        "dependencies": {"express": "4.19.2", "pg": "8.11.5", "@minase/ui-kit": "2.1.0"},
        "devDependencies": {"@types/node": "20.12.7", "jest": "29.7.0"},
        "author": rec.p("email-address", f"web-team@{DOMAIN}")}, indent=2).encode(), rec)

    # --- inventory-sync (Python) ---
    rec = Rec()
    kid, sec = gen_aws_key_id(r), gen_aws_secret(r)
    emit(f"{base}/inventory-sync/config/settings.yaml", f"""app:
  name: inventory-sync
  schedule: "*/15 * * * *"
database:
  host: {rec.p('ip-address', '10.20.1.31')}
  port: 5432
  name: inventory
  user: inv_sync
  password: "{rec.p('password-assignment', gen_password(r))}"
warehouse_api:
  base_url: https://wms.hayate-unyu.co.jp/api/v2
  api_key: {rec.p('google-api-key', gen_google_key(r))}
aws:
  region: ap-northeast-1
  access_key_id: {rec.p('aws-access-key-id', kid)}
  secret_access_key: {rec.p('aws-secret-access-key', sec)}
  bucket: minase-inventory-snapshots
slack:
  webhook_url: {rec.p('slack-webhook-url', gen_slack_webhook(r))}
  channel: "#inv-alerts"
""".encode(), rec)
    rec = Rec()
    emit(f"{base}/inventory-sync/inventory_sync/db.py", f'''"""Database helpers."""
import os

import psycopg2

DSN_FALLBACK = "postgresql://inv_sync:{rec.p('password-in-url', gen_password(r, 14, url_safe=True))}@{rec.p('ip-address', '10.20.1.31')}:5432/inventory"


def connect():
    password = {rec.n('password-assignment', 'os.environ["DB_PASSWORD"]', 'read from the environment')}
    host = os.environ.get("DB_HOST", "localhost")
    if not password:
        return psycopg2.connect(DSN_FALLBACK)
    return psycopg2.connect(host=host, dbname="inventory", user="inv_sync", password=password)
'''.encode(), rec)
    rec = Rec()
    kid2, sec2 = gen_aws_key_id(r), gen_aws_secret(r)
    emit(f"{base}/inventory-sync/inventory_sync/s3.py", f'''import boto3

# 2022年の暫定対応。IAMロールに移行後に削除すること
_s3 = boto3.client(
    "s3",
    region_name="ap-northeast-1",
    aws_access_key_id="{rec.p('aws-access-key-id', kid2)}",
    aws_secret_access_key="{rec.p('aws-secret-access-key', sec2)}",
)


def upload_snapshot(path: str, key: str) -> None:
    _s3.upload_file(path, "minase-inventory-snapshots", key)
'''.encode(), rec)
    rec = Rec()
    emit(f"{base}/inventory-sync/tests/test_settings.py", f'''from inventory_sync.settings import load

# AWS documentation example credentials -- never real
FAKE_KEY_ID = "{rec.n('aws-access-key-id', AWS_DOC_KEY_ID, 'AWS documentation example key id')}"
FAKE_SECRET = "{rec.n('aws-secret-access-key', AWS_DOC_SECRET, 'AWS documentation example secret key')}"


def test_load_reads_env(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", FAKE_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", FAKE_SECRET)
    cfg = load()
    assert cfg.aws.access_key_id == FAKE_KEY_ID
    password = None
    assert cfg.database.password is password
'''.encode(), rec)

    # --- notification-worker (Go) ---
    rec = Rec()
    cfg = {"slack": {"bot_token": rec.p("slack-token", gen_slack_token(r, "xoxb")), "app_token": rec.p("slack-token", gen_slack_token(r, "xapp")),
                     "default_channel": "C04R2MX8QJ7"},
           "smtp": {"host": "smtp.sendgrid.net", "port": 587, "user": "apikey", "password": rec.p("password-assignment", gen_password(r))},
           "webhooks": {"ops": rec.p("slack-webhook-url", gen_slack_webhook(r)), "sales": rec.p("slack-webhook-url", gen_slack_webhook(r))},
           "sender": rec.p("email-address", f"notice@{DOMAIN}")}
    emit(f"{base}/notification-worker/config/config.json", json.dumps(cfg, indent=2).encode(), rec)
    rec = Rec()
    emit(f"{base}/notification-worker/main.go", f'''package main

import (
	"log"
	"os"
)

// githubToken is used to open issues when a delivery fails repeatedly.
const githubToken = "{rec.p('github-token', gen_github(r, 'ghp'))}"

func main() {{
	password := os.Getenv("SMTP_PASSWORD")
	if password == "" {{
		log.Println("SMTP_PASSWORD not set, using config file")
	}}
	w := NewWorker(loadConfig("config/config.json"), githubToken)
	log.Fatal(w.Run())
}}
'''.encode(), rec)
    rec.n("password-assignment", 'os.Getenv("SMTP_PASSWORD")', "read from the environment")

    # --- analytics-etl (docker-compose, INI, python) ---
    rec = Rec()
    mpw = gen_password(r, 14, url_safe=True)
    mpw_enc = mpw[:5] + "%40" + mpw[5:]
    pg_ref = "${POSTGRES_PASSWORD}"
    emit(f"{base}/analytics-etl/docker-compose.yml", f"""version: "3.9"
services:
  dwh:
    image: postgres:15.4
    environment:
      POSTGRES_USER: etl
      POSTGRES_PASSWORD: {rec.p('password-assignment', gen_password(r, 14, url_safe=True))}
      POSTGRES_DB: dwh
    ports:
      - "5433:5432"
  etl:
    build: .
    environment:
      MONGO_URL: mongodb+srv://etl_reader:{rec.p('password-in-url', mpw_enc)}@cluster0.q7kxz.mongodb.net/analytics?retryWrites=true
      DWH_URL: postgres://etl:{rec.n('password-in-url', pg_ref, 'compose variable reference')}@dwh:5432/dwh
      OPENAI_API_KEY: {rec.p('openai-api-key', gen_openai(r))}
      password: ${{DB_PASSWORD}}
    depends_on: [dwh]
""".encode(), rec)
    rec.n("password-assignment", "${DB_PASSWORD}", "compose variable reference")
    rec.email_decoys(FILES[f"{base}/analytics-etl/docker-compose.yml"].decode(), "password@host inside a connection URL, not a mailbox")
    rec = Rec()
    emit(f"{base}/analytics-etl/airflow/connections.ini", f"""; Airflow connections exported 2024-05-20
[postgres_dwh]
conn_type = postgres
host = {rec.p('ip-address', '10.40.0.12')}
login = airflow
password = {rec.p('password-assignment', gen_password(r))}
schema = dwh

[mysql_legacy_shop]
conn_type = mysql
host = {rec.p('ip-address', '192.168.10.45')}
login = readonly
password = {rec.p('password-assignment', gen_password(r))}

[smtp_default]
host = smtp.minase-seiki.co.jp
password =
""".encode(), rec)
    rec = Rec()
    emit(f"{base}/analytics-etl/notebooks/summarize_reviews.py", f'''# Quick experiment - do not commit keys! (2023-08 K.Ikeda)
import openai

openai.api_key = "{rec.p('openai-api-key', gen_openai(r, 'legacy'))}"
PROMPT = "次のレビューを3行で要約してください:\\n{{text}}"


def summarize(text: str) -> str:
    res = openai.ChatCompletion.create(model="gpt-3.5-turbo", messages=[{{"role": "user", "content": PROMPT.format(text=text)}}])
    return res["choices"][0]["message"]["content"]
'''.encode(), rec)

    # --- edi-gateway (C) ---
    rec = Rec()
    emit(f"{base}/edi-gateway/src/edi_conn.c", f'''#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "edi_conn.h"

/* JX手順 接続先 (2019 導入時の設定) */
static const char *edi_host = "{rec.p('ip-address', '210.140.92.17')}";
static const char *edi_user = "MNS0042";
static const char *edi_password = "{rec.p('password-assignment', gen_password(r, 12, url_safe=True))}";

int edi_connect(edi_ctx *ctx)
{{
    char *password = NULL;
    const char *env = getenv("EDI_PASSWORD");
    password = env ? strdup(env) : strdup(edi_password);
    int rc = edi_login(ctx, edi_host, edi_user, password);
    free(password);
    return rc;
}}
'''.encode(), rec)
    rec.n("password-assignment", "NULL", "C pointer initialised to NULL (char *password = NULL;)")
    rec = Rec()
    emit(f"{base}/edi-gateway/conf/edi.ini", f"""[ftp]
host={rec.p('ip-address', '133.242.18.71')}
port=21
user=minase_edi
password={rec.p('password-assignment', gen_password(r, 12, url_safe=True))}
passive=yes

[local]
spool=/var/spool/edi
archive_days=400
""".encode(), rec)

    # --- hr-portal (PHP/Laravel .env) ---
    rec = Rec()
    kid3, sec3 = gen_aws_key_id(r), gen_aws_secret(r)
    emit(f"{base}/hr-portal/.env", f"""APP_NAME=HRPortal
APP_ENV=production
APP_KEY=base64:{base64.b64encode(bytes(r.getrandbits(8) for _ in range(32))).decode()}
APP_DEBUG=false
APP_URL=https://hr.minase-seiki.co.jp

DB_CONNECTION=mysql
DB_HOST={rec.p('ip-address', '10.20.3.21')}
DB_PORT=3306
DB_DATABASE=hr_portal
DB_USERNAME=hr_app
DB_PASSWORD={rec.p('password-assignment', gen_password(r))}

MAIL_MAILER=smtp
MAIL_HOST=smtp.office365.com
MAIL_USERNAME=hr-notice@{DOMAIN}
MAIL_PASSWORD={rec.p('password-assignment', gen_password(r))}

AWS_ACCESS_KEY_ID={rec.p('aws-access-key-id', kid3)}
AWS_SECRET_ACCESS_KEY={rec.p('aws-secret-access-key', sec3)}
AWS_DEFAULT_REGION=ap-northeast-1
AWS_BUCKET=minase-hr-documents
""".encode(), rec)
    rec.p("email-address", f"hr-notice@{DOMAIN}")

    # --- infra (terraform, ansible, k8s, CI) ---
    rec = Rec()
    emit(f"{base}/infra/terraform/prod.tfvars", f"""region          = "ap-northeast-1"
aws_access_key  = "{rec.p('aws-access-key-id', gen_aws_key_id(r))}"
aws_secret_key  = "{rec.p('aws-secret-access-key', gen_aws_secret(r))}"
db_password     = "{rec.p('password-assignment', gen_password(r))}"
vpc_cidr        = "{rec.n('ip-address', '10.20.0.0', 'network address of a CIDR block (10.20.0.0/16)')}/16"
bastion_ip      = "{rec.p('ip-address', '153.120.44.9')}"
""".encode(), rec)
    rec = Rec()
    emit(f"{base}/infra/ansible/group_vars/all.yml", f"""---
ntp_servers:
  - {rec.p('ip-address', '10.20.0.2')}
  - {rec.p('ip-address', '10.20.0.3')}
ansible_user: deploy
ansible_become_password: "{rec.p('password-assignment', gen_password(r))}"
db_password: "{{{{ vault_db_password }}}}"
zabbix_server: {rec.p('ip-address', '10.20.5.10')}
snmp_community: public
""".encode(), rec)
    rec.n("password-assignment", "{{ vault_db_password }}", "Ansible vault variable reference")
    rec = Rec()
    pw_b = gen_password(r)
    emit(f"{base}/infra/k8s/member-portal-secret.yaml", f"""apiVersion: v1
kind: Secret
metadata:
  name: member-portal
  namespace: prod
type: Opaque
stringData:
  DB_PASSWORD: "{rec.p('password-assignment', pw_b)}"
  DATABASE_URL: "postgres://portal:{rec.p('password-in-url', pw_b)}@{rec.p('ip-address', '10.30.136.192')}:5432/portal"
  STRIPE_SECRET_KEY: "{rec.p('stripe-api-key', gen_stripe(r))}"
""".encode(), rec)
    rec = Rec()
    emit(f"{base}/infra/.gitlab-ci.yml", f"""stages: [test, deploy]

variables:
  GITLAB_API_TOKEN: "{rec.p('gitlab-token', gen_gitlab(r))}"
  DOCKER_DRIVER: overlay2

deploy:
  stage: deploy
  script:
    - curl --header "PRIVATE-TOKEN: $GITLAB_API_TOKEN" https://gitlab.minase-seiki.co.jp/api/v4/projects/42/releases
    - docker login -u gitlab-ci-token -p "$CI_JOB_TOKEN" registry.minase-seiki.co.jp
  only: [main]
""".encode(), rec)
    rec = Rec()
    emit(f"{base}/infra/.github/workflows/release.yml", f"""name: release
on:
  push:
    tags: ["v*"]
jobs:
  publish:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-node@v4
        with:
          node-version: 20
          registry-url: https://registry.npmjs.org
      - run: npm publish
        env:
          NODE_AUTH_TOKEN: {rec.p('npm-token', gen_npm(r))}
          GITHUB_TOKEN: {rec.n('github-token', '${{ secrets.GITHUB_TOKEN }}', 'Actions secrets reference')}
""".encode(), rec)
    rec = Rec()
    emit(f"{base}/infra/scripts/release.sh", f"""#!/bin/bash
set -euo pipefail
# TODO: move to secrets manager
export GH_TOKEN={rec.p('github-token', gen_github(r, 'pat'))}
export GITLAB_TOKEN={rec.p('gitlab-token', gen_gitlab(r))}
TAG=$(git describe --tags --abbrev=0)
gh release create "$TAG" --notes-file CHANGELOG.md
echo "released $TAG"
""".encode(), rec)


def build_it_misc():
    r = R("it-misc")
    # AWS shared credentials backup
    rec = Rec()
    parts = []
    for prof in ["default", "minase-prod", "minase-billing", "backup-operator"]:
        parts.append(f"[{prof}]\naws_access_key_id = {rec.p('aws-access-key-id', gen_aws_key_id(r))}\n"
                     f"aws_secret_access_key = {rec.p('aws-secret-access-key', gen_aws_secret(r))}\n"
                     + ("region = ap-northeast-1\n" if prof != "default" else ""))
    emit("share/it/aws/credentials_backup_20240115.txt", "\n".join(parts).encode(), rec)

    # service account ledger (xlsx): tokens, two sheets
    rec = Rec()
    rows = [["サービスアカウント・APIトークン管理台帳（情報システム部 限定）"], [],
            H("No", "サービス", "用途", "アカウント", "トークン/キー", "発行日", "有効期限", "管理者", "備考")]
    specs = [("GitHub", "CI用PAT", lambda: gen_github(r, "ghp"), "github-token"),
             ("GitHub", "fine-grained PAT", lambda: gen_github(r, "pat"), "github-token"),
             ("GitHub", "OAuth (gh CLI)", lambda: gen_github(r, "gho"), "github-token"),
             ("GitLab", "ミラー同期", (lambda: gen_gitlab(r)), "gitlab-token"),
             ("Slack", "通知Bot", lambda: gen_slack_token(r, "xoxb"), "slack-token"),
             ("Slack", "ユーザートークン(監査)", lambda: gen_slack_token(r, "xoxp"), "slack-token"),
             ("Slack", "Socket Mode", lambda: gen_slack_token(r, "xapp"), "slack-token"),
             ("Slack", "Incoming Webhook", lambda: gen_slack_webhook(r), "slack-webhook-url"),
             ("npm", "社内パッケージ公開", lambda: gen_npm(r), "npm-token"),
             ("OpenAI", "問い合わせ要約PoC", lambda: gen_openai(r), "openai-api-key"),
             ("Stripe", "本番決済", lambda: gen_stripe(r), "stripe-api-key"),
             ("Google Cloud", "Maps JavaScript API", lambda: gen_google_key(r), "google-api-key"),
             ("GitLab", "CIトリガー", lambda: gen_gitlab(r), "gitlab-token"),
             ("Slack", "Incoming Webhook（営業）", lambda: gen_slack_webhook(r), "slack-webhook-url"),
             ("npm", "CI読み取り専用", lambda: gen_npm(r), "npm-token"),
             ("OpenAI", "翻訳バッチ", lambda: gen_openai(r), "openai-api-key"),
             ("Stripe", "定期課金", lambda: gen_stripe(r), "stripe-api-key"),
             ("Google Cloud", "Places API", lambda: gen_google_key(r), "google-api-key")]
    for i in range(90):
        svc, use, fn, typ = specs[i % len(specs)]
        issued = dt.date(2022, 4, 1) + dt.timedelta(days=r.randint(0, 800))
        owner = r.choice(PEOPLE[:40])
        rows.append([i + 1, svc, use, r.choice(["svc-ci", "minase-bot", "it-admin", "release-bot", owner.email.split("@")[0]]),
                     rec.p(typ, fn()), d8(issued), d8(issued + dt.timedelta(days=365)) if r.random() < 0.6 else "無期限", owner.name,
                     r.choice(["", "", "ローテーション予定", "旧トークンは失効済", "要棚卸し"])])
    rows2 = [H("IAMユーザー", "アクセスキーID", "シークレットアクセスキー", "作成日", "最終使用", "用途")]
    for i in range(10):
        rows2.append([r.choice(["svc-backup", "svc-inventory", "svc-hr-docs", "ci-deployer", "svc-etl", "ops-readonly"]) + f"-{i}",
                      rec.p("aws-access-key-id", gen_aws_key_id(r)), rec.p("aws-secret-access-key", gen_aws_secret(r)),
                      d8(dt.date(2021, 1, 1) + dt.timedelta(days=r.randint(0, 1200))), d8(dt.date(2024, 6, r.randint(1, 12))),
                      r.choice(["S3バックアップ", "在庫スナップショット", "人事書類", "デプロイ", "分析基盤"])])
    emit("share/it/アカウント管理/サービスアカウント台帳.xlsx", make_xlsx([("トークン", rows), ("AWSアクセスキー", rows2)]), rec)

    # keys
    keys = [("share/it/keys/id_ed25519", "openssh"), ("share/it/keys/deploy_key_rsa.pem", "rsa"), ("share/it/keys/www.minase-seiki.co.jp.key", "pkcs8"),
            ("share/it/keys/token-signing-ec.pem", "ec"), ("share/it/keys/old/id_rsa_2019", "rsa"),
            ("share/it/keys/old/ec_signing_2020.pem", "ec"), ("share/it/keys/old/backup_2018.key", "pkcs8")]
    for path, kind in keys:
        rec = Rec()
        k = gen_private_key(r, kind)
        emit(path, (rec.p("private-key", k) + "\n").encode(), rec)
    rec = Rec()
    pub = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + b64url(bytes(r.getrandbits(8) for _ in range(31))).replace("-", "+").replace("_", "/") + " deploy@minase-ci"
    rec.n("private-key", pub, "OpenSSH PUBLIC key")
    emit("share/it/keys/id_ed25519.pub", (pub + "\n").encode(), rec)
    rec = Rec()
    cert = pem_block("CERTIFICATE", bytes.fromhex("308205") + bytes(r.getrandbits(8) for _ in range(1300)))
    rec.n("private-key", cert, "X.509 certificate (public)")
    emit("share/it/keys/www.minase-seiki.co.jp.crt", (cert + "\n").encode(), rec)
    rec = Rec()
    pubpem = pem_block("PUBLIC KEY", bytes.fromhex("30820122300d06092a864886f70d01010105000382010f00") + bytes(r.getrandbits(8) for _ in range(270)))
    rec.n("private-key", pubpem, "PEM PUBLIC KEY block")
    emit("share/it/keys/token-signing.pub.pem", (pubpem + "\n").encode(), rec)

    # IP address management (xlsx): IPs positive, MACs and firmware versions decoys
    rec = Rec()
    rows = [H("ホスト名", "種別", "IPアドレス", "IPv6アドレス", "MACアドレス", "OS/ファーム", "バージョン", "設置場所", "管理者", "備考")]
    kinds = [("sv", "サーバ", ["Windows Server 2019", "RHEL 8.9", "Ubuntu 22.04"]), ("sw", "L3スイッチ", ["IOS-XE"]),
             ("fw", "UTM", ["FortiOS"]), ("nas", "NAS", ["QTS"]), ("prn", "複合機", ["ファーム"]), ("ap", "無線AP", ["AireOS"])]
    for i in range(150):
        pre, kind, oses = r.choice(kinds)
        ip = rec.p("ip-address", f"10.20.{r.choice([1, 2, 3, 5, 10, 20])}.{r.randint(2, 250)}" if r.random() < 0.8 else f"192.168.{r.choice([10, 50, 100])}.{r.randint(2, 250)}")
        v6 = rec.p("ip-address", gen_ipv6(r)) if r.random() < 0.3 else ""
        mac = ":".join(f"{r.randint(0, 255):02x}" for _ in range(6))
        if i < 30:
            rec.n("ip-address", mac, "MAC address (colon-separated hex), not an IPv6 address")
        ver = f"{r.randint(1, 17)}.{r.randint(0, 9)}.{r.randint(0, 20)}.{r.randint(0, 99)}"
        rec.n("ip-address", ver, "firmware/OS version number with four dotted parts")
        rows.append([f"{pre}-{r.choice(['osk', 'hq', 'dc1', 'yok'])}-{i:03d}", kind, ip, v6, mac, r.choice(oses), ver,
                     r.choice(["本社3F サーバ室", "本社5F", "大阪営業所", "横浜物流センター", "DC(IDCF)"]),
                     r.choice(PEOPLE[:60]).name, r.choice(["", "", "保守切れ 2025/03", "リプレース予定", "DHCP予約"])])
    rows.append(["gw-hq-01", "インターネットGW", rec.p("ip-address", "153.120.44.1"), rec.p("ip-address", "2400:4050:a2e1:8b00::1"), "", "FortiOS", rec.n("ip-address", "7.2.8.1", "firmware version number"), "本社3F", "", "固定IP(契約番号 K-2019-0412)"])
    emit("share/it/network/IPアドレス管理台帳.xlsx", make_xlsx([("IPAM", rows)]), rec)


def build_it_docs():
    r = R("it-docs")
    # Slack export
    members = PEOPLE[:12]
    rec = Rec()
    users = [{"id": f"U0{rs(r, 8, 'ABCDEFGHJKLMNPQRSTUVWXYZ0123456789')}", "name": p.email.split("@")[0], "real_name": p.name,
              "profile": {"email": rec.p("email-address", p.email), "title": p.dept}} for p in members]
    emit("share/it/チャット/slack_export_2024-06/users.json", json.dumps(users, ensure_ascii=False, indent=2).encode(), rec)
    rec = Rec()
    msgs = []
    templates = [
        lambda: f"本番DBのパスワード：{rec.p('password-after-label', gen_password(r))}　（作業後にローテーションします）",
        lambda: f"stagingのデプロイ用トークン貼っておきます {rec.p('github-token', gen_github(r, 'ghp'))}",
        lambda: f"監視通知のWebhookはこれです <{rec.p('slack-webhook-url', gen_slack_webhook(r))}>",
        lambda: f"一時的にこれで: aws_access_key_id={rec.p('aws-access-key-id', gen_aws_key_id(r))} aws_secret_access_key={rec.p('aws-secret-access-key', gen_aws_secret(r))}",
        lambda: f"```curl -H 'Authorization: Bearer {rec.p('jwt', gen_jwt(r, 'ops-' + str(r.randint(1, 99)), None))}' https://api.minase-seiki.co.jp/v1/orders```",
        lambda: f"GitLabのPAT期限切れてたので再発行しました {rec.p('gitlab-token', gen_gitlab(r))}",
        lambda: f"npm publish用のトークン {rec.p('npm-token', gen_npm(r))} です",
        lambda: f"PoC用のOpenAIキー {rec.p('openai-api-key', gen_openai(r))} 使ってください",
        lambda: f"Bot再作成したので新しいトークン {rec.p('slack-token', gen_slack_token(r, 'xoxb'))}",
        lambda: f"Stripe本番のシークレットキーは {rec.p('stripe-api-key', gen_stripe(r))} （金庫にも登録済み）",
        lambda: f"Mapsのキー変わりました {rec.p('google-api-key', gen_google_key(r))}",
        lambda: f"DB移行先は {rec.p('ip-address', gen_ipv4_private(r))} です。ポートは5432のまま",
        lambda: f"踏み台経由で postgres://ops:{rec.p('password-in-url', gen_password(r, 14, url_safe=True))}@{rec.p('ip-address', '10.20.1.16')}:5432/erp に繋いでください",
        lambda: f"パスワード：{rec.n('password-after-label', '（1Passwordの「本番DB」を参照）', 'pointer to a password vault, not a password')}",
        lambda: f"{rec.n('aws-access-key-id', AWS_DOC_KEY_ID, 'AWS documentation example key id')} はドキュメントの例なので無視でOK",
        lambda: f"jwt.ioのサンプル {rec.n('jwt', JWT_IO_SAMPLE, 'jwt.io sample token')} をデコードすると構造がわかります",
        lambda: f"WAFのバージョン {rec.n('ip-address', '6.4.15.2', 'software version string')} に上げました",
        lambda: f"VPNの共有アカウント ID：vpn-ops パスワード：{rec.p('password-after-label', gen_password(r, 12))}",
    ]
    ts = 1718150400.0
    for i in range(64):
        ts += r.randint(60, 5000) + r.random()
        p = members[i % len(members)]
        text = templates[i % len(templates)]() if i < 54 else r.choice(["了解です", "対応します", "ありがとうございます！", "明日の定例で話しましょう", "リリース完了しました"])
        msgs.append({"type": "message", "user": users[i % len(users)]["id"], "text": text, "ts": f"{ts:.6f}",
                     "user_profile": {"real_name": p.name, "display_name": p.sei_r}})
    emit("share/it/チャット/slack_export_2024-06/infra/2024-06-12.json", json.dumps(msgs, ensure_ascii=False, indent=2).encode(), rec)

    # Postman collection
    rec = Rec()
    items = []
    for i in range(6):
        u = PEOPLE[i * 7]
        pw = rec.p("password-assignment", gen_password(r))
        items.append({"name": f"login as {u.email.split('@')[0]}", "request": {
            "method": "POST", "header": [{"key": "Content-Type", "value": "application/json"}],
            "url": {"raw": "https://api.minase-seiki.co.jp/v1/auth/login"},
            "body": {"mode": "raw", "raw": json.dumps({"email": rec.p("email-address", u.email), "password": pw})}}})
        items.append({"name": f"orders ({u.sei_r})", "request": {
            "method": "GET", "header": [{"key": "Authorization", "value": "Bearer " + rec.p("jwt", gen_jwt(r, f"u_{10000 + i}", u.email))}],
            "url": {"raw": "https://api.minase-seiki.co.jp/v1/orders?from=1717200000000&to=1719791999000"}}})
    rec.digits("1717200000000", "epoch-millisecond timestamp in a query string")
    rec.digits("1719791999000", "epoch-millisecond timestamp in a query string")
    items.append({"name": "template", "request": {"method": "POST", "body": {"mode": "raw", "raw": json.dumps({"email": "{{email}}", "password": "<your password here>"})}}})
    rec.n("password-assignment", "<your password here>", "placeholder")
    emit("share/it/postman/order-api.postman_collection.json",
         json.dumps({"info": {"name": "order-api", "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"}, "item": items},
                    ensure_ascii=False, indent=2).encode(), rec)

    # home directory backups
    for uname, p in [("sato-k", PEOPLE[3]), ("kimura-t", PEOPLE[17]), ("ikeda-y", PEOPLE[25])]:
        base = f"share/it/home_backup/{uname}"
        rec = Rec()
        gc = (f"https://{uname}:{rec.p('github-token', gen_github(r, 'ghp'))}@github.com\n"
              f"https://oauth2:{rec.p('gitlab-token', gen_gitlab(r))}@gitlab.minase-seiki.co.jp\n")
        rec.email_decoys(gc, "token@host inside a credential URL (userinfo), not a mailbox")
        emit(f"{base}/.git-credentials", gc.encode(), rec)
        rec = Rec()
        emit(f"{base}/.config/gh/hosts.yml", (f"github.com:\n    user: {uname}\n    oauth_token: {rec.p('github-token', gen_github(r, 'gho'))}\n"
                                              f"    git_protocol: https\n").encode(), rec)
        rec = Rec()
        h = [
            "cd ~/work/order-api", "git pull --rebase", "./gradlew test",
            f"export AWS_ACCESS_KEY_ID={rec.p('aws-access-key-id', gen_aws_key_id(r))}",
            f"export AWS_SECRET_ACCESS_KEY={rec.p('aws-secret-access-key', gen_aws_secret(r))}",
            "aws s3 ls s3://minase-backup-prod/erp/",
            f"ssh deploy@{rec.p('ip-address', '10.20.1.5')}",
            f"psql postgresql://app_ro:{rec.p('password-in-url', gen_password(r, 14, url_safe=True))}@{rec.p('ip-address', '10.20.1.15')}:5432/erp -c 'select count(*) from sales.orders'",
            f"curl -s -H \"Authorization: Bearer {rec.p('jwt', gen_jwt(r, uname, p.email))}\" https://api.minase-seiki.co.jp/v1/members/me | jq .",
            f"npm config set //registry.npmjs.org/:_authToken {rec.p('npm-token', gen_npm(r))}",
            "history | grep ssh", "vim ~/.ssh/config", "exit",
        ]
        emit(f"{base}/.bash_history", ("\n".join(h) + "\n").encode(), rec)

    # runbook (markdown)
    rec = Rec()
    rpw = gen_password(r, 16, url_safe=True)
    emit("share/it/手順書/runbook_db_failover.md", f"""# DBフェイルオーバー手順（受注DB）

最終更新: 2024-05-28 / 情報システム部 インフラG

## 構成
| 役割 | ホスト | IP |
|---|---|---|
| primary | pg-hq-01 | {rec.p('ip-address', '10.20.1.15')} |
| standby | pg-hq-02 | {rec.p('ip-address', '10.20.1.16')} |
| VIP | pg-vip | {rec.p('ip-address', '10.20.1.10')} |

## 1. 状態確認
```bash
export PGPASSWORD={rec.p('password-assignment', gen_password(r, 16, url_safe=True))}
psql -h 10.20.1.16 -U postgres -c "select pg_is_in_recovery();"
```

## 2. 昇格
```bash
psql "postgresql://repl_admin:{rec.p('password-in-url', rpw)}@10.20.1.16:5432/postgres" -c "select pg_promote();"
```
アプリ側は `DATABASE_URL=postgres://order_app:{rec.n('password-in-url', '${ORDER_DB_PASSWORD}', 'variable reference')}@10.20.1.10:5432/orders` のままでよい。

## 3. 連絡先
- 一次: インフラG当番 {rec.p('jp-phone-number', fmt_phone(gen_mobile(r)))}
- 二次: 保守ベンダ（{COMPANIES[24].name}）{rec.p('jp-phone-number', gen_tollfree(r))}（24h）
- メール: {rec.p('email-address', 'infra-oncall@' + DOMAIN)}
""".encode(), rec)

    # VPN manual (docx + PDF)
    rec = Rec()
    d = Doc()
    d.h("VPN接続手順書（社外からの接続）", 0)
    d.para("版数 3.2　情報システム部")
    d.h(f"{rec.n('ip-address', '3.1.2.1', 'outline section number 3.1.2.1')} クライアント証明書のインポート", 2)
    d.para("配布された証明書ファイル（.p12）をダブルクリックし、ウィザードに従ってインポートします。")
    d.para("証明書のパスワード：" + rec.n("password-after-label", "別途、上長経由で通知します", "says the password is sent separately"))
    d.h(f"{rec.n('ip-address', '3.1.2.2', 'outline section number 3.1.2.2')} 接続先の設定", 2)
    gw = gen_ipv4_public(r)
    d.table([["項目", "設定値"], ["接続先（リモートゲートウェイ）", rec.p("ip-address", gw)], ["ポート", "10443"],
             ["ユーザー名", "社員番号（例：123456）"], ["パスワード", "各自のログオンパスワード"]])
    rec.n("password-after-label", "各自のログオンパスワード", "describes which password to use")
    d.h("3.2 来客用Wi-Fi", 2)
    d.para(f"SSID：MINASE-GUEST　パスワード：{rec.p('password-after-label', gen_password(r, 12, url_safe=True))}　（毎月1日に変更）")
    d.para(f"会議室用 SSID：MINASE-MTG　パスワード：{rec.p('password-after-label', gen_password(r, 12, url_safe=True))}")
    d.h("3.3 共用アカウント", 2)
    for nm in ["複合機 管理画面 (admin)", "監視カメラ NVR (operator)", "UPS管理カード (apc)", "会議室予約 端末 (kiosk)"]:
        d.para(f"{nm}　パスワード：{rec.p('password-after-label', gen_password(r, 12))}")
    d.para(f"問い合わせ：ヘルプデスク 内線 4400 / {rec.p('jp-phone-number', '03-5789-4400')} / {rec.p('email-address', 'helpdesk@' + DOMAIN)}")
    data = d.bytes()
    emit("share/it/手順書/VPN接続手順書_v3.2.docx", data, rec)
    CONVERT.append(("share/it/手順書/VPN接続手順書_v3.2.pdf", "docx", data))
    TRUTH.add("share/it/手順書/VPN接続手順書_v3.2.pdf", rec)

    # new-hire account procedure (docx): mostly decoys plus the admin passwords people paste anyway
    rec = Rec()
    d = Doc()
    d.h("新入社員アカウント発行手順", 0)
    d.para("1. 人事部から社員番号の通知を受けたら、ADにユーザーを作成する。")
    d.para("2. 初期パスワード：" + rec.n("password-after-label", "社員番号＋生年月日（8桁）", "describes how the initial password is formed"))
    d.para("3. 本人への通知メールには「パスワード：********」と記載し、実際の値は別途口頭で伝えること。")
    rec.n("password-after-label", "********", "masked password")
    d.para("4. M365ライセンスを割り当てる（E3）。メールアドレスは 名.姓@minase-seiki.co.jp 形式。")
    d.para(f"5. 管理者用共通アカウント　ID：adm-setup　パスワード：{rec.p('password-after-label', gen_password(r, 14))}")
    d.para(f"6. キッティング用 BIOSパスワード：{rec.p('password-after-label', gen_password(r, 10, url_safe=True))}")
    d.para("7. 完了後、チケット（例：REQ-2024-0612-0031）をクローズする。")
    emit("share/it/手順書/新入社員アカウント発行手順.docx", d.bytes(), rec)

    # backup of configs (zip)
    members = []
    rr = R("config-backup")
    rec = Rec()
    members.append(("config_backup_20240301/order-api/application-prod.properties", order_api_props(rr, rec, "prod (2024-03-01)").encode(), rec))
    rec = Rec()
    members.append(("config_backup_20240301/member-portal/.env.production", f"""NODE_ENV=production
DB_HOST={rec.p('ip-address', '10.30.136.191')}
DB_USER=portal
DB_PASSWORD={rec.p('password-assignment', gen_password(rr))}
GOOGLE_MAPS_API_KEY={rec.p('google-api-key', gen_google_key(rr))}
SLACK_BOT_TOKEN={rec.p('slack-token', gen_slack_token(rr, 'xoxb'))}
SLACK_USER_TOKEN={rec.p('slack-token', gen_slack_token(rr, 'xoxp'))}
GITHUB_TOKEN={rec.p('github-token', gen_github(rr, 'ghp'))}
NPM_TOKEN={rec.p('npm-token', gen_npm(rr))}
""".encode(), rec))
    rec = Rec()
    members.append(("config_backup_20240301/infra/prod.tfvars", f"""region         = "ap-northeast-1"
aws_access_key = "{rec.p('aws-access-key-id', gen_aws_key_id(rr))}"
aws_secret_key = "{rec.p('aws-secret-access-key', gen_aws_secret(rr))}"
db_password    = "{rec.p('password-assignment', gen_password(rr))}"
""".encode(), rec))
    rec = Rec()
    members.append(("config_backup_20240301/keys/deploy_key_rsa.pem", (rec.p("private-key", gen_private_key(rr, "rsa")) + "\n").encode(), rec))
    rec = Rec()
    members.append(("config_backup_20240301/gitlab/python-gitlab.cfg", f"""[global]
default = minase
ssl_verify = true
timeout = 10

[minase]
url = https://gitlab.minase-seiki.co.jp
private_token = {rec.p('gitlab-token', gen_gitlab(rr))}
api_version = 4
""".encode(), rec))
    zp = "share/archive/config_backup_20240301.zip"
    emit(zp, make_zip([(n, b) for n, b, _ in members]))
    for n, _, rec in members:
        TRUTH.add(f"{zp}!{n}", rec)


# ---------------------------------------------------------------------------
# Mail
# ---------------------------------------------------------------------------

JST = dt.timezone(dt.timedelta(hours=9))


def mail(path, rec: Rec, frm, to, subject, body, charset, cte, when: dt.datetime, cc=(), atts=(), received_ip=None,
         mailer="Microsoft Outlook 16.0"):
    r = R("mail:" + path)
    hdrs = []
    if received_ip:
        host = frm[1].split("@")[1]
        hdrs.append(("Received", f"from mx.{host} (mx.{host} [{rec.p('ip-address', received_ip)}])\r\n\tby mail.{DOMAIN} (Postfix) with ESMTPS id "
                                 f"4W{rs(r, 9, 'ABCDEFGHJKLMNPQRSTUVWXYZ0123456789')}; {email.utils.format_datetime(when.replace(tzinfo=JST))}"))
    hdrs.append(("From", fmt_addr(frm[0], rec.p("email-address", frm[1]), charset)))
    hdrs.append(("To", ", ".join(fmt_addr(n, rec.p("email-address", a), charset) for n, a in to)))
    if cc:
        hdrs.append(("Cc", ", ".join(fmt_addr(n, rec.p("email-address", a), charset) for n, a in cc)))
    hdrs.append(("Subject", enc_header_words(subject, charset)))
    hdrs.append(("Date", email.utils.format_datetime(when.replace(tzinfo=JST))))
    mid = msg_id(r, when, "mail." + frm[1].split("@")[1])
    rec.n("email-address", mid.strip("<>"), "Message-ID header value (not a mailbox)")
    hdrs.append(("Message-ID", mid))
    hdrs.append(("X-Mailer", mailer))
    data = make_eml(hdrs, body, charset, cte, [(n, b) for n, b, _, _ in atts], boundary_seed=path)
    emit(path, data, rec)
    for n, _, arec, enc in atts:
        TRUTH.add(f"{path}!{n}", arec)
        if enc:
            TEXT_ENC[f"{path}!{n}"] = enc


def sig(rec: Rec, p: Person, dept: str | None = None, mobile=True) -> str:
    lines = ["", "-" * 40, f"{COMPANY}", f"{dept or p.dept}　{p.name}", "〒141-0032 東京都品川区大崎2丁目11番1号",
             f"TEL：{rec.p('jp-phone-number', fmt_phone(OWN_TEL))}（代表）　FAX：{rec.p('jp-phone-number', fmt_phone(OWN_FAX))}"]
    if mobile and p.mobile:
        lines.append(f"携帯：{rec.p('jp-phone-number', fmt_phone(p.mobile))}")
    lines.append(f"Mail：{rec.p('email-address', p.email)}")
    lines.append("-" * 40)
    return "\n".join(lines)


def build_mail():
    r = R("mail")
    hr = PEOPLE[5]
    hr_addr = ("人事部 給与グループ", f"jinji-kyuyo@{DOMAIN}")
    base = "share/mail/2024-06"

    # M1: HR request (ISO-2022-JP, 7bit)
    rec = Rec()
    body = f"""社員各位

人事部 給与グループの{hr.sei}です。
年末調整および社会保険手続きのため、マイナンバー（個人番号）のご提出をお願いいたします。

■提出方法
　個人番号カード（両面）の写しを、人事部へ社内便でご提出ください。
　メール本文への記載はお控えください。
■記入例
　個人番号：{rec.n('jp-my-number', '123456789018', 'documentation example number (記入例)')}
■提出期限
　2024年6月21日（金）

ご不明点は内線4120、または{rec.p('jp-phone-number', '03-5789-4120')}までお問い合わせください。
{sig(rec, hr, '人事部 給与グループ', mobile=False)}
"""
    mail(f"{base}/【重要】マイナンバーご提出のお願い.eml", rec, hr_addr, [("全社員", f"all-staff@{DOMAIN}")],
         "【重要】マイナンバー（個人番号）ご提出のお願い", body, "iso-2022-jp", "7bit", dt.datetime(2024, 6, 3, 9, 12))

    # M2/M3: employees replying anyway (one ISO-2022-JP 7bit with full-width digits, one Shift_JIS base64)
    for k, (p, cs, cte) in enumerate([(PEOPLE[40], "iso-2022-jp", "7bit"), (PEOPLE[41], "shift_jis", "base64"), (PEOPLE[42], "iso-2022-jp", "7bit")]):
        rec = Rec()
        mn = p.mynumber
        if k == 0:
            mine = rec.p("jp-my-number", to_fullwidth(mn))
        elif k == 1:
            mine = rec.p("jp-my-number", fmt_mynumber(mn, "space"))
        else:
            mine = rec.p("jp-my-number", fmt_mynumber(mn, "hyphen"))
        deps = ""
        for dn, _, rel, dmn in p.dependents or [(f"{p.sei}　{r.choice(FEMALE)[0]}", "", "配偶者", gen_mynumber(r))]:
            deps += f"　{rel}　{dn}　個人番号 {rec.p('jp-my-number', fmt_mynumber(dmn, 'hyphen' if k else 'plain'))}\n"
        body = f"""人事部 ご担当者様

{p.dept}の{p.sei}です。
カードの写しを社内便で送る時間がないため、取り急ぎメールでお送りします。すみません。

私の個人番号は {mine} です。
扶養家族の分も記載します。
{deps}
何かあれば携帯（{rec.p('jp-phone-number', fmt_phone(p.mobile or gen_mobile(r)))}）までご連絡ください。

{p.name}
"""
        mail(f"{base}/RE_マイナンバーご提出のお願い_{p.emp_id}.eml", rec, (p.name, p.email), [hr_addr],
             "RE: 【重要】マイナンバー（個人番号）ご提出のお願い", body, cs, cte, dt.datetime(2024, 6, 4 + k, 18, 40 + k),
             mailer="Microsoft Outlook 16.0" if cs == "iso-2022-jp" else "Becky! ver. 2.81.04")

    # M4: bank account change (Shift_JIS, base64)
    p = PEOPLE[60]
    rec = Rec()
    b_old, b_new = p.bank, PEOPLE[61].bank
    body = f"""給与グループ　{hr.sei}様

お世話になっております。{p.dept}の{p.sei}です。
給与振込口座を変更したいので、下記のとおり届け出ます。

【変更前】{b_old[0]} {b_old[2]} {b_old[4]} 口座番号 {rec.p('jp-bank-account-number', b_old[5])}
【変更後】{b_new[0]} {b_new[2]}（店番 {b_new[3]}）　普通預金
　　　　　口座番号：{rec.p('jp-bank-account-number', b_new[5])}
　　　　　口座名義：{p.kana}

7月支給分から反映いただけますと幸いです。
{sig(rec, p)}
"""
    mail(f"{base}/給与振込口座変更届_{p.sei_r}.eml", rec, (p.name, p.email), [hr_addr], "給与振込口座の変更について", body,
         "shift_jis", "base64", dt.datetime(2024, 6, 7, 12, 5))

    # M5/M6: PPAP-style payroll data + password mail
    rec_att = Rec()
    rows = [H("社員番号", "氏名", "銀行名", "支店名", "口座番号", "個人番号", "支給額")]
    for q in PEOPLE[100:150]:
        rows.append([q.emp_id, q.name, q.bank[0], q.bank[2], rec_att.p("jp-bank-account-number", q.bank[5]),
                     rec_att.p("jp-my-number", q.mynumber), int(q.salary * 0.78)])
    att = make_xlsx([("202406", rows)])
    rec = Rec()
    sharoushi = ("鈴木社会保険労務士事務所 鈴木", "office@suzuki-sr.jp")
    body = f"""鈴木社会保険労務士事務所
鈴木様

いつもお世話になっております。{COMPANY} 人事部の{hr.sei}です。
6月分の給与データをお送りします。
ファイルを開くためのパスワードは、別メールにてお送りします。

{sig(rec, hr, '人事部 給与グループ')}
"""
    mail(f"{base}/6月分給与データ送付.eml", rec, (hr.name, hr.email), [sharoushi], "6月分給与データ送付", body, "iso-2022-jp", "7bit",
         dt.datetime(2024, 6, 10, 17, 2), atts=[("payroll_202406.xlsx", att, rec_att, None)])
    rec = Rec()
    body = f"""鈴木様

先ほどお送りした「6月分給与データ送付」のパスワードをお知らせします。

パスワード：{rec.p('password-after-label', gen_password(r, 12))}

よろしくお願いいたします。
{hr.name}
"""
    mail(f"{base}/【パスワード送付】6月分給与データ送付.eml", rec, (hr.name, hr.email), [sharoushi],
         "【パスワード送付】6月分給与データ送付", body, "iso-2022-jp", "7bit", dt.datetime(2024, 6, 10, 17, 3))

    # M7: customer support forward with card numbers in prose (UTF-8, quoted-printable)
    rec = Rec()
    cust = PEOPLE[1100]
    c1, c2, c3 = gen_card(r, "visa"), gen_card(r, "jcb"), gen_card(r, "mastercard")
    o = rec.digits(f"2406{11}{3104471}", "13-digit order number")
    body = f"""サポート担当各位

決済エラーの件、お客様からのメールを転送します。カード番号が本文に書かれているので、対応後このメールは削除してください。

---------- Forwarded message ---------
From: {cust.name} <{rec.p('email-address', cust.private_email)}>
Date: 2024年6月11日(火) 21:14
Subject: 注文できません

注文番号{o}で注文しようとしたのですがエラーになります。
カード番号は{rec.p('credit-card-number', fmt_card(c1, 'space'))}で、有効期限は08/27です。
別のカード {rec.p('credit-card-number', c2)} {rec.p('credit-card-number', c3)} も試しましたがダメでした。
電話でも構いません。{rec.p('jp-phone-number', fmt_phone(cust.mobile or gen_mobile(r)))}（平日19時以降）
"""
    sup = PEOPLE[120]
    mail(f"{base}/Fwd_注文できません_決済エラー.eml", rec, (sup.name, sup.email), [("カスタマーサポート", f"support@{DOMAIN}")],
         "Fwd: 注文できません", body, "utf-8", "quoted-printable", dt.datetime(2024, 6, 12, 9, 31), mailer="Mozilla Thunderbird")

    # M8: quotation with docx attachment (ISO-2022-JP), Japanese attachment name (RFC 2231)
    v = COMPANIES[5]
    rec_att = Rec()
    d = Doc()
    d.para("御　見　積　書", bold=True, align="center")
    d.para(f"見積番号：Q-2024-0612　有効期限：2024年7月12日", align="right")
    d.para(f"{COMPANY} 御中")
    d.para(f"{v.name}　法人番号 {rec_att.p('jp-corporate-number', v.corp)}", align="right")
    if v.invoice:
        d.para(f"登録番号 {rec_att.p('jp-invoice-registration-number', v.invoice)}", align="right")
    d.para(f"TEL {rec_att.p('jp-phone-number', fmt_phone(v.tel))}", align="right")
    d.table([["品番", "品名", "数量", "単価", "金額"]] + [[f"MS-{r.randint(1000, 9999)}-{r.randint(1, 99):02d}", n, "10", f"{pr:,}", f"{pr * 10:,}"]
                                                      for _, n, pr in r.sample(PRODUCTS, 4)])
    rec = Rec()
    body = f"""{COMPANY}
購買部 {PEOPLE[130].sei}様

いつも大変お世話になっております。{v.name}の{v.contact.split()[0]}でございます。
ご依頼いただきました件、見積書を添付にてお送りいたします。
ご査収のほどよろしくお願い申し上げます。

--
{v.name}
営業部　{v.contact}
TEL：{rec.p('jp-phone-number', fmt_phone(v.tel))}　携帯：{rec.p('jp-phone-number', fmt_phone(v.contact_mobile, 'plain'))}
E-mail：{rec.p('email-address', v.contact_mail)}
"""
    mail(f"{base}/見積書送付の件_{v.short}.eml", rec, (v.contact, v.contact_mail), [(PEOPLE[130].name, PEOPLE[130].email)],
         "見積書送付の件", body, "iso-2022-jp", "7bit", dt.datetime(2024, 6, 12, 11, 20),
         atts=[("御見積書_Q-2024-0612.docx", d.bytes(), rec_att, None)], received_ip="210.140.77.18")

    # M9: server migration thread (UTF-8 base64) with keys pasted and a key file attached
    rec = Rec()
    p1, p2 = PEOPLE[8], PEOPLE[9]
    kid, sec = gen_aws_key_id(r), gen_aws_secret(r)
    body = f"""{p2.sei}さん

移行先の情報です。

- 新DB: {rec.p('ip-address', '10.20.1.41')}（旧: {rec.p('ip-address', '10.20.1.15')}）
- IPv6: {rec.p('ip-address', gen_ipv6(r))}
- 接続文字列: postgres://erp_admin:{rec.p('password-in-url', gen_password(r, 14, url_safe=True))}@10.20.1.41:5432/erp
- 一時的なS3アクセス用: aws_access_key_id = {rec.p('aws-access-key-id', kid)}
  aws_secret_access_key = {rec.p('aws-secret-access-key', sec)}
- 作業用SSH鍵を添付します（作業後に破棄してください）。

Slack通知は {rec.p('slack-webhook-url', gen_slack_webhook(r))} に飛ばしています。

{p1.name}
"""
    krec = Rec()
    key = krec.p("private-key", gen_private_key(r, "openssh"))
    mail(f"{base}/Re_サーバ移行について.eml", rec, (p1.name, p1.email), [(p2.name, p2.email)], "Re: サーバ移行について", body, "utf-8", "base64",
         dt.datetime(2024, 6, 12, 15, 48), cc=[("インフラG", f"infra@{DOMAIN}")], mailer="Mozilla Thunderbird",
         atts=[("migration_key.txt", (key + "\n").encode(), krec, "utf-8")])

    # M10: US payroll census (English, 7bit) with CSV attachment
    rec_att = Rec()
    rr = R("us-mail")
    rows = [["Employee ID", "Name", "SSN", "State", "Annual Salary"]]
    for i in range(40):
        rows.append([f"US{20000 + i}", f"{rr.choice(US_FIRST)} {rr.choice(US_LAST)}", rec_att.p("us-ssn", gen_ssn(rr)), rr.choice(["IL", "OH", "TX"]),
                     f"{rr.randrange(45000, 160000, 500)}"])
    rec = Rec()
    body = f"""Hi Tanaka-san,

Attached is the census file for the 2025 benefits renewal as requested.
Please note one correction: Maria's SSN should read {rec.p('us-ssn', gen_ssn(rr))} (the one in the file has a typo).
Let me know if you need anything else. You can reach me at (312) 555-0187.

Best regards,
Jennifer Walker
HR Manager, Minase Seiki America Inc.
"""
    mail(f"{base}/FW_Benefits_census_2025_renewal.eml", rec, ("Jennifer Walker", "jwalker@minase-america.com"),
         [(PEOPLE[11].name, PEOPLE[11].email)], "FW: Benefits census - 2025 renewal", body, "us-ascii", "7bit", dt.datetime(2024, 6, 6, 8, 15),
         atts=[("census_2025_renewal.csv", text_bytes(csv_text(rows), "utf-8", crlf=True), rec_att, "utf-8")], received_ip="40.107.22.91")

    # M11: new account notices (ISO-2022-JP)
    rec = Rec()
    lines = ""
    for q in PEOPLE[200:206]:
        lines += f"{q.name}（{q.dept}）　ユーザーID：{q.email.split('@')[0]}　初期パスワード：{rec.p('password-after-label', gen_password(r, 10, url_safe=True))}\n"
    body = f"""各部門長 各位

4月入社者（中途）のアカウントを発行しました。初回ログイン時にパスワードの変更が求められます。

{lines}
ヘルプデスク（内線4400）
"""
    mail(f"{base}/アカウント発行のお知らせ_202406.eml", rec, ("情報システム部 ヘルプデスク", f"helpdesk@{DOMAIN}"),
         [("部門長", f"managers@{DOMAIN}")], "アカウント発行のお知らせ", body, "iso-2022-jp", "7bit", dt.datetime(2024, 6, 3, 10, 0))

    # M12: residence card renewals (Shift_JIS base64) + cp932 CSV attachment
    rec_att = Rec()
    rows = [["社員番号", "氏名", "在留カード番号", "在留期間満了日", "申請状況"]]
    for i in range(20):
        sur, given, nat = r.choice(FOREIGN)
        rows.append([f"{r.randint(700000, 799999)}", f"{sur} {given}", rec_att.p("jp-residence-card-number", gen_residence(r)),
                     d8(dt.date(2024, 7, 1) + dt.timedelta(days=r.randint(0, 120))), r.choice(["申請済", "未申請", "結果待ち"])])
    rec = Rec()
    names = ""
    for i in range(3):
        sur, given, nat = r.choice(FOREIGN)
        names += f"・{sur} {given}（{nat}）在留カード番号 {rec.p('jp-residence-card-number', gen_residence(r))}\n"
    body = f"""製造部 各位

在留期間の更新が近い方の一覧を添付します。特に以下の3名は至急対応をお願いします。

{names}
{sig(rec, PEOPLE[7], '人事部 労務グループ')}
"""
    mail(f"{base}/在留期間更新の対象者について.eml", rec, (PEOPLE[7].name, PEOPLE[7].email), [("製造部", f"seizo@{DOMAIN}")],
         "在留期間更新の対象者について", body, "shift_jis", "base64", dt.datetime(2024, 6, 5, 14, 22),
         atts=[("zairyu_koushin_202406.csv", text_bytes(csv_text(rows), "cp932", crlf=True), rec_att, "cp932")])

    # M13: travel booking with passports (ISO-2022-JP)
    rec = Rec()
    tr = [p for p in PEOPLE if p.passport][80:85]
    lst = "".join(f"{i + 1}. {q.sei_r.upper()}/{q.mei_r.upper()}　旅券番号 {rec.p('jp-passport-number', q.passport)}　"
                  f"携帯 {rec.p('jp-phone-number', fmt_phone(q.mobile or gen_mobile(r)))}\n" for i, q in enumerate(tr))
    body = f"""ハヤテトラベル 法人デスク ご担当者様

下記5名のハノイ出張（7/8〜7/12）の航空券手配をお願いします。

{lst}
便：NH897 羽田 → ハノイ　予約番号はまだありません。
{sig(rec, PEOPLE[15], '総務部')}
"""
    mail(f"{base}/出張手配のお願い_ハノイ.eml", rec, (PEOPLE[15].name, PEOPLE[15].email), [("ハヤテトラベル 法人デスク", "corp-desk@hayate-travel.jp")],
         "出張手配のお願い（ハノイ 7/8-7/12）", body, "iso-2022-jp", "7bit", dt.datetime(2024, 6, 13, 10, 45))

    # M14: remittance request (UTF-8 QP): IBAN + BIC in prose
    rec = Rec()
    ib1, ib2 = gen_iban(r, "DE"), gen_iban(r, "FR")
    body = f"""財務グループ 各位

以下2件の海外送金をお願いします。請求書は経理共有フォルダに格納済みです。

1) Hartmann Praezisionstechnik GmbH
   Bank: Deutsche Bank AG, SWIFT: {rec.p('swift-code', 'DEUTDEFF')}
   IBAN: {rec.p('iban', fmt_iban(ib1, True))}
   EUR 18,400.00

2) Ateliers Moreau SAS
   BIC {rec.p('swift-code', 'BNPAFRPP')} / IBAN {rec.p('iban', ib2)}
   EUR 6,950.00

よろしくお願いします。
{sig(rec, PEOPLE[30], '購買部')}
"""
    mail(f"{base}/海外送金のお願い_0614.eml", rec, (PEOPLE[30].name, PEOPLE[30].email), [("財務グループ", f"zaimu@{DOMAIN}")],
         "海外送金のお願い（6/14締め）", body, "utf-8", "quoted-printable", dt.datetime(2024, 6, 11, 16, 0))

    # M15: visitor registration with driver's licence numbers (Shift_JIS, quoted-printable)
    rec = Rec()
    vis = ""
    for i in range(3):
        sei, mei = r.choice(SURNAMES), r.choice(MALE)
        vis += f"{sei[0]} {mei[0]} 様（{r.choice(COMPANIES).name}）　運転免許証番号：{rec.p('jp-drivers-license-number', gen_dl(r))}\n"
    body = f"""データセンター入館受付 ご担当者様

6/18 10:00〜 のラック作業の入館申請です。本人確認書類は運転免許証です。

{vis}
当日の連絡先：{rec.p('jp-phone-number', fmt_phone(PEOPLE[8].mobile or gen_mobile(r)))}（{PEOPLE[8].sei}）
"""
    mail(f"{base}/入館申請_0618.eml", rec, (PEOPLE[8].name, PEOPLE[8].email), [("DC受付", "reception@idc-tokyo.jp")], "入館申請（6/18）", body,
         "shift_jis", "quoted-printable", dt.datetime(2024, 6, 14, 9, 5))

    # M16: shipping notice (UTF-8 8bit): decoys only + toll-free number
    rec = Rec()
    c = PEOPLE[1120]
    trk = gen_tracking(r, "ヤマト運輸")
    rec.digits(trk, "12-digit delivery tracking number (お問い合わせ伝票番号)")
    o = rec.digits(f"2406{13}{3109920}", "13-digit order number")
    jan = rec.digits(PRODUCTS[3][0], "JAN/EAN-13 product code")
    cursor = b64url(json.dumps({"mid": 582211, "cmp": "ship"}, separators=(",", ":")).encode())
    rec.n("jwt", cursor, "base64url JSON tracking parameter (one part, not a JWT)")
    body = f"""{c.name} 様

ミナセ精機オンラインストアをご利用いただきありがとうございます。
ご注文の商品を発送しました。

ご注文番号：{o}
商品：{PRODUCTS[3][1]}（JAN {jan}）× 1
配送業者：ヤマト運輸　お問い合わせ伝票番号：{trk}

お問い合わせ：ミナセ精機 お客様センター {rec.p('jp-phone-number', '0120-378-114')}（平日 9:00〜17:00）
配信停止：https://shop.minase-seiki.co.jp/unsubscribe?t={cursor}
"""
    mail(f"{base}/【ミナセ精機】商品発送のお知らせ.eml", rec, ("ミナセ精機オンラインストア", f"shop@{DOMAIN}"), [(None, c.private_email)],
         "【ミナセ精機】商品発送のお知らせ", body, "utf-8", "8bit", dt.datetime(2024, 6, 13, 16, 30))


def build_late_mail(pdf_bytes: bytes, pdf_rec: Rec):
    """M17: a mail that carries a LibreOffice-converted PDF (built after conversion)."""
    rec = Rec()
    v = COMPANIES[2]
    body = f"""{COMPANY}
経理部 御中

いつもお世話になっております。{v.name}です。
6月分の請求書をPDFにてお送りいたします。

{v.name}　経理課
TEL {rec.p('jp-phone-number', fmt_phone(v.tel))}
{rec.p('email-address', v.contact_mail)}
"""
    mail("share/mail/2024-06/6月分請求書送付_" + v.short + ".eml", rec, (v.name, v.contact_mail), [("経理部", f"keiri@{DOMAIN}")],
         "6月分 請求書送付のご案内", body, "iso-2022-jp", "7bit", dt.datetime(2024, 6, 30, 13, 0),
         atts=[("invoice_202406.pdf", pdf_bytes, pdf_rec, None)], received_ip="27.85.190.33")


# ---------------------------------------------------------------------------
# Notes (ISO-2022-JP / cp932 text), general documents, presentations, support
# ---------------------------------------------------------------------------

def build_notes():
    r = R("notes")
    # phone memo (ISO-2022-JP)
    rec = Rec()
    L = ["電話メモ　2024/06/12（水）　受：営業第一部 " + PEOPLE[50].name, ""]
    for i in range(10):
        c = COMPANIES[i + 10]
        L.append(f"{9 + i // 2}:{r.randint(0, 5)}{r.randint(0, 9)}　{c.short} {c.contact}様より")
        style = r.choice(["hyphen", "hyphen", "paren2"])
        L.append(f"　折り返し希望　TEL {rec.p('jp-phone-number', fmt_phone(c.tel, style))}"
                 + (f"（携帯 {rec.p('jp-phone-number', fmt_phone(c.contact_mobile, r.choice(['hyphen', 'plain'])))}）" if c.contact_mobile and i % 2 else ""))
        if i % 3 == 0:
            o = rec.digits(f"2406{r.randint(10, 12)}{r.randint(3100000, 3199999)}", "13-digit order number")
            L.append(f"　用件：注文番号 {o} の納期確認（数量 {r.choice([12, 50, 120])}個）")
        elif i % 3 == 1:
            L.append(f"　用件：見積 Q-2024-06{r.randint(10, 99)} の単価（@{r.choice([1280, 2480, 980])}円）について")
        else:
            L.append("　用件：請求書の宛名変更")
    L.append("")
    L.append("※ 部品番号 " + rec.n("jp-phone-number", "045-1234-5678", "part number in phone-like shape (045 + 8 digits is not a valid JP number)")
             + " の在庫は横浜物流センターに確認済み")
    L.append("※ 管理番号 " + rec.n("jp-phone-number", "090-1234-567", "asset number in 090-XXXX-XXX shape (10 digits, not a mobile number)") + " のPCは返却済み")
    emit("share/mail/notes/電話メモ_20240612.txt", text_bytes("\n".join(L) + "\n", "iso2022_jp", crlf=True), rec, "iso2022_jp")

    # My Number receipt log with full-width digits (ISO-2022-JP)
    rec = Rec()
    L = ["マイナンバー受領記録（2024年6月）", "※受領後、写しは施錠キャビネットへ。本ファイルは確認後削除予定。", ""]
    for i, p in enumerate(PEOPLE[900:915]):
        if i % 3 == 0:
            v = to_fullwidth(fmt_mynumber(p.mynumber, "space"))
        elif i % 3 == 1:
            v = to_fullwidth(p.mynumber)
        else:
            v = fmt_mynumber(p.mynumber, "hyphen")
        L.append(f"{i + 1:2d}. 6/{r.randint(3, 14)} {p.name}（社員番号{p.emp_id}）　個人番号：{rec.p('jp-my-number', v)}　確認書類：個人番号カード")
    emit("share/mail/notes/マイナンバー受領記録_202406.txt", text_bytes("\n".join(L) + "\n", "iso2022_jp", crlf=True), rec, "iso2022_jp")

    # IT handover memo (ISO-2022-JP)
    rec = Rec()
    L = ["情シス 引継ぎメモ（石川→中島）", "",
         "■ファイルサーバ",
         f"　fs-hq-01（{rec.p('ip-address', '10.20.1.21')}）管理者 ID：administrator　パスワード：{rec.p('password-after-label', gen_password(r, 14))}",
         f"　NAS（{rec.p('ip-address', '192.168.50.20')}）admin　PW：{rec.p('password-after-label', gen_password(r, 12))}",
         "■UTM",
         f"　管理画面 https://{rec.p('ip-address', '10.20.0.1')}:10443　Password: {rec.p('password-after-label', gen_password(r, 14))}",
         "■保守窓口",
         f"　{COMPANIES[24].name} サポート {rec.p('jp-phone-number', gen_tollfree(r))}　契約番号 MS-{r.randint(100000, 999999)}",
         "■その他",
         "　ドメイン管理（お名前.com）のパスワード：" + rec.n("password-after-label", "金庫の封筒を参照", "points to where the password is kept"),
         f"　Windows Server 2019 の版数は 10.0.17763.5830（{rec.n('ip-address', '10.0.17763.5830', 'Windows build number (not an IP: 17763 > 255)')}）"]
    emit("share/mail/notes/引継ぎメモ_情シス.txt", text_bytes("\n".join(L) + "\n", "iso2022_jp", crlf=True), rec, "iso2022_jp")

    # legacy server memo in cp932 with half-width katakana labels
    rec = Rec()
    L = ["旧販売管理ｻｰﾊﾞ ﾒﾓ (2012)", f"ﾎｽﾄ名: HANBAI01  IP: {rec.p('ip-address', '192.168.1.10')}",
         f"ﾕｰｻﾞｰ: hanbai  ﾊﾟｽﾜｰﾄﾞ: {rec.p('password-after-label', gen_password(r, 10, url_safe=True))}",
         f"DBﾕｰｻﾞｰ: sa  ﾊﾟｽﾜｰﾄﾞ: {rec.p('password-after-label', gen_password(r, 10, url_safe=True))}",
         f"保守: ﾐﾅｾｼｽﾃﾑｻｰﾋﾞｽ {rec.p('jp-phone-number', '03-3491-2207')}"]
    emit("share/it/手順書/旧販売管理サーバ_メモ.txt", text_bytes("\n".join(L) + "\n", "cp932", crlf=True), rec, "cp932")


def build_general():
    r = R("general")
    # sales meeting minutes (docx)
    rec = Rec()
    d = Doc()
    d.h("営業定例会議 議事録", 0)
    att = PEOPLE[50:56]
    d.table([["日時", "2024年6月10日（月）10:00～11:30"], ["場所", "本社 5F 大会議室 / Teams"],
             ["出席者", "、".join(p.name for p in att)], ["記録", att[-1].name]], header=False)
    d.h("1. 実績報告", 1)
    d.para("5月の受注高は 48,250,000円（前年比 112.4%）。出荷数は 12,480個、返品率 0.8%。")
    d.para(f"主力の{PRODUCTS[3][1]}（JAN {rec.digits(PRODUCTS[3][0], 'JAN/EAN-13 product code')}）は在庫 1,200個。")
    d.h("2. 顧客別トピック", 1)
    for c in COMPANIES[:4]:
        d.para(f"・{c.name}：{c.contact}様（{rec.p('jp-phone-number', fmt_phone(c.tel))}、{rec.p('email-address', c.contact_mail)}）より、"
               f"7月分の増量（{r.choice([200, 500, 800])}個）の打診あり。見積 Q-2024-06{r.randint(10, 99)} で回答予定。")
    d.para("・部品コード " + rec.n("jp-phone-number", "080-2024-0610", "part code in the 080-XXXX-XXXX mobile shape")
           + " の仕様変更について技術部へ確認中。")
    d.h("3. 次回", 1)
    d.para(f"2024年6月24日（月）10:00～。欠席連絡は {att[0].sei}（携帯 {rec.p('jp-phone-number', fmt_phone(att[0].mobile or gen_mobile(r)))}）まで。")
    emit("share/general/議事録/2024-06-10_営業定例_議事録.docx", d.bytes(), rec)

    # security committee minutes (ODT via conversion): incident with a card number
    rec = Rec()
    d = Doc()
    d.h("情報セキュリティ委員会 議事録（2024年5月27日）", 0)
    d.h("1. インシデント報告 INC-2024-007", 1)
    leaked = gen_card(r, "visa")
    p = PEOPLE[1150]
    d.para("コールセンターの通話メモ（共有フォルダ）に、お客様のクレジットカード番号が平文で記録されていた。")
    d.para(f"該当記載：「{p.name}様　カード番号 {rec.p('credit-card-number', fmt_card(leaked, 'hyphen'))}　有効期限 11/26　折返し {rec.p('jp-phone-number', fmt_phone(p.mobile or gen_mobile(r)))}」")
    d.para("対応：当該ファイルを削除し、カード会社へ連絡済み。再発防止として通話メモのテンプレートからカード番号欄を削除する。")
    d.h("2. 標的型メール訓練の結果", 1)
    d.para("開封率 14.2%（前回 21.5%）。添付ファイル実行 3名。対象 1,180名。")
    d.h("3. パスワードポリシー", 1)
    d.para("最小文字数を 8 → 12 に変更。有効期限（90日）は廃止し、漏えい時のみ変更とする。")
    CONVERT.append(("share/general/議事録/2024-05-27_情報セキュリティ委員会.odt", "docx", d.bytes()))
    TRUTH.add("share/general/議事録/2024-05-27_情報セキュリティ委員会.odt", rec)

    # migration plan (pptx)
    rec = Rec()
    hosts = [["ホスト名", "役割", "旧IP", "新IP", "移行日"]]
    for i in range(8):
        hosts.append([f"{r.choice(['app', 'db', 'web', 'batch'])}-hq-{i + 1:02d}", r.choice(["AP", "DB", "Web", "バッチ"]),
                      rec.p("ip-address", f"192.168.1.{r.randint(10, 200)}"), rec.p("ip-address", f"10.20.{r.choice([1, 2])}.{r.randint(10, 200)}"),
                      f"2024/07/{r.randint(1, 28):02d}"])
    slides = [
        {"title": "基幹システム移行計画（案）", "bullets": ["情報システム部　2024年6月", "対象：販売管理・在庫管理・会計連携"]},
        {"title": "移行対象サーバ", "table": hosts},
        {"title": "作業用アカウント", "bullets": [f"作業用共通ID：migration-op　パスワード：{rec.p('password-after-label', gen_password(r, 14))}",
                                            "作業後にアカウントを無効化すること", f"旧システムのバージョン：{rec.n('ip-address', '8.2.1.4', 'software version number')}"]},
        {"title": "体制・連絡先", "table": [["役割", "氏名", "携帯"]] + [[rl, p.name, rec.p("jp-phone-number", fmt_phone(p.mobile or gen_mobile(r)))]
                                                                   for rl, p in zip(["PM", "インフラ", "アプリ", "ベンダ窓口"], PEOPLE[8:12])],
         "notes": f"ベンダ窓口メール：{rec.p('email-address', COMPANIES[24].contact_mail)}"},
    ]
    emit("share/general/プレゼン/基幹システム移行計画.pptx", make_pptx(slides), rec)

    # sales presentation (pptx): customer contacts + decoy figures
    rec = Rec()
    tbl = [["顧客", "担当者", "電話", "メール", "Q2売上(千円)"]]
    for c in COMPANIES[12:20]:
        tbl.append([c.name, c.contact, rec.p("jp-phone-number", fmt_phone(c.tel)), rec.p("email-address", c.contact_mail), f"{r.randint(1200, 48000):,}"])
    slides = [{"title": "2024年度Q2 営業会議", "bullets": ["営業第二部", "売上 3億2,450万円（計画比 103%）", "新規取引 12社"]},
              {"title": "重点顧客", "table": tbl},
              {"title": "製品別", "table": [["JAN", "商品", "数量"]] + [[rec.digits(j, "JAN/EAN-13 product code"), n, f"{r.randint(100, 9000):,}"] for j, n, _ in PRODUCTS[:6]]}]
    emit("share/general/プレゼン/営業会議_2024Q2.pptx", make_pptx(slides), rec)

    # support ticket export (CSV, UTF-8 BOM)
    rec = Rec()
    rows = [["チケット番号", "受付日時", "チャネル", "顧客名", "問い合わせ内容", "担当", "ステータス"]]
    for i in range(250):
        p = PEOPLE[1050 + i % 150]
        when = dt.datetime(2024, 6, 1, 9) + dt.timedelta(minutes=i * 97 % 20000)
        k = i % 10
        o = f"2406{r.randint(1, 14):02d}{r.randint(3100000, 3199999)}"
        if k == 0:
            txt = f"カードで支払えないとのこと。カード番号{rec.p('credit-card-number', fmt_card(gen_card(r), r.choice(['plain', 'hyphen', 'space'])))}で再試行したが同じエラー。"
        elif k == 1:
            txt = f"請求書の送付先変更。新しい連絡先は{rec.p('jp-phone-number', fmt_phone(p.mobile or gen_mobile(r)))}、{rec.p('email-address', p.private_email)}。"
        elif k == 2:
            txt = f"注文番号{rec.digits(o, '13-digit order number')}の配送状況確認。伝票番号{rec.digits(gen_tracking(r, 'ヤマト運輸'), '12-digit tracking number')}。"
        elif k == 3:
            txt = f"会員登録フォームに誤ってマイナンバー（{rec.p('jp-my-number', fmt_mynumber(gen_mynumber(r), r.choice(['plain', 'space'])))}）を入力したので削除してほしいとの依頼。"
        elif k == 4:
            txt = f"型番 MS-{r.randint(1000, 9999)}-{r.randint(1, 99):02d} の互換品について。数量{r.choice([10, 24, 100])}個、予算{r.choice([5, 12, 30])}万円程度。"
        elif k == 5:
            txt = f"領収書の再発行依頼（金額 {r.randint(1000, 99999):,}円）。宛名は{r.choice(COMPANIES).name}。"
        elif k == 6:
            txt = f"折り返し電話希望 {rec.p('jp-phone-number', fmt_phone(p.home or gen_landline(r), r.choice(['hyphen', 'paren'])))}（日中不在のため18時以降）。"
        elif k == 7:
            txt = f"ポイントが反映されない。会員番号{rec.digits(luhn_complete('9810' + f'{r.randint(0, 10**11 - 1):011d}'), '16-digit loyalty card number', ('credit-card-number',))}。"
        elif k == 8:
            txt = f"返品希望。注文番号{rec.digits(o, '13-digit order number')}、数量2、単価3,980円。"
        else:
            txt = "ログインできない。パスワード再設定メールが届かない。迷惑メールフォルダも確認済み。"
        rows.append([f"SUP-{240600 + i}", f"{when:%Y/%m/%d %H:%M}", r.choice(["電話", "メール", "フォーム", "チャット"]), p.name, txt,
                     r.choice(PEOPLE[120:126]).sei, r.choice(["完了", "完了", "対応中", "保留"])])
    emit("share/general/サポート/問い合わせ履歴_2024-06.csv", text_bytes(csv_text(rows), "utf-8-sig", crlf=True), rec, "utf-8-sig")

    # escalation report (docx): full-width card, two cards separated by one space, My Number in prose
    rec = Rec()
    d = Doc()
    d.h("エスカレーション報告（2024年6月第2週）", 0)
    c1, c2, c3, c4 = gen_card(r, "visa"), gen_card(r, "mastercard"), gen_card(r, "jcb"), gen_card(r, "amex")
    p1, p2, p3 = PEOPLE[1160], PEOPLE[1161], PEOPLE[1162]
    d.h("案件1：決済エラー（SUP-240731）", 1)
    d.para(f"{p1.name}様より、「カード番号{rec.p('credit-card-number', to_fullwidth(fmt_card(c1, 'space')))}で決済できない」との入電。"
           "全角で入力されていたため桁数チェックで弾かれていた。")
    d.para(f"同日、家族カードでも試行：{rec.p('credit-card-number', c2)} {rec.p('credit-card-number', c3)}（いずれも有効期限内）。")
    d.h("案件2：AMEX 15桁の入力不可（SUP-240755）", 1)
    d.para(f"{rec.p('credit-card-number', fmt_card(c4, 'space'))} のような15桁カードで画面が先に進まない。修正リリース予定 6/20。")
    d.h("案件3：マイナンバーの誤送信（SUP-240760）", 1)
    d.para(f"{p2.name}様が問い合わせフォームの備考欄にマイナンバー {rec.p('jp-my-number', p2.mynumber)} を記入。"
           f"お客様へは {rec.p('jp-phone-number', fmt_phone(p2.mobile or gen_mobile(r)))} に架電し削除する旨を説明済み。")
    d.para(f"また {p3.name}様の個人番号カード画像（番号 {rec.p('jp-my-number', to_fullwidth(fmt_mynumber(p3.mynumber, 'hyphen')).replace('-', '－'))}）がメール添付で届いたため削除。")
    d.h("参考（機密情報ではない数字）", 1)
    d.para(f"・受付件数 1,248件、平均応答時間 42秒、放棄率 3.1%")
    d.para(f"・問い合わせ番号 {rec.digits('240612-0031', 'ticket number')}、請求書番号 INV-2406-0131、お客様番号 {rec.digits('0012345678', '10-digit customer number', ('jp-phone-number',))}")
    emit("share/general/サポート/エスカレーション報告_2024W24.docx", d.bytes(), rec)

    # emergency contact list (xlsx + PDF)
    rec = Rec()
    rows = [["緊急連絡網（2024年度）　※社外秘"], [], H("No", "氏名", "所属", "携帯電話", "自宅電話", "最寄り駅")]
    for i, p in enumerate(PEOPLE[:60]):
        rows.append([i + 1, p.name, p.dept, rec.p("jp-phone-number", fmt_phone(p.mobile)) if p.mobile else "",
                     rec.p("jp-phone-number", fmt_phone(p.home)) if p.home else "", r.choice(["大崎", "五反田", "品川", "蒲田", "武蔵小杉", "横浜", "川崎"])])
    data = make_xlsx([("連絡網", rows)], landscape=True)
    emit("share/general/総務/緊急連絡網_2024.xlsx", data, rec)
    CONVERT.append(("share/general/総務/緊急連絡網_2024.pdf", "xlsx", data))
    TRUTH.add("share/general/総務/緊急連絡網_2024.pdf", rec)

    # visitor log (CSV) with driver's licence numbers
    rec = Rec()
    rows = [["受付日", "入館時刻", "退館時刻", "会社名", "氏名", "連絡先", "本人確認書類", "書類番号", "訪問先"]]
    for i in range(45):
        c = r.choice(COMPANIES)
        sei, mei = r.choice(SURNAMES), r.choice(MALE + FEMALE)
        doc = r.choice(["運転免許証", "運転免許証", "運転免許証", "社員証"])
        num = rec.p("jp-drivers-license-number", gen_dl(r)) if doc == "運転免許証" else f"ID-{r.randint(10000, 99999)}"
        rows.append([f"2024/06/{r.randint(1, 14):02d}", f"{r.randint(9, 16)}:{r.randint(0, 59):02d}", f"{r.randint(10, 18)}:{r.randint(0, 59):02d}",
                     c.name, f"{sei[0]} {mei[0]}", rec.p("jp-phone-number", fmt_phone(gen_mobile(r))), doc, num, r.choice(DEPTS)])
    emit("share/general/総務/来客受付簿_2024-06.csv", text_bytes(csv_text(rows), "cp932", crlf=True), rec, "cp932")


def build_extra_decoys():
    r = R("extra-decoys")
    # infra README with placeholders
    rec = Rec()
    emit("share/it/repos/infra/README.md", f"""# infra

## 前提
- `~/.npmrc` に `//registry.npmjs.org/:_authToken={rec.n('npm-token', '${NPM_TOKEN}', 'environment variable reference')}` を設定
- GitLab APIを使うスクリプトは `GITLAB_TOKEN={rec.n('gitlab-token', 'glpat-xxxxxxxxxxxxxxxxxxxx', 'placeholder')}` を自分のトークンに置き換えて実行
- GitHub CLI: `export GH_TOKEN={rec.n('github-token', 'ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', 'placeholder of the right length')}`
- npm 例: `{rec.n('npm-token', 'npm_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX', 'placeholder of the right length')}`
- Slack通知のテスト: `SLACK_BOT_TOKEN={rec.n('slack-token', 'xoxb-XXXXXXXXXXXX-XXXXXXXXXXXXX-XXXXXXXXXXXXXXXXXXXXXXXX', 'placeholder')}`
- AWS: `aws configure` で `{rec.n('aws-access-key-id', 'AKIAXXXXXXXXXXXXXXXX', 'placeholder')}` の形式のキーを入力（例示用の値はコミットしない）

## 変数
| 名前 | 説明 |
|---|---|
| `db_password` | `{rec.n('password-assignment', 'var.db_password', 'terraform variable reference')}` として参照 |
| `STRIPE_SECRET_KEY` | 本番は `{rec.n('stripe-api-key', 'sk_live_************************', 'masked key')}`（Vault参照） |
""".encode(), rec)

    # international shipments: EMS numbers and production lot numbers
    rec = Rec()
    rows = [["発送日", "EMS追跡番号", "送り先", "国", "品名", "製造ロット", "数量", "重量(kg)"]]
    dests = [("Hartmann Praezisionstechnik GmbH", "DE"), ("Siam Precision Co., Ltd.", "TH"), ("Hanoi Mechanical JSC", "VN"),
             ("Northgate Supply Co.", "US"), ("Lion City Components Pte Ltd", "SG")]
    for i in range(60):
        ems = f"E{r.choice('ABGJ')}{r.randint(10**8, 10**9 - 1)}JP"
        lot = f"{r.choice(['MS', 'HK', 'TR'])}{r.randint(10**7, 10**8 - 1)}{r.choice(['KA', 'KB', 'YC', 'OS'])}"
        rec.n("jp-residence-card-number", lot, "production lot number (2 letters + 8 digits + 2 letters)")
        if i < 20:
            rec.n("jp-residence-card-number", ems, "EMS/UPU S10 tracking number (2 letters + 9 digits + JP)")
        d, cc = r.choice(dests)
        rows.append([f"2024/06/{r.randint(1, 14):02d}", ems, d, cc, r.choice(PRODUCTS_BASE), lot, r.choice([10, 20, 50, 100]), f"{r.randint(1, 30)}.{r.randint(0, 9)}"])
    emit("share/sales/出荷/国際発送_EMS_2024-06.csv", text_bytes(csv_text(rows), "utf-8-sig", crlf=True), rec, "utf-8-sig")

    # utility contracts: customer numbers shaped like phone numbers
    rec = Rec()
    rows = [H("種別", "契約先", "お客様番号", "契約名義", "問い合わせ先", "引落口座", "備考")]
    util = [("電気", "東都電力エナジー", f"03{r.randint(10**7, 10**8 - 1)}", "本社ビル"), ("電気", "東都電力エナジー", f"0466{r.randint(100000, 999999)}", "藤沢倉庫"),
            ("ガス", "湘南ガス", f"0466-{r.randint(100, 999)}-{r.randint(1000, 9999)}", "藤沢倉庫"), ("水道", "品川区水道局", f"06-{r.randint(1000, 9999)}-{r.randint(1000, 9999)}", "本社ビル"),
            ("電話", "NTT東日本", None, "代表番号"), ("電話", "NTT東日本", None, "FAX")]
    for kind, vendor, num, where in util:
        if num is None:
            num = fmt_phone(OWN_TEL if where == "代表番号" else OWN_FAX)
            numcell = rec.p("jp-phone-number", num)
        else:
            numcell = rec.n("jp-phone-number", num, f"utility customer number (お客様番号) shaped like a phone number")
        rows.append([kind, vendor, numcell, f"{COMPANY} {where}", rec.p("jp-phone-number", gen_tollfree(r)),
                     f"{OWN_BANK[0]} {OWN_BANK[1]} {OWN_BANK[2]} {rec.p('jp-bank-account-number', OWN_BANK[3])}", ""])
    emit("share/general/総務/公共料金契約一覧.xlsx", make_xlsx([("契約一覧", rows)]), rec)


def build_more_it():
    """More services, SSH material, cloud credentials files and a second chat channel."""
    r = R("more-it")
    base = "share/it/repos"
    svcs = [("ec-frontend", "Next.js"), ("chatbot", "FastAPI"), ("billing-api", "Laravel"), ("sales-dashboard", "Streamlit"),
            ("warehouse-app", "Kotlin"), ("monitoring", "Prometheus")]
    for i, (svc, kind) in enumerate(svcs):
        rec = Rec()
        dbpw = gen_password(r, 16, url_safe=True)
        db = svc.replace("-", "_")
        lines = [f"# {svc} ({kind}) - production", "APP_ENV=production",
                 f"DATABASE_URL=postgres://{db}:{rec.p('password-in-url', dbpw)}@{rec.p('ip-address', f'10.20.{i + 6}.11')}:5432/{db}",
                 f"AMQP_URL=amqp://worker:{rec.p('password-in-url', gen_password(r, 14, url_safe=True))}@mq.internal.minase-seiki.co.jp:5672/{svc}",
                 f"REDIS_PASSWORD={rec.p('password-assignment', gen_password(r, 18))}",
                 f"NEXT_PUBLIC_FIREBASE_API_KEY={rec.p('google-api-key', gen_google_key(r))}",
                 f"STRIPE_SECRET_KEY={rec.p('stripe-api-key', gen_stripe(r))}",
                 f"OPENAI_API_KEY={rec.p('openai-api-key', gen_openai(r, 'proj' if i % 2 else 'legacy'))}",
                 f"GITLAB_TOKEN={rec.p('gitlab-token', gen_gitlab(r))}",
                 f"SLACK_WEBHOOK_URL={rec.p('slack-webhook-url', gen_slack_webhook(r))}",
                 f"SLACK_BOT_TOKEN={rec.p('slack-token', gen_slack_token(r, 'xoxb' if i % 3 else 'xoxp'))}",
                 f"INTERNAL_API_TOKEN={rec.p('jwt', gen_jwt(r, 'svc-' + svc, None, 'RS256' if i % 2 else 'HS256'))}",
                 "LOG_LEVEL=info"]
        if i in (1, 3):
            key = gen_private_key(r, "pkcs8")
            lines.append(f'JWT_SIGNING_KEY="{rec.p("private-key", key.replace(chr(10), chr(92) + "n"))}"')
        rec.email_decoys("\n".join(lines), "password@host inside a connection URL, not a mailbox")
        emit(f"{base}/{svc}/.env.production", ("\n".join(lines) + "\n").encode(), rec)
        rec = Rec()
        emit(f"{base}/{svc}/.npmrc", f"//registry.npmjs.org/:_authToken={rec.p('npm-token', gen_npm(r))}\nengine-strict=true\n".encode(), rec)
        if i < 3:
            rec = Rec()
            emit(f"{base}/{svc}/deploy.sh", (
                "#!/usr/bin/env bash\nset -e\n"
                f"# deploy {svc} to production (run from the bastion)\n"
                f"export GITLAB_TOKEN={rec.p('gitlab-token', gen_gitlab(r))}\n"
                f"export STRIPE_API_KEY={rec.p('stripe-api-key', gen_stripe(r))}\n"
                f'curl -sf -X POST -H "Authorization: Bearer $GITLAB_TOKEN" https://gitlab.minase-seiki.co.jp/api/v4/projects/{30 + i}/pipeline?ref=main\n'
            ).encode(), rec)
    # monitoring: alertmanager with webhooks
    rec = Rec()
    emit(f"{base}/monitoring/alertmanager/alertmanager.yml", (
        "global:\n  resolve_timeout: 5m\n"
        f"  slack_api_url: '{rec.p('slack-webhook-url', gen_slack_webhook(r))}'\n"
        "route:\n  receiver: infra\n  routes:\n    - match: {severity: critical}\n      receiver: oncall\n"
        "receivers:\n  - name: infra\n    slack_configs:\n      - channel: '#infra-alerts'\n"
        "  - name: oncall\n    slack_configs:\n      - channel: '#oncall'\n"
        f"        api_url: '{rec.p('slack-webhook-url', gen_slack_webhook(r))}'\n"
        "  - name: sales\n    slack_configs:\n"
        f"      - api_url: '{rec.p('slack-webhook-url', gen_slack_webhook(r))}'\n"
        "  - name: template\n    slack_configs:\n"
        f"      - api_url: '{rec.n('slack-webhook-url', SLACK_DOC_WEBHOOK, 'Slack documentation placeholder webhook URL')}'\n"
    ).encode(), rec)
    rec = Rec()
    emit(f"{base}/monitoring/grafana/grafana.ini", (
        "[server]\nhttp_port = 3000\ndomain = grafana.minase-seiki.co.jp\n\n[security]\nadmin_user = admin\n"
        f"admin_password = {rec.p('password-assignment', gen_password(r, 16))}\n"
        f"secret_key = {rs(r, 32, '0123456789abcdef')}\n\n[database]\ntype = postgres\n"
        f"host = {rec.p('ip-address', '10.20.5.12')}:5432\nuser = grafana\n"
        f"password = {rec.p('password-assignment', gen_password(r, 16))}\n"
    ).encode(), rec)
    # android app config with Google API keys
    rec = Rec()
    gs = json.dumps({
        "project_info": {"project_number": str(r.randint(10**11, 10**12 - 1)), "project_id": "minase-warehouse",
                         "storage_bucket": "minase-warehouse.appspot.com"},
        "client": [{"client_info": {"mobilesdk_app_id": f"1:{r.randint(10**11, 10**12 - 1)}:android:{rs(r, 16, '0123456789abcdef')}",
                                    "android_client_info": {"package_name": pkg}},
                    "api_key": [{"current_key": rec.p("google-api-key", gen_google_key(r))}]}
                   for pkg in ("jp.minase.warehouse", "jp.minase.warehouse.debug")]}, indent=2)
    rec.scan(gs, "Firebase project number / app id digits")
    emit(f"{base}/warehouse-app/app/google-services.json", gs.encode(), rec)
    # chatbot: python settings with OpenAI keys
    rec = Rec()
    emit(f"{base}/chatbot/app/settings.py", (
        "from pydantic_settings import BaseSettings\n\n\nclass Settings(BaseSettings):\n"
        f'    openai_api_key: str = "{rec.p("openai-api-key", gen_openai(r))}"\n'
        f'    openai_fallback_key: str = "{rec.p("openai-api-key", gen_openai(r, "legacy"))}"\n'
        '    model: str = "gpt-4o-mini"\n'
        f'    db_password: str = "{rec.p("password-assignment", gen_password(r, 14))}"\n'
        '    max_tokens: int = 800\n'
    ).encode(), rec)
    # billing-api: PHP config
    rec = Rec()
    emit(f"{base}/billing-api/config/services.php", (
        "<?php\n\nreturn [\n    'stripe' => [\n"
        f"        'secret' => env('STRIPE_SECRET', '{rec.p('stripe-api-key', gen_stripe(r))}'),\n"
        "        'webhook_tolerance' => 300,\n    ],\n    'legacy_db' => [\n"
        f"        'dsn' => 'mysql://billing:{rec.p('password-in-url', gen_password(r, 14, url_safe=True))}@{rec.p('ip-address', '10.20.3.40')}:3306/billing',\n"
        f"        'password' => '{rec.p('password-assignment', gen_password(r, 14))}',\n"
        "    ],\n];\n"
    ).encode(), rec)
    # GCP service-account JSON key files
    for name in ["minase-analytics-etl", "minase-backup-gcs", "minase-maps-server"]:
        rec = Rec()
        key = gen_private_key(r, "pkcs8") + "\n"
        sa = {"type": "service_account", "project_id": name, "private_key_id": rs(r, 40, "0123456789abcdef"),
              "private_key": key, "client_email": f"{name.split('-', 1)[1]}@{name}.iam.gserviceaccount.com",
              "client_id": str(r.randint(10**20, 10**21 - 1)), "auth_uri": "https://accounts.google.com/o/oauth2/auth",
              "token_uri": "https://oauth2.googleapis.com/token"}
        txt = json.dumps(sa, indent=2)
        rec.p("private-key", key.rstrip("\n").replace("\n", "\\n"))
        rec.p("email-address", sa["client_email"])
        rec.scan(txt, "digits inside a service-account client_id / key id")
        emit(f"share/it/cloud/gcp/{name}-{sa['private_key_id'][:12]}.json", txt.encode(), rec)
    # SSH material in home backups and host keys
    for uname in ["sato-k", "kimura-t", "ikeda-y"]:
        for kind, fn in [("openssh", "id_ed25519"), ("rsa", "id_rsa")]:
            rec = Rec()
            emit(f"share/it/home_backup/{uname}/.ssh/{fn}", (rec.p("private-key", gen_private_key(r, kind)) + "\n").encode(), rec)
        rec = Rec()
        emit(f"share/it/home_backup/{uname}/.ssh/config", (
            f"Host bastion\n    HostName {rec.p('ip-address', '153.120.44.9')}\n    User {uname}\n    IdentityFile ~/.ssh/id_ed25519\n\n"
            "Host *.internal\n    ProxyJump bastion\n").encode(), rec)
    for host in ["web-hq-01", "web-hq-02", "api-hq-01", "batch-hq-01", "mail-gw", "vpn-gw", "edi-gw", "files-hq-01"]:
        rec = Rec()
        kind = "openssh" if len(host) % 2 else "rsa"
        emit(f"share/it/keys/hosts/{host}/ssh_host_{'ed25519' if kind == 'openssh' else 'rsa'}_key",
             (rec.p("private-key", gen_private_key(r, kind)) + "\n").encode(), rec)
    rec = Rec()
    placeholder = "-----BEGIN RSA PRIVATE KEY-----\n（ここに鍵の内容）\n-----END RSA PRIVATE KEY-----"
    emit("share/it/keys/README.txt", (
        "鍵ファイルの保管ルール（情報システム部）\n\n"
        f"- 秘密鍵（{rec.n('private-key', '-----BEGIN OPENSSH PRIVATE KEY-----', 'header string quoted in prose, no key material')} "
        "などで始まるファイル）はこのフォルダ以外に置かないこと。\n- 例：\n"
        f"{rec.n('private-key', placeholder, 'placeholder block in a README (no key material)')}\n- 公開鍵（.pub）は配布してよい。\n").encode(), rec)

    # second Slack channel
    rec = Rec()
    members = PEOPLE[12:20]
    msgs = []
    tmpl = [
        lambda: f"GitLabのトークン共有します（読み取り専用）{rec.p('gitlab-token', gen_gitlab(r))}",
        lambda: f"devの通知先 {rec.p('slack-webhook-url', gen_slack_webhook(r))}",
        lambda: f"テスト用に本番のトークン借ります {rec.p('jwt', gen_jwt(r, 'dev-' + str(r.randint(1, 50)), None))}",
        lambda: f"Firebaseのキーはこれ {rec.p('google-api-key', gen_google_key(r))}",
        lambda: f"Stripeの本番キー、ローテーション後はこれです {rec.p('stripe-api-key', gen_stripe(r))}",
        lambda: f"OPENAI_API_KEY={rec.p('openai-api-key', gen_openai(r))} をCIに入れました",
        lambda: f"npmトークン更新: {rec.p('npm-token', gen_npm(r))}",
        lambda: f"ステージングDB: mysql://dev:{rec.p('password-in-url', gen_password(r, 12, url_safe=True))}@{rec.p('ip-address', '10.40.0.21')}:3306/shop",
        lambda: f"Slackアプリのトークン {rec.p('slack-token', gen_slack_token(r, 'xapp'))}",
        lambda: f"検証環境の管理者パスワード：{rec.p('password-after-label', gen_password(r, 12))}",
        lambda: "「sk-proj-」で始まる文字列は全部キーなので貼らないでください",
        lambda: f"GitHubのPAT {rec.p('github-token', gen_github(r, 'pat'))} 期限90日",
        lambda: (f"検証用IAM: aws_access_key_id={rec.p('aws-access-key-id', gen_aws_key_id(r))} "
                 f"aws_secret_access_key={rec.p('aws-secret-access-key', gen_aws_secret(r))}"),
    ]
    ts = 1718236800.0
    for i in range(48):
        ts += r.randint(60, 4000) + r.random()
        msgs.append({"type": "message", "user": f"U0{rs(r, 8, 'ABCDEFGHJKLMNPQRSTUVWXYZ0123456789')}", "text": tmpl[i % len(tmpl)](),
                     "ts": f"{ts:.6f}", "user_profile": {"real_name": members[i % len(members)].name}})
    emit("share/it/チャット/slack_export_2024-06/dev-backend/2024-06-13.json", json.dumps(msgs, ensure_ascii=False, indent=2).encode(), rec)


# ---------------------------------------------------------------------------
# Conversion, verification, output
# ---------------------------------------------------------------------------

LATE: dict[str, bytes] = {}


def run_conversions():
    if not CONVERT:
        return
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice:
        sys.exit("soffice (LibreOffice) is required: run scripts/install-fixture-tools")
    with tempfile.TemporaryDirectory(prefix="indep-conv-") as td:
        td = Path(td)
        by_target: dict[str, list[tuple[str, Path]]] = {}
        for i, (target, src_ext, data) in enumerate(CONVERT):
            src = td / "in" / f"c{i:03d}.{src_ext}"
            src.parent.mkdir(exist_ok=True)
            src.write_bytes(data)
            by_target.setdefault(target.rsplit(".", 1)[1], []).append((target, src))
        for ext, items in by_target.items():
            out = td / f"out-{ext}"
            out.mkdir()
            cmd = [soffice, "-env:UserInstallation=file:///tmp/lo-profile-indep", "--headless", "--convert-to", ext,
                   "--outdir", str(out)] + [str(s) for _, s in items]
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
            for target, src in items:
                f = out / (src.stem + "." + ext)
                if not f.exists():
                    sys.exit(f"conversion failed for {target}:\n{res.stdout}\n{res.stderr}")
                if target.startswith("@"):
                    LATE[target] = f.read_bytes()
                else:
                    emit(target, f.read_bytes())


def finalize_cross_types():
    """A positive of one type that also passes another type's checksum is a hard negative for that other type."""
    for path, rec in TRUTH.items.items():
        for (t, v) in list(rec.pos):
            if not re.fullmatch(r"[0-9０-９ \-－　]+", v):
                continue
            d = DIGITS_ONLY.sub("", unicodedata.normalize("NFKC", v))
            if t != "jp-my-number" and is_mynumber(d):
                rec.n("jp-my-number", v, f"{t} value that also passes the My Number check digit")
            if t not in ("jp-corporate-number",) and is_corp(d):
                rec.n("jp-corporate-number", v, f"{t} value that also passes the 法人番号 check digit")
            if t != "credit-card-number" and is_card(d):
                rec.n("credit-card-number", v, f"{t} value that is also Luhn-valid with a card IIN")
        for (t, v) in list(rec.pos):
            if t in SECRET_TYPES:
                rec.scan(v, f"digit run inside a {t}")
        for key in list(rec.neg):
            if key in rec.pos:
                raise SystemExit(f"{path}: {key} recorded as both positive and negative")


EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
IPV4_RE = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.]|\.\d)")
SECRET_RES = [re.compile(p) for p in [
    r"AKIA[0-9A-Z]{16}", r"gh[pousr]_[A-Za-z0-9]{36}", r"github_pat_[A-Za-z0-9_]{82}", r"glpat-[A-Za-z0-9_\-]{20}",
    r"xox[abpr]-[A-Za-z0-9\-]+", r"xapp-[A-Za-z0-9\-]+", r"https://hooks\.slack\.com/services/[A-Za-z0-9/]+", r"AIza[A-Za-z0-9_\-]{35}",
    r"sk_live_[A-Za-z0-9]+", r"npm_[A-Za-z0-9]{36}", r"sk-proj-[A-Za-z0-9_\-]+", r"sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}",
    r"eyJ[A-Za-z0-9_\-]+\.eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+", r"-----BEGIN [A-Z ]*PRIVATE KEY-----"]]
D12_RE = re.compile(r"(?<!\d)(?<!\d[\- ])\d{4}([\- ]?)\d{4}\1\d{4}(?!\d)(?![\- ]\d)")
D13_RE = re.compile(r"(?<!\d)\d{13}(?!\d)")
CARD_RES = [re.compile(r"(?<!\d)(?<!\d[\- ])\d{13,19}(?!\d)(?![\- ]\d)"),
            re.compile(r"(?<!\d)(?<!\d[\- ])\d{4}([\- ])\d{4}\1\d{4}\1\d{4}(?!\d)(?![\- ]\d)"),
            re.compile(r"(?<!\d)(?<!\d[\- ])\d{4}([\- ])\d{6}\1\d{4,5}(?!\d)(?![\- ]\d)")]


def sweep(path: str, text: str, rec: Rec) -> list[str]:
    """Everything that looks like a planted value must be accounted for (positive or hard negative)."""
    problems = []
    posv = {v for (_, v) in rec.pos}
    negv = {(t, v) for (t, v) in rec.neg}
    allv = posv | {v for (_, v) in negv}

    def known(t, v):
        return v in posv or (t, v) in negv

    for m in EMAIL_RE.finditer(text):
        if not known("email-address", m.group(0)):
            problems.append(f"unaccounted email {m.group(0)!r}")
    for m in IPV4_RE.finditer(text):
        v = m.group(0)
        if all(int(o) <= 255 for o in v.split(".")) and not known("ip-address", v):
            problems.append(f"unaccounted IPv4 {v!r}")
    for rx in SECRET_RES:
        for m in rx.finditer(text):
            v = m.group(0)
            if not any(v in a or a in v for a in allv):
                problems.append(f"unaccounted secret-like {v[:60]!r}")
    for m in D12_RE.finditer(text):
        v = m.group(0)
        if is_mynumber(DIGITS_ONLY.sub("", v)) and not known("jp-my-number", v):
            problems.append(f"unaccounted My-Number-valid {v!r}")
    for m in D13_RE.finditer(text):
        v = m.group(0)
        if is_corp(v) and not known("jp-corporate-number", v) and ("T" + v) not in posv:
            problems.append(f"unaccounted corporate-number-valid {v!r}")
    for rx in CARD_RES:
        for m in rx.finditer(text):
            v = m.group(0)
            if is_card(DIGITS_ONLY.sub("", v)) and not known("credit-card-number", v):
                problems.append(f"unaccounted card-valid {v!r}")
    return problems


def verify() -> dict[str, str]:
    texts: dict[str, str] = {}
    failures = []
    for path in sorted(TRUTH.items):
        data = resolve(path)
        name = path.split("!")[-1]
        texts[path] = text = extract_bytes(name, data, path)
        rec = TRUTH.items[path]
        for (t, v) in rec.pos:
            if v not in text:
                failures.append(f"{path}: positive {t} {v[:70]!r} not found in extracted text")
        for (t, v) in rec.neg:
            if v not in text:
                failures.append(f"{path}: negative {t} {v[:70]!r} not found in extracted text")
        failures += [f"{path}: {p}" for p in sweep(path, text, rec)]
    for path in FILES:
        if path not in TRUTH.items and not path.endswith(".zip"):
            failures.append(f"{path}: file has no truth record")
    if failures:
        print("\n".join(failures[:200]), file=sys.stderr)
        sys.exit(f"verification FAILED: {len(failures)} problem(s)")
    return texts


def urls_as_reported(texts: dict[str, str]):
    """Values as the types report them: a password in a URL is the URL up to its host
    (`postgres://app:pw@db`), a private key is its `-----BEGIN … PRIVATE KEY-----` line."""
    for path, rec in TRUTH.items.items():
        for kind in ("pos", "neg"):
            table = getattr(rec, kind)
            for (t, v) in [k for k in table if k[0] == "password-in-url"]:
                m = re.search(r"[a-z][a-z0-9+.\-]*://[^\s:/@\"'<>]*:" + re.escape(v) + r"@[A-Za-z0-9][A-Za-z0-9.\-]*", texts[path])
                if not m:
                    sys.exit(f"{path}: no URL holds the password {v!r}")
                table[(t, m.group(0))] = table.pop((t, v))
            # a token used as the password of a URL (.git-credentials) is also a password in a URL
            if kind == "pos":
                for (t, v) in [k for k in table if k[0] in SECRET_TYPES and k[0] != "password-in-url"]:
                    for m in re.finditer(r"[a-z][a-z0-9+.\-]*://[^\s:/@\"'<>]*:" + re.escape(v) + r"@[A-Za-z0-9][A-Za-z0-9.\-]*", texts[path]):
                        table[("password-in-url", m.group(0))] = None
            # a private key is reported by its armour line, as the old corpus records it
            for (t, v) in [k for k in table if k[0] == "private-key"]:
                m = re.search(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----", v)
                if not m and kind == "neg":
                    continue  # a public key or a fragment: the decoy stays as written
                if not m:
                    sys.exit(f"{path}: a private key without its BEGIN line: {v[:40]!r}")
                why = table.pop((t, v))
                table.setdefault((t, m.group(0)), why)


def write_outputs():
    if SHARE.exists():
        shutil.rmtree(SHARE)
    for path, data in sorted(FILES.items()):
        f = HERE / path
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(data)
    with open(HERE / "ground-truth.jsonl", "w", encoding="utf-8") as gt, open(HERE / "hard-negatives.jsonl", "w", encoding="utf-8") as hn:
        for path in sorted(TRUTH.items):
            rec = TRUTH.items[path]
            for (t, v) in sorted(rec.pos):
                gt.write(json.dumps({"path": path, "type": t, "value": v}, ensure_ascii=False) + "\n")
            for (t, v), why in sorted(rec.neg.items()):
                hn.write(json.dumps({"path": path, "type": t, "value": v, "why": why}, ensure_ascii=False) + "\n")


def report():
    pos, neg = {}, {}
    for rec in TRUTH.items.values():
        for (t, _) in rec.pos:
            pos[t] = pos.get(t, 0) + 1
        for (t, _) in rec.neg:
            neg[t] = neg.get(t, 0) + 1
    size = sum(f.stat().st_size for f in SHARE.rglob("*") if f.is_file())
    nfiles = sum(1 for f in SHARE.rglob("*") if f.is_file())
    print(f"files: {nfiles}  share size: {size / 1e6:.2f} MB  items with truth: {len(TRUTH.items)}")
    print(f"{'type':34s} {'positives':>9s} {'hard-neg':>9s}")
    for t in sorted(set(pos) | set(neg)):
        print(f"{t:34s} {pos.get(t, 0):9d} {neg.get(t, 0):9d}")
    print(f"{'TOTAL':34s} {sum(pos.values()):9d} {sum(neg.values()):9d}")
    low = [t for t in ALL_TYPES if pos.get(t, 0) < 25]
    if low:
        sys.exit(f"too few positives for: {low}")
    if size > 3.5e6:
        sys.exit(f"share is too large: {size} bytes")


SECRET_TYPES = {"aws-access-key-id", "aws-secret-access-key", "github-token", "gitlab-token", "slack-token", "slack-webhook-url", "jwt",
                "google-api-key", "stripe-api-key", "npm-token", "openai-api-key", "private-key", "password-in-url", "password-assignment",
                "password-after-label"}
ALL_TYPES = ["jp-my-number", "jp-corporate-number", "jp-invoice-registration-number", "credit-card-number", "us-ssn", "jp-phone-number",
             "jp-passport-number", "jp-drivers-license-number", "jp-residence-card-number", "jp-bank-account-number", "email-address",
             "ip-address", "iban", "swift-code", "aws-access-key-id", "aws-secret-access-key", "github-token", "gitlab-token", "slack-token",
             "slack-webhook-url", "jwt", "google-api-key", "stripe-api-key", "npm-token", "openai-api-key", "private-key",
             "password-in-url", "password-assignment", "password-after-label"]


def main():
    missing = [t for t in ("soffice", "pdftotext") if not shutil.which(t)]
    if missing:
        sys.exit(f"missing tools: {missing} (LibreOffice; poppler-utils for PDF text verification). "
                 "Japanese fonts (fonts-ipafont-gothic/mincho) are recommended so PDFs carry Japanese text.")
    build_hr()
    customers = build_sales()
    build_accounting(customers)
    build_logs()
    build_repos()
    build_it_misc()
    build_it_docs()
    build_more_it()
    build_extra_decoys()
    build_mail()
    build_notes()
    build_general()
    # the PDF that travels as a mail attachment
    rr = R("late-invoice")
    prec = Rec()
    inv = invoice_doc(rr, COMPANIES[2], 131, prec, with_corp=True)
    CONVERT.append(("@invoice_202406.pdf", "docx", inv.bytes()))
    run_conversions()
    build_late_mail(LATE["@invoice_202406.pdf"], prec)
    finalize_cross_types()
    urls_as_reported(verify())
    write_outputs()
    report()


if __name__ == "__main__":
    main()
