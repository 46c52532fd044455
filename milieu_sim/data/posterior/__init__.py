"""The calibration's posterior, shipped with the package (docs/validation.md, section 2)."""
