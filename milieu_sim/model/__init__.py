"""The model layer: the ward, its people, the hour's schedule and its processes."""
