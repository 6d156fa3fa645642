"""The header's language selector (templates/partials/language_selector.html), at
/i18n/setlang/ (accounts/language_urls.py): Django's set_language view keeps the choice in
the language cookie; a signed-in customer's choice is also kept on their account
(accounts.services.remember_language) and comes back when they sign in."""
from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.http import require_POST
from django.views.i18n import LANGUAGE_QUERY_PARAMETER, set_language as django_set_language

from accounts import selectors, services
from shop.redirects import back_url


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """A language the shop offers: the cookie (Django's view, which also goes back to
    `next`) and, when signed in, the account. Any other code is refused with a message
    and changes neither."""
    language = selectors.offered_language(request.POST.get(LANGUAGE_QUERY_PARAMETER))
    if language is None:
        messages.error(request, services.UnsupportedLanguage().message)
        return HttpResponseRedirect(back_url(request))
    if request.user.is_authenticated:
        services.remember_language(user_id=request.user.pk, language=language)
    return django_set_language(request)
