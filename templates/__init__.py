"""The jinja2 templates xeonfleet renders (xeonfleet/render.py): sysctl.d, systemd units and timers, cron
entries, profile.d and the env activate script. No code: this file only makes the folder the package
`xeonfleet.templates`, as pyproject.toml maps it, so an installed wheel finds the templates too."""
