"""Stage 6: the runner turns entries × seeds into jobs and executes them."""
