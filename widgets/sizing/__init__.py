"""The handbook's sizing and serving-latency model (standard library only; runs on CPython and in Pyodide).

Every number the handbook publishes is computed here or declared in the catalog and scenario data files.
"""

__version__ = "0.1.0"
