#!/usr/bin/env python3
"""Generates C++ Kafka message types from Kafka's JSON message specs.

Usage: kafka_codegen.py (--specs DIR | --fetch-into DIR) --out DIR --tests-out DIR
                        [--kafka-version V] [--check]

--specs names a folder holding the `*.json` specs of `common/message/` from the kafka-clients jar
of the pinned Kafka release; --fetch-into fetches that jar with Maven into DIR and extracts them.
With --check nothing is written: the output is generated into a temporary folder and compared
with --out and --tests-out (exit status 1 and a diff when they differ). Writes one .h/.cc pair per request and response, the API table, the type-erased
factory, a CMake source list, and (for the round-trip tests) sample values for every message.
"""

import argparse
import difflib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

import jinja2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from model import Message  # noqa: E402
from spec import SpecError, load_spec  # noqa: E402


def load_messages(spec_dir):
    names = sorted(n for n in os.listdir(spec_dir) if n.endswith(".json"))
    if not names:
        raise SpecError(f"{spec_dir}: no *.json message specs")
    messages = []
    for name in names:
        path = os.path.join(spec_dir, name)
        spec = load_spec(path)  # validates every spec, including the ones not generated
        # APIs removed from Kafka keep a spec with validVersions "none": nothing to generate.
        if spec["type"] in ("request", "response") and spec["validVersions"] != "none":
            messages.append(Message(spec, path))
    return messages


def build_api_table(messages):
    by_key = {}
    for m in messages:
        by_key.setdefault(m.api_key, {})[m.kind] = m
    apis = []
    for key in sorted(by_key):
        pair = by_key[key]
        if set(pair) != {"request", "response"}:
            raise SpecError(f"API key {key}: needs exactly one request and one response spec")
        req, resp = pair["request"], pair["response"]
        if (req.valid.lo, req.valid.hi) != (resp.valid.lo, resp.valid.hi):
            raise SpecError(f"API key {key}: request versions {req.valid} differ from response "
                            f"versions {resp.valid}")
        if req.first_flexible != resp.first_flexible:
            raise SpecError(f"API key {key}: request and response flexible versions differ")
        if not req.name.endswith("Request") or resp.name != req.name[:-7] + "Response":
            raise SpecError(f"API key {key}: mismatched names {req.name} / {resp.name}")
        apis.append({
            "key": key, "name": req.name[:-7], "lo": req.valid.lo, "hi": req.valid.hi,
            "first_flexible": req.first_flexible,
            "broker": "broker" in req.listeners, "controller": "controller" in req.listeners,
            "unstable": req.latest_unstable, "request": req, "response": resp,
        })
    return apis


def write_if_changed(path, text):
    try:
        with open(path, encoding="utf-8") as f:
            if f.read() == text:
                return
    except FileNotFoundError:
        pass
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def fetch_specs(cache_dir, version):
    """Fetches org.apache.kafka:kafka-clients:<version> with Maven (once) and extracts its
    common/message/*.json into cache_dir/specs-<version>; returns that folder."""
    os.makedirs(cache_dir, exist_ok=True)
    jar = os.path.join(cache_dir, f"kafka-clients-{version}.jar")
    if not os.path.exists(jar):
        cmd = ["mvn", "-q", "-B", "dependency:copy",
               f"-Dartifact=org.apache.kafka:kafka-clients:{version}",
               f"-DoutputDirectory={cache_dir}"]
        try:
            subprocess.run(cmd, check=True, cwd=cache_dir)
        except (OSError, subprocess.CalledProcessError) as e:
            raise SpecError(f"could not fetch kafka-clients {version} with Maven: {e}") from e
    spec_dir = os.path.join(cache_dir, f"specs-{version}")
    if not os.path.isdir(spec_dir):
        tmp = spec_dir + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        with zipfile.ZipFile(jar) as z:
            names = [n for n in z.namelist()
                     if n.startswith("common/message/") and n.endswith(".json")]
            if not names:
                raise SpecError(f"{jar}: no common/message/*.json inside")
            for n in names:
                target = os.path.join(tmp, os.path.basename(n))
                os.makedirs(tmp, exist_ok=True)
                with z.open(n) as src, open(target, "wb") as dst:
                    dst.write(src.read())
        os.rename(tmp, spec_dir)
    return spec_dir


def compare_trees(generated, committed):
    """Returns a list of human-readable differences between two folders."""
    problems = []
    gen = set(os.listdir(generated))
    com = set(os.listdir(committed)) if os.path.isdir(committed) else set()
    for name in sorted(gen - com):
        problems.append(f"missing from {committed}: {name}")
    for name in sorted(com - gen):
        problems.append(f"not generated any more but present in {committed}: {name}")
    for name in sorted(gen & com):
        with open(os.path.join(generated, name), encoding="utf-8") as f:
            a = f.read().splitlines(keepends=True)
        with open(os.path.join(committed, name), encoding="utf-8") as f:
            b = f.read().splitlines(keepends=True)
        if a != b:
            diff = "".join(list(difflib.unified_diff(b, a, f"committed/{name}",
                                                     f"generated/{name}"))[:40])
            problems.append(f"{name} differs:\n{diff}")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--specs", help="folder with the *.json message specs")
    source.add_argument("--fetch-into", help="cache folder to fetch the kafka-clients jar into")
    parser.add_argument("--out", required=True, help="folder for the generated message code")
    parser.add_argument("--tests-out", required=True, help="folder for generated test samples")
    parser.add_argument("--kafka-version", default="4.1.1")
    parser.add_argument("--check", action="store_true",
                        help="compare with the committed files instead of writing them")
    args = parser.parse_args()

    if args.check:
        with tempfile.TemporaryDirectory(prefix="kafka_codegen_") as tmp:
            out, tests_out = os.path.join(tmp, "generated"), os.path.join(tmp, "tests")
            status = generate(args, out, tests_out)
            if status != 0:
                return status
            problems = compare_trees(out, args.out) + compare_trees(tests_out, args.tests_out)
        if problems:
            print("kafka_codegen: the committed generated code is stale; run the kafka_codegen "
                  "target and commit the result:", file=sys.stderr)
            for p in problems:
                print(p, file=sys.stderr)
            return 1
        print("kafka_codegen: committed generated code is up to date")
        return 0
    return generate(args, args.out, args.tests_out)


def generate(args, out_dir, tests_out_dir):
    try:
        spec_dir = args.specs or fetch_specs(args.fetch_into, args.kafka_version)
        messages = load_messages(spec_dir)
        apis = build_api_table(messages)
    except SpecError as e:
        print(f"kafka_codegen: invalid message spec: {e}", file=sys.stderr)
        return 1

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(os.path.join(os.path.dirname(__file__), "templates")),
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined)
    common = {"kafka_version": args.kafka_version, "messages": messages, "apis": apis}
    os.makedirs(out_dir, exist_ok=True)
    os.makedirs(tests_out_dir, exist_ok=True)
    expected = set()

    def emit(folder, name, template, **extra):
        expected.add(os.path.join(folder, name))
        text = env.get_template(template).render(**common, **extra)
        write_if_changed(os.path.join(folder, name), text)

    for m in messages:
        emit(out_dir, m.file_stem + ".h", "message.h.j2", m=m)
        emit(out_dir, m.file_stem + ".cc", "message.cc.j2", m=m)
    emit(out_dir, "all_messages.h", "messages.h.j2")
    emit(out_dir, "create_message.cc", "messages.cc.j2")
    emit(out_dir, "api_table.cc", "api_table.cc.j2")
    emit(out_dir, "sources.cmake", "sources.cmake.j2")
    emit(tests_out_dir, "message_samples.cc", "message_samples.cc.j2")

    # Remove files of messages that no longer exist.
    for folder in (out_dir, tests_out_dir):
        for name in os.listdir(folder):
            path = os.path.join(folder, name)
            if path not in expected and os.path.isfile(path):
                os.remove(path)
    print(f"kafka_codegen: {len(apis)} API keys, {len(messages)} messages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
