"""The Slack app, the command line and the service entry point."""
