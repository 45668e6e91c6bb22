"""Devices on the poles: enrolment, zones, settings, remote control, presence, key rotation, outbox."""
