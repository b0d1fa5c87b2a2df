"""The request log's table, its statements and the buffered writer that fills it."""
