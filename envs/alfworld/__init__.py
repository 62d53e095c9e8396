"""ALFWorld, the text version (``agentgym.envs.alfworld``; needs ``pip install 'agentgym[alfworld]'``).

Modules: ``games`` (task ids, splits, task types from game paths), ``dataset`` (finding, listing,
unpacking and verifying the game files), ``engine`` (ALFWorld's textworld game with cached set-up),
``native`` (the native engine: same text, no TextWorld), ``engines`` (choosing between them, the fallback
list), ``equivalence`` (comparing them game by game), ``env`` (the gymnasium env).
"""
