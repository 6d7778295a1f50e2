"""HTTP and GraphQL in, domain calls out."""
