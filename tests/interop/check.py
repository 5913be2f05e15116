"""Loads labeled documents with python-docx, openpyxl and python-pptx and prints, as one JSON
object, each file's custom properties as that library sees them.

    python3 tests/interop/check.py FILE...

openpyxl exposes custom properties (`wb.custom_doc_props`); python-docx and python-pptx do not,
so for them the docProps/custom.xml part is read through the library's own OPC package.
"""
import json
import sys
import xml.etree.ElementTree as ET

import docx
import openpyxl
import pptx

VT = "{http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes}"
CP = "{http://schemas.openxmlformats.org/officeDocument/2006/custom-properties}"


def from_package(package):
    for part in package.iter_parts():
        if str(part.partname) == "/docProps/custom.xml":
            root = ET.fromstring(part.blob)
            return {p.get("name"): "".join(p.itertext()) for p in root.iter(CP + "property")}
    return {}


result = {}
for path in sys.argv[1:]:
    if path.endswith((".docx", ".docm")):
        doc = docx.Document(path)
        assert doc.paragraphs is not None
        result[path] = from_package(doc.part.package)
    elif path.endswith((".xlsx", ".xlsm")):
        wb = openpyxl.load_workbook(path)
        assert wb.sheetnames
        result[path] = {p.name: p.value for p in wb.custom_doc_props.props}
    elif path.endswith((".pptx", ".pptm")):
        prs = pptx.Presentation(path)
        assert len(prs.slides) >= 1
        result[path] = from_package(prs.part.package)
print(json.dumps(result))
