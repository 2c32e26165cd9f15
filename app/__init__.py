"""The interactive browser app (Mesa SolaraViz): ``make app`` or ``solara run app/app.py``."""
