"""The connector commands as a user meets them: the console script, and settings that cannot
work."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .conftest import medcite

HUMIRA = "608d4f0d-b19f-46d3-749a-7159aa5f933d"


def test_the_medcite_command_runs_a_connector(sources, home):
    done = subprocess.run([sys.executable, "-m", "medcite.cli", "corpus", "dailymed",
                           "--setid", HUMIRA, "--quiet"], env=dict(os.environ),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "documents: 1 added" in done.stdout
    assert sources.requests_to(f"/spls/{HUMIRA}.xml")


@pytest.mark.parametrize("setting, args", [
    ("MEDCITE_EUTILS_URL", ["pubmed", "--query", "asthma[tiab]"]),
    ("MEDCITE_PUBMED_FILES_URL", ["pubmed-files", "--baseline"]),
    ("MEDCITE_DAILYMED_URL", ["dailymed", "--setid", HUMIRA]),
])
@pytest.mark.parametrize("value", ["ftp.ncbi.nlm.nih.gov/pubmed", "file:///etc", "http://"])
def test_a_base_url_that_is_not_http_names_its_setting(sources, home, monkeypatch, setting,
                                                       args, value):
    monkeypatch.setenv(setting, value)
    done = medcite("corpus", *args, "--quiet")
    assert done.exit_code == 2
    assert f"{setting}={value!r} is not an http(s) URL" in done.stderr
    assert not sources.seen
