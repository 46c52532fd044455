"""Lessons shipped with milieu-sim: one TOML file (the scenario) and one Markdown file (the text) each."""
