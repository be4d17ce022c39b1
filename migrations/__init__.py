"""Database migrations, written by ``tortoise makemigrations``; installed as
``myco_graph.migrations`` and applied by ``myco-graph migrate``."""
