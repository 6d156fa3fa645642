from django.conf import settings


def shop(request):
    return {"SHOP_NAME": getattr(settings, "SHOP_NAME", "Shop")}
