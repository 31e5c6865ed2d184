"""Handing credentials on to the deploy step: Kubernetes Secrets and manifests, convox.yml, DOCKER_CONFIG.

One module per job: `kubernetes` (the Secret),
`yamledit` (minimal text edits of YAML), `manifests` (imagePullSecrets in workloads), `refresher`
(the in-cluster ECR renewer), `cluster` (writing the Secret from inside the cluster), `convox`
(convox.yml imagePullSecrets) and `handover` (what later workflow steps are given).
"""
