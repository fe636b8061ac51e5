"""The services of one open library, built from its context: each is handed the parts it
uses and nothing else, and the ones that work together are handed each other here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from regard.context import LibraryContext
from regard.pipeline.cluster import GroupingParams
from regard.pipeline.decode import DecodeLimits
from regard.pipeline.models import ModelLoader
from regard.pipeline.places import Gazetteer
from regard.privacy.erasure import PhotosChanged
from regard.privacy.service import PrivacyService
from regard.services.alerts import Alerts
from regard.services.alerts.service import FOLLOW_LIMIT
from regard.services.cameras import CameraService, Hold
from regard.services.export import Exporter
from regard.services.library import LibraryView
from regard.services.naming import FaceNaming
from regard.services.people import PeopleService
from regard.services.recaps import RecapService
from regard.services.search import SearchService
from regard.services.timeline import TimelinePages
from regard.services.trash import Trash
from regard.services.uploads import Uploads
from regard.services.xmp import XmpService
from regard.storage.library import LibraryPaths
from regard.storage.sealing import Sealer


@dataclass(frozen=True, slots=True)
class Services:
    privacy: PrivacyService
    people: PeopleService
    search: SearchService
    view: LibraryView
    xmp: XmpService
    exporter: Exporter
    faces: FaceNaming  # naming any face, the "Who is this?" queue, hiding, covers
    cameras: CameraService
    alerts: Alerts
    pages: TimelinePages  # the timeline in pages (`page`, `months`)
    trash: Trash  # `put`, `restore`, `empty`
    recaps: RecapService  # `listing`, `get`, `hide`, `hide_person`


def build_services(
    c: LibraryContext,
    *,
    paths: LibraryPaths,
    grouping: GroupingParams,
    limits: DecodeLimits,
    photos_changed: PhotosChanged,
    models: ModelLoader,
    hold: Hold,
    sealer: Callable[[], Sealer],
    uploads: Uploads,
) -> Services:
    """`photos_changed` is told the photos whose faces were hidden or removed (copies made of
    them are made again; people who lost their cover face get another)."""
    privacy = PrivacyService(
        catalog=c.catalog,
        vectors=c.vectors,
        audit=c.audit,
        policy=c.policy,
        acting=c.acting,
        probes=c.probes,
        calibration=c.calibration,
        model=c.model,
        state_dir=c.state_dir,
        library_root=paths.root,
        still_detector=c.still_detector,
        photos_changed=photos_changed,
    )
    # A withdrawn consent holds for the human: their look-alikes are withheld too.
    withheld = privacy.gate.withheld
    people = PeopleService(
        catalog=c.catalog,
        vectors=c.vectors,
        audit=c.audit,
        policy=c.policy,
        acting=c.acting,
        calibration=c.calibration,
        params=grouping,
        withheld=withheld,
    )
    search = SearchService(
        catalog=c.catalog,
        vectors=c.vectors,
        audit=c.audit,
        policy=c.policy,
        acting=c.acting,
        calibration=c.calibration,
        probes=c.probes,
        people=people,
        withheld=withheld,
    )
    cameras = CameraService(c, root=paths.root, gate=privacy.gate, models=models, hold=hold)
    # The list of events is the catalog's (what the watcher stored), with what this process's
    # web sink saw live.
    alerts = Alerts(
        c.catalog,
        sealer=sealer,
        hold=hold,
        library_root=paths.root,
        stored=lambda limit: [
            cameras.shown(e) for e, _, _ in c.catalog.cameras.events(limit=limit)
        ],
        stored_event=c.catalog.cameras.event,
        recent=lambda since: [
            (cameras.shown(e), at)
            for e, _, at in c.catalog.cameras.events(since=since, limit=FOLLOW_LIMIT)
        ],
    )
    return Services(
        privacy=privacy,
        people=people,
        search=search,
        faces=FaceNaming(people=people, search=search),
        view=LibraryView(
            catalog=c.catalog,
            paths=paths,
            vectors=c.vectors,
            policy=c.policy,
            acting=c.acting,
            calibration=c.calibration,
        ),
        xmp=XmpService(
            catalog=c.catalog, audit=c.audit, policy=c.policy, acting=c.acting, people=people
        ),
        exporter=Exporter(
            catalog=c.catalog,
            audit=c.audit,
            policy=c.policy,
            acting=c.acting,
            people=people,
            still_detector=c.still_detector,
            limits=limits,
        ),
        cameras=cameras,
        alerts=alerts,
        pages=TimelinePages(c.catalog),
        trash=Trash(
            catalog=c.catalog,
            vectors=c.vectors,
            audit=c.audit,
            acting=c.acting,
            uploads=uploads,
            photos_gone=photos_changed,
            photos_moved=lambda ids, restored: people.grouping.photos_moved(ids, restored=restored),
        ),
        recaps=RecapService(
            catalog=c.catalog,
            audit=c.audit,
            policy=c.policy,
            acting=c.acting,
            people=people,
            limits=limits,
            models=models,
            gazetteer=Gazetteer.shared,
        ),
    )
