"""Handing credentials on to the deploy step: Kubernetes Secrets and manifests, convox.yml.

One module per job: `kubernetes` (the Secret), `workloads` (where each kind keeps its pod spec),
`yamledit` (minimal text edits of YAML), `manifests` (imagePullSecrets in workloads), `refresher`
(the in-cluster ECR renewer), `cluster` (writing the Secret from inside the cluster) and `convox`
(convox.yml imagePullSecrets).
"""
