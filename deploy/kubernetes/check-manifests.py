#!/usr/bin/env python3
"""Offline consistency check of the Kubernetes manifests (no cluster, no kubectl needed).

Loads every YAML document under deploy/kubernetes and checks what a schema validator would not:
every file parses; kustomization.yaml lists every manifest except the *.template.yaml files;
objects sit in the intended namespaces; selectors match pod labels; Service target ports, probe
ports and the NetworkPolicy port name real container ports; ConfigMaps and Secrets that pods mount
exist (Secrets as templates); pods run non-root with a read-only root filesystem and no capabilities;
the key broker's NetworkPolicy admits only proxy pods from namespace kenc on the gRPC port and
egress only to DNS and Vault. Prints one line per check; exits 1 on the first failure.
"""
import os
import sys

try:
    import yaml
except ImportError:
    sys.exit("FAIL: PyYAML is missing: install the Debian package python3-yaml")

HERE = os.path.dirname(os.path.abspath(__file__))
NAMESPACED = {"Deployment", "Service", "ConfigMap", "Secret", "ServiceAccount",
              "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy"}


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def ok(message):
    print(f"ok   {message}")


def load_all():
    docs = []  # (relative path, document)
    for root, _, files in os.walk(HERE):
        for name in sorted(files):
            if not name.endswith(".yaml"):
                continue
            path = os.path.join(root, name)
            rel = os.path.relpath(path, HERE)
            try:
                with open(path) as f:
                    loaded = [d for d in yaml.safe_load_all(f) if d is not None]
            except yaml.YAMLError as e:
                fail(f"{rel}: not valid YAML: {e}")
            if not loaded:
                fail(f"{rel}: no YAML document")
            docs.extend((rel, d) for d in loaded)
    return docs


def matches(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


def main():
    docs = load_all()
    ok(f"{len(docs)} YAML documents parse")

    kustomization = [d for rel, d in docs if rel == "kustomization.yaml"]
    if len(kustomization) != 1:
        fail("kustomization.yaml missing")
    listed = set(kustomization[0]["resources"])
    manifests = {rel for rel, d in docs if rel != "kustomization.yaml"}
    for rel in listed:
        if rel not in manifests:
            fail(f"kustomization.yaml lists {rel}, which does not exist")
    for rel in manifests:
        template = rel.endswith(".template.yaml")
        if template and rel in listed:
            fail(f"kustomization.yaml applies the template {rel}")
        if not template and rel not in listed:
            fail(f"{rel} is not listed in kustomization.yaml")
    ok("kustomization.yaml lists every manifest and no template")

    objects = {}  # (kind, namespace, name) -> document
    for rel, d in docs:
        if rel == "kustomization.yaml":
            continue
        for key in ("apiVersion", "kind", "metadata"):
            if key not in d:
                fail(f"{rel}: document without {key}")
        kind, meta = d["kind"], d["metadata"]
        if kind in NAMESPACED and meta.get("namespace") not in ("kenc", "kenc-keys"):
            fail(f"{rel}: {kind}/{meta.get('name')} is not in namespace kenc or kenc-keys")
        if kind == "Secret":
            if not rel.endswith(".template.yaml"):
                fail(f"{rel}: Secret outside a template file")
            for value in d.get("stringData", {}).values():
                if "BEGIN" in value or not value.startswith("REPLACE"):
                    fail(f"{rel}: Secret template holds something other than a placeholder")
        objects[(kind, meta.get("namespace"), meta["name"])] = d
    ok("apiVersion/kind/metadata everywhere; namespaces kenc/kenc-keys; Secrets only as placeholders")

    expected_namespace = {"kenc-proxy": "kenc", "kenc-keybroker": "kenc-keys"}
    deployments = {k: d for k, d in objects.items() if k[0] == "Deployment"}
    if {k[2] for k in deployments} != set(expected_namespace):
        fail(f"expected Deployments kenc-proxy and kenc-keybroker, found {sorted(deployments)}")
    pod_ports = {}  # deployment name -> {port name: number}
    for (_, ns, name), d in deployments.items():
        if ns != expected_namespace[name]:
            fail(f"Deployment {name} is in {ns}, expected {expected_namespace[name]}")
        spec = d["spec"]
        pod = spec["template"]
        if not matches(spec["selector"]["matchLabels"], pod["metadata"]["labels"]):
            fail(f"Deployment {name}: selector does not match its pod labels")
        pod_spec = pod["spec"]
        psc = pod_spec.get("securityContext", {})
        if psc.get("runAsNonRoot") is not True or psc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            fail(f"Deployment {name}: pod must be runAsNonRoot with the RuntimeDefault seccomp profile")
        if pod_spec.get("automountServiceAccountToken") is not False:
            fail(f"Deployment {name}: service account token is mounted")
        if ("ServiceAccount", ns, pod_spec.get("serviceAccountName")) not in objects:
            fail(f"Deployment {name}: service account {pod_spec.get('serviceAccountName')} not defined")
        if "podAntiAffinity" not in pod_spec.get("affinity", {}):
            fail(f"Deployment {name}: no pod anti-affinity")
        for volume in pod_spec.get("volumes", []):
            if "configMap" in volume and ("ConfigMap", ns, volume["configMap"]["name"]) not in objects:
                fail(f"Deployment {name}: ConfigMap {volume['configMap']['name']} not defined in {ns}")
            if "secret" in volume and ("Secret", ns, volume["secret"]["secretName"]) not in objects:
                fail(f"Deployment {name}: Secret {volume['secret']['secretName']} has no template in {ns}")
        volume_names = {v["name"] for v in pod_spec.get("volumes", [])}
        for c in pod_spec["containers"]:
            csc = c.get("securityContext", {})
            if (csc.get("readOnlyRootFilesystem") is not True or csc.get("allowPrivilegeEscalation") is not False
                    or csc.get("capabilities", {}).get("drop") != ["ALL"]):
                fail(f"Deployment {name}: container {c['name']} must have a read-only root, no privilege "
                     "escalation and drop ALL capabilities")
            ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
            pod_ports[name] = ports
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                port = c.get(probe, {}).get("httpGet", {}).get("port")
                if port not in ports:
                    fail(f"Deployment {name}: {probe} uses port {port!r}, not a container port")
            # The key broker stays in its Service while the KMS is down: its cached DEKs and
            # current leases keep encrypted traffic going (docs/operations.md).
            ready_path = {"kenc-proxy": "/readyz", "kenc-keybroker": "/livez"}[name]
            if c["livenessProbe"]["httpGet"]["path"] != "/livez" or c["readinessProbe"]["httpGet"]["path"] != ready_path:
                fail(f"Deployment {name}: probes must use /livez and {ready_path}")
            if "requests" not in c.get("resources", {}) or "limits" not in c.get("resources", {}):
                fail(f"Deployment {name}: container {c['name']} without resource requests and limits")
            if "preStop" not in c.get("lifecycle", {}):
                fail(f"Deployment {name}: no preStop hook for draining")
            for mount in c.get("volumeMounts", []):
                if mount["name"] not in volume_names:
                    fail(f"Deployment {name}: mount of unknown volume {mount['name']}")
            if c["args"][:2] != ["--config", f"/etc/kenc/{name.removeprefix('kenc-')}.yaml"]:
                fail(f"Deployment {name}: unexpected args {c['args']}")
        if name == "kenc-proxy":
            pre_stop = pod_spec["containers"][0]["lifecycle"]["preStop"]["exec"]["command"]
            if pod_spec.get("terminationGracePeriodSeconds", 30) <= int(pre_stop[-1]):
                fail("Deployment kenc-proxy: grace period shorter than the preStop sleep")
    ok("Deployments: selectors, non-root, read-only root, probes on the admin port, resources, "
       "anti-affinity, preStop, mounted ConfigMaps/Secrets exist")

    for (kind, ns, name), d in objects.items():
        if kind == "Service":
            owners = [dn for (_, dns, dn), dep in deployments.items() if dns == ns and
                      matches(d["spec"]["selector"], dep["spec"]["template"]["metadata"]["labels"])]
            if len(owners) != 1:
                fail(f"Service {name}: selector matches {len(owners)} Deployments")
            for port in d["spec"]["ports"]:
                if port["targetPort"] not in pod_ports[owners[0]]:
                    fail(f"Service {name}: targetPort {port['targetPort']} is not a port of {owners[0]}")
        if kind in ("HorizontalPodAutoscaler",):
            ref = d["spec"]["scaleTargetRef"]
            if ("Deployment", ns, ref["name"]) not in objects:
                fail(f"HPA {name}: target {ref['name']} not found in {ns}")
            if not any(m["resource"]["name"] == "cpu" for m in d["spec"]["metrics"]):
                fail(f"HPA {name}: does not scale on CPU")
        if kind == "PodDisruptionBudget":
            if not any(dns == ns and matches(d["spec"]["selector"]["matchLabels"],
                                             dep["spec"]["template"]["metadata"]["labels"])
                       for (_, dns, _), dep in deployments.items()):
                fail(f"PDB {name}: selects no Deployment's pods")
    # Every per-broker port of the proxy is published by the client-facing Service.
    proxy_service = objects[("Service", "kenc", "kenc-proxy")]
    published = {p["targetPort"] for p in proxy_service["spec"]["ports"]}
    kafka_ports = {n for n in pod_ports["kenc-proxy"] if n.startswith("kafka-")}
    if published != kafka_ports:
        fail(f"Service kenc-proxy publishes {sorted(published)}, the pod has {sorted(kafka_ports)}")
    ok("Services, HPA and PDBs point at existing Deployments and ports; every proxy Kafka port is published")

    policy = objects.get(("NetworkPolicy", "kenc-keys", "kenc-keybroker"))
    if policy is None:
        fail("no NetworkPolicy kenc-keybroker in kenc-keys")
    spec = policy["spec"]
    broker_labels = deployments[("Deployment", "kenc-keys", "kenc-keybroker")]["spec"]["template"]["metadata"]["labels"]
    proxy_labels = deployments[("Deployment", "kenc", "kenc-proxy")]["spec"]["template"]["metadata"]["labels"]
    if not matches(spec["podSelector"]["matchLabels"], broker_labels):
        fail("NetworkPolicy does not select the key broker's pods")
    if sorted(spec["policyTypes"]) != ["Egress", "Ingress"]:
        fail("NetworkPolicy must restrict both ingress and egress")
    if len(spec["ingress"]) != 1 or len(spec["ingress"][0]["from"]) != 1:
        fail("NetworkPolicy must have exactly one ingress peer")
    peer = spec["ingress"][0]["from"][0]
    if peer.get("namespaceSelector", {}).get("matchLabels") != {"kubernetes.io/metadata.name": "kenc"}:
        fail("NetworkPolicy ingress peer is not limited to namespace kenc")
    if "podSelector" not in peer or not matches(peer["podSelector"]["matchLabels"], proxy_labels):
        fail("NetworkPolicy ingress peer does not select the proxy pods (in the same peer)")
    if [(p["protocol"], p["port"]) for p in spec["ingress"][0]["ports"]] != [("TCP", pod_ports["kenc-keybroker"]["grpc"])]:
        fail("NetworkPolicy ingress is not limited to the gRPC port")
    egress_ports = sorted((p["protocol"], p["port"]) for rule in spec["egress"] for p in rule["ports"])
    if egress_ports != [("TCP", 53), ("TCP", 8200), ("UDP", 53)]:
        fail(f"NetworkPolicy egress ports are {egress_ports}, expected DNS and Vault (8200) only")
    if any("ports" not in rule for rule in spec["egress"]):
        fail("NetworkPolicy has an egress rule without ports")
    deny = objects.get(("NetworkPolicy", "kenc-keys", "default-deny"))
    if deny is None or deny["spec"]["podSelector"] != {} or "ingress" in deny["spec"] or "egress" in deny["spec"]:
        fail("kenc-keys has no default-deny NetworkPolicy")
    ok("key broker NetworkPolicy: only kenc/kenc-proxy pods on gRPC 8443 in, only DNS and Vault out; "
       "default deny in kenc-keys")
    print("check-manifests: all checks passed")


if __name__ == "__main__":
    main()
