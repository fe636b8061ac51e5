"""Regard: face recognition for your own photos, on your own machine, as a library.

    from pathlib import Path
    from regard import Engine

    with Engine(Path("my-library"), create=True) as engine:
        engine.index([Path("photos")])
        found = engine.search_face(Path("probe.jpg"))

`Engine` is the whole API: the command line and the web app call the same methods. Its
answers are frozen dataclasses (`as_dict()` is what `--json` prints); every error it raises
is a `RegardError`. The names below are the public face; the modules under `regard` are
how it is built.

Importing `regard` loads nothing: each name is imported from its module when first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: Each public name, and the module it comes from.
_HOME = {
    "AccessReportMade": "regard.domain.rights",
    "AnalysisSettings": "regard.engine",
    "AnonymisedPhoto": "regard.engine",
    "AnonymisedVideo": "regard.engine",
    "AuditEntry": "regard.domain.rights",
    "BlurSettings": "regard.engine",
    "ConsentGranted": "regard.domain.rights",
    "ConsentSubject": "regard.domain.rights",
    "ConsentWithdrawn": "regard.domain.rights",
    "DecodeLimits": "regard.engine",
    "Engine": "regard.engine",
    "EngineConfig": "regard.engine",
    "ErasurePreview": "regard.domain.rights",
    "ErasureReceipt": "regard.domain.rights",
    "ExportOptions": "regard.engine",
    "ExportPreview": "regard.engine",
    "ExportReport": "regard.engine",
    "FaceMatch": "regard.domain.search",
    "HistoryEntry": "regard.domain.people",
    "IndexReport": "regard.engine",
    "KeyConfig": "regard.engine",
    "LibraryStatus": "regard.domain.library",
    "OptOutAdded": "regard.domain.rights",
    "OptOutInfo": "regard.domain.rights",
    "PersonCorrected": "regard.domain.people",
    "PersonInfo": "regard.domain.people",
    "PersonPage": "regard.domain.people",
    "PersonSearch": "regard.domain.search",
    "PersonSummary": "regard.domain.people",
    "PhotoDetail": "regard.domain.library",
    "PhotoMatch": "regard.domain.search",
    "PhotoSummary": "regard.domain.library",
    "Policy": "regard.domain.privacy",
    "ProbeFace": "regard.domain.search",
    "RecordOfProcessing": "regard.domain.rights",
    "RegardError": "regard.errors",
    "Result": "regard.domain.result",
    "SearchResult": "regard.domain.search",
    "Selection": "regard.engine",
    "Timeline": "regard.domain.library",
    "anonymise": "regard.engine",
    "capture_native_stderr": "regard.logs",
    "log_file": "regard.logs",
    "log_to": "regard.logs",
    "readable_path": "regard.files",
}

__all__ = [
    "AccessReportMade",
    "AnalysisSettings",
    "AnonymisedPhoto",
    "AnonymisedVideo",
    "AuditEntry",
    "BlurSettings",
    "ConsentGranted",
    "ConsentSubject",
    "ConsentWithdrawn",
    "DecodeLimits",
    "Engine",
    "EngineConfig",
    "ErasurePreview",
    "ErasureReceipt",
    "ExportOptions",
    "ExportPreview",
    "ExportReport",
    "FaceMatch",
    "HistoryEntry",
    "IndexReport",
    "KeyConfig",
    "LibraryStatus",
    "OptOutAdded",
    "OptOutInfo",
    "PersonCorrected",
    "PersonInfo",
    "PersonPage",
    "PersonSearch",
    "PersonSummary",
    "PhotoDetail",
    "PhotoMatch",
    "PhotoSummary",
    "Policy",
    "ProbeFace",
    "RecordOfProcessing",
    "RegardError",
    "Result",
    "SearchResult",
    "Selection",
    "Timeline",
    "anonymise",
    "capture_native_stderr",
    "log_file",
    "log_to",
    "readable_path",
]


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'regard' has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOME[name]), name)
    globals()[name] = value  # found once
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:
    from regard.domain.library import LibraryStatus, PhotoDetail, PhotoSummary, Timeline
    from regard.domain.people import (
        HistoryEntry,
        PersonCorrected,
        PersonInfo,
        PersonPage,
        PersonSummary,
    )
    from regard.domain.privacy import Policy
    from regard.domain.result import Result
    from regard.domain.rights import (
        AccessReportMade,
        AuditEntry,
        ConsentGranted,
        ConsentSubject,
        ConsentWithdrawn,
        ErasurePreview,
        ErasureReceipt,
        OptOutAdded,
        OptOutInfo,
        RecordOfProcessing,
    )
    from regard.domain.search import (
        FaceMatch,
        PersonSearch,
        PhotoMatch,
        ProbeFace,
        SearchResult,
    )
    from regard.engine import (
        AnalysisSettings,
        AnonymisedPhoto,
        AnonymisedVideo,
        BlurSettings,
        DecodeLimits,
        Engine,
        EngineConfig,
        ExportOptions,
        ExportPreview,
        ExportReport,
        IndexReport,
        KeyConfig,
        Selection,
        anonymise,
    )
    from regard.errors import RegardError
    from regard.files import readable_path
    from regard.logs import capture_native_stderr, log_file, log_to
