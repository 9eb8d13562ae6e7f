#!/usr/bin/python3
# labels: collector pg
"""Evidence bundles end to end (docs/EVIDENCE.md): the demo's class and a generated class are
bundled by `rollcall-server evidence` and by GET /v1/classes/{id}/evidence (scoped like the
class's report; the evaluator's bundle carries no names) and verified by rollcall-verify with no
database and no network; then every tampering the issue lists, each its own case, on a bundle
re-signed with the collector's own key (a dishonest collector), is caught by rollcall-verify
with exit 1 and a line naming the member. The generated class runs on every back-end
(pglib.backends(): PostgreSQL too under ctest's pg fixture, where the collector's key file is
named with --signing-key, there being no file beside the database). Standard library and the
openssl CLI only."""

import base64
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pglib  # noqa: E402
import test_figures as tf  # noqa: E402
from ingestlib import Server, make_pki  # noqa: E402
from ingestlib import run as plain_run  # noqa: E402

VERIFY = os.environ.get("ROLLCALL_VERIFY", "build/rel/rollcall-verify")
TOP = os.environ.get("ROLLCALL_SOURCE_DIR",
                     os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
failures = tf.failures
check = tf.check
# The collector's key file when the database is not a file (PostgreSQL); None: <db>.signing.key.
SIGNING_KEY = None


def run(*args, db=None):
    """rollcall-server with the collector's key file named where the back-end needs it."""
    if SIGNING_KEY and args and args[0] in ("evidence", "publish", "signing-key") and \
            "list" not in args:
        args = (*args, "--signing-key", SIGNING_KEY)
    return plain_run(*args, db=db)


def verify(path, *args):
    r = subprocess.run([VERIFY, *args, path], capture_output=True, text=True, timeout=120)
    return r.returncode, r.stdout, r.stderr


def read_tar(data):
    """The members of a bundle, in order, as (name, bytes)."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as t:
        return [(m.name, t.extractfile(m).read()) for m in t.getmembers()]


def write_tar(members):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            t.addfile(info, io.BytesIO(data))
    return out.getvalue()


def openssl_sign(key_file, data):
    r = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key_file], input=data,
                       capture_output=True, check=True)
    return base64.b64encode(r.stdout).decode()


def resign(members, key_file):
    """What a dishonest collector holding its key would do: a manifest listing the changed
    members, signed again with the collector's own key."""
    d = dict(members)
    man = json.loads(d["manifest.json"])
    for row in man["members"]:
        data = d[row["name"]]
        row["size"] = len(data)
        row["sha256"] = hashlib.sha256(data).hexdigest()
    man_bytes = json.dumps(man, separators=(",", ":"), ensure_ascii=False).encode()
    sig = json.loads(d["manifest.sig"])
    sig["signature"] = openssl_sign(key_file, man_bytes)
    out = []
    for name, data in members:
        if name == "manifest.json":
            data = man_bytes
        elif name == "manifest.sig":
            data = json.dumps(sig, separators=(",", ":")).encode()
        out.append((name, data))
    return out


def replace(members, name, fn):
    return [(n, fn(d) if n == name else d) for n, d in members]


def expect_ok(path, what, *args):
    code, out, err = verify(path, *args)
    check(code == 0 and out.startswith("OK class "), "%s verifies: %s %s %s" % (what, code, out, err))
    return code == 0


def expect_caught(d, name, members, member, contains=None):
    """rollcall-verify exits 1 and one of its lines names member (and holds contains)."""
    path = os.path.join(d, "tampered-%s.tar" % name)
    with open(path, "wb") as f:
        f.write(write_tar(members))
    code, out, err = verify(path)
    lines = out.splitlines()
    hit = [l for l in lines if l.startswith(member + ": ") and (not contains or contains in l)]
    check(code == 1 and hit, "tampering '%s' is caught naming %s%s: exit %s, %s %s"
          % (name, member, " (%s)" % contains if contains else "", code, out, err))
    return hit


def lines_of(data):
    return data.split(b"\n")[:-1]


# ---- the tampering cases, each its own test ----

def t_event_byte(d, m, key, dev):
    def f(data):
        ls = lines_of(data)
        ls[4] = ls[4].replace(b'"mono_ms":', b'"mono_ms":9', 1)
        return b"".join(l + b"\n" for l in ls)
    expect_caught(d, "event_byte", resign(replace(m, dev, f), key), dev)


def t_event_removed(d, m, key, dev):
    def f(data):
        ls = lines_of(data)
        del ls[10]
        return b"".join(l + b"\n" for l in ls)
    expect_caught(d, "event_removed", resign(replace(m, dev, f), key), dev, "seq 11 expected")


def t_events_swapped(d, m, key, dev):
    def f(data):
        ls = lines_of(data)
        ls[10], ls[11] = ls[11], ls[10]
        return b"".join(l + b"\n" for l in ls)
    expect_caught(d, "events_swapped", resign(replace(m, dev, f), key), dev, "seq 11 expected")


def t_batch_signature(d, m, key, dev, device_key):
    other = openssl_sign(device_key, b"not the last line of this batch")

    def f(data):
        rows = json.loads(data)
        rows[1]["signature"] = other
        return json.dumps(rows, separators=(",", ":")).encode()
    expect_caught(d, "batch_signature", resign(replace(m, "batches.json", f), key), "batches.json",
                  "does not verify")


def t_device_key(d, m, key, dev, tmp):
    k2 = os.path.join(tmp, "other-device.key")
    subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", k2],
                   check=True)
    pem = subprocess.run(["openssl", "pkey", "-in", k2, "-pubout"], capture_output=True,
                         check=True).stdout.decode()

    def f(data):
        rows = json.loads(data)
        for r in rows:
            r["public_key"] = pem
        return json.dumps(rows, separators=(",", ":")).encode()
    expect_caught(d, "device_key", resign(replace(m, "devices.json", f), key), "devices.json",
                  "verifies none")


def t_fence_moved(d, m, key):
    def f(data):
        rows = json.loads(data)
        for r in rows:
            g = json.loads(r["geojson"])
            g["geometry"]["coordinates"][1] += 50.0 / 111320.0  # 50 m north
            r["geojson"] = json.dumps(g, separators=(",", ":"))
        return json.dumps(rows, separators=(",", ":"), ensure_ascii=False).encode()
    expect_caught(d, "fence_moved", resign(replace(m, "fences.json", f), key), "fences.json",
                  "re-judged")


def t_policy_grace(d, m, key):
    def f(data):
        p = json.loads(data)
        p["late_grace_ms"] += 5 * 60000
        return json.dumps(p, separators=(",", ":")).encode()
    expect_caught(d, "policy_grace", resign(replace(m, "policy.json", f), key), "report.json",
                  "recomputed")


def t_review_added(d, m, key):
    def f(data):
        rows = json.loads(data)
        r = dict(rows[0])
        r["decision"] = "reject"
        r["reason"] = "added afterwards"
        r["decided_at_ms"] += 1000
        rows.append(r)
        return json.dumps(rows, separators=(",", ":"), ensure_ascii=False).encode()
    expect_caught(d, "review_added", resign(replace(m, "reviews.json", f), key), "report.json",
                  "recomputed")


def t_figure_changed(d, m, key):
    def f(data):
        r = json.loads(data)
        r["trainees"][0]["attended_hours"] += 1
        return json.dumps(r, separators=(",", ":"), ensure_ascii=False).encode()
    hit = expect_caught(d, "figure_changed", resign(replace(m, "report.json", f), key),
                        "report.json", "attended_hours")
    check(hit and "recomputed" in hit[0] and "the bundle says" in hit[0],
          "the changed figure is named with both values: %s" % hit)


def t_manifest_changed(d, m, key):
    def f(data):
        man = json.loads(data)
        man["members"] = [x for x in man["members"] if x["name"] != "reviews.json"]
        return json.dumps(man, separators=(",", ":")).encode()
    expect_caught(d, "manifest_changed", replace(m, "manifest.json", f), "manifest.sig",
                  "does not match")


def t_collector_signature(d, m, key):
    def f(data):
        s = json.loads(data)
        s["signature"] = openssl_sign(key, b"something else the collector signed")
        return json.dumps(s, separators=(",", ":")).encode()
    expect_caught(d, "collector_signature", replace(m, "manifest.sig", f), "manifest.sig",
                  "does not match")


def t_member_not_resigned(d, m, key):
    def f(data):
        return data.replace(b'"attendance_rate"', b'"attendance_rate" ', 1)
    expect_caught(d, "member_not_resigned", replace(m, "report.json", f), "report.json",
                  "differs from the manifest")


def tampering(d, bundle, key_file, device_key):
    m = read_tar(bundle)
    dev = [n for n, _ in m if n.startswith("events/")][0]
    tmp = os.path.join(d, "tamper")
    os.makedirs(tmp, exist_ok=True)
    # The re-signing itself is sound: an untouched re-signed bundle still verifies.
    path = os.path.join(tmp, "resigned.tar")
    with open(path, "wb") as f:
        f.write(write_tar(resign(m, key_file)))
    expect_ok(path, "a bundle re-signed unchanged (the harness is sound)")
    t_event_byte(tmp, m, key_file, dev)
    t_event_removed(tmp, m, key_file, dev)
    t_events_swapped(tmp, m, key_file, dev)
    t_batch_signature(tmp, m, key_file, dev, device_key)
    t_device_key(tmp, m, key_file, dev, tmp)
    t_fence_moved(tmp, m, key_file)
    t_policy_grace(tmp, m, key_file)
    t_review_added(tmp, m, key_file)
    t_figure_changed(tmp, m, key_file)
    t_manifest_changed(tmp, m, key_file)
    t_collector_signature(tmp, m, key_file)
    t_member_not_resigned(tmp, m, key_file)


# ---- the generated class ----

def generated(top):
    global SIGNING_KEY
    for backend in pglib.backends():
        print("== back-end: %s" % backend, flush=True)
        d = os.path.join(top, backend)
        os.makedirs(d)
        make_pki(d)
        tf.BACKEND = backend
        SIGNING_KEY = os.path.join(d, "collector.signing.key") if backend != "sqlite" else None
        generated_on(d)
    SIGNING_KEY = None
    tf.BACKEND = "sqlite"


def generated_on(d):
    w = tf.World(d, "gen")
    if SIGNING_KEY:  # serve reads the key file named, created below
        w.srv.stop()
        w.srv = Server(w.db, w.dir, "--signing-key", SIGNING_KEY)
        w.port = w.srv.port
    try:
        generated_in(w, d)
    finally:
        code = w.stop()
        check(code == 0, "server exits 0 on SIGTERM, got %s" % code)


def generated_in(w, d):
    k = w.enrol("K-A1", "INST-A")
    st, body = w.req("inst-a", "PUT", "/v1/classes/C-A", tf.plan())
    check(st == 201, "PUT class: %s %s" % (st, body))
    st, body = w.req("admin", "PUT", "/v1/classes/C-B", tf.plan("C-B", "INST-B", "120104",
                                                                 fence="venue-b"))
    check(st == 201, "class of INST-B: %s %s" % (st, body))
    events = tf.class_events(k, k.key_hex)
    if not tf.upload(w.port, w.ctx, k, events, [7, 30, 1, 50]):
        return
    s3 = tf.DAY1 + 2 * tf.DAY + 10 * tf.H
    st, _ = w.req("inst-a", "POST", "/v1/online-records",
                  [{"class": "C-A", "id_number": tf.IDS[0], "start": tf.iso(s3),
                    "end": tf.iso(s3 + 2 * tf.H), "platform": "学习通"}])
    check(st == 200, "online records: %s" % st)
    st, _ = w.req("assessor", "POST", "/v1/classes/C-A/assessments",
                  [{"class": "C-A", "id_number": tf.IDS[0], "passed": True,
                    "assessed_on": "2026-11-20", "certificate": "CERT-0001"}])
    check(st == 200, "assessments: %s" % st)
    st, fl = w.req("district-d", "GET", "/v1/findings?class=C-A")
    outside = [f for f in fl.get("findings", []) if f["kind"] == "signin_outside"]
    if not check(st == 200 and len(outside) == 1, "the outside sign-in is flagged: %s" % fl):
        return
    st, body = w.req("district-d", "POST", "/v1/findings/%s/review" % outside[0]["id"],
                     {"decision": "approve", "reason": "相机显示学员在教室 / camera shows the trainee"})
    check(st == 200, "review: %s %s" % (st, body))

    # Before the collector has a signing key the route cannot sign: 503, one clear line.
    st, body = w.req("evaluator", "GET", "/v1/classes/C-A/evidence")
    check(st == 503 and "signing-key" in body.get("error", ""), "no key yet: 503 %s %s" % (st, body))
    r = run("signing-key", "create", db=w.db)
    check(r.returncode == 0, "signing-key create: %s" % r.stderr)
    key_file = SIGNING_KEY or w.db[len("sqlite:"):] + ".signing.key"
    pub = os.path.join(d, "collector.pub")
    subprocess.run(["openssl", "pkey", "-in", key_file, "-pubout", "-out", pub], check=True)

    # Over HTTP, scoped as the class's report.
    st, ctype, data = w.raw("evaluator", "/v1/classes/C-A/evidence")
    check(st == 200 and ctype == "application/x-tar", "evaluator gets the bundle: %s %s" % (st, ctype))
    ev_path = os.path.join(d, "evaluator.tar")
    with open(ev_path, "wb") as f:
        f.write(data)
    expect_ok(ev_path, "the evaluator's bundle of the generated class")
    expect_ok(ev_path, "the evaluator's bundle against the pinned collector key", "--key", pub)
    members = dict(read_tar(data))
    names = [t["name"] for t in json.loads(members["plan.json"])["roster"]]
    rep_names = [t.get("name", "") for t in json.loads(members["report.json"])["trainees"]]
    check(names and all(n == "" for n in names + rep_names),
          "the evaluator's bundle holds no names: %s %s" % (names, rep_names))
    check(not any(n.encode() in data for n in tf.NAMES), "no name anywhere in the bytes")
    check(len(json.loads(members["reviews.json"])) == 1, "the review is in the bundle")
    devs = json.loads(members["devices.json"])
    check([(x["id"], x["institution"], x["enrolled_by"]) for x in devs] ==
          [("K-A1", "INST-A", "enroll")] and devs[0]["public_key"] == k.public_pem and
          devs[0]["enrolled_at_ms"] > 0,
          "the kiosk's key and enrolment (who, when, under which token): %s" % devs)
    st, _, data_inst = w.raw("inst-a", "/v1/classes/C-A/evidence")
    inst_names = [t["name"] for t in json.loads(dict(read_tar(data_inst))["plan.json"])["roster"]]
    check(st == 200 and inst_names == tf.NAMES, "the institution's bundle names its trainees: %s"
          % inst_names)
    inst_path = os.path.join(d, "institution.tar")
    with open(inst_path, "wb") as f:
        f.write(data_inst)
    expect_ok(inst_path, "the institution's bundle (with names)")
    for who in ("inst-b", "district-other"):
        st, body = w.req(who, "GET", "/v1/classes/C-A/evidence")
        check(st == 403, "%s may not have C-A's bundle: %s %s" % (who, st, body))
    st, body = w.req("admin", "GET", "/v1/classes/NOPE/evidence")
    check(st == 404, "unknown class: %s %s" % (st, body))

    # The command: the same class, then a year of the institution.
    out = os.path.join(d, "cli.tar")
    r = run("evidence", "--class", "C-A", "--out", out, db=w.db)
    check(r.returncode == 0 and r.stdout.startswith("C-A "), "evidence --class: %s %s"
          % (r.stdout, r.stderr))
    expect_ok(out, "the command's bundle")
    code, js, _ = verify(out, "--json")
    doc = json.loads(js) if js.strip() else {}
    check(code == 0 and doc.get("ok") is True and doc.get("class") == "C-A" and
          doc.get("problems") == [] and doc["checked"]["events"] == len(events) and
          doc["manifest_sha256"] == r.stdout.split()[1],
          "--json: %s" % js)
    year_dir = os.path.join(d, "year")
    r = run("evidence", "--institution", "INST-A", "--year", "2026", "--out", year_dir, db=w.db)
    check(r.returncode == 0 and os.listdir(year_dir) == ["C-A.tar"], "a year of INST-A: %s %s %s"
          % (r.stdout, r.stderr, os.listdir(year_dir) if os.path.isdir(year_dir) else None))
    if os.path.exists(os.path.join(year_dir, "C-A.tar")):
        expect_ok(os.path.join(year_dir, "C-A.tar"), "the year's bundle")
    # Usage and refusals.
    r = run("evidence", "--class", "C-A", db=w.db)
    check(r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, "no --out: usage %s" % r.stderr)
    r = run("evidence", "--class", "NOPE", "--out", os.path.join(d, "x.tar"), db=w.db)
    check(r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1 and
          not os.path.exists(os.path.join(d, "x.tar")), "unknown class: exit 1 %s" % r.stderr)
    code, _, err = verify(os.path.join(d, "missing.tar"))
    check(code == 2 and err.strip(), "a missing file is a usage error: %s" % err)
    r = subprocess.run([VERIFY], capture_output=True, text=True)
    check(r.returncode == 2, "no bundle: usage")
    code, outp, _ = verify(os.path.join(TOP, "README.md"))
    check(code == 1 and outp.startswith("bundle: "), "not a tar: %s" % outp)
    # Another collector key pinned: refused, naming the signature.
    other = os.path.join(d, "other.key")
    subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out",
                    other], check=True)
    other_pub = os.path.join(d, "other.pub")
    subprocess.run(["openssl", "pkey", "-in", other, "-pubout", "-out", other_pub], check=True)
    code, outp, _ = verify(out, "--key", other_pub)
    check(code == 1 and outp.startswith("manifest.sig: signed by key"), "another pinned key: %s"
          % outp)

    tampering(d, data, key_file, k.key)
    publication(w, d, key_file, pub, ev_path)


def anon_get(w, path):
    """GET without credentials: status, content type, bytes (checked against the document)."""
    import http.client
    import openapi_check
    conn = http.client.HTTPSConnection("127.0.0.1", w.port, context=w.ctx, timeout=60)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        data = r.read()
        openapi_check.check("GET", path, r.status, r.getheader("Content-Type"), data,
                            dict(r.getheaders()))
        return r.status, r.getheader("Content-Type"), data
    finally:
        conn.close()


def publication(w, d, key_file, pub, ev_path):
    pub_dir = os.path.join(d, "published")
    r = run("publish", "--year", "2026", "--out", pub_dir, db=w.db)
    check(r.returncode == 0 and r.stdout.startswith("published 2026: 2 classes"),
          "publish --year 2026: %s %s" % (r.stdout, r.stderr))
    r = run("publish", "--year", "2026", db=w.db)
    check(r.returncode == 1 and "published already" in r.stderr and
          len(r.stderr.strip().splitlines()) == 1, "a year is published once: %s" % r.stderr)
    r = run("publish", "--year", "1999", db=w.db)
    check(r.returncode == 2, "a year out of range is a usage error: %s" % r.stderr)
    st, ctype, body = anon_get(w, "/public/evaluation/2026")
    check(st == 200 and ctype.startswith("application/json"), "the publication, no login: %s %s"
          % (st, ctype))
    doc = json.loads(body)
    inner = json.loads(doc["publication"])
    rows = {x["institution"]: x for x in inner["institutions"]}
    check(set(rows) == {"INST-A", "INST-B"} and rows["INST-A"]["classes"] == 1 and
          rows["INST-A"]["trainees"] == 3 and rows["INST-A"]["passed"] == 1 and
          not any(n in doc["publication"] for n in tf.NAMES) and
          tf.IDS[0] not in doc["publication"], "the rows, no personal data: %s" % inner)
    pub_file = os.path.join(d, "evaluation-2026.json")
    with open(pub_file, "wb") as f:
        f.write(body)
    st, ctype, csv1 = anon_get(w, "/public/evaluation/2026?format=csv")
    st2, _, csv2 = anon_get(w, "/public/evaluation/2026.csv")
    check(st == 200 and st2 == 200 and ctype.startswith("text/csv") and csv1 == csv2 and
          csv1.startswith(b"\xef\xbb\xbf") and csv1.count(b"\r\n") == 3 and b"INST-A,1,3," in csv1,
          "the CSV: %s %r" % (st, csv1[:300]))
    st, _, _ = anon_get(w, "/public/evaluation/2025")
    check(st == 404, "an unpublished year: 404 (%s)" % st)
    st, _, _ = anon_get(w, "/public/evaluation/20x6")
    check(st == 400, "not a year: 400 (%s)" % st)
    bundles = [os.path.join(pub_dir, "C-A.tar"), os.path.join(pub_dir, "C-B.tar")]
    code, out, err = verify(bundles[1], "--publication", pub_file, bundles[0])
    check(code == 0 and "2 bundles verified, 2 institution rows recomputed" in out,
          "the publication against its bundles: %s %s %s" % (code, out, err))
    # The evaluator's bundle fetched before publishing is the same evidence (same manifest).
    code, out, err = verify(ev_path, "--publication", pub_file)
    check(code == 0 and "1 institution rows recomputed" in out,
          "the publication ties to the bundle fetched over HTTP: %s %s %s" % (code, out, err))
    # A published figure changed and signed again by the collector: refuted by the bundles.
    inner["institutions"][0]["attended_ms"] += 3600000
    text = json.dumps(inner, separators=(",", ":"), ensure_ascii=False)
    forged = dict(doc, publication=text)
    forged["signature"] = dict(doc["signature"], signature=openssl_sign(key_file, text.encode()))
    forged_file = os.path.join(d, "forged.json")
    with open(forged_file, "w") as f:
        json.dump(forged, f, ensure_ascii=False)
    code, out, _ = verify(bundles[0], "--publication", forged_file, bundles[1])
    check(code == 1 and "publication: institution INST-A: attended_ms published" in out,
          "a changed published figure is refuted: %s %s" % (code, out))
    # After a rotation the old publication is served unchanged and still verifies against the
    # old (pinned) key; new bundles are signed by the new key, with the same manifests.
    r = run("signing-key", "rotate", db=w.db)
    check(r.returncode == 0, "rotate: %s" % r.stderr)
    st, _, body2 = anon_get(w, "/public/evaluation/2026")
    check(st == 200 and body2 == body, "the publication is served byte for byte after a rotation")
    code, out, err = verify(bundles[0], "--key", pub, "--publication", pub_file, bundles[1])
    check(code == 0, "the old publication verifies after the rotation: %s %s %s" % (code, out, err))
    st, _, fresh = w.raw("evaluator", "/v1/classes/C-A/evidence")
    fresh_path = os.path.join(d, "after-rotation.tar")
    with open(fresh_path, "wb") as f:
        f.write(fresh)
    code, out, _ = verify(fresh_path, "--publication", pub_file)
    check(code == 0, "a bundle signed by the new key ties to the old publication: %s" % out)
    code, out, _ = verify(fresh_path, "--key", pub)
    check(code == 1 and out.startswith("manifest.sig: signed by key"),
          "the new bundle is not signed by the old key: %s" % out)


# ---- the demo's class ----

def demo(d):
    work = os.path.join(d, "demo")
    build = os.path.dirname(os.environ.get("ROLLCALL_SERVER", "build/rel/rollcall-server"))
    # The demo runs the agents under libfaketime (LD_PRELOAD); in a sanitizer build ASan must
    # then accept not being first in the library list.
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = ":".join(x for x in (env.get("ASAN_OPTIONS", ""),
                                               "verify_asan_link_order=0") if x)
    r = subprocess.run([sys.executable, os.path.join(TOP, "scripts", "demo.py"), "--work", work,
                        "--build", build], capture_output=True, text=True, timeout=300, env=env)
    if not check(r.returncode == 0, "the demo runs: %s %s" % (r.stdout[-2000:], r.stderr[-2000:])):
        return
    db = "sqlite:" + os.path.join(work, "server.db")
    r = run("signing-key", "create", db=db)
    check(r.returncode == 0, "signing-key create: %s" % r.stderr)
    out = os.path.join(d, "demo.tar")
    r = run("evidence", "--class", "TJ-2026-AI-0001", "--out", out, db=db)
    check(r.returncode == 0, "evidence of the demo's class: %s" % r.stderr)
    expect_ok(out, "the demo's class bundle")
    code, js, _ = verify(out, "--json")
    doc = json.loads(js) if js.strip() else {}
    check(code == 0 and doc["checked"]["trainees"] == 30 and doc["checked"]["fixes"] > 0 and
          doc["checked"]["batch_signatures"] > 0, "the demo's bundle checks 30 trainees: %s" % js)
    # The demo's report as the collector prints it is the bundle's.
    r = run("report", "attendance", "--class", "TJ-2026-AI-0001", "--format", "json", db=db)
    with tarfile.open(out) as t:
        bundled = json.loads(t.extractfile("report.json").read())
    served = json.loads(r.stdout)
    check(served["trainees"][0]["attended_hours"] == bundled["trainees"][0]["attended_hours"] and
          served["class_attendance_rate"] == bundled["class_attendance_rate"],
          "the bundle's figures are the collector's report's")


def main():
    d = tempfile.mkdtemp(prefix="rollcall-evidence-")
    try:
        generated(d)
        make_pki(d)
        demo(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
