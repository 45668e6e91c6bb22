"""Edge agent: plays the station's programme on a loudspeaker cluster."""
