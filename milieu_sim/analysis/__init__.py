"""The analysis layer: statistics, validation, calibration, reports and figures."""
