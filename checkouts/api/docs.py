"""Interactive API docs at /api/docs/: Swagger UI from drf-spectacular-sidecar, no CDN.

The split view serves its init script as a separate file (`?script=`) and our template
drops the stock inline <style>, so the page runs under the site-wide CSP
(`script-src 'self'; style-src 'self'`).
"""

from drf_spectacular.views import SpectacularSwaggerSplitView


class ApiDocsView(SpectacularSwaggerSplitView):
    template_name = "checkouts/api/swagger_ui.html"
    title = "Comeback API"
