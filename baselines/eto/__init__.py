"""ETO (Song et al., ACL 2024): behavioural cloning of the expert, then rounds of exploration and DPO.

``agentgym eto ENV --out DIR`` runs the pipeline (:mod:`~agentgym.baselines.eto.pipeline`); see
``baselines/eto/README.md``.
"""
