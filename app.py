"""Recoup: the Chalice app. It registers the blueprints and nothing else."""
from chalice import Chalice

from chalicelib.routes import api, authorizer, openapi, portal, report_jobs, reports

app = Chalice(app_name="recoup")
app.register_blueprint(authorizer.bp)
app.register_blueprint(openapi.bp)
app.register_blueprint(api.bp)
app.register_blueprint(reports.bp)
app.register_blueprint(portal.bp)
app.register_blueprint(report_jobs.bp)
