"""The browser app (Solara / Mesa SolaraViz)."""
