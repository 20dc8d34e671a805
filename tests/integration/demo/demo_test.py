#!/usr/bin/env python3
"""Runs the README's demo command (scripts/demo.sh) end to end and checks what it shows:

- it exits 0 and announces each of its 7 steps;
- the 5 records read back through the proxy are the plaintext that was produced;
- the same 5 records read directly from Kafka carry the `kenc` header (format version 1) and no
  trace of the plaintext (no card number, no JSON field);
- the key broker's audit log shows a granted lease for KEK_orders;
- everything stops cleanly: the proxy and the key broker exit 0 on SIGTERM, Kafka stops, no
  process of the demo is left and its temporary folder is gone.

Usage: demo_test.py BUILD_DIR   (the demo uses that build folder instead of build/)
"""
import os
import re
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
RECORDS = [f'order-{i} => {{"order":{i},"card":"4111-1111-1111-111{i}"}}' for i in range(1, 6)]


def fail(message, output=""):
    print(output)
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def section(output, title_part):
    """The lines of the `== ...` section whose title contains `title_part`."""
    parts = re.split(r"^== ", output, flags=re.M)
    for part in parts:
        title, _, body = part.partition("\n")
        if title_part in title:
            return body
    fail(f"the demo printed no section '{title_part}'", output)


def main():
    build = sys.argv[1]
    env = dict(os.environ, KENC_BUILD_DIR=build)
    result = subprocess.run(["bash", os.path.join(REPO, "scripts", "demo.sh")], cwd=REPO, env=env,
                            capture_output=True, text=True, errors="replace", timeout=900)
    output = result.stdout + result.stderr
    if result.returncode != 0:
        fail(f"scripts/demo.sh exited with {result.returncode}", output)
    for step in range(1, 8):
        if f"Step {step}/7" not in output:
            fail(f"the demo did not announce step {step}/7", output)
    print("ok   the demo ran, exit 0, every step announced")

    through_proxy = section(output, "THROUGH THE PROXY")
    for record in RECORDS:
        if record not in through_proxy:
            fail(f"'{record}' was not read back through the proxy", output)
    print("ok   the 5 records read through the proxy are the plaintext produced")

    direct = section(output, "DIRECTLY FROM KAFKA")
    lines = [l for l in direct.splitlines() if re.match(r"^\s+order-\d => ", l)]
    if len(lines) != 5:
        fail(f"expected 5 records read directly from Kafka, got {len(lines)}", output)
    for line in lines:
        if "headers [kenc=\\x01]" not in line:
            fail(f"a record read directly from Kafka lacks the kenc header: {line}", output)
    if any("4111" in l or "card" in l or "order\"" in l for l in lines):
        fail("plaintext appears in what was read directly from Kafka", output)
    print("ok   the same records read directly from Kafka carry kenc=\\x01 and no plaintext")

    audit = section(output, "audit log")
    if not re.search(r'"operation":"lease".*"kek_alias":"KEK_orders".*"outcome":"ok"', audit):
        fail("the audit log shows no granted lease for KEK_orders", output)
    print("ok   the key broker's audit log shows the lease for KEK_orders")

    stopping = section(output, "Step 7/7")
    for line in ("kenc-proxy stopped (exit status 0)", "kenc-keybroker stopped (exit status 0)",
                 "kafka stopped"):
        if line not in stopping:
            fail(f"the demo did not report '{line}'", output)
    if "Demo finished: everything stopped" not in output:
        fail("the demo did not finish", output)
    folder = re.search(r"working folder: (\S+)", output)
    if not folder:
        fail("the demo did not print its working folder", output)
    if os.path.exists(folder.group(1)):
        fail(f"the demo left {folder.group(1)} behind", output)
    left = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace")
        except OSError:
            continue
        if folder.group(1) in cmdline:
            left.append(f"{pid}: {cmdline.replace(chr(0), ' ')}")
    if left:
        fail("processes of the demo are still running:\n" + "\n".join(left), output)
    print("ok   everything stopped cleanly; no process and no folder left")
    print("demo_end_to_end: all checks passed")


if __name__ == "__main__":
    main()
