"""The agents of chipsim, one family per module: each decision lives in the agent that makes it."""
