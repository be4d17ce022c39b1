"""Web layer: Starlette routes and middleware outside GraphQL and federation."""
