"""Connectors that grow the corpus from live sources: PubMed E-utilities (``eutils``), the
PubMed baseline and update files (``pubmed_files``) and DailyMed SPL labels (``dailymed``).

Each one downloads into a folder under the medcite home, checks what it got (well-formed XML
of the right kind, checksums, whole gzip streams), and hands the files to the normal ingest
path, so a rerun adds nothing twice. Nothing here touches the network unless a user runs one
of the ``medcite corpus`` commands that call it.
"""
