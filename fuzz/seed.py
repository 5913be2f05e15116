#!/usr/bin/env python3
"""Seeds fuzz/corpus/<target>/ from the project's fixtures, in the shape each target expects."""
import os, zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
OFFICE = os.path.join(HERE, "..", "corpus", "share", "office")


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def member(path, name):
    with zipfile.ZipFile(os.path.join(OFFICE, path)) as z:
        return z.read(name)


put("office_xml", "docx", b"\0" + member("hr-list.docx", "word/document.xml"))
put("office_xml", "sheet", b"\2" + member("payroll.xlsx", "xl/worksheets/sheet1.xml"))
put("office_xml", "workbook", b"\5" + member("payroll.xlsx", "xl/workbook.xml"))
put("office_xml", "slide", b"\3" + member("deck.pptx", "ppt/slides/slide2.xml"))
put("office_xml", "ods", b"\4" + member("payroll.ods", "content.xml"))
put("rtf", "rtf", open(os.path.join(OFFICE, "hr-list.rtf"), "rb").read()[6:])
put("pdf", "pdf", open(os.path.join(OFFICE, "hr-list.pdf"), "rb").read()[9:])
mail = open(os.path.join(OFFICE, "mail.eml"), "rb").read()
put("mail", "eml", mail[mail.index(b"\n\n") + 1 if b"\n\n" in mail else 0:])
put("legacy_streams", "word", b"\0" + b"\xec\xa5" + b"\0" * 0x200)
for name in os.listdir(OFFICE):
    put("extract", name, open(os.path.join(OFFICE, name), "rb").read())
