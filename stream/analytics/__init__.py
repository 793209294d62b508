"""Audience figures: the viewer curve of every live session (sampled per node, summed in
Redis), its peaks and unique viewers, for the arranger's follow-up after the session."""
