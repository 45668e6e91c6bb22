"""Broadcast clips: content-addressed storage (a directory or S3), and the one path from text to a clip."""
