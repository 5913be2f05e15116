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

# label_metadata: the label-bearing part of each format, with a label in it
FIXTURE = os.path.join(HERE, "..", "tests", "data", "mip", "excel-labeled-confidential.xlsx")
with zipfile.ZipFile(FIXTURE) as z:
    put("label_metadata", "custom", b"\0" + z.read("docProps/custom.xml"))
G = "2096f6a2-d2f7-48be-b329-b73aaa526e5d"
S = "cb46c030-1825-4e81-a295-151c039dbf02"
put("label_metadata", "labelinfo", b"\1" + (
    '<clbl:labelList xmlns:clbl="http://schemas.microsoft.com/office/2020/mipLabelMetadata">'
    f'<clbl:label id="{{{G}}}" enabled="1" method="Privileged" siteId="{{{S}}}" contentBits="0" removed="0" />'
    '</clbl:labelList>').encode())
put("label_metadata", "meta", b"\2" + member("hr-list.odt", "meta.xml"))
put("label_metadata", "mail", b"\3" + f"msip_labels: MSIP_Label_{G}_Enabled=true;\n MSIP_Label_{G}_SiteId={S};\n\nbody\n".encode())
put("label_metadata", "pdf", b"\4" + open(os.path.join(OFFICE, "hr-list.pdf"), "rb").read())
put("label_metadata", "doc", b"\4" + open(os.path.join(OFFICE, "hr-list.doc"), "rb").read())
put("label_metadata", "xls", b"\4" + open(os.path.join(OFFICE, "payroll.xls"), "rb").read())
import olefile  # noqa: E402  (pip install olefile) the real stream of a LibreOffice .doc
put("label_metadata", "props", b"\5" + olefile.OleFileIO(os.path.join(OFFICE, "hr-list.doc")).openstream("\x05DocumentSummaryInformation").read())
