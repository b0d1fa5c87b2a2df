"""2026-12-07: an item's `version` is called `revision`.

Once requests name API versions (`Tandem-Version`, clients' and endpoints'
`api_version`), an item's `version`, the number that grows by one on every change and
that its ETag carries, read as one more API version. From 2026-12-07 the item's
answers, the events' `data.item` and webhook bodies call it `revision`; 2026-12-01 and
before call it `version`, in the same place. Requests never send it (If-Match carries
the ETag), so only answers and the OpenAPI document change. GraphQL is not versioned by
date and keeps `version`.
"""

from __future__ import annotations

from tandem.http.versions import ApiVersion
from tandem.http.versions.changes import Document, VersionChange, rename_property, renamed

# The schemas that show an item (api/items/schemas.py, api/events/schemas.py, the webhooks).
ITEM_SCHEMAS = ("ItemOut", "ItemExpanded")


class ItemVersionIsRevision(VersionChange):
    version = ApiVersion.V2026_12_07
    description = "An item's `version` is called `revision` (answers, events, webhooks)."

    def item(self, document: Document) -> Document:
        return renamed(document, "revision", "version")

    def openapi(self, document: Document) -> None:
        schemas = document.get("components", {}).get("schemas", {})
        for name in ITEM_SCHEMAS:
            if name in schemas:
                rename_property(schemas[name], "revision", "version")
