"""HTTP routes, one module per resource; each handler is a thin adapter over a plain function."""
