#!/usr/bin/python3
"""docs/CONFIGURATION.md stays the whole reference: every option `rollcall-server serve --help`
lists has a row there, and the firmware-profile table is exactly what `rollcall-agent
profile-doc` prints from the loader's table (so a new key or a changed default fails here)."""

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVER = os.environ.get("ROLLCALL_SERVER", "rollcall-server")
AGENT = os.environ.get("ROLLCALL_AGENT", "rollcall-agent")


def main():
    with open(os.path.join(ROOT, "docs", "CONFIGURATION.md"), encoding="utf-8") as f:
        doc = f.read()
    serve = subprocess.run([SERVER, "serve", "--help"], capture_output=True, text=True)
    assert serve.returncode == 0, serve
    opts = sorted(set(re.findall(r"--[a-z][a-z-]+", serve.stdout)) - {"--help"})
    assert len(opts) >= 15, opts
    missing = [o for o in opts if not re.search(r"^\| `%s[ `]" % re.escape(o), doc, re.M)]
    assert not missing, "serve options without a row in docs/CONFIGURATION.md: %s" % missing
    prof = subprocess.run([AGENT, "profile-doc"], capture_output=True, text=True)
    assert prof.returncode == 0 and prof.stdout.count("\n") > 20, prof
    assert prof.stdout in doc, ("the firmware-profile table in docs/CONFIGURATION.md is not "
                                "`rollcall-agent profile-doc`'s output: regenerate it")
    print("configuration reference: %d serve options, profile table current" % len(opts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
