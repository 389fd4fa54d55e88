"""The pure core: models, sizing and the copy decision. No I/O lives here."""
