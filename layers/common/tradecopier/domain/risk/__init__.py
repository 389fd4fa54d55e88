"""The per-follower risk engine, pure: settings and presets, the session calendar, the state that
persists between calls, the rules and the engine that moves the state. No I/O and no clock of its
own: the caller passes ``now`` and what the broker reports."""
