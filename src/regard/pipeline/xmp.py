"""XMP face regions in the Metadata Working Group format (`mwg-rs:Regions`), which digiKam,
Lightroom, Immich and exiftool read and write.

MWG region areas are normalised (0..1), given by their centre, width and height, and apply to
the image *as stored*: a reader applies the EXIF orientation to the regions as it does to the
pixels. Regard keeps boxes in upright pixels, so `to_stored` and `to_upright` convert.

Sidecars from other programs are untrusted input: they are parsed with defusedxml, and a
sidecar's other contents are kept when Regard writes its regions into it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from defusedxml.ElementTree import fromstring

from regard.domain.face import Box

NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "mwg-rs": "http://www.metadataworkinggroup.com/schemas/regions/",
    "stArea": "http://ns.adobe.com/xmp/sType/Area#",
    "stDim": "http://ns.adobe.com/xap/1.0/sType/Dimensions#",
    "xmp": "http://ns.adobe.com/xap/1.0/",
}
for _prefix, _uri in NS.items():
    ET.register_namespace(_prefix, _uri)


def _q(prefix: str, name: str) -> str:
    return f"{{{NS[prefix]}}}{name}"


@dataclass(frozen=True, slots=True)
class Region:
    """A named face region, normalised to the stored image: centre x, y and size w, h."""

    name: str | None
    x: float
    y: float
    w: float
    h: float
    kind: str = "Face"


# --- orientation ------------------------------------------------------------------------------


def _map(x: float, y: float, w: float, h: float, orientation: int) -> tuple[float, float]:
    """A point of a stored w x h image, in the upright image."""
    return {
        1: (x, y),
        2: (w - x, y),
        3: (w - x, h - y),
        4: (x, h - y),
        5: (y, x),
        6: (h - y, x),
        7: (h - y, w - x),
        8: (y, w - x),
    }[orientation]


def _unmap(u: float, v: float, w: float, h: float, orientation: int) -> tuple[float, float]:
    """A point of the upright image, in the stored w x h image."""
    return {
        1: (u, v),
        2: (w - u, v),
        3: (w - u, h - v),
        4: (u, h - v),
        5: (v, u),
        6: (v, h - u),
        7: (w - v, h - u),
        8: (w - v, u),
    }[orientation]


def stored_size(upright: tuple[int, int], orientation: int) -> tuple[int, int]:
    w, h = upright
    return (h, w) if orientation in (5, 6, 7, 8) else (w, h)


def to_stored(box: Box, upright: tuple[int, int], orientation: int) -> Region:
    """An upright pixel box as a normalised region of the stored image (no name yet)."""
    sw, sh = stored_size(upright, orientation)
    a = _unmap(box.x, box.y, sw, sh, orientation)
    b = _unmap(box.x + box.w, box.y + box.h, sw, sh, orientation)
    x0, x1 = sorted((a[0], b[0]))
    y0, y1 = sorted((a[1], b[1]))
    return Region(None, (x0 + x1) / 2 / sw, (y0 + y1) / 2 / sh, (x1 - x0) / sw, (y1 - y0) / sh)


def to_upright(region: Region, stored: tuple[int, int], orientation: int) -> Box:
    """A normalised region of the stored image as an upright pixel box."""
    sw, sh = stored
    x0, y0 = (region.x - region.w / 2) * sw, (region.y - region.h / 2) * sh
    x1, y1 = x0 + region.w * sw, y0 + region.h * sh
    a = _map(x0, y0, sw, sh, orientation)
    b = _map(x1, y1, sw, sh, orientation)
    u0, u1 = sorted((a[0], b[0]))
    v0, v1 = sorted((a[1], b[1]))
    return Box(u0, v0, u1 - u0, v1 - v0)


# --- reading ---------------------------------------------------------------------------------


def read_regions(xmp: bytes | str) -> tuple[tuple[int, int] | None, list[Region]]:
    """The regions of an XMP packet, and the stored dimensions they were applied to."""
    text = xmp.decode("utf-8", "replace") if isinstance(xmp, bytes) else xmp
    start = text.find("<x:xmpmeta")
    if start < 0:
        start = text.find("<rdf:RDF")
    if start < 0:
        return None, []
    end_tag = "</x:xmpmeta>" if text.startswith("<x:xmpmeta", start) else "</rdf:RDF>"
    end = text.find(end_tag, start)
    if end < 0:
        return None, []
    try:
        root = fromstring(text[start : end + len(end_tag)])
    except Exception:  # malformed or hostile XML: no regions, not a crash
        return None, []
    dims = None
    regions: list[Region] = []
    for info in root.iter(_q("mwg-rs", "Regions")):
        dims = _dimensions(info) or dims
        for item in info.iter(_q("rdf", "li")):
            region = _region(item)
            if region is not None:
                regions.append(region)
    return dims, regions


def _value(node: ET.Element, prefix: str, name: str) -> str | None:
    attr = node.get(_q(prefix, name))
    if attr is not None:
        return attr
    child = node.find(_q(prefix, name))
    return child.text if child is not None and child.text is not None else None


def _dimensions(info: ET.Element) -> tuple[int, int] | None:
    for node in info.iter(_q("mwg-rs", "AppliedToDimensions")):
        try:
            w = float(_value(node, "stDim", "w") or "")
            h = float(_value(node, "stDim", "h") or "")
        except ValueError:
            return None
        return (round(w), round(h)) if w > 0 and h > 0 else None
    return None


def _region(item: ET.Element) -> Region | None:
    # Writers put a region's fields on the list item itself (parseType="Resource") or on an
    # rdf:Description inside it (digiKam, exiv2).
    desc = item.find(_q("rdf", "Description"))
    node = desc if desc is not None else item
    kind = _value(node, "mwg-rs", "Type") or "Face"
    name = _value(node, "mwg-rs", "Name")
    for area in item.iter(_q("mwg-rs", "Area")):
        try:
            vals = [float(_value(area, "stArea", k) or "nan") for k in ("x", "y", "w", "h")]
        except ValueError:
            return None
        if any(v != v or v < 0 or v > 1 for v in vals):  # NaN or out of range
            return None
        x, y, w, h = vals
        return Region(name.strip() if name else None, x, y, w, h, kind=kind)
    return None


# --- writing ---------------------------------------------------------------------------------


def write_regions(
    regions: list[Region], stored: tuple[int, int], existing: bytes | None = None
) -> bytes:
    """An XMP sidecar with these face regions; other metadata of `existing` is kept."""
    root = _parse_existing(existing)
    rdf = root.find(_q("rdf", "RDF"))
    assert rdf is not None
    for desc in list(rdf.findall(_q("rdf", "Description"))):
        for old in desc.findall(_q("mwg-rs", "Regions")):
            desc.remove(old)
    desc = ET.SubElement(rdf, _q("rdf", "Description"), {_q("rdf", "about"): ""})
    regions_el = ET.SubElement(desc, _q("mwg-rs", "Regions"), {_q("rdf", "parseType"): "Resource"})
    ET.SubElement(
        regions_el,
        _q("mwg-rs", "AppliedToDimensions"),
        {
            _q("stDim", "w"): str(stored[0]),
            _q("stDim", "h"): str(stored[1]),
            _q("stDim", "unit"): "pixel",
        },
    )
    region_list = ET.SubElement(regions_el, _q("mwg-rs", "RegionList"))
    bag = ET.SubElement(region_list, _q("rdf", "Bag"))
    for r in regions:
        li = ET.SubElement(bag, _q("rdf", "li"), {_q("rdf", "parseType"): "Resource"})
        ET.SubElement(
            li,
            _q("mwg-rs", "Area"),
            {
                _q("stArea", "x"): f"{r.x:.6f}",
                _q("stArea", "y"): f"{r.y:.6f}",
                _q("stArea", "w"): f"{r.w:.6f}",
                _q("stArea", "h"): f"{r.h:.6f}",
                _q("stArea", "unit"): "normalized",
            },
        )
        if r.name:
            ET.SubElement(li, _q("mwg-rs", "Name")).text = r.name
        ET.SubElement(li, _q("mwg-rs", "Type")).text = r.kind
    body = ET.tostring(root, encoding="unicode")
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        + body
        + '\n<?xpacket end="w"?>\n'
    ).encode("utf-8")


def _parse_existing(existing: bytes | None) -> ET.Element:
    if existing:
        text = existing.decode("utf-8", "replace")
        start, end = text.find("<x:xmpmeta"), text.find("</x:xmpmeta>")
        if start >= 0 and end > start:
            try:
                root: ET.Element = fromstring(text[start : end + len("</x:xmpmeta>")])
                if root.find(_q("rdf", "RDF")) is not None:
                    return root
            except Exception:  # an unreadable sidecar is replaced, not merged
                pass
    root = ET.Element(_q("x", "xmpmeta"), {_q("x", "xmptk"): "Regard"})
    ET.SubElement(root, _q("rdf", "RDF"))
    return root
