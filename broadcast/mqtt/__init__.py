"""MQTT side of the station: the managed broker, credentials/ACLs, and the station's client."""
