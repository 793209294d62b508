"""HTTP plumbing shared by every capability: app keys, middlewares, templates, languages."""
