"""Stage 8: markdown leaderboards and plots rendered from stored results."""
