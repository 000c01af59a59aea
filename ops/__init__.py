"""Day-two operations on a provisioned stack (README "Operations"), run by `make` targets."""
