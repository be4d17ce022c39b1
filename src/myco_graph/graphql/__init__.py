"""GraphQL layer: strawberry types, resolvers, loaders and extensions."""
