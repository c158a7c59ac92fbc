"""Settings for the daphne server and worker the browser tests start: the test settings,
with jobs queued for a real worker on a queue of this run's own."""

import os

from tests.settings import *  # noqa: F403
from tests.settings import Q_CLUSTER

Q_CLUSTER = {**Q_CLUSTER, "sync": False, "workers": 1, "name": os.environ["VMM_BROWSER_QUEUE"]}
# Serve the static files straight from the source folders (no collectstatic for a test run).
WHITENOISE_USE_FINDERS = True
