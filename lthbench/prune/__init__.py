"""Masks and the pruning rules that produce them (magnitude, random controls)."""
