#!/usr/bin/python3
"""Build step: docs/openapi.yaml -> a C file holding the document as compact JSON (served by
`rollcall-server serve` at GET /openapi.json, server/http/openapi.c) and its strong ETag (the
first 32 hex digits of the JSON's SHA-256). Usage: openapi_json.py IN.yaml OUT.c
Needs python3-yaml (Debian)."""

import hashlib
import json
import os
import sys

import yaml


def main():
    src, out = sys.argv[1], sys.argv[2]
    with open(src, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    if not isinstance(doc, dict) or not str(doc.get("openapi", "")).startswith("3."):
        sys.exit("%s: not an OpenAPI 3 document" % src)
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"), sort_keys=False)
    data = text.encode("utf-8")
    etag = hashlib.sha256(data).hexdigest()[:32]
    lines = [
        "/* Generated from docs/openapi.yaml by cmake/openapi_json.py: do not edit. */",
        '#include "http/openapi.h"',
        "",
        'const char openapi_etag[] = "\\"%s\\"";' % etag,
        "const size_t openapi_json_len = %d;" % len(data),
        "const char openapi_json[] = {",
    ]
    for i in range(0, len(data), 16):
        # Character constants, so bytes over 127 need no conversion whether char is signed.
        lines.append("    " + ", ".join("'\\x%02x'" % b for b in data[i:i + 16]) + ",")
    lines.append("    0};")
    with open(out + ".tmp", "w", encoding="ascii") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(out + ".tmp", out)


if __name__ == "__main__":
    main()
