"""Models as data: which package ships the weights, which file, which hash, which licence.

Every stored embedding names the model that made it (`ModelSpec.id`), so spaces are never
mixed. The shipped specs and the loading of their weights are `regard.inference.registry`'s.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ModelSpec:
    id: str
    kind: str  # "detector" | "embedder"
    package: str
    package_version: str
    resource: str  # path inside the installed distribution
    sha256: str
    licence: str
    upstream: str
    input_spec: str
    dim: int = 0  # embedding size, for embedders

    def as_dict(self) -> dict[str, str | int]:
        return {
            "id": self.id,
            "kind": self.kind,
            "package": f"{self.package}=={self.package_version}",
            "file": self.resource,
            "sha256": self.sha256,
            "licence": self.licence,
            "upstream": self.upstream,
            "input": self.input_spec,
            **({"dim": self.dim} if self.dim else {}),
        }
