#!/usr/bin/python3
"""The man pages: each renders with `man --warnings -l` (groff) without a single warning, and
`lexgrog` reads its NAME line (what mandb and apropos index). rollcall-server(1) names every
command of `rollcall-server --help` and rollcall-agent(1) every command of
`rollcall-agent --help`, so a new command without a manual entry fails here. The CMake
install rule is checked by installing into a scratch prefix."""

import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVER = os.environ.get("ROLLCALL_SERVER", "rollcall-server")
AGENT = os.environ.get("ROLLCALL_AGENT", "rollcall-agent")
PAGES = {
    "server/rollcall-server.1": ("man1", SERVER),
    "agent/rollcall-agent.1": ("man1", AGENT),
    "agent/rollcall-agent.json.5": ("man5", None),
    "agent/rollcall-fence.5": ("man5", None),
    "verify/rollcall-verify.1": ("man1", None),
}


def commands(prog):
    out = subprocess.run([prog, "--help"], capture_output=True, text=True).stdout
    part = out.split("Commands:", 1)[1]
    return [m.group(1) for m in re.finditer(r"^  ([a-z][a-z-]*)\s", part, re.M)]


def main():
    env = dict(os.environ, LC_ALL="C.UTF-8", MANWIDTH="80")
    for rel, (section, prog) in PAGES.items():
        path = os.path.join(ROOT, rel)
        r = subprocess.run(["man", "--warnings", "-l", "-E", "UTF-8", path],
                           capture_output=True, text=True, env=env)
        assert r.returncode == 0 and r.stderr == "", (rel, r.stderr)
        assert "SYNOPSIS" in r.stdout and "SEE ALSO" in r.stdout, rel
        lg = subprocess.run(["lexgrog", path], capture_output=True, text=True)
        name = os.path.basename(rel).rsplit(".", 1)[0]
        assert lg.returncode == 0 and ('"%s - ' % name) in lg.stdout, (rel, lg)
        if prog:
            cmds = commands(prog)
            assert len(cmds) >= 10, cmds
            text = r.stdout.replace("\u2010", "-")
            missing = [c for c in cmds if not re.search(r"^ {7}%s\b" % re.escape(c), text, re.M)
                       and not re.search(r"^ {7}[a-z, -]*\b%s\b" % re.escape(c), text, re.M)]
            assert not missing, "%s: commands without an entry: %s" % (rel, missing)
    build = os.environ["ROLLCALL_BINARY_DIR"]  # set by ctest
    with tempfile.TemporaryDirectory() as d:
        r = subprocess.run(["cmake", "--install", build, "--prefix", d],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        for rel, (section, _) in PAGES.items():
            p = os.path.join(d, "share", "man", section, os.path.basename(rel))
            assert os.path.isfile(p), "not installed: " + p
    print("man pages: %d pages, no warnings" % len(PAGES))
    return 0


if __name__ == "__main__":
    sys.exit(main())
