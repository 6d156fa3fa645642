from django.http import HttpResponse


def product_list(request, slug=None):
    return HttpResponse("catalog")


def product_detail(request, slug):
    return HttpResponse("product")
