"""The agents of chipsim, one family per module."""
