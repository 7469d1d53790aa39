"""gatewayops.transport: see DESIGN.md section 1."""
