#!/usr/bin/env python3
"""The metrics the Grafana dashboard and the Prometheus alerts use must be the ones the daemons
really export.

Starts the real kenc-keybroker (local KMS, mutual TLS with certificates from
deploy/certs/make-certs.sh) and the real kenc-proxy (a virtual cluster with an `encryption:` block
pointing at that key broker), scrapes both /metrics endpoints, and checks that
  - every kenc_ metric named in deploy/monitoring/kenc-dashboard.json and kenc-alerts.yaml is
    exported by the daemon its prefix belongs to (histograms through _bucket/_sum/_count),
  - every metric listed in deploy/monitoring/README.md is exported, with the type listed there,
    and every kenc_ metric the daemons export is listed there (check-monitoring.py then requires
    it on the dashboard),
then stops both daemons with SIGTERM and expects exit status 0.

Usage: metrics_exported_test.py --proxy BIN --keybroker BIN
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
MONITORING = os.path.join(REPO, "deploy", "monitoring")
METRIC_RE = re.compile(r"\bkenc_[a-z_]+")


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_port_pair():
    """A port p with p + 1 free too (port-per-broker serves node 0 on bootstrap + 1)."""
    while True:
        port = free_port()
        try:
            with socket.socket() as s:
                s.bind(("127.0.0.1", port + 1))
            return port
        except OSError:
            continue


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        return answer.read().decode()


def wait_for_metrics(name, process, port, log):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            fail(f"{name} exited with {process.returncode}:\n{open(log).read()}")
        try:
            return scrape(port)
        except OSError:
            time.sleep(0.1)
    fail(f"{name} did not serve /metrics on port {port} within 30 s:\n{open(log).read()}")


def exported(text):
    """name -> type for every series name the exposition can contain."""
    names = {}
    for kind_line in re.finditer(r"^# TYPE (\S+) (\S+)$", text, re.M):
        name, kind = kind_line.groups()
        names[name] = kind
        if kind in ("histogram", "summary"):
            for suffix in ("_bucket", "_sum", "_count"):
                names[name + suffix] = kind
    for sample in re.finditer(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]", text, re.M):
        names.setdefault(sample.group(1), "untyped")
    return names


def referenced():
    """metric name -> where it is used, from the dashboard and the alerts."""
    uses = {}
    dashboard = json.load(open(os.path.join(MONITORING, "kenc-dashboard.json")))
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            for name in METRIC_RE.findall(target["expr"]):
                uses.setdefault(name, set()).add(f"dashboard panel {panel['title']!r}")
    alerts = open(os.path.join(MONITORING, "kenc-alerts.yaml")).read()
    for rule in re.split(r"\n\s*- alert: ", alerts)[1:]:
        alert = rule.split()[0]
        for name in METRIC_RE.findall(rule):
            uses.setdefault(name, set()).add(f"alert {alert}")
    return uses


def listed():
    """name -> type from the tables of deploy/monitoring/README.md."""
    text = open(os.path.join(MONITORING, "README.md")).read().split("## Files")[0]
    return dict(re.findall(r"^\| `(kenc_[a-z_]+)` \| (\w+) \|", text, re.M))


def stop(name, process):
    process.send_signal(signal.SIGTERM)
    try:
        status = process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        fail(f"{name} did not stop within 30 s of SIGTERM")
    if status != 0:
        fail(f"{name} exited with status {status} after SIGTERM")
    print(f"ok   {name} stopped cleanly on SIGTERM")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--proxy", required=True)
    parser.add_argument("--keybroker", required=True)
    args = parser.parse_args()

    root = tempfile.mkdtemp(prefix="kenc-metrics-test.")
    processes = []
    try:
        subprocess.run(["bash", os.path.join(REPO, "deploy/certs/make-certs.sh"), "-o", root,
                        "-s", "localhost", "-p", "metrics"], check=True, capture_output=True)
        kb_port, kb_admin, proxy_admin = (free_port() for _ in range(3))
        with open(os.path.join(root, "keybroker.yaml"), "w") as f:
            f.write(f"""listen: 127.0.0.1:{kb_port}
tls: {{ca_file: {root}/ca.crt, cert_file: {root}/keybroker.crt, key_file: {root}/keybroker.key}}
kms:
  type: local
  local: {{key_file: {root}/keks.json, create_missing_keks: true}}
audit: {{path: {root}/audit.jsonl}}
admin: {{listen: 127.0.0.1:{kb_admin}}}
authorization:
  rules:
    - {{identities: ["spiffe://kenc/proxy/metrics"], keks: ["*"], operations: [lease, unwrap, resolve]}}
""")
        # The upstream is never contacted: no client connects. The proxy registers its metric
        # families when it builds its virtual clusters and filters.
        with open(os.path.join(root, "proxy.yaml"), "w") as f:
            f.write(f"""admin: {{address: "127.0.0.1:{proxy_admin}"}}
virtual_clusters:
  - name: metrics
    upstream: {{bootstrap_servers: ["127.0.0.1:{free_port()}"]}}
    gateway: {{bootstrap: "127.0.0.1:{free_port_pair()}", port_per_broker: {{node_id_min: 0, node_id_max: 0}}}}
    encryption:
      key_broker:
        target: "127.0.0.1:{kb_port}"
        ca_file: {root}/ca.crt
        cert_file: {root}/proxy-metrics.crt
        key_file: {root}/proxy-metrics.key
        server_name_override: localhost
      topics:
        rules: [{{prefix: "", kek: "KEK_$(topicName)"}}]
""")
        kb_log, proxy_log = os.path.join(root, "keybroker.log"), os.path.join(root, "proxy.log")
        keybroker = subprocess.Popen([args.keybroker, "--config", os.path.join(root, "keybroker.yaml")],
                                     stdout=open(kb_log, "w"), stderr=subprocess.STDOUT)
        processes.append(keybroker)
        kb_text = wait_for_metrics("kenc-keybroker", keybroker, kb_admin, kb_log)
        proxy = subprocess.Popen([args.proxy, "--config", os.path.join(root, "proxy.yaml")],
                                 stdout=open(proxy_log, "w"), stderr=subprocess.STDOUT)
        processes.append(proxy)
        proxy_text = wait_for_metrics("kenc-proxy", proxy, proxy_admin, proxy_log)

        daemons = {"kenc_proxy_": ("kenc-proxy", exported(proxy_text)),
                   "kenc_keybroker_": ("kenc-keybroker", exported(kb_text))}
        print(f"ok   scraped kenc-proxy ({len(daemons['kenc_proxy_'][1])} series names) and "
              f"kenc-keybroker ({len(daemons['kenc_keybroker_'][1])})")

        problems = []
        uses = referenced()
        for name, where in sorted(uses.items()):
            prefix = next((p for p in daemons if name.startswith(p)), None)
            if prefix is None:
                problems.append(f"{name} (used by {', '.join(sorted(where))}) belongs to no daemon")
            elif name not in daemons[prefix][1]:
                problems.append(f"{name} (used by {', '.join(sorted(where))}) is not exported by "
                                f"{daemons[prefix][0]}")
        for name, kind in sorted(listed().items()):
            prefix = next((p for p in daemons if name.startswith(p)), None)
            real = daemons[prefix][1].get(name) if prefix else None
            if real is None:
                problems.append(f"{name} is listed in deploy/monitoring/README.md but not exported")
            elif real != kind:
                problems.append(f"{name} is listed as a {kind} but exported as a {real}")
        documented = listed()
        for prefix, (daemon, names) in daemons.items():
            for name, kind in sorted(names.items()):
                family = re.sub(r"_(bucket|sum|count)$", "", name) if kind == "histogram" else name
                if name.startswith(prefix) and family not in documented:
                    problems.append(f"{daemon} exports {family}, which deploy/monitoring/README.md "
                                    "does not list (and so the dashboard does not show)")
        if problems:
            fail("\n  " + "\n  ".join(sorted(set(problems))))
        print(f"ok   all {len(uses)} metric names of the dashboard and the alerts are exported")
        print(f"ok   the {len(listed())} metrics listed in deploy/monitoring/README.md are exactly "
              "the kenc_ metrics exported, with their listed types")

        stop("kenc-proxy", proxy)
        stop("kenc-keybroker", keybroker)
        processes.clear()
        print("metrics_exported: all checks passed")
    finally:
        for process in processes:
            process.kill()
            process.wait()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
