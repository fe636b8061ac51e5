"""Home cameras: sources, the per-camera session, the event writer and the watcher."""
