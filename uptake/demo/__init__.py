"""Demo and benchmark data: a deterministic generator of realistic organisations."""
