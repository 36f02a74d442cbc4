"""The HTTP API: one FastAPI app, one router per resource (``conveyor.api.app``)."""
