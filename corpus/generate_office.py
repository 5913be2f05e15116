#!/usr/bin/env python3
"""Generates corpus/share/office/ and corpus/hostile/: documents, mail and archives made by real
software, and corpus/ground-truth-office.jsonl.

Needs python-docx, openpyxl, python-pptx and msoffcrypto-tool (pip), LibreOffice (`soffice`),
qpdf and zip (Debian packages). LibreOffice stamps dates into what it writes, so the outputs are
not byte-for-byte reproducible: run it when the fixtures should change, and commit the results.

  python-docx / openpyxl / python-pptx write docx, xlsx, pptx;
  LibreOffice converts them to odt, ods, odp, doc, xls, ppt, rtf and pdf;
  Python's email, zipfile and tarfile libraries write eml, zip, tar and gzip.

Every sensitive value written is recorded in the ground truth with the path of the item that
holds it (`share/office/mail.eml!payroll.xlsx` for an attachment). Hostile fixtures are named
`fail_<reason>.<ext>`: each must come out of a scan as skipped or error with a reason.
"""
import gzip, io, os, random, shutil, subprocess, sys, tarfile, tempfile, zipfile
from email.message import EmailMessage

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import generate as g  # the value generators (check digits) of the text corpus

import docx
import openpyxl
import pptx
from pptx.util import Inches

ROOT = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(ROOT, "share", "office")
HOSTILE = os.path.join(ROOT, "hostile")
g.R = random.Random(20261124)
TRUTH = []


def truth(rel, type_id, value, folder="share/office/"):
    TRUTH.append({"path": folder + rel, "type": type_id, "value": value})
    return value


class Values:
    """One set of values, written into a document and its conversions alike."""

    def __init__(self):
        self.people = []
        for i in range(4):
            self.people.append({
                "name": g.R.choice(g.SURNAMES) + " " + g.R.choice(g.GIVEN),
                "my_number": g.my_number(),
                "phone": g.phone_mobile(),
                "email": f"{g.rs(6, 'abcdefghijklmnopqrstuvwxyz')}@example.co.jp",
                "card": g.card(),
            })
        self.footer_phone = g.phone_mobile()
        self.header_email = f"hr-{g.rs(4, 'abcdefghijklmnopqrstuvwxyz')}@example.co.jp"
        self.comment_email = f"audit-{g.rs(4, 'abcdefghijklmnopqrstuvwxyz')}@example.co.jp"

    def record(self, rel, with_header_footer=True, with_comment=True):
        for p in self.people:
            truth(rel, "jp-my-number", p["my_number"])
            truth(rel, "jp-phone-number", p["phone"])
            truth(rel, "email-address", p["email"])
            truth(rel, "credit-card-number", p["card"])
        if with_header_footer:
            truth(rel, "email-address", self.header_email)
            truth(rel, "jp-phone-number", self.footer_phone)
        if with_comment:
            truth(rel, "email-address", self.comment_email)


def word(v, path):
    d = docx.Document()
    d.sections[0].header.paragraphs[0].text = f"人事部 問い合わせ先: {v.header_email}"
    d.sections[0].footer.paragraphs[0].text = f"緊急連絡 携帯電話: {v.footer_phone}"
    d.add_heading("社員情報（人事部限り）", 1)
    for p in v.people:
        para = d.add_paragraph(f"{p['name']}　マイナンバー（個人番号）: ")
        mn = g.fmt4(p["my_number"])
        # Word splits text into runs wherever formatting changes: the number must survive it
        para.add_run(mn[:4]).bold = True
        para.add_run(mn[4:])
        d.add_paragraph(f"携帯電話: {p['phone']}　メール: {p['email']}")
    table = d.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "氏名"
    table.rows[0].cells[1].text = "クレジットカード番号"
    for p in v.people:
        row = table.add_row().cells
        row[0].text = p["name"]
        row[1].text = g.fmt4(p["card"])
    last = d.add_paragraph("監査の連絡先")
    d.add_comment(last.runs, text=f"監査担当: {v.comment_email}", author="監査", initials="KS")
    d.save(path)


def excel(v, path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "給与"
    ws.append(["氏名", "マイナンバー", "携帯電話", "メール", "クレジットカード番号"])
    for p in v.people:
        # My Number stored as a number, as spreadsheets do with digit columns
        ws.append([p["name"], int(p["my_number"]), p["phone"], p["email"], p["card"]])
    us = wb.create_sheet("US staff")
    us.append(["Name", "SSN", "Notes"])
    for i in range(3):
        us.append([g.R.choice(g.EN_FIRST) + " " + g.R.choice(g.EN_LAST), g.ssn(), "payroll"])
    us["C2"].comment = openpyxl.comments.Comment(f"Contact: {v.comment_email}", "audit")
    wb.save(path)
    return [(r[1].value) for r in us.iter_rows(min_row=2)]


def excel_truth(v, rel, ssns, comments=True):
    if comments:
        truth(rel, "email-address", v.comment_email)
    for p in v.people:
        truth(rel, "jp-my-number", p["my_number"])
        truth(rel, "jp-phone-number", p["phone"])
        truth(rel, "email-address", p["email"])
        truth(rel, "credit-card-number", p["card"])
    for s in ssns:
        truth(rel, "us-ssn", s)


def powerpoint(v, path):
    prs = pptx.Presentation()
    s1 = prs.slides.add_slide(prs.slide_layouts[1])
    s1.shapes.title.text = "採用計画 2027"
    s1.placeholders[1].text = f"問い合わせ: {v.header_email}"
    s2 = prs.slides.add_slide(prs.slide_layouts[5])
    s2.shapes.title.text = "決済テスト"
    rows = len(v.people) + 1
    tbl = s2.shapes.add_table(rows, 2, Inches(0.5), Inches(1.5), Inches(8), Inches(3)).table
    tbl.cell(0, 0).text = "氏名"
    tbl.cell(0, 1).text = "クレジットカード番号"
    for i, p in enumerate(v.people, 1):
        tbl.cell(i, 0).text = p["name"]
        tbl.cell(i, 1).text = g.fmt4(p["card"])
    notes = s2.notes_slide.notes_text_frame
    notes.text = "\n".join(f"{p['name']} マイナンバー: {p['my_number']} 携帯電話: {p['phone']} {p['email']}" for p in v.people)
    prs.save(path)


def soffice(src, fmt, outdir):
    subprocess.run(["soffice", "--headless", "--convert-to", fmt, "--outdir", outdir, src],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def convert(src, fmt, rel):
    """Converts `src` with LibreOffice to `rel` (relative to OUT)."""
    with tempfile.TemporaryDirectory() as tmp:
        soffice(src, fmt, tmp)
        (out,) = os.listdir(tmp)
        shutil.move(os.path.join(tmp, out), os.path.join(OUT, rel))


def mail(v, xlsx_path, ssns):
    m = EmailMessage()
    m["From"] = "経理部 <keiri@example.co.jp>"
    m["To"] = "hr@example.co.jp"
    m["Subject"] = "給与データの送付"
    body_card = g.card()
    m.set_content(f"お疲れさまです。\n法人カードのクレジットカード番号 {g.fmt4(body_card)} の件、給与データを添付します。\n"
                  f"担当 携帯電話: {truth('mail.eml', 'jp-phone-number', g.phone_mobile())}\n")
    truth("mail.eml", "credit-card-number", body_card)
    truth("mail.eml", "email-address", "keiri@example.co.jp")
    truth("mail.eml", "email-address", "hr@example.co.jp")
    with open(xlsx_path, "rb") as f:
        m.add_attachment(f.read(), maintype="application",
                         subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet", filename="payroll.xlsx")
    excel_truth(v, "mail.eml!payroll.xlsx", ssns)
    csv_mn = g.my_number()
    csv = f"氏名,マイナンバー\n{g.R.choice(g.SURNAMES)},{csv_mn}\n"
    m.add_attachment(csv.encode("utf-8"), maintype="text", subtype="csv", filename="list.csv")
    truth("mail.eml!list.csv", "jp-my-number", csv_mn)
    with open(os.path.join(OUT, "mail.eml"), "wb") as f:
        f.write(bytes(m))


def archives(docx_path):
    # records.zip: a CSV, and a zip inside holding the Word document
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(docx_path, "hr-list.docx")
    ssn_value = g.ssn()
    with zipfile.ZipFile(os.path.join(OUT, "records.zip"), "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("export/customers.csv", f"name,SSN\nJohn Smith,{ssn_value}\n")
        z.writestr("inner.zip", inner.getvalue())
    truth("records.zip!export/customers.csv", "us-ssn", ssn_value)
    # logs.tar.gz: gzip holding a tar holding a log
    key = "AKIA" + g.rs(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    log = f"2026-11-20 deploy started\nexport AWS_ACCESS_KEY_ID={key}\n".encode()
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w") as t:
        info = tarfile.TarInfo("logs/deploy.log")
        info.size = len(log)
        t.addfile(info, io.BytesIO(log))
    with open(os.path.join(OUT, "logs.tar.gz"), "wb") as f:
        with gzip.GzipFile(filename="logs.tar", mode="wb", fileobj=f, mtime=0) as gz:
            gz.write(tar_bytes.getvalue())
    truth("logs.tar.gz!logs.tar!logs/deploy.log", "aws-access-key-id", key)


def markup():
    mn, mail_addr = g.my_number(), f"{g.rs(5, 'abcdefghijklmnopqrstuvwxyz')}@example.com"
    html = (f"<!DOCTYPE html><html><head><title>会員情報</title><script>var x='{g.my_number()}';</script></head>"
            f"<body><h1>会員情報</h1><p>マイナンバー:&nbsp;{mn[:4]}<b>{mn[4:]}</b></p>"
            f"<p><a href=\"mailto:{mail_addr}\">連絡先</a></p></body></html>")
    with open(os.path.join(OUT, "member.html"), "w", encoding="utf-8") as f:
        f.write(html)
    truth("member.html", "jp-my-number", mn)
    truth("member.html", "email-address", mail_addr)
    card_value = g.card()
    xml = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<customers>\n  <customer name=\"Mary Smith\" "
           f"card=\"{g.fmt4(card_value)}\"><note>credit card on file</note></customer>\n</customers>\n")
    with open(os.path.join(OUT, "export.xml"), "w", encoding="utf-8") as f:
        f.write(xml)
    truth("export.xml", "credit-card-number", card_value)


def hostile(v, docx_path, pdf_path):
    os.makedirs(HOSTILE, exist_ok=True)
    data = open(docx_path, "rb").read()
    with open(os.path.join(HOSTILE, "fail_truncated.docx"), "wb") as f:
        f.write(data[: len(data) * 6 // 10])
    # 100 MB of zeros in a ~100 KB zip
    with zipfile.ZipFile(os.path.join(HOSTILE, "fail_zip-bomb.zip"), "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("zeros.txt", b"\0" * (100 << 20))
    # twelve zips, each inside the next
    blob = b"innermost"
    name = "core.txt"
    for i in range(12):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr(name, blob)
        blob, name = buf.getvalue(), f"level{11 - i}.zip"
    with open(os.path.join(HOSTILE, "fail_deeply-nested.zip"), "wb") as f:
        f.write(blob)
    # a Word body with a billion-laughs DTD
    lol = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
           + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
           + ']><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r>'
           "<w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>")
    # its header, footer and comments are still read, and their values found
    for type_id, value in [("email-address", v.header_email), ("jp-phone-number", v.footer_phone),
                           ("email-address", v.comment_email)]:
        truth("fail_xml-entities.docx", type_id, value, folder="hostile/")
    with zipfile.ZipFile(docx_path) as src, \
            zipfile.ZipFile(os.path.join(HOSTILE, "fail_xml-entities.docx"), "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(item, lol if item.filename == "word/document.xml" else src.read(item.filename))
    pdf = open(pdf_path, "rb").read()
    with open(os.path.join(HOSTILE, "fail_malformed.pdf"), "wb") as f:
        f.write(pdf[:200] + bytes(g.R.randrange(256) for _ in range(2000)))
    subprocess.run(["qpdf", "--encrypt", "user-secret", "owner-secret", "256", "--", pdf_path,
                    os.path.join(HOSTILE, "fail_encrypted.pdf")], check=True)
    subprocess.run(["msoffcrypto-tool", "-e", "-p", "secret", docx_path, os.path.join(HOSTILE, "fail_encrypted.docx")],
                   check=True)
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(docx_path, os.path.join(tmp, "hr.docx"))
        subprocess.run(["zip", "-q", "-P", "secret", os.path.join(HOSTILE, "fail_password.zip"), "hr.docx"],
                       cwd=tmp, check=True)


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    shutil.rmtree(HOSTILE, ignore_errors=True)
    os.makedirs(OUT)
    v = Values()
    docx_path = os.path.join(OUT, "hr-list.docx")
    word(v, docx_path)
    v.record("hr-list.docx")
    for ext, fmt in [("odt", "odt"), ("doc", "doc"), ("rtf", "rtf"), ("pdf", "pdf")]:
        convert(docx_path, fmt, f"hr-list.{ext}")
        # LibreOffice keeps comments in odt, doc and rtf; its PDF export leaves them out
        v.record(f"hr-list.{ext}", with_comment=ext != "pdf")
    xlsx_path = os.path.join(OUT, "payroll.xlsx")
    ssns = excel(v, xlsx_path)
    excel_truth(v, "payroll.xlsx", ssns)
    for ext in ["ods", "xls"]:
        convert(xlsx_path, ext, f"payroll.{ext}")
        # calamine reads no cell comments from .xls
        excel_truth(v, f"payroll.{ext}", ssns, comments=ext != "xls")
    v2 = Values()
    pptx_path = os.path.join(OUT, "deck.pptx")
    powerpoint(v2, pptx_path)
    for ext in ["pptx", "odp", "ppt"]:
        rel = f"deck.{ext}"
        if ext != "pptx":
            convert(pptx_path, ext, rel)
        truth(rel, "email-address", v2.header_email)
        for p in v2.people:
            for t, k in [("jp-my-number", "my_number"), ("jp-phone-number", "phone"), ("email-address", "email"),
                         ("credit-card-number", "card")]:
                truth(rel, t, p[k])
    mail(v, xlsx_path, ssns)
    archives(docx_path)
    v.record("records.zip!inner.zip!hr-list.docx")
    markup()
    hostile(v, docx_path, os.path.join(OUT, "hr-list.pdf"))
    g.save_truth(os.path.join(ROOT, "ground-truth-office.jsonl"), TRUTH)
    print(f"{len(TRUTH)} sensitive values in {OUT}; hostile fixtures in {HOSTILE}")


if __name__ == "__main__":
    main()
