"""Conversation metrics: classified turns, per-speaker and whole-recording figures (pure functions)."""
