#!/usr/bin/env python3
"""Offline check of the monitoring artefacts (no Prometheus or Grafana needed).

- kenc-dashboard.json is valid JSON with unique panel ids and a Prometheus query in every panel;
- kenc-alerts.yaml is valid YAML; every rule has expr, for, a severity and a summary; the required
  alerts exist;
- every kenc_ metric used in a query is one of the names listed in README.md (histograms through
  their _bucket/_sum/_count series), and every listed metric appears on the dashboard;
  (that the daemons really export these names is checked by tests/integration/monitoring/)
- every expression has balanced (), {} and [] and no empty selector.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

try:
    import yaml
except ImportError:
    sys.exit("FAIL: PyYAML is missing: install the Debian package python3-yaml")

HERE = os.path.dirname(os.path.abspath(__file__))
REQUIRED_ALERTS = {"KencKeyBrokerUnavailable", "KencKeyBrokerUnavailableAnswers",
                   "KencEncryptionFailures", "KencDecryptionFailures", "KencPlaintextWrites",
                   "KencProxyNotReady", "KencProxyHighLatency"}


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def listed_metrics():
    text = open(os.path.join(HERE, "README.md")).read()
    section = text.split("## Files")[0]
    metrics = {}
    for name, kind in re.findall(r"^\| `(kenc_[a-z_]+)` \| (\w+) \|", section, re.M):
        metrics[name] = kind
    if not any(m.startswith("kenc_proxy_") for m in metrics) or \
            not any(m.startswith("kenc_keybroker_") for m in metrics):
        fail("README.md lists no proxy or no key broker metrics")
    return metrics


def series_names(metrics):
    names = {}
    for name, kind in metrics.items():
        if kind == "histogram":
            for suffix in ("_bucket", "_sum", "_count"):
                names[name + suffix] = name
        else:
            names[name] = name
    return names


def check_expression(where, expr):
    pairs = {")": "(", "}": "{", "]": "["}
    stack = []
    in_string = False
    for ch in expr:
        if ch == '"':
            in_string = not in_string
        elif in_string:
            continue
        elif ch in "({[":
            stack.append(ch)
        elif ch in pairs:
            if not stack or stack.pop() != pairs[ch]:
                fail(f"{where}: unbalanced {ch!r} in {expr}")
    if stack or in_string:
        fail(f"{where}: unbalanced expression {expr}")
    if "{}" in expr:
        fail(f"{where}: empty selector in {expr}")


def promtool_check(dashboard):
    """With promtool (Debian package prometheus) installed, Prometheus itself parses the alert
    rules and every dashboard query (as recording rules, Grafana variables replaced)."""
    promtool = shutil.which("promtool")
    if not promtool:
        print("note promtool not installed (Debian package prometheus): PromQL not parsed by Prometheus")
        return
    result = subprocess.run([promtool, "check", "rules", os.path.join(HERE, "kenc-alerts.yaml")],
                            capture_output=True, text=True)
    if result.returncode != 0:
        fail(f"promtool rejects kenc-alerts.yaml:\n{result.stdout}{result.stderr}")
    rules = []
    for panel in dashboard["panels"]:
        for i, target in enumerate(panel.get("targets", [])):
            expr = (target["expr"].replace("$__rate_interval", "5m")
                    .replace("$proxy", ".*").replace("$keybroker", ".*"))
            rules.append({"record": f"kenc:panel_{panel['id']}_{i}", "expr": expr})
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, f)
        f.flush()
        result = subprocess.run([promtool, "check", "rules", f.name], capture_output=True, text=True)
    if result.returncode != 0:
        fail(f"promtool rejects a dashboard query:\n{result.stdout}{result.stderr}")
    print(f"ok   promtool parses the alert rules and all {len(rules)} dashboard queries")


def main():
    metrics = listed_metrics()
    series = series_names(metrics)
    used_on_dashboard = set()

    try:
        dashboard = json.load(open(os.path.join(HERE, "kenc-dashboard.json")))
    except json.JSONDecodeError as e:
        fail(f"kenc-dashboard.json: {e}")
    ids = [p["id"] for p in dashboard["panels"]]
    if len(ids) != len(set(ids)):
        fail("kenc-dashboard.json: duplicate panel ids")
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            continue
        if not panel.get("targets"):
            fail(f"dashboard panel {panel['title']!r} has no query")
        for target in panel["targets"]:
            expr = target["expr"]
            check_expression(f"dashboard panel {panel['title']!r}", expr)
            for name in re.findall(r"\bkenc_[a-z_]+", expr):
                if name not in series:
                    fail(f"dashboard panel {panel['title']!r} uses unlisted metric {name}")
                used_on_dashboard.add(series[name])
    missing = set(metrics) - used_on_dashboard
    if missing:
        fail(f"listed metrics not on the dashboard: {sorted(missing)}")
    print(f"ok   kenc-dashboard.json: {len(ids)} panels, all {len(metrics)} listed metrics shown, no others")

    rules = yaml.safe_load(open(os.path.join(HERE, "kenc-alerts.yaml")))
    alerts = set()
    for group in rules["groups"]:
        for rule in group["rules"]:
            name = rule.get("alert")
            if not name or not rule.get("expr") or not rule.get("for"):
                fail(f"rule {rule} lacks alert, expr or for")
            if rule.get("labels", {}).get("severity") not in ("critical", "warning"):
                fail(f"alert {name}: severity must be critical or warning")
            if not rule.get("annotations", {}).get("summary"):
                fail(f"alert {name}: no summary")
            check_expression(f"alert {name}", rule["expr"])
            for metric in re.findall(r"\bkenc_[a-z_]+", rule["expr"]):
                if metric not in series:
                    fail(f"alert {name} uses unlisted metric {metric}")
            alerts.add(name)
    if REQUIRED_ALERTS - alerts:
        fail(f"missing alerts: {sorted(REQUIRED_ALERTS - alerts)}")
    print(f"ok   kenc-alerts.yaml: {len(alerts)} alerts, required ones present, only listed metrics")
    promtool_check(dashboard)
    print("check-monitoring: all checks passed")


if __name__ == "__main__":
    main()
