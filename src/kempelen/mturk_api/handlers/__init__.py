"""One module per group of operations; each handler is thin: parse, call an action or query, serialise."""
