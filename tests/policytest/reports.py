#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Checks netward's machine-readable reports with real parsers: JUnit XML
(xml.etree, and xmllint when present), SARIF 2.1.0 and JSON (json), TAP 13,
GitHub annotations, and the exit codes that go with them. TAP output."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

NETWARD = os.environ["NETWARD"]
if "/" in NETWARD:
    NETWARD = os.path.abspath(NETWARD)
HERE = os.path.dirname(os.path.abspath(__file__))
SPEC = os.path.join(HERE, "specs", "mixed.test.yaml")
LINT = os.path.join(HERE, "golden", "lint-all")
results = []


def check(name, fn):
    try:
        fn()
        results.append((True, name, ""))
    except Exception as e:  # noqa: BLE001 - any failure is the test's
        results.append((False, name, "%s: %s" % (type(e).__name__, e)))


def run(*args, env=None):
    e = dict(os.environ)
    e.pop("GITHUB_STEP_SUMMARY", None)
    if env:
        e.update(env)
    return subprocess.run([NETWARD, *args], capture_output=True, text=True, env=e)


tmp = tempfile.mkdtemp()
junit, tap = os.path.join(tmp, "r.xml"), os.path.join(tmp, "r.tap")
r = run("test", "--junit", junit, "--tap", tap, "-o", "json", SPEC)


def t_exit():
    assert r.returncode == 1, (r.returncode, r.stderr)


def t_junit():
    root = ET.parse(junit).getroot()
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == ("10", "2", "0", "2"), root.attrib
    suite = root.find("testsuite")
    assert suite.get("name") == "mixed" and suite.get("file") == SPEC, suite.attrib
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert len(cases) == 10
    f = cases["a wrong expectation fails"].find("failure")
    assert f is not None and f.get("type") == "ConnectivityMismatch"
    # The failure names the policy that decided, and the body explains both directions.
    assert "isolated by pt-shop/cache" in f.get("message"), f.get("message")
    assert "ingress pt-shop/cache-0" in f.text and "policies.yaml" in f.text, f.text
    assert cases["a known failure"].find("skipped").get("message").startswith("xfail: the cache is private")
    assert cases["not run"].find("skipped") is not None
    assert cases["ops probes web on its named port"].find("failure") is None
    assert int(cases["ops probes web on its named port"].get("line")) > 0
    if shutil.which("xmllint"):
        x = subprocess.run(["xmllint", "--noout", junit], capture_output=True, text=True)
        assert x.returncode == 0, x.stderr


def t_tap():
    lines = open(tap).read().splitlines()
    assert lines[0] == "TAP version 13" and lines[1] == "1..10", lines[:2]
    tests = [l for l in lines if re.match(r"^(not )?ok \d+ ", l)]
    assert len(tests) == 10
    assert sum(l.startswith("not ok") and "# TODO" not in l for l in tests) == 2
    assert any(l.startswith("not ok") and "# TODO the cache is private" in l for l in tests)
    assert any("# SKIP a placeholder" in l for l in tests)
    # YAML blocks: every "  ---" has its "  ...", and their strings are valid JSON (so YAML).
    starts = [i for i, l in enumerate(lines) if l == "  ---"]
    ends = [i for i, l in enumerate(lines) if l == "  ..."]
    assert len(starts) == len(ends) == 3, (starts, ends)
    for l in lines:
        if l.startswith("  message: ") or l.startswith("  detail: "):
            json.loads(l.split(": ", 1)[1])


def t_json():
    j = json.loads(r.stdout)
    assert j["kind"] == "TestReport" and j["apiVersion"] == "netward.io/v1alpha1"
    assert j["summary"] == {"cases": 10, "passed": 6, "failed": 2, "xfailed": 1, "xpassed": 0, "skipped": 1, "errors": 0}, j["summary"]
    c = [c for c in j["specs"][0]["cases"] if c["name"] == "a wrong decider fails"][0]
    assert c["status"] == "fail" and c["pairs"][0]["decidedBy"] == ["pt-shop/web"], c


def t_github():
    g = run("test", "-o", "github", SPEC, env={"GITHUB_STEP_SUMMARY": os.path.join(tmp, "summary.md")})
    assert g.returncode == 1
    ann = [l for l in g.stdout.splitlines() if l.startswith("::")]
    assert len(ann) == 3, ann  # two failures (error) and one xfail (warning)
    for a in ann:
        m = re.match(r"^::(error|warning) file=([^,]+),line=(\d+),col=(\d+),title=([^:]+)::(.+)$", a)
        assert m, a
        assert m.group(2) == SPEC
        assert "\n" not in m.group(6) and "%0A" in m.group(6)
    md = open(os.path.join(tmp, "summary.md")).read()
    assert "| case | spec | result |" in md and "a wrong decider fails" in md


def t_sarif():
    s = subprocess.run([NETWARD, "lint", "-f", ".", "-o", "sarif"], capture_output=True, text=True, cwd=LINT)
    assert s.returncode == 1, s.returncode  # one error (NP008)
    doc = json.loads(s.stdout)
    assert doc["version"] == "2.1.0" and "sarif" in doc["$schema"]
    run0 = doc["runs"][0]
    rules = run0["tool"]["driver"]["rules"]
    ids = [x["id"] for x in rules]
    assert ids == ["NP%03d" % i for i in range(12)], ids
    assert all(x["defaultConfiguration"]["level"] in ("error", "warning", "note") for x in rules)
    res = run0["results"]
    assert {x["ruleId"] for x in res} >= {"NP001", "NP002", "NP003", "NP004", "NP005", "NP006", "NP007", "NP008",
                                          "NP009", "NP010", "NP011"}, {x["ruleId"] for x in res}
    for x in res:
        assert rules[x["ruleIndex"]]["id"] == x["ruleId"]
        loc = x["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uri"] in ("app.yaml", "policies.yaml"), loc
        assert loc["region"]["startLine"] >= 1 and x["level"] in ("error", "warning", "note")
        assert x["message"]["text"]


def t_lint_fail_on():
    w = subprocess.run([NETWARD, "lint", "-f", ".", "--disable", "NP008", "--disable", "invalid-manifest"],
                       capture_output=True, text=True, cwd=LINT)
    assert w.returncode == 0, w.returncode  # warnings only: the default --fail-on error passes
    w = subprocess.run([NETWARD, "lint", "-f", ".", "--disable", "NP008", "--disable", "NP000", "--fail-on", "warning"],
                       capture_output=True, text=True, cwd=LINT)
    assert w.returncode == 1, w.returncode
    w = subprocess.run([NETWARD, "lint", "-f", "no-such-dir"], capture_output=True, text=True, cwd=LINT)
    assert w.returncode == 2, w.returncode


def t_lint_github():
    g = subprocess.run([NETWARD, "lint", "-f", ".", "-o", "github"], capture_output=True, text=True, cwd=LINT)
    ann = [l for l in g.stdout.splitlines() if l.startswith("::")]
    assert len(ann) == 16, len(ann)
    assert all(re.match(r"^::(error|warning|notice) file=(app|policies)\.yaml,line=\d+,col=\d+,title=NP0\d\d [a-z-]+::", a) for a in ann), ann


def t_diff_json():
    d = run("diff", "-f", os.path.join(HERE, "specs", "mixed", "app.yaml"), "--to", os.path.join(HERE, "specs", "mixed"), "-o", "json")
    assert d.returncode == 1
    j = json.loads(d.stdout)
    assert j["kind"] == "ConnectivityDiff" and j["summary"]["newlyAllowed"] == 0
    assert j["summary"]["newlyDenied"] == len(j["changes"]) > 0
    assert all(c["change"] == "denied" and c["now"].startswith("denied") for c in j["changes"])


for name, fn in [("netward test exits 1 when a case fails", t_exit), ("JUnit XML parses and explains", t_junit),
                 ("TAP 13", t_tap), ("JSON report", t_json), ("GitHub annotations and step summary", t_github),
                 ("SARIF 2.1.0 from lint", t_sarif), ("lint --fail-on and exit codes", t_lint_fail_on),
                 ("lint GitHub annotations", t_lint_github), ("diff JSON", t_diff_json)]:
    check(name, fn)
shutil.rmtree(tmp)
print("1..%d" % len(results))
for i, (ok, name, why) in enumerate(results, 1):
    print("%s %d - %s" % ("ok" if ok else "not ok", i, name))
    if why:
        print("# " + why.replace("\n", "\n# "))
sys.exit(0 if all(ok for ok, _, _ in results) else 1)
