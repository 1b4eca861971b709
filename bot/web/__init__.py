"""The case file on the web: signed links from Slack (``links``), the pages (``pages``) and what
they show of a case (``model``)."""
