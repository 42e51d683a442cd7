"""The operator client: a Textual console and a headless CLI that orchestrate the three servers
and compose the process summary."""
