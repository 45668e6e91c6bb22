"""TTS backends, one module each; the registry imports a module only when its engine is first asked for."""
