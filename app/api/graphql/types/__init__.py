"""GraphQL object types, one module per domain family; each calls the services REST calls."""
