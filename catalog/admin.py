"""Catalog admin: categories, products with their variants, and a variant list.

The inventory app adds the stock columns to the product and variant pages
(inventory.admin); stock only changes through its "Adjust stock" page.
"""
from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db import transaction
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from catalog import images
from catalog.models import Category, Product, ProductImage, Variant


class VariantForm(forms.ModelForm):
    class Meta:
        model = Variant
        fields = ["product", "sku", "name", "attributes", "price", "weight_grams", "is_active", "position"]
        widgets = {"attributes": forms.Textarea(attrs={"rows": 2, "cols": 30})}

    def clean_attributes(self):
        # Pages and the API read attributes as name -> value pairs.
        attributes = self.cleaned_data["attributes"]
        if attributes is None:
            return {}
        if not isinstance(attributes, dict):
            raise forms.ValidationError(_('Attributes must be a JSON object, like {"size": "M", "colour": "blue"}.'))
        return attributes


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "parent"]
    list_select_related = ["parent"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    fields = ["name", "slug", "parent"]


class VariantInline(admin.TabularInline):
    model = Variant
    form = VariantForm
    extra = 0
    fields = ["sku", "name", "attributes", "price", "weight_grams", "is_active", "position"]
    show_change_link = True


class ProductImageForm(forms.ModelForm):
    class Meta:
        model = ProductImage
        fields = ["image", "alt", "variant", "position"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Only this product's variants (none yet on a new product).
        product_id = self.instance.product_id or getattr(self, "parent_product_id", None)
        self.fields["variant"].queryset = Variant.objects.filter(product_id=product_id) if product_id else Variant.objects.none()

    def clean_image(self):
        # Django's ImageField already refuses what Pillow cannot open; this also refuses
        # pictures browsers cannot show (TIFF, BMP, ...), in words staff understand.
        upload = self.cleaned_data.get("image")
        if upload and hasattr(upload, "content_type"):  # a new upload, not the stored file
            try:
                images.check_image(upload)
            except images.NotAnImage as refusal:
                if refusal.image_format:
                    message = _("This file is a %(format)s image; use JPEG, PNG, GIF or WebP.") % {"format": refusal.image_format}
                else:
                    message = _("This file is not an image (JPEG, PNG, GIF or WebP) or is damaged.")
                raise forms.ValidationError(message) from None
        return upload


class ProductImageInline(admin.TabularInline):
    model = ProductImage
    form = ProductImageForm
    extra = 1
    fields = ["preview", "image", "alt", "variant", "position"]
    readonly_fields = ["preview"]
    ordering = ["position", "id"]

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.form.parent_product_id = obj.pk if obj else None
        return formset

    @admin.display(description=_("Preview"))
    def preview(self, image: ProductImage) -> str:
        if not image.pk or not image.image:
            return "–"
        thumb = images.thumbnail(image, "thumb", 2)
        return format_html(
            '<img src="{}" width="{}" height="{}" alt="" style="object-fit:cover;border-radius:4px">',
            thumb.url, thumb.width // 2, thumb.height // 2,
        )


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "category", "is_active", "variant_count", "updated_at"]
    list_filter = ["is_active", "category"]
    list_select_related = ["category"]
    search_fields = ["name", "slug", "variants__sku"]
    prepopulated_fields = {"slug": ["name"]}
    fields = ["name", "slug", "category", "description", "weight_grams", "is_active"]
    inlines = [ProductImageInline, VariantInline]

    def save_formset(self, request, form, formset, change):
        if formset.model is not ProductImage:
            return super().save_formset(request, form, formset, change)
        replaced_ids = [f.instance.pk for f in formset.forms if f.instance.pk and "image" in f.changed_data]
        replaced = [images.stored_names(old) for old in ProductImage.objects.filter(pk__in=replaced_ids)]
        super().save_formset(request, form, formset, change)
        # Thumbnails are made once, now; files of removed or replaced pictures go once
        # the change is committed.
        for saved in formset.new_objects + [obj for obj, _fields in formset.changed_objects]:
            images.make_thumbnails(saved, only_missing=True)
        gone = [name for names in replaced for name in names]
        gone += [name for obj in formset.deleted_objects for name in images.stored_names(obj)]
        if gone:
            transaction.on_commit(lambda: images.delete_files(gone))

    def get_queryset(self, request: HttpRequest) -> QuerySet[Product]:
        return super().get_queryset(request).annotate(variant_total=Count("variants"))

    @admin.display(description=_("Variants"), ordering="variant_total")
    def variant_count(self, product: Product) -> int:
        return product.variant_total


@admin.register(Variant)
class VariantAdmin(admin.ModelAdmin):
    form = VariantForm
    list_display = ["sku", "product", "display_name", "price", "is_active"]
    list_filter = ["is_active", "product__category"]
    list_select_related = ["product"]
    search_fields = ["sku", "name", "product__name"]
    autocomplete_fields = ["product"]
    ordering = ["sku"]
    fieldsets = [(None, {"fields": ["product", "sku", "name", "attributes", "price", "weight_grams", "is_active", "position"]})]

    @admin.display(description=_("Name"))
    def display_name(self, variant: Variant) -> str:
        return variant.display_name
