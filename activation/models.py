"""Models of activation (see DESIGN.md)."""
