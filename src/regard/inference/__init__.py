"""The only place model runtimes (OpenCV dnn) are touched: sessions, model registry, calibration."""
