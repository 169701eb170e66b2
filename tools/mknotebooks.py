#!/usr/bin/python3
"""Writes the notebooks in notebooks/ from their readable sources in notebooks/src/.

A source is a Markdown file: every ```go fenced block becomes a Go code cell
(for the "dnas" Jupyter kernel), the text between them becomes Markdown cells
(a line holding only <!-- cell --> starts a new Markdown cell), and a line
<!-- include NAME --> becomes a code cell holding notebooks/src/NAME (the
shared setup every notebook starts with).

usage:
  tools/mknotebooks.py [NN ...]        write notebooks/NN_x.ipynb (all, or those whose
                                       names start with the NN given), keeping the
                                       committed outputs of every cell whose source
                                       is unchanged
  tools/mknotebooks.py --outputs DIR   take the outputs instead from the executed
                                       notebooks in DIR (tools/run-notebook.sh writes
                                       them there)
  tools/mknotebooks.py --check         fail if a notebook's cells differ from its source

The committed notebooks carry the outputs of a real run (see notebooks/README.md).
"""
import glob
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, "notebooks", "src")
OUT = os.path.join(ROOT, "notebooks")

KERNELSPEC = {"name": "dnas", "display_name": "Go (dnas)", "language": "go"}
LANGUAGE_INFO = {"name": "go", "file_extension": ".go", "mimetype": "text/x-go"}


def split_cells(text):
    """Returns [(kind, source)] for a Markdown source."""
    cells, md, code, in_code = [], [], [], False

    def flush_md():
        s = "\n".join(md).strip("\n")
        if s.strip():
            cells.append(("markdown", s))
        md.clear()

    for line in text.split("\n"):
        if in_code:
            if line.strip() == "```":
                cells.append(("code", "\n".join(code).strip("\n")))
                code.clear()
                in_code = False
            else:
                code.append(line)
            continue
        if line.strip() == "```go":
            flush_md()
            in_code = True
            continue
        if line.strip() == "<!-- cell -->":
            flush_md()
            continue
        m = re.fullmatch(r"\s*<!-- include (\S+) -->\s*", line)
        if m:
            flush_md()
            with open(os.path.join(SRC, m.group(1))) as f:
                cells.append(("code", f.read().strip("\n")))
            continue
        md.append(line)
    if in_code:
        raise SystemExit("unterminated ```go block")
    flush_md()
    return cells


def lines(s):
    out = s.split("\n")
    return [l + "\n" for l in out[:-1]] + [out[-1]]


def build(path):
    with open(path) as f:
        cells = split_cells(f.read())
    nb_cells = []
    stem = os.path.basename(path)[:2]
    for i, (kind, src) in enumerate(cells):
        c = {"cell_type": kind, "id": f"c{stem}-{i:02d}", "metadata": {}, "source": lines(src)}
        if kind == "code":
            c["execution_count"] = None
            c["outputs"] = []
        nb_cells.append(c)
    return {"cells": nb_cells, "metadata": {"kernelspec": KERNELSPEC, "language_info": LANGUAGE_INFO},
            "nbformat": 4, "nbformat_minor": 5}


def source(c):
    s = c["source"]
    return "".join(s) if isinstance(s, list) else s


def main(argv):
    outputs = None
    check = "--check" in argv
    if "--outputs" in argv:
        outputs = argv[argv.index("--outputs") + 1]
        argv = argv[:argv.index("--outputs")] + argv[argv.index("--outputs") + 2:]
    only = [a for a in argv if not a.startswith("--")]
    bad = 0
    for path in sorted(glob.glob(os.path.join(SRC, "[0-9]*.md"))):
        name = os.path.basename(path)[:-3]
        if only and not any(name.startswith(o) for o in only):
            continue
        nb = build(path)
        dest = os.path.join(OUT, name + ".ipynb")
        if check:
            with open(dest) as f:
                have = json.load(f)
            if [(c["cell_type"], source(c)) for c in have["cells"]] != [(c["cell_type"], source(c)) for c in nb["cells"]]:
                print(f"{dest} is out of date: run tools/mknotebooks.py", file=sys.stderr)
                bad += 1
            continue
        ran = os.path.join(outputs, name + ".ipynb") if outputs else dest
        if os.path.exists(ran):
            with open(ran) as f:
                done = json.load(f)
            by_src = {}
            for c in done["cells"]:
                if c["cell_type"] == "code":
                    by_src.setdefault(source(c), c)
            for i, c in enumerate(nb["cells"]):
                d = by_src.get(source(c)) if c["cell_type"] == "code" else None
                if d is not None:
                    c["outputs"] = d.get("outputs", [])
                    c["execution_count"] = d.get("execution_count")
            nb["metadata"]["dnas"] = done.get("metadata", {}).get("dnas", {})
        else:
            print(f"no executed {ran}: {name} written without outputs", file=sys.stderr)
        with open(dest, "w") as f:
            json.dump(nb, f, indent=1, ensure_ascii=False)
            f.write("\n")
        print("wrote", os.path.relpath(dest, ROOT))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
