"""The static site: content model, catalog, generated pages, links, the MkDocs adapter, build and check."""
