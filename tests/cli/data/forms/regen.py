#!/usr/bin/env python3
"""Writes the other forms of cluster.yaml (needs PyYAML; run after editing it).

  dir/          the objects split over a directory tree (.yaml, .yml, .json),
                with files netward must ignore (other extensions)
  list.yaml     one kind: List, as `kubectl get -o yaml` prints
  list.json     the same List in JSON
  several.json  a stream of JSON objects, one after the other
"""
import json
import os
import shutil

import yaml

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "cluster.yaml")) as f:
    docs = [d for d in yaml.safe_load_all(f) if d]


def pick(kind, name=None):
    return [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]


def ydump(objs):
    return "---\n".join(yaml.safe_dump(o, sort_keys=False) for o in objs)


def jdump(objs):
    return "".join(json.dumps(o, indent=2) + "\n" for o in objs)


tree = {
    "00-namespaces.yaml": ydump(pick("Namespace") + pick("ConfigMap")),
    "apps/shop/web.yaml": ydump(pick("Deployment") + pick("ReplicaSet") +
                                [p for p in pick("Pod") if p["metadata"]["name"].startswith("web")]),
    "apps/shop/api.yml": ydump(pick("Pod", "api") + pick("Service")),
    "apps/data.json": jdump(pick("StatefulSet")),  # one JSON object
    "apps/tools.yaml": ydump(pick("Pod", "debug")),
    "policies/shop.json": jdump([p for p in pick("NetworkPolicy") if p["metadata"]["namespace"] == "shop"]),
    "policies/rest.yaml": ydump([p for p in pick("NetworkPolicy") if p["metadata"]["namespace"] != "shop"]),
    # Not manifests by their names: never read.
    "README.md": "# not a manifest\nkind: [\n",
    "policies/notes.txt": "kind: [ this would not parse\n",
    "policies/rest.yaml.orig": "{ neither would this\n",
}
shutil.rmtree(os.path.join(here, "dir"), ignore_errors=True)
for path, text in tree.items():
    full = os.path.join(here, "dir", path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w") as f:
        f.write(text)

lst = {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": docs}
with open(os.path.join(here, "list.yaml"), "w") as f:
    f.write(yaml.safe_dump(lst, sort_keys=False))
with open(os.path.join(here, "list.json"), "w") as f:
    f.write(json.dumps(lst, indent=4) + "\n")
with open(os.path.join(here, "several.json"), "w") as f:
    f.write(jdump(docs))
