"""Store operations, one module per aggregate. Each is ``op(tx, team_id, ...)``."""
