"""Models of services_portal (see DESIGN.md)."""
