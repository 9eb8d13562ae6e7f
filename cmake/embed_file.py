#!/usr/bin/python3
"""Build step: a data file -> a C file holding its bytes, NUL-terminated, as
`const char SYMBOL[]` and `const size_t SYMBOL_len`. Usage: embed_file.py IN OUT.c SYMBOL
HEADER (the header declaring them, included by path under the program folder)."""

import os
import sys


def main():
    src, out, sym, header = sys.argv[1:5]
    with open(src, "rb") as f:
        data = f.read()
    lines = [
        "/* Generated from %s by cmake/embed_file.py: do not edit. */" % os.path.basename(src),
        '#include "%s"' % header,
        "",
        "const size_t %s_len = %d;" % (sym, len(data)),
        "const char %s[] = {" % sym,
    ]
    for i in range(0, len(data), 16):
        lines.append("    " + ", ".join("'\\x%02x'" % b for b in data[i:i + 16]) + ",")
    lines.append("    0};")
    with open(out + ".tmp", "w", encoding="ascii") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(out + ".tmp", out)


if __name__ == "__main__":
    main()
