"""The one list of scheduled jobs and the runner (a separate process, never inside create_app)."""
