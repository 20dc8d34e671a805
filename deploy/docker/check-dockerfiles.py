#!/usr/bin/env python3
"""Static check of the Dockerfiles (Docker cannot run on the development machine).

For each of Dockerfile.proxy and Dockerfile.keybroker: two stages, debian:bookworm then
debian:bookworm-slim; the build stage installs exactly the "build" and "libraries" packages of
scripts/setup.sh; it builds the one CMake target that exists (add_executable) and nothing else;
the runtime stage runs as the numeric non-root user the Kubernetes Deployment expects, exposes the
container ports of that Deployment, and its ENTRYPOINT/CMD match the systemd unit's command line.
"""
import os
import re
import shlex
import sys

try:
    import yaml
except ImportError:
    sys.exit("FAIL: PyYAML is missing: install the Debian package python3-yaml")

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def instructions(path):
    """Dockerfile instructions as (KEYWORD, argument text), continuation lines joined."""
    text = open(path).read()
    text = re.sub(r"\\\n", " ", text)
    result = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        result.append((keyword.upper(), rest.strip()))
    return result


def setup_packages():
    text = open(os.path.join(REPO, "scripts", "setup.sh")).read()
    block = re.search(r"packages=\((.*?)\n\)", text, re.S).group(1)
    groups, current = {}, None
    for line in block.splitlines():
        line = line.strip()
        if line.startswith("#"):
            current = line.lstrip("# ").split(",")[0].split()[0]
            groups[current] = []
        elif line:
            groups[current].extend(line.split())
    return groups


def amd64_packages():
    """The packages setup.sh adds on x86-64 only (`packages+=(...)` under an amd64 test)."""
    text = open(os.path.join(REPO, "scripts", "setup.sh")).read()
    found = re.search(r'= "amd64" \]; then\s+packages\+=\(([^)]*)\)', text)
    return found.group(1).split() if found else []


def main():
    groups = setup_packages()
    wanted = set(groups["build"]) | set(groups["libraries"])
    manifests = {}
    for root, _, files in os.walk(os.path.join(REPO, "deploy", "kubernetes")):
        for name in files:
            if name == "deployment.yaml":
                for doc in yaml.safe_load_all(open(os.path.join(root, name))):
                    manifests[doc["metadata"]["name"]] = doc
    for daemon in ("proxy", "keybroker"):
        target = f"kenc-{daemon}"
        path = os.path.join(HERE, f"Dockerfile.{daemon}")
        ins = instructions(path)
        froms = [arg for kw, arg in ins if kw == "FROM"]
        if froms != ["debian:bookworm AS build", "debian:bookworm-slim"]:
            fail(f"{target}: stages are {froms}")
        split = next(i for i, (kw, arg) in enumerate(ins) if kw == "FROM" and "slim" in arg)
        build, runtime = ins[:split], ins[split:]

        build_runs = " ".join(arg for kw, arg in build if kw == "RUN")
        install = re.search(r"apt-get install -y --no-install-recommends ([^&]*)", build_runs)
        packages = set(install.group(1).split()) if install else set()
        if packages != wanted:
            fail(f"{target}: build packages differ from setup.sh: missing {sorted(wanted - packages)}, "
                 f"extra {sorted(packages - wanted)}")
        if daemon == "proxy":
            for package in amd64_packages():
                pattern = r'= "amd64" \]; then[^;]*apt-get install -y --no-install-recommends ' + re.escape(package) + r'(\s|$)'
                if not re.search(pattern, build_runs):
                    fail(f"{target}: the build stage does not install {package} on amd64 as setup.sh does")
        built = re.findall(r"--target (\S+)", build_runs)
        if built != [target]:
            fail(f"{target}: builds targets {built}")
        cmake_file = open(os.path.join(REPO, daemon, "CMakeLists.txt")).read()
        if f"add_executable({target} " not in cmake_file:
            fail(f"{target}: no add_executable({target}) in {daemon}/CMakeLists.txt")
        if f"/build/{daemon}/{target} /out/{target}" not in build_runs:
            fail(f"{target}: binary not taken from /build/{daemon}/{target}")

        users = [arg for kw, arg in runtime if kw == "USER"]
        pod = manifests[target]["spec"]["template"]["spec"]
        uid = pod["securityContext"]["runAsUser"]
        if users != [f"{uid}:{uid}"]:
            fail(f"{target}: USER {users}, the Deployment runs as {uid}")
        if uid == 0:
            fail(f"{target}: runs as root")
        exposed = sorted(int(p) for kw, arg in runtime if kw == "EXPOSE" for p in arg.split())
        container_ports = sorted(p["containerPort"] for p in pod["containers"][0]["ports"])
        if exposed != container_ports:
            fail(f"{target}: EXPOSE {exposed}, the Deployment's ports are {container_ports}")
        entry = [yaml.safe_load(arg) for kw, arg in runtime if kw == "ENTRYPOINT"]
        cmd = [yaml.safe_load(arg) for kw, arg in runtime if kw == "CMD"]
        unit = open(os.path.join(REPO, "deploy", "systemd", f"{target}.service")).read()
        exec_start = shlex.split(re.search(r"^ExecStart=(.*)$", unit, re.M).group(1))
        if len(entry) != 1 or len(cmd) != 1 or entry[0] + cmd[0] != exec_start:
            fail(f"{target}: ENTRYPOINT+CMD {entry}+{cmd} differ from the unit's ExecStart {exec_start}")
        if pod["containers"][0]["args"] != cmd[0]:
            fail(f"{target}: the Deployment's args differ from CMD")
        copies = [arg for kw, arg in runtime if kw == "COPY"]
        if any(not arg.startswith("--from=build /out/") for arg in copies):
            fail(f"{target}: runtime stage copies something other than build outputs: {copies}")
        print(f"ok   Dockerfile.{daemon}: bookworm build of {target} only, setup.sh packages, "
              f"bookworm-slim runtime as {uid}, EXPOSE {exposed}")
    print("check-dockerfiles: all checks passed")


if __name__ == "__main__":
    main()
