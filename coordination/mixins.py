"""View pieces shared by every app: filtered, sortable, paginated lists with a CSV export."""

from __future__ import annotations

from django import forms
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.paginator import Paginator
from django.db.models.expressions import OrderBy
from django.http import StreamingHttpResponse
from django.views.generic import ListView

PAGE_SIZES = (25, 50, 100, 200)


class YesNoAnySelect(forms.NullBooleanSelect):
    """A yes/no filter whose empty choice reads "Any" rather than Django's "Unknown"."""

    def __init__(self, attrs=None):
        super().__init__(attrs)
        from django.utils.translation import gettext_lazy as _

        self.choices = [("unknown", _("Any")), ("true", _("Yes")), ("false", _("No"))]


class Echo:
    """A write-only buffer for streaming CSV rows without holding the file in memory."""

    def write(self, value):
        return value


def _reversed(field):
    """The opposite order of a sort field: "-name" for "name", and for an expression such as
    `F("beds").desc(nulls_last=True)` the other direction with empty values still last."""
    if isinstance(field, str):
        return field[1:] if field.startswith("-") else f"-{field}"
    return OrderBy(field.expression, descending=not field.descending, nulls_first=field.nulls_first,
                   nulls_last=field.nulls_last)


class FilteredListView(LoginRequiredMixin, ListView):
    """A list restricted by `get_base_queryset()`, filtered by `filterset_class`, sortable by
    `sort_fields` (param -> ORM ordering), paginated with a constant number of queries."""

    filterset_class = None
    sort_fields: dict[str, tuple[str, ...]] = {}
    default_sort = ""
    paginate_by = 50
    csv_filename = "export.csv"

    def get_base_queryset(self):
        raise NotImplementedError

    def get_filterset_kwargs(self):
        return {"data": self.request.GET or None, "queryset": self.get_base_queryset(), "request": self.request}

    def get_queryset(self):
        self.filterset = self.filterset_class(**self.get_filterset_kwargs())
        queryset = self.filterset.qs if self.filterset.is_bound and self.filterset.is_valid() else self.filterset.queryset
        if self.filterset.is_bound and not self.filterset.is_valid():
            queryset = queryset.none()
        self.sort = self.request.GET.get("sort") or self.default_sort
        key = self.sort.lstrip("-")
        if key in self.sort_fields:
            ordering = self.sort_fields[key]
            if self.sort.startswith("-"):
                ordering = tuple(_reversed(f) for f in ordering)
            queryset = queryset.order_by(*ordering)
        return queryset

    def get_paginate_by(self, queryset):
        try:
            size = int(self.request.GET.get("per_page", self.paginate_by))
        except ValueError:
            return self.paginate_by
        return size if size in PAGE_SIZES else self.paginate_by

    def paginate_queryset(self, queryset, page_size):
        # An out-of-range page shows the last page instead of a 404 (links go stale as data changes).
        paginator = Paginator(queryset, page_size)
        page = paginator.get_page(self.request.GET.get("page"))
        return paginator, page, page.object_list, page.has_other_pages()

    def get(self, request, *args, **kwargs):
        if request.GET.get("format") == "csv":
            return self.export_csv(self.get_queryset())
        return super().get(request, *args, **kwargs)

    def export_csv(self, queryset):
        raise NotImplementedError

    def csv_response(self, rows, filename=None):
        response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename or self.csv_filename}"'
        return response

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        params = self.request.GET.copy()
        params.pop("page", None)
        context.update(
            filterset=self.filterset,
            filter_form=self.filterset.form,
            sort=self.sort,
            querystring=params.urlencode(),
            page_sizes=PAGE_SIZES,
            per_page=self.get_paginate_by(None),
        )
        return context
