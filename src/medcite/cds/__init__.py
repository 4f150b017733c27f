"""CDS Hooks services for medication orders: cards for documented interactions and label
warnings, each quoting its indexed source (``medcite.web.cds`` serves them)."""
