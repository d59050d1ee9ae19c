"""The site build: MkDocs hooks (hooks.py, the event table) over pure modules — markers, ledger, pages, assets,
wheel, audit."""
