"""Gymnasium wrappers any agentgym env can take (installed as ``agentgym.wrappers``)."""
