"""Browser tools served from the package's own files: GraphiQL, Swagger UI, ReDoc.

The tools' built files are vendored from the npm registry (scripts/update-browser-tools,
licences beside them in static/vendor/); each page runs under a Content-Security-Policy
that allows scripts from this origin only, so the tools work with no internet.
"""
