"""rollcall-agent check-config and profile-doc: exit codes and messages of the real program.

Exit status contract (INTERFACES.md): 0 success, 1 refused input (one line on stderr),
2 usage error.
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

AGENT = os.environ["ROLLCALL_AGENT"]
SOURCE = os.environ["ROLLCALL_SOURCE_DIR"]
PROFILES = os.path.join(SOURCE, "firmware-profiles")


def run(*args, env_config=None):
    env = dict(os.environ)
    env.pop("ROLLCALL_AGENT_CONFIG", None)
    if env_config is not None:
        env["ROLLCALL_AGENT_CONFIG"] = env_config
    p = subprocess.run([AGENT, *args], capture_output=True, text=True, env=env, timeout=30)
    return p.returncode, p.stdout, p.stderr


def agent_config(**over):
    cfg = {
        "device_id": "kiosk-0001",
        "institution": "INST-0001",
        "server": "https://collector.example.cn",
        "data_dir": "state",
        "fence_id": "hexi-centre",
        "profile": {"model": "x86-kiosk-ublox", "gnss": {"source": "gpsd"}},
    }
    cfg.update(over)
    return cfg


class CheckConfig(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, name, obj_or_text):
        path = os.path.join(self.dir, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(obj_or_text if isinstance(obj_or_text, str) else json.dumps(obj_or_text))
        return path

    def assert_refused(self, result, message):
        code, out, err = result
        self.assertEqual(code, 1, err)
        self.assertEqual(out, "")
        self.assertEqual(err, "rollcall-agent: " + message + "\n")

    def test_every_shipped_profile_is_ok(self):
        names = sorted(n for n in os.listdir(PROFILES) if n.endswith(".json"))
        self.assertGreaterEqual(len(names), 3)
        for name in names:
            code, out, err = run("check-config", "--profile", os.path.join(PROFILES, name))
            self.assertEqual((code, out, err), (0, "ok\n", ""), name)

    def test_agent_config_ok_via_option_and_environment(self):
        path = self.write("agent.json", agent_config())
        self.assertEqual(run("--config", path, "check-config"), (0, "ok\n", ""))
        self.assertEqual(run("check-config", env_config=path), (0, "ok\n", ""))

    def test_embedded_shipped_profile_ok(self):
        with open(os.path.join(PROFILES, "indoor-fixed-terminal.json"), encoding="utf-8") as f:
            profile = json.load(f)
        path = self.write("agent.json", agent_config(profile=profile))
        self.assertEqual(run("--config", path, "check-config"), (0, "ok\n", ""))

    def test_unknown_key_at_depth(self):
        cfg = agent_config()
        cfg["profile"]["gnss"]["stale_after"] = 5
        path = self.write("agent.json", cfg)
        self.assert_refused(run("--config", path, "check-config"),
                            path + ": $.profile.gnss.stale_after: unknown key")

    def test_out_of_range_in_profile_file(self):
        path = self.write("p.json", {"model": "m", "gnss": {"source": "gpsd",
                                                            "stale_after_s": 0}})
        self.assert_refused(run("check-config", "--profile", path),
                            path + ": $.gnss.stale_after_s: expected an integer from 1 to 3600")

    def test_wrong_type(self):
        path = self.write("p.json", {"model": "m", "gnss": {"source": "gpsd",
                                                            "gpsd_port": "2947"}})
        self.assert_refused(run("check-config", "--profile", path),
                            path + ": $.gnss.gpsd_port: expected an integer from 1 to 65535")

    def test_huge_number(self):
        path = self.write("p.json", '{"model":"m","gnss":{"source":"gpsd",'
                                    '"assumed_eph_m":1e999}}')
        self.assert_refused(run("check-config", "--profile", path),
                            path + ": $.gnss.assumed_eph_m: expected a number from 0.1 to 10000")

    def test_duplicate_key(self):
        path = self.write("p.json", '{"model":"m","model":"n","gnss":{"source":"gpsd"}}')
        self.assert_refused(run("check-config", "--profile", path),
                            path + ": $.model: duplicate key")

    def test_missing_required_and_cross_field(self):
        path = self.write("agent.json", {k: v for k, v in agent_config().items()
                                         if k != "device_id"})
        self.assert_refused(run("--config", path, "check-config"),
                            path + ": $.device_id: missing required key")
        path = self.write("p.json", {"model": "m", "gnss": {"source": "none"}})
        self.assert_refused(run("check-config", "--profile", path),
                            path + ': $.surveyed: required when gnss.source is "none" '
                                   "(without it every sign-in is no_fix)")

    def test_not_json_and_missing_file(self):
        path = self.write("p.json", '{"model": "m",\n  "gnss": {"source": "gpsd"}\n')
        code, out, err = run("check-config", "--profile", path)
        self.assertEqual(code, 1)
        self.assertTrue(err.startswith("rollcall-agent: " + path + ": line 3 column "), err)
        self.assertTrue(err.endswith(": not valid JSON\n"), err)
        missing = os.path.join(self.dir, "absent.json")
        self.assert_refused(run("--config", missing, "check-config"),
                            missing + ": cannot open: No such file or directory")

    def test_usage_errors(self):
        code, out, err = run("check-config", "--bogus")
        self.assertEqual(code, 2)
        self.assertIn("usage:", err)
        code, out, err = run("check-config", "extra")
        self.assertEqual(code, 2)
        code, out, err = run("check-config", "--help")
        self.assertEqual(code, 0)
        self.assertIn("check-config [--profile FILE]", out)
        code, out, err = run("profile-doc", "extra")
        self.assertEqual(code, 2)


class ProfileDoc(unittest.TestCase):
    def test_readme_carries_the_generated_table(self):
        code, out, err = run("profile-doc")
        self.assertEqual((code, err), (0, ""))
        with open(os.path.join(PROFILES, "README.md"), encoding="utf-8") as f:
            readme = f.read()
        begin = "<!-- BEGIN rollcall-agent profile-doc -->\n"
        end = "<!-- END rollcall-agent profile-doc -->"
        block = readme[readme.index(begin) + len(begin):readme.index(end)]
        self.assertEqual(block, out)
        # every key used by a shipped profile is documented
        keys = set()

        def walk(obj, prefix):
            for k, v in obj.items():
                keys.add(prefix + k)
                if isinstance(v, dict):
                    walk(v, prefix + k + ".")
                elif isinstance(v, list):
                    for el in v:
                        walk(el, prefix + k + "[].")
        for name in os.listdir(PROFILES):
            if name.endswith(".json"):
                with open(os.path.join(PROFILES, name), encoding="utf-8") as f:
                    walk(json.load(f), "")
        for k in sorted(keys):
            self.assertIn("| `" + k + "` |", out, k)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
