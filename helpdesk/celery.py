"""The Celery application.

With REDIS_URL set, tasks go to a real worker over Redis. With nothing configured the
settings make Celery run every task in-process (eagerly), so `make run` needs no broker.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")

app = Celery("helpdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
