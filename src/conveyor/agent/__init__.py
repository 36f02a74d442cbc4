"""The agent: connects to a server and runs jobs with its executors (shell, Python)."""
