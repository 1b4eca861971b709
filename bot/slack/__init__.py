"""The Slack side of the desk: case threads, buttons, modals, ``/privacy`` and App Home."""
