"""The names and defaults the deploy side and the command line share, in a module that loads nothing."""

DEFAULT_SECRET_NAME = "registry-credentials"  # the pull Secret, and the imagePullSecrets entry naming it
SERVICEACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"  # where a pod finds its token
REFRESH_SCHEDULE = "0 */6 * * *"  # the ECR refresher's: tokens last 12 hours
