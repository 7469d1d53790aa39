"""gatewayops.store: see DESIGN.md section 1."""
