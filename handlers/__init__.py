"""The desk's decisions as plain functions over plain data: classify, link, SLA, drafts."""
