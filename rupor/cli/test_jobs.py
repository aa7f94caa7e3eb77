"""The worker's periodic jobs are composed here, at the entry point, not inside publishing."""

from __future__ import annotations

from rupor.analytics import competitors
from rupor.analytics import jobs as analytics_jobs
from rupor.analytics import reports as analytics_reports
from rupor.cli.jobs import periodic_jobs
from rupor.giveaways import service as giveaways
from rupor.inbox import alerts as inbox_alerts
from rupor.inbox import jobs as inbox_jobs
from rupor.inbox import trends
from rupor.links import traffic
from rupor.newsletters import service as newsletters
from rupor.notifications import service as notifications
from rupor.publishing import tokens


def test_rupor_worker_polls_inboxes_then_collects_metrics():
    assert list(periodic_jobs()) == [
        tokens.run_due,  # expiring tokens renewed before anything calls the networks
        inbox_jobs.run_staged,  # webhook deliveries a dead process left staged, before polling
        inbox_jobs.run_due,
        inbox_jobs.run_monitoring,
        inbox_jobs.run_triage,
        inbox_alerts.run_alerts,
        trends.run_alerts,
        analytics_jobs.run_due,
        traffic.run_due,  # the site's own analytics of tracked links (Metrica, GA4)
        competitors.run_due,
        analytics_reports.run_schedules,
        newsletters.run_due,  # newsletter and welcome messages, after the intake read opt-ins and stops
        notifications.send_digests,  # each person's daily email, once whatever the number of workers
        giveaways.run_due,  # giveaways closed at their end, drawn at their beacon round
    ]
