"""Recoup: the Chalice app. It registers the blueprints and nothing else."""
from chalice import Chalice

from chalicelib.routes import api, authorizer, openapi, workbench, workspace

app = Chalice(app_name="recoup")
app.register_blueprint(authorizer.bp)
app.register_blueprint(openapi.bp)
app.register_blueprint(api.bp)
app.register_blueprint(workbench.bp)
app.register_blueprint(workspace.bp)
