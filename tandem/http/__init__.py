"""What both faces share: the one guard, request ids and body caps, the rate-limit charge,
error rendering (problem+json for REST, the GraphQL envelope), health checks."""
