#!/usr/bin/env python3
"""Generates corpus/share/: a small sample file share, and corpus/ground-truth.jsonl.

Deterministic (fixed seed): run `python3 corpus/generate.py` and commit what changes. Values are
synthetic but valid (check digits computed here), in English and Japanese, in every text
encoding mamori reads, next to hard negatives that look alike (failed check digits, order
numbers, timestamps, UUIDs, versions, documentation example keys). Every sensitive value written
is recorded in the ground truth with its type.
"""
import base64, json, os, random, shutil, string, struct, zlib

ROOT = os.path.dirname(os.path.abspath(__file__))
SHARE = os.path.join(ROOT, "share")
R = random.Random(20261123)
TRUTH = []

def digits(n, first="0123456789"):
    return R.choice(first) + "".join(R.choice("0123456789") for _ in range(n - 1))

def my_number():
    while True:
        base = digits(11, "123456789")
        w = [6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2]
        r = sum(int(a) * b for a, b in zip(base, w)) % 11
        n = base + str(0 if r <= 1 else 11 - r)
        if len(set(n)) > 2:
            return n

def corporate():
    base = digits(12)
    s = sum(int(c) * (1 if i % 2 == 0 else 2) for i, c in enumerate(reversed(base)))
    return str(9 - s % 9) + base

def luhn_complete(p):
    for d in "0123456789":
        n = p + d
        s = 0
        for i, c in enumerate(reversed(n)):
            v = int(c)
            if i % 2:
                v *= 2
                v = v - 9 if v > 9 else v
            s += v
        if s % 10 == 0:
            return n

def card():
    prefix = R.choice(["4", "51", "52", "55", "3528", "3589", "6011", "65"])
    length = 16
    return luhn_complete(prefix + digits(length - len(prefix) - 1))

def fmt4(n, sep=" "):
    return sep.join(n[i:i + 4] for i in range(0, len(n), 4))

def ssn():
    while True:
        a = R.randint(1, 899)
        if a != 666:
            return "%03d-%02d-%04d" % (a, R.randint(1, 99), R.randint(1, 9999))

def iban(cc, bban):
    s = bban + cc + "00"
    n = int("".join(str(int(c, 36)) for c in s))
    return cc + "%02d" % (98 - n % 97) + bban

def phone_mobile():
    return "%s-%s-%s" % (R.choice(["090", "080", "070"]), digits(4), digits(4))

def phone_fixed():
    return "0%d-%s-%s" % (R.randint(3, 6), digits(4), digits(4))

def rs(n, al=string.ascii_letters + string.digits):
    return "".join(R.choice(al) for _ in range(n))

def fw(s):
    """Full-width form of ASCII letters, digits and hyphens."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else ("\u3000" if c == " " else c) for c in s)

SURNAMES = ["佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤"]
GIVEN = ["太郎", "花子", "健一", "美咲", "翔太", "陽菜", "大輔", "由美", "拓海", "さくら"]
EN_FIRST = ["James", "Mary", "Robert", "Linda", "Michael", "Susan", "David", "Karen"]
EN_LAST = ["Smith", "Johnson", "Brown", "Miller", "Davis", "Wilson", "Moore", "Taylor"]

class Doc:
    def __init__(self, rel):
        self.rel, self.parts = rel, []
    def w(self, s=""):
        self.parts.append(s)
    def v(self, type_id, value, shown=None):
        """Writes a sensitive value (as `shown`, e.g. full-width) and records it as truth."""
        TRUTH.append({"path": "share/" + self.rel, "type": type_id, "value": value})
        return shown if shown is not None else value
    def save(self, encoding="utf-8", bom=b""):
        path = os.path.join(SHARE, self.rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(bom + ("\n".join(self.parts) + "\n").encode(encoding))

def hr_roster(rel, encoding, bom=b"", full_width=False):
    d = Doc(rel)
    d.w("社員名簿（人事部限り）")
    d.w("作成日: 2026-10-16 09:30:00　更新者: 人事部")
    d.w("")
    for i in range(8):
        name = R.choice(SURNAMES) + " " + R.choice(GIVEN)
        mn = my_number()
        shown = fw(fmt4(mn, "-")) if full_width else fmt4(mn, R.choice([" ", "-", ""]))
        d.w(f"■ 社員番号 E{20260 + i:05d}　氏名: {name}")
        d.w(f"  マイナンバー（個人番号）: {d.v('jp-my-number', mn, shown)}")
        d.w(f"  携帯電話: {d.v('jp-phone-number', phone_mobile())}")
        email = f"{rs(6, string.ascii_lowercase)}.{rs(4, string.ascii_lowercase)}@example.co.jp"
        d.w(f"  メール: {d.v('email-address', email)}")
        acct = digits(7, "123456789")
        d.w(f"  給与振込先: 東都銀行 本店営業部（支店番号 {digits(3, '123456789')}） 普通口座 口座番号 {d.v('jp-bank-account-number', acct)}")
        pension = digits(4, "123456789") + "-" + digits(6)
        d.w(f"  基礎年金番号: {d.v('jp-social-insurance-number', pension)}")
        if i % 2 == 0:
            lic = digits(12, "123456789")
            d.w(f"  運転免許証番号: {d.v('jp-drivers-license-number', lic)}")
        if i % 3 == 0:
            pp = R.choice(["TK", "TR", "MZ", "TZ"]) + digits(7)
            d.w(f"  旅券番号: {d.v('jp-passport-number', pp)}")
        if i % 4 == 1:
            rc = rs(2, string.ascii_uppercase) + digits(8) + rs(2, string.ascii_uppercase)
            d.w(f"  在留カード番号: {d.v('jp-residence-card-number', rc)}")
        if i % 4 == 2:
            rr = digits(11, "123456789")
            d.w(f"  住民票コード: {d.v('jp-resident-registration-number', rr)}")
        d.w(f"  入社日: 20{R.randint(10, 25)}年{R.randint(1, 12)}月{R.randint(1, 28)}日　内線: {digits(4)}")
        d.w("")
    d.w("備考: 注文番号 202610160001 は経理部の管理です。バージョン 3.2.1 を参照。")
    d.save(encoding, bom)

def vendors(rel, encoding, bom):
    d = Doc(rel)
    d.w("取引先マスタ（経理部）")
    for i in range(8):
        corp = corporate()
        d.w(f"取引先 {i + 1}: 株式会社サンプル{i + 1}　法人番号 {d.v('jp-corporate-number', corp)}")
        d.w(f"  適格請求書発行事業者の登録番号: {d.v('jp-invoice-registration-number', 'T' + corporate())}")
        d.w(f"  代表電話: {d.v('jp-phone-number', phone_fixed())}　担当: {R.choice(SURNAMES)}")
        d.w(f"  伝票番号: {digits(13, '123456789')}　処理日時: 2026-{R.randint(1, 12):02d}-{R.randint(1, 28):02d}T10:15:00+09:00")
    d.save(encoding, bom)

def payments(rel, encoding, bom):
    d = Doc(rel)
    d.w("Payment exceptions - finance only")
    for i in range(8):
        c = card()
        d.w(f"Customer {R.choice(EN_FIRST)} {R.choice(EN_LAST)}, card number {d.v('credit-card-number', c, fmt4(c, R.choice([' ', '-'])))}, exp {R.randint(1, 12):02d}/{R.randint(27, 31)}")
        cc = R.choice(["DE", "GB", "FR", "NL"])
        ib = iban(cc, {"DE": digits(18), "GB": "WEST" + digits(14), "FR": digits(23), "NL": "ABNA" + digits(10)}[cc])
        shown = " ".join(ib[k:k + 4] for k in range(0, len(ib), 4)) if i % 2 else ib
        d.w(f"  refund IBAN: {d.v('iban', ib, shown)}")
        d.w(f"  order id {digits(16, '9')} placed {R.randint(1, 28)} Oct 2026, amount {R.randint(10, 999)}.{R.randint(0, 99):02d} EUR")
    d.w("Routing number for ACH: " + d.v("us-bank-routing-number", "021000021"))
    d.save(encoding, bom)

def cards_fullwidth(rel):
    d = Doc(rel)
    d.w("お客様情報（コールセンター記録）")
    for i in range(6):
        c = card()
        d.w(f"{R.choice(SURNAMES)}様　クレジットカード番号：{d.v('credit-card-number', c, fw(fmt4(c, ' ')))}　有効期限：{fw('%02d/%02d' % (R.randint(1, 12), R.randint(27, 31)))}")
        p = phone_mobile()
        d.w(f"  連絡先電話：{d.v('jp-phone-number', p, fw(p))}")
    d.w(f"カード番号は{d.v('credit-card-number', '4111111111111111')}です（テスト用番号）。")
    d.save("utf-8", b"\xef\xbb\xbf")

def us_customers(rel):
    d = Doc(rel)
    d.w("Customer records export (CRM), confidential")
    d.w("name,email,ssn,phone,notes")
    for i in range(10):
        name = f"{R.choice(EN_FIRST)} {R.choice(EN_LAST)}"
        email = f"{name.split()[0].lower()}.{name.split()[1].lower()}{i}@mail.example.com"
        d.w(f"{name},{d.v('email-address', email)},SSN {d.v('us-ssn', ssn())},+1-555-{digits(3)}-{digits(4)},since {2000 + i}")
    d.w("")
    d.w("Support note: customer read their Social Security Number as " + d.v("us-ssn", ssn()) + " on the call.")
    d.w("Ticket 4512-88-1234 is a tracking id, not an SSN; build 2026.11.23.1 deployed.")
    d.save()

def global_ids(rel):
    d = Doc(rel)
    d.w("International employee identifiers (global mobility team)")
    d.w("UK: National Insurance number " + d.v("uk-national-insurance-number", "AB 12 34 56 C") + ", NHS Number " + d.v("uk-nhs-number", "943 476 5919"))
    d.w("Canada: SIN " + d.v("ca-social-insurance-number", "130 423 155"))
    d.w("Australia: Tax File Number " + d.v("au-tax-file-number", "876 543 210"))
    d.w("India: Aadhaar " + d.v("in-aadhaar-number", "4987 1234 5679") + ", PAN " + d.v("in-pan", "ABCPE1234F"))
    d.w("Brazil: CPF " + d.v("br-cpf", "529.982.247-25"))
    d.w("Spain: DNI " + d.v("es-dni", "45678912S"))
    d.w("China: 身份证号码 " + d.v("cn-resident-identity-card-number", "11010519491231002X"))
    d.w("Korea: 주민등록번호 " + d.v("kr-resident-registration-number", "880101-1234568"))
    d.w("Singapore: NRIC " + d.v("sg-nric", "S8412345E"))
    d.w("France: numéro de sécurité sociale " + d.v("fr-social-security-number", "1 84 06 75 123 456 41"))
    d.w("US: ITIN " + d.v("us-itin", "912-70-1234") + ", wire via SWIFT code " + d.v("swift-code", "BOTKJPJT"))
    d.save()

def dev_files():
    akid = "AKIA" + rs(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    secret = rs(40, string.ascii_letters + string.digits + "/+")
    d = Doc("dev/deploy/.env")
    d.w("# deployment settings - do not commit")
    d.w("AWS_ACCESS_KEY_ID=" + d.v("aws-access-key-id", akid))
    d.w("AWS_SECRET_ACCESS_KEY=" + d.v("aws-secret-access-key", secret))
    d.w("GITHUB_TOKEN=" + d.v("github-token", "ghp_" + rs(36)))
    d.w("SLACK_BOT_TOKEN=" + d.v("slack-token", f"xoxb-{digits(12)}-{digits(13)}-{rs(24)}"))
    d.w("SLACK_WEBHOOK=" + d.v("slack-webhook-url", f"https://hooks.slack.com/services/T{rs(10, string.ascii_uppercase + string.digits)}/B{rs(10, string.ascii_uppercase + string.digits)}/{rs(24)}"))
    pw = rs(16)
    d.w("DATABASE_URL=" + d.v("password-in-url", f"postgres://app:{pw}@db.internal", f"postgres://app:{pw}@db.internal") + ":5432/app")
    d.w("STRIPE_KEY=" + d.v("stripe-api-key", "sk_live_" + rs(32)))
    d.w("GOOGLE_MAPS_KEY=" + d.v("google-api-key", "AIza" + rs(35, string.ascii_letters + string.digits + "_-")))
    d.w("SENDGRID_API_KEY=" + d.v("sendgrid-api-key", "SG." + rs(22) + "." + rs(43)))
    d.w("NPM_TOKEN=" + d.v("npm-token", "npm_" + rs(36)))
    d.w("# docs example, not a real key: AKIAIOSFODNN7EXAMPLE / wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    d.save()

    d = Doc("dev/deploy/appsettings.json")
    pw2 = rs(14)
    azkey = rs(86, string.ascii_letters + string.digits + "+/") + "=="
    d.w("{")
    d.w('  "ConnectionStrings": {')
    d.w(f'    "Hr": "Server=sql01.corp.local;Database=hr;User Id=hr_app;Password={d.v("password-in-connection-string", pw2)};",')
    d.w(f'    "Blob": "DefaultEndpointsProtocol=https;AccountName=mamori;AccountKey={d.v("azure-storage-account-key", azkey)};EndpointSuffix=core.windows.net"')
    d.w("  },")
    d.w(f'  "Smtp": {{ "password": "{d.v("password-assignment", rs(12) + "#" + rs(3))}" }},')
    d.w('  "Placeholder": { "password": "changeme", "apiKey": "<your-api-key>" },')
    d.w('  "BuildId": "3f2b9c4e-8d7a-4b1e-9f6c-2a5d8e7b1c0f",')
    d.w('  "Version": "10.0.19041.1"')
    d.w("}")
    d.save()

    d = Doc("dev/keys/deploy_key.pem")
    d.w(d.v("private-key", "-----BEGIN OPENSSH PRIVATE KEY-----"))
    for _ in range(6):
        d.w(rs(70, string.ascii_letters + string.digits + "+/"))
    d.w("-----END OPENSSH PRIVATE KEY-----")
    d.save()

    def b64u(o):
        return base64.urlsafe_b64encode(json.dumps(o, separators=(",", ":")).encode()).decode().rstrip("=")
    jwt = b64u({"alg": "RS256", "typ": "JWT"}) + "." + b64u({"sub": "u-1042", "iat": 1790000000}) + "." + rs(86, string.ascii_letters + string.digits + "-_")
    d = Doc("dev/logs/api-gateway.log")
    for i in range(12):
        ip = f"{R.choice([10, 172, 192, 203])}.{R.randint(0, 255)}.{R.randint(0, 255)}.{R.randint(1, 254)}"
        d.w(f"2026-11-{R.randint(1, 22):02d}T0{R.randint(0, 9)}:{R.randint(10, 59)}:{R.randint(10, 59)}.{digits(3)}Z INFO request from client {d.v('ip-address', ip)} id={rs(8, '0123456789abcdef')}-{rs(4, '0123456789abcdef')} took {R.randint(1, 900)}ms")
    d.w("2026-11-22T10:00:00.000Z DEBUG Authorization: Bearer " + d.v("jwt", jwt))
    d.w("2026-11-22T10:00:01.000Z INFO upstream " + d.v("ip-address", "2001:db8:85a3::8a2e:370:7334") + " healthy, agent version 1.24.3.7")
    d.w("2026-11-22T10:00:02.000Z INFO snmp oid 1.3.6.1.2.1.1.3.0 polled")
    d.save()

def it_handover(rel):
    d = Doc(rel)
    d.w("【情報システム部】アカウント引き継ぎメモ")
    for i in range(4):
        user = rs(6, string.ascii_lowercase)
        pw = rs(3, string.ascii_uppercase) + rs(3, string.digits) + R.choice("#!%$") + rs(3, string.ascii_lowercase)
        d.w(f"{i + 1}. ユーザー名: {user}　初期パスワード：{d.v('password-after-label', pw)}（初回ログイン時に変更）")
    pin = "".join(R.sample("123456789", 4))
    d.w(f"社用カードの暗証番号は{d.v('password-after-label', pin)}です。")
    d.w(f"VPN  ID: vpn-{rs(4, string.digits)}  PW: {d.v('password-after-label', rs(10))}")
    d.w("※ パスワードを変更してください。パスワード：******** は伏せ字です。")
    d.w("※ passport の番号は人事部へ。暗証番号 0000 は初期値（無効）。")
    d.save("cp932")

def negatives():
    d = Doc("sales/orders-2026-10.csv")
    d.w("order_no,ordered_at,sku,qty,amount,tracking")
    for i in range(25):
        d.w(f"2026101{R.randint(0, 9)}{digits(4)},2026-10-{R.randint(1, 31):02d} {R.randint(0, 23):02d}:{R.randint(0, 59):02d}:{R.randint(0, 59):02d},SKU-{digits(6)},{R.randint(1, 9)},{R.randint(100, 99999)},{digits(12, '123456789')}")
    d.save()
    d = Doc("sales/release-notes.md")
    d.w("# Release notes")
    d.w("- 2.10.3: fixed CSV export; 3.0.0.1 hotfix for build 1234567890123")
    d.w("- session ids are UUIDs like 550e8400-e29b-41d4-a716-446655440000")
    d.w("- commit 9fceb02d0ae598e95dc970b74767f19372d61af8 and a1b2c3d")
    d.w("- test card that fails Luhn: 4111 1111 1111 1112; 17 digits 41111111111111110")
    d.w("- 注文番号 202611230001、問い合わせ番号 1234-5678-9012（チケット）")
    d.w("- 個人番号の例（チェックデジット誤り）: 6214 9832 0258")
    d.w("- 法人番号の例（誤り）: 5835678256247")
    d.w("- IBAN typo: GB82 WEST 1234 5698 7654 33")
    d.w("- pi = 3.14159265358979323846, e = 2.718281828459045")
    d.w("- example key from the AWS docs: AKIAIOSFODNN7EXAMPLE")
    d.w("- 電話受付時間 9:00-17:00、郵便番号 100-0001")
    d.save()

def misc():
    os.makedirs(os.path.join(SHARE, "misc"), exist_ok=True)
    png = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    png += struct.pack(">I", zlib.crc32(png[12:29]))
    with open(os.path.join(SHARE, "misc/logo.png"), "wb") as f:
        f.write(png)
    with open(os.path.join(SHARE, "misc/blob.bin"), "wb") as f:
        f.write(bytes(R.randrange(256) for _ in range(512)) + b"\0" * 16)
    open(os.path.join(SHARE, "misc/empty.txt"), "wb").close()
    d = Doc("misc/broken-utf8.txt")
    d.w("mostly UTF-8 text with one stray byte: \udcff here")
    d.w("マイナンバー: " + d.v("jp-my-number", my_number()))
    path = os.path.join(SHARE, d.rel)
    with open(path, "wb") as f:
        f.write("\n".join(d.parts).encode("utf-8", "surrogateescape"))

def save_truth(path, rows):
    """Writes ground truth as JSON Lines, one value per line."""
    with open(path, "w", encoding="utf-8") as f:
        for t in rows:
            f.write(json.dumps(t, ensure_ascii=False) + "\n")

def main():
    # share/office/ is generate_office.py's
    for d in os.listdir(SHARE) if os.path.isdir(SHARE) else []:
        if d != "office":
            shutil.rmtree(os.path.join(SHARE, d), ignore_errors=True)
    hr_roster("hr/roster-utf8.txt", "utf-8")
    hr_roster("hr/roster-sjis.csv", "cp932")
    hr_roster("hr/roster-eucjp.txt", "euc_jp")
    hr_roster("hr/roster-fullwidth.txt", "utf-8", full_width=True)
    payments("finance/payments-utf16le.txt", "utf-16-le", b"\xff\xfe")
    vendors("finance/vendors-utf16be.txt", "utf-16-be", b"\xfe\xff")
    cards_fullwidth("support/call-log-bom.txt")
    us_customers("us/crm-export.csv")
    global_ids("global/mobility.txt")
    it_handover("it/handover-sjis.txt")
    dev_files()
    negatives()
    misc()
    save_truth(os.path.join(ROOT, "ground-truth.jsonl"), TRUTH)
    print(f"{len(TRUTH)} sensitive values in {SHARE}")

if __name__ == "__main__":
    main()
