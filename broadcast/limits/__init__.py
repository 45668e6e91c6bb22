"""What keeps the station standing under load: token buckets per caller, bounded executor lanes."""
