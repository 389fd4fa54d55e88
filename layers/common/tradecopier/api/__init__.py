"""The HTTP face of API.md: request/response models, routes and the one place errors become HTTP."""
