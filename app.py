"""Recoup: the Chalice app. It registers the blueprints and nothing else.

Routes come from the route manifest (chalicelib/http/lazy.py): each is registered without
importing its capability, which its first call imports. The authorizer and the event
handlers (timers, queues, topics, streams) are registered as they are: Chalice names their
Lambdas by their own modules, which import only what they run."""
from chalice import Chalice

from chalicelib.dunning import jobs
from chalicelib.http import authorizer, lazy
from chalicelib.kernel import jobs as event_jobs
from chalicelib.kernel.naming import is_local_stage
from chalicelib.payments import jobs as payment_jobs
from chalicelib.reporting import jobs as report_jobs
from chalicelib.workbench import jobs as workbench_jobs

# The blueprints whose routes the manifest lists (`python -m chalicelib.http.lazy` after a
# change to any of their routes; tests/functional/test_route_manifest.py fails until then).
ROUTE_BLUEPRINTS = (
    "chalicelib.http.openapi",
    "chalicelib.http.pages",  # /favicon.ico
    "chalicelib.book.routes",
    "chalicelib.dunning.routes",  # dry run, activation, manual sends
    "chalicelib.payments.routes",
    "chalicelib.payments.pages",  # the debtor's hosted page /d/...
    "chalicelib.payments.webhooks",
    "chalicelib.reporting.routes",
    "chalicelib.reporting.portal_pages",  # also the portal's playbook pages
    "chalicelib.reporting.playbook_pages",  # /w/clients/{id}/playbook(.pdf)
    "chalicelib.reporting.forecast_pages",  # /w/clients/{id}/forecast(.csv)
    "chalicelib.workbench.routes",
    "chalicelib.workbench.pages",
    "chalicelib.workbench.lab_pages",  # /w/clients/{c}/what-if
    "chalicelib.workbench.cadence_routes",  # the cadence and template editor's API
    "chalicelib.workbench.cadence_pages",  # /w/clients/{id}/cadences, templates
    "chalicelib.behaviour.routes",  # behaviour and credit policy
    "chalicelib.workbench.credit_pages",  # /w/clients/{id}/credit, the debtor's credit forms
    "chalicelib.workbench.console_pages",  # agency home, onboarding, books, users
)

app = Chalice(app_name="recoup")
app.register_blueprint(authorizer.bp)  # before the routes: they name it
app.register_blueprint(jobs.bp)
app.register_blueprint(event_jobs.bp)
app.register_blueprint(payment_jobs.bp)
app.register_blueprint(report_jobs.bp)
app.register_blueprint(workbench_jobs.bp)
app.api.binary_types.append("multipart/form-data")  # the book upload form, as bytes

if is_local_stage():  # local and test stages only; local/ is never deployed
    from local import checkout as local_checkout
    from local import gateway as local_gateway
    from local import outbox_pages

    local_checkout.install(app)
    local_gateway.install()
    app.register_blueprint(outbox_pages.bp)

lazy.register(app)  # every route of the manifest, each module imported on its first call
