"""Live broadcasts carried by Snapcast: the managed snapserver and how the station drives it."""
