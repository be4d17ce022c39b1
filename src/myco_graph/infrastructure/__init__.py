"""Infrastructure: settings, database, jobs, events and logging.

Nothing here imports a layer above it.
"""
