"""The SMO kit for the company site: share buttons, community widgets, link-preview checks."""
