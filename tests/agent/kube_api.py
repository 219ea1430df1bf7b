#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A test Kubernetes API server speaking the real list/watch protocol.

It serves Namespaces, Pods, Services and NetworkPolicies the way
kube-apiserver does, so that `netward agent` can be tested end to end:

  GET /api/v1/pods?limit=N[&continue=T]           paginated lists (items carry
                                                  no kind/apiVersion, as real lists)
  GET /api/v1/pods?watch=1&resourceVersion=RV     chunked JSON watch events,
      &allowWatchBookmarks=true&timeoutSeconds=S  BOOKMARKs, a 410 ERROR event for
                                                  a resourceVersion older than the
                                                  retained history
  GET /api/v1/namespaces/NS/services              namespaced lists and watches
  GET /apis/networking.k8s.io/v1/networkpolicies
  GET /apis/k8s.otterize.com/v2beta1/clientintents  (and protectedservices;
                                                  404 with --no-crds)

A control API, for the tests, changes the cluster and the server's behaviour:

  POST /control/apply      body: a Kubernetes object (create or replace)
  POST /control/delete     body: {"kind":..., "namespace":..., "name":...}
  POST /control/expire     forget the event history: resuming watches get 410
  POST /control/drop       cut every open watch connection (no clean end)
  POST /control/delay      body: {"ms": N}: every response starts N ms late
  POST /control/fail       body: {"status": 500, "count": N}: the next N
                           list/watch requests get that status
  POST /control/inject     body: {"kind": "Pod", "raw": "..."}: raw bytes
                           written into the open watch streams of that kind
  POST /control/bookmarks  body: {"seconds": S}: bookmark interval
  GET  /control/stats      requests served, by kind (lists, watches)

Options: --port, --host, --tls-cert/--tls-key (HTTPS), --client-ca (require
a client certificate), --token (require "Authorization: Bearer TOKEN"),
--port-file (write the bound port there once listening).
"""

import argparse
import bisect
import copy
import json
import socket
import ssl
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

KINDS = {
    # kind: (group path prefix, plural, apiVersion, namespaced)
    "Namespace": ("/api/v1", "namespaces", "v1", False),
    "Pod": ("/api/v1", "pods", "v1", True),
    "Service": ("/api/v1", "services", "v1", True),
    "NetworkPolicy": ("/apis/networking.k8s.io/v1", "networkpolicies", "networking.k8s.io/v1", True),
    # Otterize's CRDs (left out with --no-crds: the paths then answer 404).
    "ClientIntents": ("/apis/k8s.otterize.com/v2beta1", "clientintents", "k8s.otterize.com/v2beta1", True),
    "ProtectedService": ("/apis/k8s.otterize.com/v2beta1", "protectedservices", "k8s.otterize.com/v2beta1", True),
}


class Cluster:
    def __init__(self):
        self.lock = threading.Condition()
        self.rv = 100
        self.objects = {k: {} for k in KINDS}  # kind -> (ns, name) -> object
        self.history = []  # (rv, kind, type, object)
        self.history_rvs = []  # the rv of each history entry, for bisect
        self.oldest = self.rv  # watches from an older resourceVersion get 410
        self.delay_ms = 0
        self.fail_status = 0
        self.fail_count = 0
        self.bookmark_s = 1.0
        self.generation = 0  # bumped by drop: open watches end abruptly
        self.injections = []  # (kind, raw, seq)
        self.inject_seq = 0
        self.stats = {"lists": {}, "watches": {}}
        self.continues = {}

    def next_rv(self):
        self.rv += 1
        return str(self.rv)

    def apply(self, obj, record=True):
        kind = obj.get("kind")
        if kind not in KINDS:
            raise ValueError("unknown kind %r" % kind)
        md = obj.setdefault("metadata", {})
        ns = md.get("namespace", "default") if KINDS[kind][3] else None
        if KINDS[kind][3]:
            md["namespace"] = ns
        key = (ns, md["name"])
        with self.lock:
            old = self.objects[kind].get(key)
            md["uid"] = old["metadata"]["uid"] if old else str(uuid.uuid4())
            md.setdefault("creationTimestamp", "2026-11-21T00:00:00Z")
            md["resourceVersion"] = self.next_rv()
            obj["apiVersion"] = KINDS[kind][2]
            self.objects[kind][key] = obj
            # Objects loaded before serving need no history: watches start from a list.
            if record:
                self.history.append((self.rv, kind, "MODIFIED" if old else "ADDED", copy.deepcopy(obj)))
                self.history_rvs.append(self.rv)
            self.lock.notify_all()
        return obj

    def delete(self, kind, ns, name):
        key = (ns if KINDS[kind][3] else None, name)
        with self.lock:
            obj = self.objects[kind].pop(key, None)
            if obj is None:
                return False
            obj = copy.deepcopy(obj)
            obj["metadata"]["resourceVersion"] = self.next_rv()
            self.history.append((self.rv, kind, "DELETED", obj))
            self.history_rvs.append(self.rv)
            self.lock.notify_all()
        return True

    def expire(self):
        with self.lock:
            self.history = []
            self.history_rvs = []
            self.next_rv()
            self.oldest = self.rv
            self.lock.notify_all()


CLUSTER = Cluster()
ARGS = None


def route(path):
    """(kind, namespace or None) for an API path, else None."""
    for kind, (prefix, plural, _, namespaced) in KINDS.items():
        if ARGS.no_crds and prefix.startswith("/apis/k8s.otterize.com"):
            continue
        if path == "%s/%s" % (prefix, plural):
            return kind, None
        if namespaced and path.startswith(prefix + "/namespaces/") and path.endswith("/" + plural):
            middle = path[len(prefix + "/namespaces/"):-len("/" + plural)]
            if "/" not in middle:
                return kind, middle
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        if ARGS.verbose:
            sys.stderr.write("kube_api: " + fmt % args + "\n")

    def send_json(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def status(self, code, reason, message):
        self.send_json(code, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                              "message": message, "reason": reason, "code": code})

    def authorized(self):
        if ARGS.token and self.headers.get("Authorization") != "Bearer " + ARGS.token:
            self.status(401, "Unauthorized", "Unauthorized")
            return False
        return True

    # ---- control ----

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        c = CLUSTER
        path = urlparse(self.path).path
        try:
            if path == "/control/apply":
                self.send_json(200, c.apply(body))
            elif path == "/control/delete":
                ok = c.delete(body["kind"], body.get("namespace", "default"), body["name"])
                self.send_json(200 if ok else 404, {"deleted": ok})
            elif path == "/control/expire":
                c.expire()
                self.send_json(200, {"oldest": c.oldest})
            elif path == "/control/drop":
                with c.lock:
                    c.generation += 1
                    c.lock.notify_all()
                self.send_json(200, {"generation": c.generation})
            elif path == "/control/delay":
                c.delay_ms = int(body.get("ms", 0))
                self.send_json(200, {})
            elif path == "/control/fail":
                with c.lock:
                    c.fail_status = int(body.get("status", 500))
                    c.fail_count = int(body.get("count", 1))
                self.send_json(200, {})
            elif path == "/control/inject":
                with c.lock:
                    c.inject_seq += 1
                    c.injections.append((body["kind"], body["raw"], c.inject_seq))
                    c.lock.notify_all()
                self.send_json(200, {})
            elif path == "/control/bookmarks":
                c.bookmark_s = float(body.get("seconds", 1))
                self.send_json(200, {})
            else:
                self.status(404, "NotFound", "no control " + path)
        except (KeyError, ValueError) as e:
            self.status(400, "BadRequest", str(e))

    # ---- the API ----

    def do_GET(self):
        u = urlparse(self.path)
        q = {k: v[-1] for k, v in parse_qs(u.query).items()}
        if u.path == "/control/stats":
            self.send_json(200, CLUSTER.stats)
            return
        if not self.authorized():
            return
        r = route(u.path)
        if r is None:
            self.status(404, "NotFound", "the server could not find the requested resource")
            return
        kind, ns = r
        c = CLUSTER
        if c.delay_ms:
            time.sleep(c.delay_ms / 1000.0)
        with c.lock:
            if c.fail_count > 0:
                c.fail_count -= 1
                status = c.fail_status
            else:
                status = 0
        if status:
            self.status(status, "InternalError", "injected failure")
            return
        if q.get("watch") in ("1", "true"):
            c.stats["watches"][kind] = c.stats["watches"].get(kind, 0) + 1
            self.watch(kind, ns, q)
        else:
            c.stats["lists"][kind] = c.stats["lists"].get(kind, 0) + 1
            self.list(kind, ns, q)

    def list(self, kind, ns, q):
        c = CLUSTER
        limit = int(q.get("limit", "0") or 0)
        with c.lock:
            if "continue" in q:
                state = c.continues.get(q["continue"])
                if state is None or state[0] < c.oldest:
                    self.status(410, "Expired", "The provided continue parameter is too old")
                    return
                rv, keys, offset = state
                snapshot = keys
            else:
                rv = c.rv
                snapshot = sorted((k, copy.deepcopy(o)) for k, o in c.objects[kind].items()
                                  if ns is None or k[0] == ns)
                offset = 0
            page = snapshot[offset:offset + limit] if limit else snapshot[offset:]
            items = []
            for _, o in page:
                o = copy.deepcopy(o)
                o.pop("kind", None)
                o.pop("apiVersion", None)
                items.append(o)
            md = {"resourceVersion": str(rv)}
            if limit and offset + limit < len(snapshot):
                token = uuid.uuid4().hex
                c.continues[token] = (rv, snapshot, offset + limit)
                md["continue"] = token
        self.send_json(200, {"kind": kind + "List", "apiVersion": KINDS[kind][2], "metadata": md,
                             "items": items})

    def chunk(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def watch(self, kind, ns, q):
        c = CLUSTER
        try:
            since = int(q.get("resourceVersion", "0") or 0)
        except ValueError:
            self.status(400, "BadRequest", "bad resourceVersion")
            return
        timeout = float(q.get("timeoutSeconds", "300") or 300)
        bookmarks = q.get("allowWatchBookmarks") == "true"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        end = time.time() + timeout
        with c.lock:
            generation = c.generation
            seen_inject = c.inject_seq
            if since and since < c.oldest:
                gone = True
            else:
                gone = False
        try:
            if gone:
                self.chunk(json.dumps({"type": "ERROR", "object": {
                    "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                    "message": "too old resource version: %d (%d)" % (since, c.oldest),
                    "reason": "Expired", "code": 410}}) + "\n")
                self.chunk(b"")
                return
            last_bookmark = time.time()
            pos = since
            while True:
                with c.lock:
                    while True:
                        if c.generation != generation:
                            # An abrupt end: no terminating chunk, the socket just closes.
                            self.close_connection = True
                            try:
                                self.connection.shutdown(socket.SHUT_RDWR)
                            except OSError:
                                pass
                            return
                        # History is in resourceVersion order: start past pos (no full scan).
                        start = bisect.bisect_right(c.history_rvs, pos)
                        pending = [h for h in c.history[start:] if h[1] == kind and
                                   (ns is None or h[3]["metadata"].get("namespace") == ns)]
                        injects = [i for i in c.injections if i[2] > seen_inject and i[0] == kind]
                        if c.history and c.history[-1][0] > pos:
                            pos_candidate = c.history[-1][0]
                        else:
                            pos_candidate = pos
                        now = time.time()
                        if pending or injects or now >= end or \
                                (bookmarks and now - last_bookmark >= c.bookmark_s):
                            break
                        c.lock.wait(timeout=min(0.1, max(0.0, end - now)))
                    if injects:
                        seen_inject = injects[-1][2]
                    # Events of other kinds also move this watch's position forward.
                    pos = max(pos_candidate, pos)
                    cur_rv = c.rv
                for _, raw, _ in injects:
                    self.chunk(raw)
                for rv, _, typ, obj in pending:
                    self.chunk(json.dumps({"type": typ, "object": obj}) + "\n")
                now = time.time()
                if now >= end:
                    self.chunk(b"")
                    return
                if bookmarks and now - last_bookmark >= c.bookmark_s:
                    self.chunk(json.dumps({"type": "BOOKMARK", "object": {
                        "kind": kind, "apiVersion": KINDS[kind][2],
                        "metadata": {"resourceVersion": str(cur_rv)}}}) + "\n")
                    last_bookmark = now
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            return


def load_objects(path):
    """Objects from a JSON list file, or YAML/JSON manifests in a file or directory."""
    import os
    if os.path.isdir(path):
        for name in sorted(os.listdir(path)):
            if name.endswith((".yaml", ".yml", ".json")):
                yield from load_objects(os.path.join(path, name))
        return
    with open(path) as f:
        text = f.read()
    if text.lstrip().startswith("["):
        yield from json.loads(text)
        return
    import yaml  # python3-yaml
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    for doc in yaml.load_all(text, Loader=loader):
        if isinstance(doc, dict):
            yield doc


def main():
    global ARGS
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file")
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--client-ca")
    p.add_argument("--token")
    p.add_argument("--no-crds", action="store_true", help="do not serve the Otterize CRDs")
    p.add_argument("--load", help="objects to start with: a JSON list, or a manifest file or directory")
    p.add_argument("-v", "--verbose", action="store_true")
    ARGS = p.parse_args()
    if ARGS.load:
        for obj in load_objects(ARGS.load):
            if obj.get("kind") in KINDS:
                CLUSTER.apply(obj, record=False)
            elif obj.get("kind") == "List":
                for item in obj.get("items", []):
                    if item.get("kind") in KINDS:
                        CLUSTER.apply(item, record=False)
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.address_family = socket.AF_INET6 if ":" in ARGS.host else socket.AF_INET
    srv = ThreadingHTTPServer((ARGS.host, ARGS.port), Handler)
    if ARGS.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(ARGS.tls_cert, ARGS.tls_key)
        if ARGS.client_ca:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(ARGS.client_ca)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    if ARGS.port_file:
        with open(ARGS.port_file + ".tmp", "w") as f:
            f.write(str(srv.server_address[1]))
        import os
        os.rename(ARGS.port_file + ".tmp", ARGS.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
