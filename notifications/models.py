"""Models of notifications (see DESIGN.md)."""
