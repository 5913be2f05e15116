"""Makes the interop test documents with the libraries people script Office files with.

    python3 tests/interop/make.py OUTDIR

writes OUTDIR/py.docx (python-docx), OUTDIR/py.xlsx (openpyxl) and OUTDIR/py.pptx
(python-pptx), each holding a My Number. tests/interop.rs runs it at test time, so the files
come from the versions installed, not from a committed copy.
"""
import sys
from pathlib import Path

import docx
import openpyxl
import pptx

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
VALUE = "マイナンバー 1234 5678 9018"

d = docx.Document()
d.add_heading("人事 / HR", level=1)
d.add_paragraph(f"山田太郎 {VALUE}")
d.save(out / "py.docx")

wb = openpyxl.Workbook()
ws = wb.active
ws.title = "社員"
ws.append(["氏名", "個人番号"])
ws.append(["山田太郎", "123456789018"])
wb.save(out / "py.xlsx")

p = pptx.Presentation()
s = p.slides.add_slide(p.slide_layouts[1])
s.shapes.title.text = "Payroll"
s.placeholders[1].text = VALUE
p.save(out / "py.pptx")
