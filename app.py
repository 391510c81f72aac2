"""Recoup: the Chalice app. It registers the blueprints and nothing else."""
from chalice import Chalice

from chalicelib.behaviour import routes as behaviour_api
from chalicelib.book import routes as api
from chalicelib.dunning import jobs
from chalicelib.dunning import routes as chasing_api
from chalicelib.http import authorizer, openapi
from chalicelib.kernel import jobs as event_jobs
from chalicelib.http import pages as page_edge
from chalicelib.payments import jobs as payment_jobs
from chalicelib.payments import pages as debtor_pages
from chalicelib.payments import routes as payments_api
from chalicelib.payments import webhooks
from chalicelib.reporting import forecast_pages
from chalicelib.reporting import jobs as report_jobs
from chalicelib.reporting import playbook_pages
from chalicelib.reporting import portal_pages
from chalicelib.reporting import routes as reports
from chalicelib.workbench import cadence_pages
from chalicelib.workbench import cadence_routes
from chalicelib.workbench import console_pages as console
from chalicelib.workbench import credit_pages
from chalicelib.workbench import lab_pages
from chalicelib.workbench import pages as workspace
from chalicelib.workbench import jobs as workbench_jobs
from chalicelib.workbench import routes as workbench
from chalicelib.kernel.naming import is_local_stage

app = Chalice(app_name="recoup")
app.register_blueprint(authorizer.bp)
app.register_blueprint(openapi.bp)
app.register_blueprint(page_edge.bp)  # /favicon.ico
app.register_blueprint(api.bp)
app.register_blueprint(jobs.bp)
app.register_blueprint(chasing_api.bp)  # dry run, activation, manual sends
app.register_blueprint(event_jobs.bp)
app.register_blueprint(payments_api.bp)
app.register_blueprint(debtor_pages.bp)
app.register_blueprint(webhooks.bp)
app.register_blueprint(payment_jobs.bp)
app.register_blueprint(reports.bp)
app.register_blueprint(portal_pages.bp)  # also the portal's playbook pages
app.register_blueprint(playbook_pages.bp)  # /w/clients/{id}/playbook(.pdf)
app.register_blueprint(forecast_pages.bp)  # /w/clients/{id}/forecast(.csv); the portal's on its bp
app.register_blueprint(report_jobs.bp)
app.register_blueprint(workbench.bp)
app.register_blueprint(workbench_jobs.bp)  # the task re-rank and promise timers
app.register_blueprint(workspace.bp)
app.register_blueprint(lab_pages.bp)  # /w/clients/{c}/what-if
app.register_blueprint(cadence_routes.bp)  # the cadence and template editor's API
app.register_blueprint(cadence_pages.bp)  # /w/clients/{id}/cadences, templates
app.register_blueprint(behaviour_api.bp)  # behaviour and credit policy
app.register_blueprint(credit_pages.bp)  # /w/clients/{id}/credit, the debtor's credit forms
app.register_blueprint(console.bp)  # agency home, onboarding, books, users
app.api.binary_types.append("multipart/form-data")  # the book upload form, as bytes

if is_local_stage():  # local and test stages only; local/ is never deployed
    from local import checkout as local_checkout
    from local import gateway as local_gateway
    from local import outbox_pages

    local_checkout.install(app)
    local_gateway.install()
    app.register_blueprint(outbox_pages.bp)
