#!/usr/bin/python3
"""Checks deploy/ against what it must be (issue 7):
- the Kubernetes manifests are valid YAML, with a StatefulSet that has what
  one needs (selector matching its template, a persistent volume claim
  mounted at the data directory, probes on /healthz and /readyz of a named
  port, non-root, Secrets it mounts defined), and the configuration in the
  Secret is one loupe-server accepts (`check-config`);
- the systemd unit passes `systemd-analyze verify` (with ExecStart pointed
  at the built binary) and has the sandboxing options;
- the Dockerfile parses: known instructions, bookworm stages, COPY --from
  naming a stage, every apt package existing in Debian, the build stage
  holding every build dependency tools/setup.sh installs, and the binaries
  it copies being ones the build makes;
- deploy/loupe.conf.example passes check-config.

Usage: check_deploy.py LOUPE_SERVER_BIN
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FAILURES = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        FAILURES.append(what)


def check_config(server, text, what):
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
        f.write(text)
    run = subprocess.run([server, "check-config", f.name],
                         capture_output=True, text=True)
    os.unlink(f.name)
    check(run.returncode == 0, "%s passes check-config %s" %
          (what, run.stderr.strip()))


def kubernetes(server):
    path = os.path.join(ROOT, "deploy/k8s/loupe.yaml")
    with open(path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    kinds = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    check(all("apiVersion" in d and "kind" in d for d in docs),
          "every manifest has apiVersion and kind")
    sts = kinds.get(("StatefulSet", "loupe"))
    check(sts is not None and sts["apiVersion"] == "apps/v1",
          "a StatefulSet apps/v1")
    if sts is None:
        return
    spec = sts["spec"]
    pod = spec["template"]["spec"]
    labels = spec["template"]["metadata"]["labels"]
    check(spec.get("serviceName") in {n for k, n in kinds if k == "Service"},
          "serviceName names a Service in the file")
    check(all(labels.get(k) == v
              for k, v in spec["selector"]["matchLabels"].items()),
          "the selector matches the template's labels")
    check(spec.get("replicas") == 1, "one replica (an embedded store)")
    claims = {c["metadata"]["name"]: c for c in spec["volumeClaimTemplates"]}
    check(all("storage" in c["spec"]["resources"]["requests"]
              for c in claims.values()), "volume claims request storage")
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    container = pod["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    check(ports.get("grpc") == 7400 and ports.get("http") == 7480,
          "named ports grpc 7400 and http 7480")
    for kind, path_ in (("livenessProbe", "/healthz"),
                        ("readinessProbe", "/readyz")):
        probe = container.get(kind, {}).get("httpGet", {})
        check(probe.get("path") == path_ and probe.get("port") in ports and
              probe.get("scheme") == "HTTPS",
              "%s on %s of a named port, over HTTPS" % (kind, path_))
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    check(all(n in volumes or n in claims for n in mounts.values()),
          "every volumeMount names a volume or a claim")
    check(mounts.get("/var/lib/loupe") in claims,
          "the data directory is on a persistent volume claim")
    for v in volumes.values():
        if "secret" in v:
            check(("Secret", v["secret"]["secretName"]) in kinds,
                  "Secret %s is defined" % v["secret"]["secretName"])
    check(pod.get("securityContext", {}).get("runAsNonRoot") is True,
          "runs as non-root")
    config = kinds[("Secret", "loupe-config")]["stringData"]["loupe.conf"]
    check("/var/lib/loupe" in config, "the config's data_dir is the volume")
    check("tls {" in config and "allow_plaintext" not in config,
          "the config speaks TLS")
    check_config(server, config, "the Kubernetes config")


def frontends(server):
    """deploy/k8s/loupe-frontends.yaml: N stateless front ends on an
    external database (docs/scale-out.md)."""
    path = os.path.join(ROOT, "deploy/k8s/loupe-frontends.yaml")
    with open(path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    kinds = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    check(all("apiVersion" in d and "kind" in d for d in docs),
          "front ends: every manifest has apiVersion and kind")
    dep = kinds.get(("Deployment", "loupe-frontend"))
    check(dep is not None and dep["apiVersion"] == "apps/v1",
          "front ends: a Deployment apps/v1")
    if dep is None:
        return
    spec = dep["spec"]
    pod = spec["template"]["spec"]
    labels = spec["template"]["metadata"]["labels"]
    check(all(labels.get(k) == v
              for k, v in spec["selector"]["matchLabels"].items()),
          "front ends: the selector matches the template's labels")
    check(spec.get("replicas", 1) >= 2, "front ends: more than one replica")
    check("volumeClaimTemplates" not in spec,
          "front ends: stateless (no volume claims)")
    container = pod["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    for kind, path_ in (("livenessProbe", "/healthz"),
                        ("readinessProbe", "/readyz")):
        probe = container.get(kind, {}).get("httpGet", {})
        check(probe.get("path") == path_ and probe.get("port") in ports and
              probe.get("scheme") == "HTTPS",
              "front ends: %s on %s over HTTPS" % (kind, path_))
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    check(all(n in volumes for n in mounts.values()),
          "front ends: every volumeMount names a volume")
    for v in volumes.values():
        if "secret" in v:
            check(("Secret", v["secret"]["secretName"]) in kinds,
                  "front ends: Secret %s is defined" %
                  v["secret"]["secretName"])
    check(pod.get("securityContext", {}).get("runAsNonRoot") is True,
          "front ends: run as non-root")
    config = kinds[("Secret", "loupe-frontends-config")]["stringData"][
        "loupe.conf"]
    url_file = re.search(r'url_file:\s*"([^"]+)"', config)
    check(url_file is not None and "url:" not in config.replace(
        "url_file:", ""), "front ends: the database URL comes from url_file")
    if url_file:
        mount = os.path.dirname(url_file.group(1))
        name = mounts.get(mount)
        check(name in volumes and "secret" in volumes[name],
              "front ends: url_file is in a mounted Secret")
    check("tls {" in config and "allow_plaintext" not in config,
          "front ends: the config speaks TLS")
    check_config(server, config, "the front ends' config")


def systemd(server):
    unit = os.path.join(ROOT, "deploy/loupe.service")
    with open(unit) as f:
        text = f.read()
    for option in ("NoNewPrivileges=yes", "ProtectSystem=strict",
                   "PrivateTmp=yes", "User=loupe", "ProtectHome=yes",
                   "CapabilityBoundingSet="):
        check(re.search(r"^%s" % re.escape(option), text, re.M) is not None,
              "unit has %s" % option)
    if not shutil.which("systemd-analyze"):
        check(False, "systemd-analyze is installed")
        return
    work = tempfile.mkdtemp()
    copy = os.path.join(work, "loupe.service")
    with open(copy, "w") as f:
        f.write(text.replace("/usr/local/bin/loupe-server", server))
    run = subprocess.run(["systemd-analyze", "verify", copy],
                         capture_output=True, text=True)
    # Without a running systemd some checks are skipped; anything said
    # about the unit itself is a failure.
    said = [l for l in (run.stdout + run.stderr).splitlines()
            if "loupe.service" in l]
    check(run.returncode == 0 and not said,
          "systemd-analyze verify: %s" % ("clean" if not said else said))
    shutil.rmtree(work)


def dockerfile_instructions(text):
    lines, current = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        current += " " + line.rstrip("\\").strip()
        if not line.endswith("\\"):
            lines.append(current.strip())
            current = ""
    return [(l.split(None, 1)[0].upper(), l.split(None, 1)[1]) for l in lines]


def docker():
    with open(os.path.join(ROOT, "deploy/Dockerfile")) as f:
        instructions = dockerfile_instructions(f.read())
    known = {"FROM", "RUN", "COPY", "WORKDIR", "USER", "VOLUME", "EXPOSE",
             "ENTRYPOINT", "CMD", "ENV", "ARG", "LABEL"}
    check(all(k in known for k, _ in instructions),
          "every Dockerfile instruction is known: %s" %
          [k for k, _ in instructions if k not in known])
    stages, packages = [], []
    for k, arg in instructions:
        if k == "FROM":
            m = re.match(r"(\S+)(?:\s+AS\s+(\S+))?", arg, re.I)
            stages.append((m.group(1), m.group(2), []))
        elif k == "RUN" and "apt-get install" in arg:
            pkgs = re.findall(r"(?<!\S)([a-z0-9][a-z0-9+.-]+)(?!\S)",
                              arg.split("apt-get install", 1)[1].split("&&")[0])
            pkgs = [p for p in pkgs if p not in ("-y",)]
            stages[-1][2].extend(pkgs)
            packages.extend(pkgs)
        elif k == "COPY" and "--from=" in arg:
            src = re.search(r"--from=(\S+)", arg).group(1)
            check(src in {s[1] for s in stages[:-1]},
                  "COPY --from=%s names an earlier stage" % src)
            if "/build/server/loupe-server" in arg:
                check(os.path.exists(os.path.join(ROOT, "server/app/main.cc")),
                      "the image's loupe-server is built from server/")
                check("loupe-step-reader" in arg,
                      "the image installs loupe-step-reader beside "
                      "loupe-server (it reads STEP files)")
    check(len(stages) == 2 and all("bookworm" in s[0] for s in stages),
          "two stages, both Debian bookworm")
    check(stages[-1][0].endswith("-slim"), "the runtime stage is slim")
    check(any(k == "USER" and a != "root" for k, a in instructions),
          "the image runs as a non-root user")
    run = subprocess.run(["apt-cache", "show"] + sorted(set(packages)),
                         capture_output=True, text=True)
    check(run.returncode == 0, "every apt package exists in Debian: %s" %
          run.stderr.strip())
    with open(os.path.join(ROOT, "tools/setup.sh")) as f:
        setup = f.read()
    build_deps = re.search(r"PACKAGES=\(\s*(.*?)\)", setup, re.S).group(1)
    test_only = {"git", "libgtest-dev", "libgmock-dev", "clang-format",
                 "clang", "libclang-rt-14-dev", "python3-nacl",
                 "python3-open3d", "python3-yaml", "chromium", "wrk",
                 "nginx-light", "openssl", "curl",
                 "postgresql-15",  # tests start their own cluster
                 "admesh", "fonts-ipafont-gothic",  # interop, screenshots
                 # tests start their own Swift (s3api)
                 "swift-proxy", "swift-object", "swift-container",
                 "swift-account", "python3-swift"}
    needed = set(build_deps.split()) - test_only
    missing = needed - set(stages[0][2])
    check(not missing, "the build stage has every build dependency "
          "(missing: %s)" % sorted(missing))


def main():
    server = os.path.abspath(sys.argv[1])
    kubernetes(server)
    frontends(server)
    systemd(server)
    docker()
    with open(os.path.join(ROOT, "deploy/loupe.conf.example")) as f:
        check_config(server, f.read(), "deploy/loupe.conf.example")
    print("PASS" if not FAILURES else "%d FAILED" % len(FAILURES))
    return 0 if not FAILURES else 1


if __name__ == "__main__":
    sys.exit(main())
