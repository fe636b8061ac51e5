"""What the engine's services share: references to the library's parts, and nothing else.

The engine builds one `LibraryContext` per open library and hands each service the parts it
uses. The rules live in the parts: the policy in `PolicyGate`, who is acting in `Acting`, the
reading of photos handed in in `ProbeReader`. The context holds no rule and does no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from regard.domain.models import ModelSpec
from regard.inference.calibration import Calibration
from regard.inference.protocols import FaceDetector
from regard.pipeline.probe import ProbeReader
from regard.privacy.acting import Acting
from regard.privacy.audit import AuditLog
from regard.privacy.policy import PolicyGate
from regard.storage.repositories import Store
from regard.storage.vector_store import VectorStore


@dataclass(frozen=True, slots=True)
class LibraryContext:
    catalog: Store
    vectors: VectorStore
    audit: AuditLog
    policy: PolicyGate
    acting: Acting
    #: Score thresholds measured for the library's embedder.
    calibration: Calibration
    probes: ProbeReader
    #: The embedder whose vectors the library holds.
    model: ModelSpec
    #: Audit anchors and erasure journals, outside the library (`regard.privacy.state`).
    state_dir: Path
    #: The sensitive detector copies leaving the library are searched with; built when first
    #: asked for, then kept.
    still_detector: Callable[[], FaceDetector]
