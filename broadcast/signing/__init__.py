"""What agents trust: the station's signing keys, their rotation, and the signed, numbered command outbox."""
