"""Indexing on Ray beside indexing here, in the same run, on the same photos: photos per second
AND faces found, with 1 and 2 workers each way, and Ray's overhead per file.

    .venv/bin/python bench/ray_index.py             # the 39 camera photos (-> .cache/bench)
    .venv/bin/python bench/ray_index.py --photos 12 # fewer (a quick look)

The cluster: a real Ray cluster on this machine, started once for the run as the tests start
it (a head and a second node, one CPU each, loopback, no dashboard, no usage statistics); its
start-up is timed apart. Each contender indexes the same photos into a new empty library with
the real models, timed from `Engine.index` called to returned (scan, starting the workers and
loading their models, analysis, writes, grouping), so local and Ray pay the same fixed costs
except Ray's own (actors started through the cluster, files and results passed through its
object store):

* **local-1**, **local-2**: `EngineConfig(workers=n)`, Regard's own worker processes.
* **ray-1**, **ray-2**: `EngineConfig(ray=RayCluster(address, workers=n))`.

Overhead per file = (ray-n seconds - local-n seconds) / photos. Faces found must be equal:
Ray changes where files are analysed, never what is found. The load average is printed with
the figures: on a machine whose two cores are shared, two workers are not twice one.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import CACHE, shared_data

from regard.domain.cluster import RayCluster
from regard.engine import Engine, EngineConfig
from regard.jobs.ray_pool import ray_environment, require_ray


def index_once(folder: Path, config: EngineConfig) -> dict[str, float]:
    with (
        tempfile.TemporaryDirectory() as tmp,
        Engine(Path(tmp) / "lib", create=True, config=config) as engine,
    ):
        started = time.perf_counter()
        report = engine.index([folder])
        seconds = time.perf_counter() - started
    photos = report.counts.files_new
    return {
        "seconds": round(seconds, 2),
        "photos": photos,
        "failed": report.counts.files_failed,
        "faces": report.counts.faces_found,
        "photos_per_s": round(photos / seconds, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=39, help="camera photos to index")
    args = parser.parse_args()
    os.environ.update(ray_environment(RayCluster("auto")))
    require_ray()
    from ray.cluster_utils import Cluster

    source = sorted((shared_data() / "camera").glob("*.jpg"))[: args.photos]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "photos"
        folder.mkdir()
        for photo in source:
            (folder / photo.name).symlink_to(photo)
        node = {"num_cpus": 1, "node_ip_address": "127.0.0.1"}
        started = time.perf_counter()
        cluster = Cluster(initialize_head=True, head_node_args={**node, "include_dashboard": False})
        try:
            cluster.add_node(**node)
            cluster.wait_for_nodes()
            cluster_start = time.perf_counter() - started
            results: dict[str, dict[str, float]] = {}
            for n in (1, 2):
                results[f"local-{n}"] = index_once(folder, EngineConfig(workers=n))
                print(f"local-{n}", results[f"local-{n}"], flush=True)
                ray = RayCluster(cluster.address, workers=n)
                results[f"ray-{n}"] = index_once(folder, EngineConfig(ray=ray))
                print(f"ray-{n}", results[f"ray-{n}"], flush=True)
        finally:
            cluster.shutdown()
    photos = len(source)
    summary = {
        "photos": photos,
        "cores": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "ray_cluster_start_s": round(cluster_start, 1),
        "results": results,
        "ray_vs_local": {
            f"{n} workers": {
                "speed_ratio": round(
                    results[f"ray-{n}"]["photos_per_s"] / results[f"local-{n}"]["photos_per_s"],
                    2,
                ),
                "overhead_ms_per_file": round(
                    1000
                    * (results[f"ray-{n}"]["seconds"] - results[f"local-{n}"]["seconds"])
                    / photos
                ),
                "same_faces": results[f"ray-{n}"]["faces"] == results[f"local-{n}"]["faces"],
            }
            for n in (1, 2)
        },
        "two_workers_vs_one": {
            "local": round(
                results["local-2"]["photos_per_s"] / results["local-1"]["photos_per_s"], 2
            ),
            "ray": round(results["ray-2"]["photos_per_s"] / results["ray-1"]["photos_per_s"], 2),
        },
    }
    CACHE.mkdir(parents=True, exist_ok=True)
    (CACHE / "ray_index.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
