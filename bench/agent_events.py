#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Drives pod events through the test API server and reads the agent's timings.

For each of N rounds: a new pod (a replica of a pod on the agent's node: same
namespace, labels and ports, a fresh address) is created, then deleted. With
--replace, a round is a rolling update instead: the round's pod of the node
(one of the cluster's own) is deleted, then its replacement (same labels, a
fresh address) created, so the groups drift from what they were at the first
sync. After each write it waits for the agent's next `sync:` log line that
sent something and takes its event_to_kernel_ms (from the watch event's
arrival to the commit) and plan/commit times. Prints one line of key=value
results.

  agent_events.py --api URL --log AGENT_STDERR --manifests DIR --node NODE --events N [--replace]
"""

import argparse
import json
import os
import re
import sys
import time
import urllib.request

import yaml

SYNC = re.compile(r"sync: plan_ms=([0-9.]+) \(model [0-9.]+\) commit_ms=([0-9.]+) event_to_kernel_ms=([0-9.]+) "
                  r"sent=(yes|no)")


def node_pods(manifests, node):
    """The node's own pods with an address (not host-network), in file order."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    pods = []
    for name in sorted(os.listdir(manifests)):
        if not name.startswith("pods-"):
            continue
        with open(os.path.join(manifests, name)) as f:
            for doc in yaml.load_all(f, Loader=loader):
                if isinstance(doc, dict) and doc.get("kind") == "Pod" and \
                        doc.get("spec", {}).get("nodeName") == node and \
                        not doc["spec"].get("hostNetwork") and doc.get("status", {}).get("podIP"):
                    pods.append(doc)
    if not pods:
        sys.exit("agent_events: no pod on %s in %s" % (node, manifests))
    return pods


def replica(tmpl, name, i):
    """tmpl under another name, with the round's fresh address."""
    pod = json.loads(json.dumps(tmpl))
    md = pod["metadata"]
    md["name"] = name
    for k in ("uid", "resourceVersion"):
        md.pop(k, None)
    ip = "10.254.%d.%d" % (i // 250, i % 250 + 1)
    pod["status"]["podIP"] = ip
    pod["status"]["podIPs"] = [{"ip": ip}]
    return pod


def delete(pod):
    return {"kind": "Pod", "namespace": pod["metadata"]["namespace"], "name": pod["metadata"]["name"]}


def post(api, what, obj):
    req = urllib.request.Request(api + "/control/" + what, data=json.dumps(obj).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        r.read()


class Log:
    def __init__(self, path):
        self.f = open(path)
        self.f.seek(0, os.SEEK_END)

    def next_sync(self, timeout):
        end = time.time() + timeout
        while time.time() < end:
            line = self.f.readline()
            if not line:
                time.sleep(0.002)
                continue
            m = SYNC.search(line)
            if m and m.group(4) == "yes":
                return float(m.group(1)), float(m.group(2)), float(m.group(3))
        sys.exit("agent_events: no sync within %ds" % timeout)


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--api", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--manifests", required=True)
    p.add_argument("--node", default="node-1")
    p.add_argument("--events", type=int, default=50)
    p.add_argument("--replace", action="store_true")
    a = p.parse_args()
    pods = node_pods(a.manifests, a.node)
    if a.replace and a.events > len(pods):
        sys.exit("agent_events: --replace %d rounds, but %s has %d pods" % (a.events, a.node, len(pods)))
    log = Log(a.log)
    lat, plan, commit = [], [], []
    for i in range(a.events):
        if a.replace:
            old = pods[i]
            new = replica(old, old["metadata"]["name"] + "-r", i)
            writes = (("delete", delete(old)), ("apply", new))
        else:
            new = replica(pods[0], "bench-event-%d" % i, i)
            writes = (("apply", new), ("delete", delete(new)))
        for what, obj in writes:
            post(a.api, what, obj)
            pl, cm, ev = log.next_sync(60)
            lat.append(ev)
            plan.append(pl)
            commit.append(cm)
    print("events=%d p50_ms=%.2f p99_ms=%.2f max_ms=%.2f plan_p50_ms=%.2f commit_p50_ms=%.2f" %
          (len(lat), pct(lat, 50), pct(lat, 99), max(lat), pct(plan, 50), pct(commit, 50)))


if __name__ == "__main__":
    main()
