"""gatewayops.effects: see DESIGN.md section 1."""
