"""init, record, verify, status and the refusals of every command, on the real program.

Exit status contract (INTERFACES.md): 0 success, 1 refused (one line on stderr, nothing
changed), 2 usage. Checked against independent references: file modes with os.stat, the
device key fingerprint with `openssl pkey | sha256sum`-equivalent (openssl + hashlib), file
hashes with hashlib, stored events with Python's sqlite3.
"""
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tools"))
import agent_harness as ah  # noqa: E402
import gpsd_harness  # noqa: E402

NO_GPSD = {"gnss": {"fix_timeout_s": 1}}


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="rollcall-cmd-")
        self.wd = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def kiosk(self, **kw):
        over = dict(NO_GPSD)
        over.update(kw.pop("profile_over", {}))
        return ah.Kiosk(self.wd, gpsd_harness.free_port(), profile_over=over, **kw)

    def refused(self, r, *words, code=1):
        self.assertEqual(r.code, code, r)
        self.assertEqual(r.out, "", r)
        lines = r.err.strip().splitlines()
        self.assertEqual(len(lines), 1, r)
        for w in words:
            self.assertIn(w, r.err)


class Init(Base):
    def test_init_writes_everything_with_the_right_modes(self):
        k = self.kiosk(init=False)
        r = k.init()
        self.assertEqual(r.code, 0, r)
        self.assertEqual(ah.mode(k.data), 0o700)
        self.assertEqual(ah.mode(os.path.join(k.data, "device.key")), 0o600)
        self.assertEqual(ah.mode(os.path.join(k.data, "institution.key")), 0o600)
        with open(os.path.join(k.data, "institution.key")) as f:
            self.assertEqual(f.read().strip(), ah.INST_KEY_HEX)
        with open(k.fence_path, "rb") as a, open(os.path.join(k.data, "fence.geojson"), "rb") as b:
            self.assertEqual(a.read(), b.read())
        self.assertEqual(k.run("check-config").code, 0)
        with open(k.config) as f:
            cfg = json.load(f)
        with open(k.profile_path) as f:
            prof = json.load(f)
        self.assertEqual(cfg["profile"]["model"], prof["model"])
        self.assertEqual(cfg["fence_id"], ah.FENCE_ID)
        self.assertEqual(cfg["device_id"], k.device_id)
        # the fingerprint printed is SHA-256 of the public key's DER (openssl as reference)
        der = subprocess.run(["openssl", "pkey", "-in", os.path.join(k.data, "device.key"),
                              "-pubout", "-outform", "DER"], capture_output=True, check=True)
        self.assertIn(hashlib.sha256(der.stdout).hexdigest(), r.out)
        con = sqlite3.connect(k.db)
        self.assertEqual(con.execute("SELECT count(*) FROM events").fetchone()[0], 0)
        con.close()
        v = k.verify()
        self.assertEqual((v.code, v.json()["events"]), (0, 0))

    def test_init_refusals_leave_nothing_behind(self):
        k = self.kiosk(init=False)

        def nothing_left():
            self.assertFalse(os.path.exists(k.config))
            self.assertFalse(os.path.exists(os.path.join(k.data, "device.key")))
            self.assertFalse(os.path.exists(k.db))

        bad_fence = os.path.join(self.wd, "bad.geojson")
        fence = ah.fence_geojson()
        fence["features"][0]["geometry"]["coordinates"][0].pop()  # unclosed ring
        ah.write_json(bad_fence, fence)
        two = ah.fence_geojson()
        f2 = json.loads(json.dumps(two["features"][0]))
        f2["properties"]["id"] = "other"
        two["features"].append(f2)
        two_path = os.path.join(self.wd, "two.geojson")
        ah.write_json(two_path, two)
        loose_key = os.path.join(self.wd, "loose.key")
        with open(loose_key, "w") as f:
            f.write(ah.INST_KEY_HEX + "\n")
        os.chmod(loose_key, 0o644)
        short_key = os.path.join(self.wd, "short.key")
        with open(short_key, "w") as f:
            f.write("abcd\n")
        os.chmod(short_key, 0o600)
        bad_profile = os.path.join(self.wd, "bad-profile.json")
        ah.write_json(bad_profile, {"model": "x", "gnss": {"source": "gpsd", "gpsd_port": 0}})

        def init(*over):
            args = {"--profile": k.profile_path, "--fence": k.fence_path,
                    "--device-id": "K1", "--institution": "INST-1",
                    "--server": "https://collector.example", "--dir": k.data}
            extra = []
            it = iter(over)
            for a in it:
                if a.startswith("--") and a in args:
                    args[a] = next(it)
                else:
                    extra.append(a)
            argv = ["init"]
            for a, v in args.items():
                if v is not None:
                    argv += [a, v]
            return k.run(*(argv + extra))

        self.refused(init("--fence", os.path.join(self.wd, "missing.geojson")), "missing")
        nothing_left()
        self.refused(init("--fence", bad_fence), "bad.geojson", "feature")
        nothing_left()
        self.refused(init("--fence", two_path), "--fence-id")
        self.refused(init("--fence", two_path, "--fence-id", "nope"), "nope")
        self.refused(init("--institution-key", loose_key), "chmod 600")
        self.refused(init("--institution-key", short_key), "hex")
        self.refused(init("--profile", bad_profile), "gpsd_port")
        self.refused(init("--server", "http://collector.example"), "allow_plain_http")
        self.refused(init("--device-id", "bad id"), "device_id")
        nothing_left()
        self.assertEqual(init("--profile", None).code, 2)
        self.assertEqual(init("--bogus").code, 2)
        nothing_left()

        self.assertEqual(init().code, 0)
        # a second init never overwrites the config or the key
        with open(os.path.join(k.data, "device.key"), "rb") as f:
            key = f.read()
        self.refused(init(), "already exists")
        os.unlink(k.config)
        self.refused(init(), "device key", "already exists")
        with open(os.path.join(k.data, "device.key"), "rb") as f:
            self.assertEqual(f.read(), key)


class Signin(Base):
    def test_refusals(self):
        k = self.kiosk()
        cases = [
            (("--trainee", "110105194912310021"), "check"),  # wrong check character
            (("--trainee", "1101051949"), "18"),
            (("--trainee", ah.TRAINEE, "--class", "bad class"), "class"),
            (("--trainee", ah.TRAINEE, "--class", "x" * 65), "class"),
            (("--trainee", ah.TRAINEE, "--session", "s/1"), "session"),
        ]
        for args, word in cases:
            argv = ["signin", "--class", "TJ-1"] + list(args)
            r = k.run(*argv)
            self.refused(r, "nothing recorded", word)
            self.assertNotIn("1101051949", r.err)  # the number is never echoed
        self.assertEqual(k.run("signin", "--trainee", ah.TRAINEE).code, 2)
        self.assertEqual(k.run("signout", "--class", "C").code, 2)
        self.assertEqual(k.events(), [])

        missing = k.run("--config", os.path.join(self.wd, "nope.json"), "signin", "--trainee",
                        ah.TRAINEE, "--class", "C", config=False)
        self.refused(missing, "nope.json")
        fence = os.path.join(k.data, "fence.geojson")
        with open(fence, "w") as f:
            f.write("{ not json")
        self.refused(k.run("signin", "--trainee", ah.TRAINEE, "--class", "C"), "fence.geojson")
        os.unlink(fence)
        self.refused(k.run("signin", "--trainee", ah.TRAINEE, "--class", "C"), "fence.geojson")
        self.assertEqual(k.events(), [])

    def test_without_institution_key(self):
        k = self.kiosk(init=False)
        r = k.run("init", "--profile", k.profile_path, "--fence", k.fence_path, "--device-id",
                  "K2", "--institution", "I", "--server", "https://c.example", "--dir", k.data)
        self.assertEqual(r.code, 0, r)
        self.assertIn("enroll", r.out)
        self.refused(k.run("signin", "--trainee", ah.TRAINEE, "--class", "C"), "enroll")
        self.assertEqual(k.events(), [])


class Record(Base):
    def test_record_start_stop_add(self):
        k = self.kiosk(profile_over={"cameras": [
            {"id": "front", "dir": self.wd, "suffix": ".mp4", "settle_s": 0}]})
        data = os.urandom(5 * 1024 * 1024 + 3)
        path = os.path.join(self.wd, "a.mp4")
        with open(path, "wb") as f:
            f.write(data)
        want = hashlib.sha256(data).hexdigest()
        r = k.run("record", "add", "--camera", "front", "--class", "TJ-1", "--file", path,
                  "--start", "2026-11-02T09:00:00+08:00", "--end", "2026-11-02T12:00:00+08:00",
                  "--json")
        self.assertEqual(r.code, 0, r)
        self.assertEqual(r.json()["sha256"], want)
        ev = k.events("rec_file")[0][1]
        self.assertEqual((ev["bytes"], ev["sha256"], ev["file"]), (len(data), want, path))
        self.assertEqual((ev["start"], ev["end"]),
                         ("2026-11-02T01:00:00.000Z", "2026-11-02T04:00:00.000Z"))

        self.assertEqual(k.run("record", "start", "--camera", "front", "--class", "TJ-1",
                               "--session", "S1").code, 0)
        self.refused(k.run("record", "start", "--camera", "front", "--class", "TJ-1"),
                     "already recording")
        r = k.run("record", "stop", "--camera", "front", "--file", path)
        self.assertEqual(r.code, 0, r)
        types = [e["type"] for _, e in k.events()]
        self.assertEqual(types, ["rec_file", "rec_start", "rec_stop", "rec_file"])
        start = k.events("rec_start")[0][1]
        stop = k.events("rec_stop")[0][1]
        last = k.events("rec_file")[1][1]
        self.assertEqual((stop["class"], stop["session"], stop["file"]), ("TJ-1", "S1", path))
        self.assertEqual((last["start"], last["end"]), (start["start"], stop["end"]))
        self.assertEqual(last["sha256"], want)
        self.refused(k.run("record", "stop", "--camera", "front"), "no open recording")
        self.assertEqual(k.verify().code, 0)

    def test_refusals(self):
        k = self.kiosk(profile_over={"cameras": [
            {"id": "front", "dir": self.wd, "suffix": ".mp4", "settle_s": 0}]})
        f = os.path.join(self.wd, "x.mp4")
        with open(f, "wb") as fh:
            fh.write(b"x")
        add = ["record", "add", "--camera", "front", "--class", "C", "--file", f, "--start",
               "2026-11-02T09:00:00+08:00", "--end", "2026-11-02T10:00:00+08:00"]

        def with_(opt, val):
            a = list(add)
            a[a.index(opt) + 1] = val
            return a
        self.refused(k.run(*with_("--camera", "rear")), "unknown camera", "front")
        self.refused(k.run(*with_("--class", "a b")), "class")
        self.refused(k.run(*with_("--file", f + ".missing")), "missing")
        self.refused(k.run(*with_("--file", self.wd)), "regular file")
        self.refused(k.run(*with_("--end", "2026-11-02T08:00:00+08:00")), "end")
        self.refused(k.run(*with_("--start", "2026-11-02 09:00")), "--start")
        self.refused(k.run("record", "stop", "--camera", "front"), "no open recording")
        self.assertEqual(k.run("record", "add", "--camera", "front").code, 2)
        self.assertEqual(k.run("record", "pause", "--camera", "front").code, 2)
        self.assertEqual(k.run("record", "start", "--camera", "front").code, 2)
        self.assertEqual(k.events(), [])


class VerifyStatusRun(Base):
    def test_verify_detects_tampering(self):
        k = self.kiosk(profile_over={"surveyed": {"lat": ah.CENTRE[0], "lon": ah.CENTRE[1],
                                                  "datum": "WGS-84", "eph_m": 2.0}})
        for _ in range(3):
            self.assertEqual(k.signin()[0].code, 0)
        self.assertEqual(k.verify().json()["events"], 3)
        con = sqlite3.connect(k.db)
        line = bytes(con.execute("SELECT line FROM events WHERE seq = 2").fetchone()[0])
        con.execute("UPDATE events SET line = ? WHERE seq = 2",
                    (line.replace(b'"inside"', b'"outside"'),))
        con.commit()
        con.close()
        v = k.verify()
        self.assertEqual(v.code, 1, v)
        self.assertFalse(v.json()["ok"])
        self.assertEqual(v.json()["seq"], 2)
        self.assertIn("seq 2", v.err)

    def test_status_and_run_refusals(self):
        k = self.kiosk()
        st = k.run("status", "--json")
        self.assertEqual(st.code, 0, st)
        j = st.json()
        self.assertEqual((j["queue"], j["chain"]["head_seq"], j["daemon"]), (0, 0, False))
        self.assertEqual(len(j["chain"]["head_hash"]), 64)
        self.assertIn("queue", k.run("status").out)
        self.refused(k.run("--config", os.path.join(self.wd, "none.json"), "run", config=False),
                     "none.json")
        self.refused(k.run("--config", os.path.join(self.wd, "none.json"), "status",
                           config=False), "none.json")
        self.assertEqual(k.run("run", "extra").code, 2)
        with k:
            k.start_daemon()
            second = k.run("run")
            self.refused(second, "another agent daemon")
            self.assertEqual(k.stop_daemon(), 0)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
