"""A private Ray cluster, started as `index --ray auto` starts one, talks to this machine only:
no usage statistics, no dashboard, every connection its processes hold on loopback."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.slow

PROBE = textwrap.dedent(
    """
    import json, os, socket, struct, time
    from regard.domain.cluster import RayCluster
    from regard.jobs.ray_pool import init_options, require_ray

    cluster = RayCluster("auto", workers=1)
    ray = require_ray(cluster)
    # What `connect` does when no cluster runs here (it first tries to join one).
    ray.init(**init_options(cluster, start=True))

    @ray.remote(num_cpus=1)
    def worker_environment():
        return os.environ.get("RAY_USAGE_STATS_ENABLED")

    in_worker = ray.get(worker_environment.remote())
    time.sleep(1.0)

    def children(pid):
        out = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as fh:
                        ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
                except OSError:
                    continue
                if ppid == pid:
                    out += [int(entry), *children(int(entry))]
        return out

    pids = [os.getpid(), *children(os.getpid())]
    commands, environments, inodes = [], [], set()
    for pid in pids[1:]:
        try:
            command = open(f"/proc/{pid}/cmdline", "rb").read()
            env = open(f"/proc/{pid}/environ", "rb").read().split(b"\\0")
        except OSError:
            continue
        commands.append(command.replace(b"\\0", b" ").decode())
        # A process that set its title ("ray::DashboardAgent ...", setproctitle) wrote it over
        # the memory /proc shows as its environment, in part or whole: None, not "not told"
        # (it inherits from the raylet that started it, which is read).
        readable = not command.startswith(b"ray::")
        environments.append(b"RAY_USAGE_STATS_ENABLED=0" in env if readable else None)
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:["):
                    inodes.add(link[8:-1])
        except OSError:
            continue

    def remote(hex_address):
        host, port = hex_address.split(":")
        if len(host) == 8:
            return socket.inet_ntop(socket.AF_INET, struct.pack("<I", int(host, 16))), int(port, 16)
        raw = bytes.fromhex(host)
        words = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
        return socket.inet_ntop(socket.AF_INET6, words), int(port, 16)

    peers, listening = [], []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in open(table).read().splitlines()[1:]:
            f = line.split()
            if f[9] in inodes and f[3] == "01":  # ESTABLISHED
                peers.append(remote(f[2])[0])
            if f[9] in inodes and f[3] == "0A":  # LISTEN
                listening.append(remote(f[1])[0])
    ray.shutdown()
    print(json.dumps({"worker": in_worker, "commands": commands, "environments": environments,
                      "peers": peers, "listening": listening}))
    """
)


def test_a_private_ray_cluster_keeps_to_loopback_and_reports_nothing(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["worker"] == "0"  # usage statistics off in the processes Ray starts
    assert seen["environments"]
    without = [
        c for c, told in zip(seen["commands"], seen["environments"], strict=True) if told is False
    ]
    assert not [c for c in without if "ray" in c], without  # every process of Ray's is told
    told = [c for c, t in zip(seen["commands"], seen["environments"], strict=True) if t]
    # The processes Ray starts first (and every other inherits from) are among those read.
    assert any("gcs_server" in c for c in told) and any("raylet" in c for c in told), told
    assert any("gcs_server" in c for c in seen["commands"])  # the cluster's own processes
    # No dashboard: Ray keeps a minimal head for its usage-statistics module (told "0" above),
    # on loopback, with no web front end.
    for head in [c for c in seen["commands"] if "dashboard/dashboard.py" in c]:
        assert "--host=127.0.0.1" in head and "--disable-frontend" in head, head
    assert seen["peers"], "no connection seen: the probe looks in the wrong place"
    loopback = {"127.0.0.1", "::1", "::ffff:127.0.0.1"}
    assert set(seen["peers"]) <= loopback, seen["peers"]
    # Every socket its processes listen on too (none on 0.0.0.0 or ::): its servers (GCS,
    # raylet, workers, agents) are reachable from this machine only.
    assert seen["listening"], "no listening socket seen: the probe looks in the wrong place"
    assert set(seen["listening"]) <= loopback, seen["listening"]
