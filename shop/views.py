from django.http import JsonResponse
from django.views.defaults import page_not_found


def not_found(request, exception=None):
    """API paths answer 404 in the API's error shape; pages get the HTML page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"error": {"code": "not_found", "message": "Not found.", "details": {}}}, status=404)
    return page_not_found(request, exception)
