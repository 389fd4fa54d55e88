"""The follower board: what the trader looks at (the CLI's ``status``, the dashboard widget, the local
page at ``/``). Everything here reads the HTTP API, so every face shows the same data.

- ``api_client``: one small HTTP client of the API (SigV4-signed for a deployed stack).
- ``status``: gathers groups -> followers with positions and last copies (the ``status`` data).
- ``render``: that data as one HTML page (no JavaScript framework; an optional refresh script).
"""
