#!/usr/bin/env python3
"""Office benchmark helper.

  office_tree.py generate DIR SIZE_MB   writes SIZE_MB of docx/xlsx/pptx (python-docx, openpyxl,
                                        python-pptx): a few distinct documents, copied
  office_tree.py extract DIR [MAX_MB]   the Python baseline: extracts the text of each file as
                                        mamori does (body, tables, headers, footers; every cell;
                                        slides and notes), single process; prints bytes read and
                                        seconds as JSON
"""
import json, os, random, shutil, sys, time

R = random.Random(11)
WORDS = ("the quarterly report shows that revenue grew in all regions while costs remained stable our team "
         "will review the results with management next week 今期の 売上は 全地域で 増加し 費用は 横ばいでした").split()
HITS = ["カード番号 4111 1111 1111 1111", "マイナンバー 6214 9832 0257", "mail taro.yamada@example.co.jp", "SSN: 536-90-4399"]


def sentence(n=14):
    s = " ".join(R.choice(WORDS) for _ in range(n))
    return s + " " + R.choice(HITS) if R.random() < 0.01 else s


def generate(root, size_mb):
    import docx, openpyxl, pptx
    from pptx.util import Inches
    tmpl = os.path.join(root, "templates")
    os.makedirs(tmpl, exist_ok=True)
    made = []
    for k in range(3):
        d = docx.Document()
        d.sections[0].footer.paragraphs[0].text = sentence()
        for i in range(3000):
            d.add_paragraph(sentence())
        t = d.add_table(rows=200, cols=4)
        for row in t.rows:
            for c in row.cells:
                c.text = sentence(4)
        p = os.path.join(tmpl, f"report{k}.docx")
        d.save(p)
        made.append(p)
        wb = openpyxl.Workbook()
        ws = wb.active
        for i in range(15000):
            ws.append([sentence(3), R.randrange(10**11, 10**12), R.random() * 1000, sentence(5), "東京都"])
        p = os.path.join(tmpl, f"ledger{k}.xlsx")
        wb.save(p)
        made.append(p)
        prs = pptx.Presentation()
        for i in range(120):
            s = prs.slides.add_slide(prs.slide_layouts[1])
            s.shapes.title.text = sentence(5)
            s.placeholders[1].text = "\n".join(sentence() for _ in range(6))
            s.notes_slide.notes_text_frame.text = sentence(30)
        p = os.path.join(tmpl, f"deck{k}.pptx")
        prs.save(p)
        made.append(p)
    total, i = 0, 0
    while total < size_mb * 1_000_000:
        src = made[i % len(made)]
        dst = os.path.join(root, "share", f"{i // 100:03d}", f"{i:05d}-" + os.path.basename(src))
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy(src, dst)
        total += os.path.getsize(src)
        i += 1
    shutil.rmtree(tmpl)
    open(os.path.join(root, ".done"), "w").close()


def extract(root, max_mb):
    import docx, openpyxl, pptx
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs if f.endswith(("docx", "xlsx", "pptx")))
    read, chars, start = 0, 0, time.perf_counter()
    for path in files:
        if read >= max_mb * 1_000_000:
            break
        out = []
        if path.endswith(".docx"):
            d = docx.Document(path)
            out += [p.text for p in d.paragraphs]
            out += [c.text for t in d.tables for r in t.rows for c in r.cells]
            for s in d.sections:
                out += [p.text for p in s.header.paragraphs] + [p.text for p in s.footer.paragraphs]
        elif path.endswith(".xlsx"):
            wb = openpyxl.load_workbook(path, read_only=True)
            for ws in wb.worksheets:
                for row in ws.iter_rows(values_only=True):
                    out += [str(v) for v in row if v is not None]
        else:
            prs = pptx.Presentation(path)
            for s in prs.slides:
                out += [sh.text_frame.text for sh in s.shapes if sh.has_text_frame]
                if s.has_notes_slide:
                    out.append(s.notes_slide.notes_text_frame.text)
        chars += sum(len(x) for x in out)
        read += os.path.getsize(path)
    print(json.dumps({"bytes": read, "seconds": time.perf_counter() - start, "chars": chars}))


if __name__ == "__main__":
    if sys.argv[1] == "generate":
        generate(sys.argv[2], int(sys.argv[3]))
    else:
        extract(sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 1e12)
