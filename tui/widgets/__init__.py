"""The debugger's panels: each owns its CSS, its keys and the messages it posts."""
