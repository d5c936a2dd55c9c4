"""HIT types, HITs and assignments: the lifecycle."""
