#!/usr/bin/env python3
"""Every example configuration must pass the daemons' own --check-config.

Checked: deploy/config/*.yaml, the configurations inside the Kubernetes ConfigMaps and
proxy/config/example-proxy.yaml, each with the real binary it is for.

--check-config opens the files a configuration names (certificates, keys), so every absolute
path under /etc, /var or /run is moved into a temporary root first, and the files are created
there: certificates and keys are real ones made by deploy/certs/make-certs.sh (a key file gets a
key, a file whose name mentions "ca" the CA certificate, other .crt/.pem files a certificate),
other files (token, secret id) get placeholder text. A *.json file (the local KMS key file) is not
created: the key broker creates it. Everything else in a configuration is checked as written.

Usage: check-configs.py --proxy BIN --keybroker BIN
"""
import argparse
import glob
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
REPO = os.path.dirname(os.path.dirname(HERE))
PATH_RE = re.compile(r"""(?<=[\s"'\[,])(/(?:etc|var|run)/[^\s"',\]#]+)""")


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def examples():
    """(label, daemon, YAML text) of every example configuration."""
    found = []
    for path in sorted(glob.glob(os.path.join(HERE, "*.yaml"))):
        name = os.path.basename(path)
        daemon = "keybroker" if name.startswith("keybroker") else "proxy"
        found.append((f"deploy/config/{name}", daemon, open(path).read()))
    for path in sorted(glob.glob(os.path.join(REPO, "deploy/kubernetes/*/configmap.yaml"))):
        rel = os.path.relpath(path, REPO)
        for doc in yaml.safe_load_all(open(path)):
            for key, text in (doc or {}).get("data", {}).items():
                daemon = "keybroker" if key.startswith("keybroker") else "proxy"
                found.append((f"{rel}:{key}", daemon, text))
    found.append(("proxy/config/example-proxy.yaml", "proxy",
                  open(os.path.join(REPO, "proxy/config/example-proxy.yaml")).read()))
    return found


def make_pki(root):
    out = os.path.join(root, "pki")
    subprocess.run(["bash", os.path.join(REPO, "deploy/certs/make-certs.sh"), "-o", out,
                    "-s", "localhost", "-p", "check"], check=True, capture_output=True)
    return {"ca": os.path.join(out, "ca.crt"), "cert": os.path.join(out, "keybroker.crt"),
            "key": os.path.join(out, "keybroker.key")}


def relocate(text, root, pki):
    """The configuration with its absolute paths under `root`, and those files created."""
    def move(match):
        original = match.group(1)
        target = root + original
        os.makedirs(os.path.dirname(target), exist_ok=True)
        base = os.path.basename(original).lower()
        if not os.path.exists(target) and not base.endswith(".json"):
            if base.endswith(".key"):
                shutil.copy(pki["key"], target)
            elif "ca" in base.replace(".", "-").split("-") or base.startswith("ca"):
                shutil.copy(pki["ca"], target)
            elif base.endswith((".crt", ".pem")):
                shutil.copy(pki["cert"], target)
            else:
                with open(target, "w") as f:
                    f.write("placeholder-secret\n")
            os.chmod(target, 0o600)
        return target
    return PATH_RE.sub(move, text)


def check_config(binary, path):
    result = subprocess.run([binary, "--config", path, "--check-config"], capture_output=True,
                            text=True, timeout=60)
    return result.returncode, (result.stdout + result.stderr).strip()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--proxy", required=True)
    parser.add_argument("--keybroker", required=True)
    args = parser.parse_args()
    binaries = {"proxy": args.proxy, "keybroker": args.keybroker}
    for daemon, binary in binaries.items():
        if not os.access(binary, os.X_OK):
            fail(f"{binary} is not built (kenc-{daemon})")

    root = tempfile.mkdtemp(prefix="kenc-config-check.")
    try:
        pki = make_pki(root)
        configs = examples()
        for i, (label, daemon, text) in enumerate(configs):
            path = os.path.join(root, f"config-{i}.yaml")
            with open(path, "w") as f:
                f.write(relocate(text, os.path.join(root, f"fs-{i}"), pki))
            status, output = check_config(binaries[daemon], path)
            if status != 0 or "configuration OK" not in output:
                fail(f"{label}: kenc-{daemon} --check-config exited {status}: {output}")
            print(f"ok   {label}: kenc-{daemon} --check-config")
        if not any(d == "proxy" and "encryption:" in t for _, d, t in configs):
            fail("no example configuration has an encryption block")
        # The harness itself: a configuration with a typo must be refused.
        label, daemon, text = configs[0]
        path = os.path.join(root, "typo.yaml")
        with open(path, "w") as f:
            f.write(relocate(text, os.path.join(root, "fs-typo"), pki) + "\nno_such_key: 1\n")
        status, output = check_config(binaries[daemon], path)
        if status != 1 or "no_such_key" not in output:
            fail(f"a typo in {label} was not refused: exit {status}: {output}")
        print(f"ok   a typo in {label} is refused: {output}")
        print(f"check-configs: all {len(configs)} example configurations pass --check-config")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
