"""The background worker: webhook deliveries and purges (`tandem worker`, or inside `serve`)."""
