"""XMP regions: orientation transforms, reading other programs' sidecars, hostile input."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from regard.domain.face import Box
from regard.pipeline.xmp import Region, read_regions, to_stored, to_upright, write_regions

sizes = st.tuples(st.integers(10, 5000), st.integers(10, 5000))


@given(size=sizes, orientation=st.integers(1, 8), data=st.data())
def test_stored_and_upright_are_inverse(size, orientation, data):
    w, h = size
    x = data.draw(st.floats(0, w - 2))
    y = data.draw(st.floats(0, h - 2))
    bw = data.draw(st.floats(1, w - x))
    bh = data.draw(st.floats(1, h - y))
    box = Box(x, y, bw, bh)
    upright = (w, h)
    region = to_stored(box, upright, orientation)
    assert all(0 <= v <= 1 for v in (region.x, region.y, region.w, region.h))
    stored = (h, w) if orientation >= 5 else (w, h)
    back = to_upright(region, stored, orientation)
    for a, b in zip((back.x, back.y, back.w, back.h), (box.x, box.y, box.w, box.h), strict=True):
        assert a == pytest.approx(b, abs=1e-6 * max(w, h))


def test_rotate_90_maps_a_region_the_way_viewers_do():
    # Stored 700x840, EXIF "rotate 90 CW": a region at the stored image's top-left corner is
    # shown at the top-right of the upright 840x700 image.
    region = Region("A", 0.1, 0.1, 0.2, 0.2)
    box = to_upright(region, (700, 840), 6)
    assert box.x == pytest.approx(840 - 0.2 * 840) and box.y == pytest.approx(0)


DIGIKAM = """<?xpacket begin='' id='W5M0MpCehiHzreSzNTczkc9d'?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:mwg-rs="http://www.metadataworkinggroup.com/schemas/regions/"
    xmlns:stDim="http://ns.adobe.com/xap/1.0/sType/Dimensions#"
    xmlns:stArea="http://ns.adobe.com/xmp/sType/Area#"
    xmlns:digiKam="http://www.digikam.org/ns/1.0/">
   <digiKam:TagsList><rdf:Seq><rdf:li>People/Marie Curie</rdf:li></rdf:Seq></digiKam:TagsList>
   <mwg-rs:Regions rdf:parseType="Resource">
    <mwg-rs:AppliedToDimensions stDim:w="700" stDim:h="840" stDim:unit="pixel"/>
    <mwg-rs:RegionList>
     <rdf:Bag>
      <rdf:li>
       <rdf:Description mwg-rs:Name="Marie Curie" mwg-rs:Type="Face">
        <mwg-rs:Area stArea:x="0.307857" stArea:y="0.631548" stArea:w="0.198571"
          stArea:h="0.113095" stArea:unit="normalized"/>
       </rdf:Description>
      </rdf:li>
      <rdf:li>
       <rdf:Description mwg-rs:Name="Pierre Curie" mwg-rs:Type="Face">
        <mwg-rs:Area stArea:x="0.239286" stArea:y="0.3125" stArea:w="0.241429"
          stArea:h="0.0964286" stArea:unit="normalized"/>
       </rdf:Description>
      </rdf:li>
     </rdf:Bag>
    </mwg-rs:RegionList>
   </mwg-rs:Regions>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end='w'?>"""


def test_reads_a_digikam_sidecar_and_keeps_its_other_tags_when_writing():
    dims, regions = read_regions(DIGIKAM)
    assert dims == (700, 840)
    assert [r.name for r in regions] == ["Marie Curie", "Pierre Curie"]
    assert regions[0].x == pytest.approx(0.307857)
    new = write_regions([Region("Ann", 0.5, 0.5, 0.1, 0.1)], (700, 840), DIGIKAM.encode())
    text = new.decode()
    assert "People/Marie Curie" in text  # digiKam's tags survive
    dims, regions = read_regions(new)
    assert [r.name for r in regions] == ["Ann"] and dims == (700, 840)


@pytest.mark.parametrize(
    "hostile",
    [
        b"",
        b"<x:xmpmeta",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/">&b;</x:xmpmeta>',
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><!DOCTYPE x SYSTEM "file:///etc/passwd"></x:xmpmeta>',
        DIGIKAM.replace('stArea:x="0.307857"', 'stArea:x="nan"').encode(),
        DIGIKAM.replace('stArea:w="0.198571"', 'stArea:w="7"').encode(),
    ],
)
def test_hostile_or_broken_xmp_gives_no_regions_and_no_crash(hostile):
    _dims, regions = read_regions(hostile)
    assert all(0 <= r.x <= 1 and 0 <= r.w <= 1 for r in regions)
    assert len(regions) <= 1
