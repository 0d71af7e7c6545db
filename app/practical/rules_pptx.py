"""Rule kinds for .pptx files."""
