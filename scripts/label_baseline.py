#!/usr/bin/env python3
"""The Python baseline of scripts/bench-label: labels every docx/xlsx/pptx under DIR the way a
script would with the standard library: rewrite the zip with a docProps/custom.xml holding the
MSIP_Label_* properties (plus its content type and relationship), to a temp file, then
os.replace. Prints files, bytes and seconds as JSON.

    label_baseline.py DIR
"""
import json, os, sys, time, uuid, zipfile
from datetime import datetime, timezone

LABEL = "78ab9bef-b96b-42fe-8644-935081610f8a"
SITE = "c37a12d5-f566-419a-bb33-0d631118fd5e"
CT = '<Override PartName="/docProps/custom.xml" ContentType="application/vnd.openxmlformats-officedocument.custom-properties+xml"/>'
REL = ('<Relationship Id="rIdMsip" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
       'custom-properties" Target="docProps/custom.xml"/>')


def custom_xml():
    values = [("Enabled", "true"), ("SetDate", datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")),
              ("Method", "Privileged"), ("Name", "Internal"), ("SiteId", SITE), ("ActionId", str(uuid.uuid4())),
              ("ContentBits", "0")]
    props = "".join(f'<property fmtid="{{D5CDD505-2E9C-101B-9397-08002B2CF9AE}}" pid="{i + 2}" '
                    f'name="MSIP_Label_{LABEL}_{k}"><vt:lpwstr>{v}</vt:lpwstr></property>' for i, (k, v) in enumerate(values))
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<Properties xmlns="http://schemas.openxmlformats.org/'
            'officeDocument/2006/custom-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
            + props + "</Properties>")


def label(path):
    tmp = path + ".tmp"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", CT.encode() + b"</Types>")
            elif info.filename == "_rels/.rels":
                data = data.replace(b"</Relationships>", REL.encode() + b"</Relationships>")
            elif info.filename == "docProps/custom.xml":
                continue
            dst.writestr(info, data)
        dst.writestr("docProps/custom.xml", custom_xml(), zipfile.ZIP_DEFLATED)
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


files, size = 0, 0
start = time.perf_counter()
for root, _, names in os.walk(sys.argv[1]):
    for n in names:
        if n.endswith((".docx", ".xlsx", ".pptx")):
            p = os.path.join(root, n)
            size += os.path.getsize(p)
            label(p)
            files += 1
print(json.dumps({"files": files, "bytes": size, "seconds": time.perf_counter() - start}))
