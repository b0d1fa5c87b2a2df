"""The vendored browser tools' versions, written by scripts/update-browser-tools."""

GRAPHIQL = "4.1.2"
GRAPHIQL_EXPLORER = "4.0.6"
REACT = "18.3.1"
SWAGGER_UI = "5.35.0"
REDOC = "2.5.2"
