"""Recoup: the Chalice app. It registers the blueprints and nothing else."""
from chalice import Chalice

from chalicelib.naming import is_local_stage

from chalicelib.routes import (
    api,
    authorizer,
    debtor_pages,
    jobs,
    openapi,
    outbox,
    payment_jobs,
    payments_api,
    portal,
    report_jobs,
    reports,
    webhooks,
    workbench,
    workspace,
)

app = Chalice(app_name="recoup")
app.register_blueprint(authorizer.bp)
app.register_blueprint(openapi.bp)
app.register_blueprint(api.bp)
app.register_blueprint(jobs.bp)
app.register_blueprint(outbox.bp)
app.register_blueprint(payments_api.bp)
app.register_blueprint(debtor_pages.bp)
app.register_blueprint(webhooks.bp)
app.register_blueprint(payment_jobs.bp)
app.register_blueprint(reports.bp)
app.register_blueprint(portal.bp)
app.register_blueprint(report_jobs.bp)
app.register_blueprint(workbench.bp)
app.register_blueprint(workspace.bp)

if is_local_stage():  # the local test checkout: local and test stages only, never deployed
    from local import checkout as local_checkout

    local_checkout.install(app)
