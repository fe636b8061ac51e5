"""Anonymisation ("share safely"): copies in which no face can be recognised.

- `blur`: pixels. Grow a face's box into its head and make the head unrecognisable.
- `redact`: boxes. Which detections to blur in a photo, searched again at a higher resolution
  and once more after blurring.
- `still` and `video`: whole files. A photo or a video anonymised into a new file (`video`
  follows faces between looks with `tracking` and writes through `muxer`).
- `clean_encode`: a copy's bytes, with no metadata but what was asked for and is safe.

The video frames are worked on as YUV (`regard.pipeline.yuv`, shared with video indexing).
"""
