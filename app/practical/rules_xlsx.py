"""Rule kinds for .xlsx files."""
